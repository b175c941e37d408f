"""Importing past responses into a historical round, row by row, through a mapping.

Every row becomes a plain ``response`` (``entry='import'``) and passes exactly the checks a
submitted response passes (``responses.service.answer_errors``), so the tally fold
(``results/fold.py``) picks imported answers up on the next results read like any other.

The file is read once, as a stream: rows are checked one by one (``imports/rows.py``) and, in a
real run, inserted in batches of :data:`BATCH_SIZE` with one executemany each, so memory stays
flat in the file's size. A real run is all or nothing: after the first problem nothing more is
inserted, the rest of the file is still checked for the report, and the run ends in a 422 whose
body carries the report; the request's transaction rolls back whatever was inserted before.

Privacy (DESIGN.md): only the columns the mapping names are read; no respondent id, token, IP
address or timestamp from the file is stored anywhere (not in the report either: a problem
names the cell of a mapped column only). Every response gets the round's close date as its
``submitted_date``, nothing finer than the round's period, and each batch is inserted in a
shuffled order so that response ids do not follow the file's row order.
"""

from __future__ import annotations

import secrets
from typing import Any

from sqlalchemy import delete, insert, select, update
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.orm import Session

from survey_api.exceptions import Conflict, NotFound
from survey_api.imports.files import SourceFile, open_table
from survey_api.imports.mapping import (
    ImportMapping,
    check_against,
)
from survey_api.imports.problems import ImportRefused, Problems, cut
from survey_api.imports.records import lock_round, record_name, stored_import
from survey_api.imports.rows import Row, area_lookup, plan_for, read_row
from survey_api.imports.schemas import (
    DataImportRead,
    ImportAreaCount,
    ImportProblem,
    ImportReport,
)
from survey_api.models import (
    DataImport,
    Response,
    SurveyRound,
    TallyWatermark,
    utcnow,
)
from survey_api.questionnaires import service as questionnaires_service
from survey_api.responses.service import clean_answers
from survey_api.results import fold as results_fold
from survey_api.results import tally_store
from survey_api.rounds import service as rounds_service
from survey_api.webhooks import events as webhook_events

#: Rows inserted per executemany.
BATCH_SIZE = 5000


def require_response_import(survey_round: SurveyRound) -> None:
    """Only a historical round holding responses (or nothing yet) takes a response import."""
    if not rounds_service.is_historical(survey_round):
        raise Conflict(
            f"survey round {survey_round.id} collects its own responses: only a historical "
            'round takes imports (create one with POST /rounds and "historical": true)'
        )
    if survey_round.source == "imported_tallies":
        raise Conflict(
            f"survey round {survey_round.id} holds answer counts (an imported table of tallies), "
            "not responses: responses cannot be added to it. Delete its tallies import first, "
            "or import into another historical round"
        )


# ---------------------------------------------------------------------------------------------
# The import
# ---------------------------------------------------------------------------------------------


def stored_report(record: DataImport) -> ImportReport:
    """The report of a stored response import, as its first run answered it."""
    summary = record.summary or {}
    return ImportReport(
        kind="responses",
        dry_run=False,
        import_id=record.id,
        replayed=True,
        file_sha256=record.file_sha256,
        encoding=str(summary.get("encoding", "")),
        rows_read=record.rows_read,
        rows_stored=record.rows_stored,
        per_area=[ImportAreaCount.model_validate(a) for a in summary.get("per_area", [])],
        problems=[],
        problems_total=0,
        unmapped_columns=[str(c) for c in summary.get("unmapped_columns", [])],
    )


def import_responses(
    session: Session,
    organisation_id: int,
    round_id: int,
    source: SourceFile,
    mapping: ImportMapping,
    *,
    dry_run: bool,
    file_name: str,
) -> ImportReport:
    """Check (``dry_run``) or import a file of past responses into a historical round.

    A real run stores every row or none (:class:`ImportRefused`, a 422 with the report); the
    same file with the same mapping is stored once, and a repeat answers the stored report
    with ``replayed``. Flushes, never commits."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    if not dry_run:
        lock_round(session, round_id)  # an identical import at the same moment: one stored
    require_response_import(survey_round)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    check_against(mapping, definition)
    mapping_sha256 = mapping.sha256()
    if not dry_run:
        existing = stored_import(
            session, organisation_id, round_id, "responses", source.sha256, mapping_sha256
        )
        if existing is not None:
            return stored_report(existing)
    lookup = area_lookup(session, organisation_id, round_id, mapping.area.by)

    problems = Problems()
    counts: dict[int, int] = {}
    rows_read = 0
    record: DataImport | None = None
    batch: list[dict[str, Any]] = []
    shuffle = secrets.SystemRandom().shuffle
    submitted_date = survey_round.close_date

    def insert_batch() -> None:
        shuffle(batch)
        session.connection().execute(insert(Response.__table__), batch)  # type: ignore[arg-type]
        batch.clear()

    with open_table(source) as table:
        encoding = table.encoding
        plan = plan_for(table.columns, mapping, definition, lookup)
        if plan.missing_columns:
            problems.keep(
                ImportProblem(
                    row=1,
                    column=cut(column),
                    type="missing_column",
                    msg="the mapping names this column but the file's heading has none",
                )
                for column in plan.missing_columns
            )
        if not plan.items:
            problems.keep(
                [
                    ImportProblem(
                        row=1,
                        type="no_items",
                        msg="no column of the file is an item of the questionnaire under the "
                        "mapping: nothing to import",
                    )
                ]
            )
        if not dry_run and not problems.total:
            record = DataImport(
                organisation_id=organisation_id,
                survey_round_id=round_id,
                kind="responses",
                file_name=record_name(file_name),
                file_sha256=source.sha256,
                mapping_sha256=mapping_sha256,
            )
            session.add(record)
            session.flush()
            results_fold.hold_round_for_submission(session, round_id)  # before ids are drawn
        for line, cells in table.rows:
            rows_read += 1
            row = Row(line, cells)
            read = read_row(plan, definition, row)
            if read is None:
                problems.keep(row.problems)
                continue
            area_id, language, answers = read
            counts[area_id] = counts.get(area_id, 0) + 1
            if record is None or problems.total:
                continue
            batch.append(
                {
                    "survey_round_id": round_id,
                    "area_id": area_id,
                    "language": language,
                    "channel": mapping.channel,
                    "entry": "import",
                    "submitted_date": submitted_date,
                    "answers": clean_answers(definition, answers),
                    "data_import_id": record.id,
                }
            )
            if len(batch) >= BATCH_SIZE:
                insert_batch()
    if rows_read == 0 and not problems.total:
        problems.add(2, None, None, "no_rows", "the file has no data rows")

    per_area = [
        ImportAreaCount(area_id=a, area_code=lookup.codes.get(a, ""), rows=n)
        for a, n in sorted(counts.items(), key=lambda kv: lookup.codes.get(kv[0], ""))
    ]
    report = ImportReport(
        kind="responses",
        dry_run=dry_run,
        file_sha256=source.sha256,
        encoding=encoding,
        rows_read=rows_read,
        rows_stored=sum(counts.values()),
        per_area=per_area,
        problems=problems.listed,
        problems_total=problems.total,
        unmapped_columns=[cut(c) for c in plan.unmapped_columns[:200]],
    )
    if dry_run:
        return report
    if problems.total or record is None:
        raise ImportRefused(report)
    if batch:
        insert_batch()
    record.rows_read = rows_read
    record.rows_stored = report.rows_stored
    record.summary = {
        "encoding": encoding,
        "per_area": [a.model_dump(mode="json") for a in per_area],
        "unmapped_columns": report.unmapped_columns,
    }
    survey_round.source = "imported"
    session.flush()
    webhook_events.emit_import_finished(
        session,
        organisation_id,
        import_id=record.id,
        kind="responses",
        round_id=round_id,
        rows_read=rows_read,
        rows_imported=report.rows_stored,
    )
    return report.model_copy(update={"import_id": record.id})


# ---------------------------------------------------------------------------------------------
# Stored imports
# ---------------------------------------------------------------------------------------------


def _read(record: DataImport) -> DataImportRead:
    return DataImportRead.model_validate(record, from_attributes=True)


def list_imports(session: Session, organisation_id: int, round_id: int) -> list[DataImportRead]:
    """Every import of a round (responses and tallies), oldest first."""
    rounds_service.get_round(session, organisation_id, round_id)
    return [
        _read(r)
        for r in session.scalars(
            select(DataImport)
            .where(
                DataImport.organisation_id == organisation_id,
                DataImport.survey_round_id == round_id,
            )
            .order_by(DataImport.id)
        )
    ]


def _get(session: Session, organisation_id: int, round_id: int, import_id: int) -> DataImport:
    rounds_service.get_round(session, organisation_id, round_id)
    record = session.get(DataImport, import_id)
    if (
        record is None
        or record.organisation_id != organisation_id
        or record.survey_round_id != round_id
    ):
        raise NotFound(f"no import with id {import_id} in survey round {round_id}")
    return record


def get_import(
    session: Session, organisation_id: int, round_id: int, import_id: int
) -> DataImportRead:
    """One import of a round."""
    return _read(_get(session, organisation_id, round_id, import_id))


def delete_import(session: Session, organisation_id: int, round_id: int, import_id: int) -> None:
    """Take an import back as a whole: its responses (or, for a tallies import, the round's
    answer counts) go, and the round's tallies are folded again from scratch on the next
    results read. Flushes, never commits."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    lock_round(session, round_id)
    record = _get(session, organisation_id, round_id, import_id)
    # Reset the fold first: the watermark row is what every folder locks, so this waits for
    # a fold in progress and makes the next one start from nothing (after this commits).
    _reset_fold(session, round_id)
    if record.kind == "responses":
        session.execute(delete(Response).where(Response.data_import_id == record.id))
    tally_store.delete_round(session, round_id)
    if record.kind == "tallies":
        survey_round.source = "imported"
    session.delete(record)
    session.flush()


def _reset_fold(session: Session, round_id: int) -> None:
    """Set the round's watermark back to 0 (rather than delete the row: a folder waiting on
    it must find it, then see 0 and fold everything that is left)."""
    dialect = session.get_bind().dialect.name
    upsert = postgresql.insert if dialect == "postgresql" else sqlite.insert
    session.execute(
        upsert(TallyWatermark)
        .values(survey_round_id=round_id, last_response_id=0, folded_at=utcnow())
        .on_conflict_do_nothing(index_elements=[TallyWatermark.survey_round_id])
    )
    session.execute(
        update(TallyWatermark)
        .where(TallyWatermark.survey_round_id == round_id)
        .values(last_response_id=0, folded_at=utcnow())
    )


__all__ = [
    "BATCH_SIZE",
    "ImportRefused",
    "delete_import",
    "get_import",
    "import_responses",
    "list_imports",
    "require_response_import",
    "stored_report",
]
