"""The three exports of a round as named, streamed files (what the export routes return)."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from survey_api.exports import formats, pg_copy, results_rows, service
from survey_api.exports.formats import ExportFormat
from survey_api.questionnaires import service as questionnaires_service
from survey_api.questionnaires.definition import QuestionnaireDefinition
from survey_api.results import service as results_service
from survey_api.rounds import service as rounds_service


@dataclass(frozen=True)
class ExportFile:
    """A file to stream: its download name, media type and body chunks."""

    filename: str
    media_type: str
    chunks: Iterator[bytes]


def _definition(session: Session, organisation_id: int, round_id: int) -> QuestionnaireDefinition:
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    return questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )


def _file(fmt: ExportFormat, name: str, chunks: Iterator[bytes]) -> ExportFile:
    return ExportFile(f"{name}.{formats.EXTENSIONS[fmt]}", formats.MEDIA_TYPES[fmt], chunks)


def codebook(
    session: Session, organisation_id: int, round_id: int, fmt: ExportFormat
) -> ExportFile:
    """Items, option codes and scores, labels in every language."""
    header, rows = service.codebook_rows(_definition(session, organisation_id, round_id))
    return _file(
        fmt, f"codebook-round-{round_id}", formats.table_stream(fmt, "codebook", header, rows)
    )


def responses(
    session: Session,
    factory: sessionmaker[Session],
    organisation_id: int,
    round_id: int,
    fmt: ExportFormat,
    *,
    include_text: bool,
) -> ExportFile:
    """Anonymised responses, one numbered row each, read in batches on a session of their own
    (the request's session is committed and closed before the body is sent)."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    definition = questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )
    columns = service.response_columns(definition, include_text)
    header = service.response_header(columns)
    engine = session.get_bind()
    chunks: Iterator[bytes]
    if fmt != "xlsx" and isinstance(engine, Engine) and engine.dialect.name == "postgresql":
        # The database writes the CSV (pg_copy.py): the same bytes, several times faster.
        excel = fmt == "csv-excel"
        head = b"".join(formats.csv_stream(header, [], excel=excel))
        statement = pg_copy.copy_statement(
            pg_copy.copy_select(survey_round, columns, excel=excel), excel=excel
        )
        chunks = pg_copy.copy_chunks(engine, statement, head)
    else:
        rows = service.response_rows(factory, survey_round, columns)
        chunks = formats.table_stream(
            fmt,
            "responses",
            header,
            rows,
            text_columns=service.response_text_columns(columns),
        )
    return _file(fmt, f"responses-round-{round_id}", chunks)


def results(
    session: Session, organisation_id: int, round_id: int, fmt: ExportFormat, *, by: str | None
) -> ExportFile:
    """A round's results, one row per figure, suppression kept."""
    figures = results_service.round_results(session, organisation_id, round_id, by=by)
    chunks = formats.table_stream(
        fmt, "results", results_rows.HEADER, results_rows.result_rows(figures)
    )
    return _file(fmt, f"results-round-{round_id}", chunks)
