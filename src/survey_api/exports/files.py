"""The three exports of a round as named, streamed files (what the export routes return)."""

from collections.abc import Iterator
from dataclasses import dataclass

from sqlalchemy import Engine
from sqlalchemy.orm import Session, sessionmaker

from survey_api.exports import formats, pg_copy, results_rows, service
from survey_api.exports.formats import ExportFormat
from survey_api.models import SurveyRound
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


def _definition(session: Session, survey_round: SurveyRound) -> QuestionnaireDefinition:
    return questionnaires_service.published_definition(
        session, survey_round.questionnaire_version_id
    )


@dataclass(frozen=True)
class _Survey:
    """Which survey a round's file comes from: in its name, and in a workbook's properties."""

    stem: str  # <questionnaire key>-<period>-round-<id>
    properties: dict[str, str]


def _survey(session: Session, survey_round: SurveyRound) -> _Survey:
    version_id = survey_round.questionnaire_version_id
    questionnaire = rounds_service.questionnaires_of_versions(session, [version_id])[version_id]
    names = questionnaire.name
    name = names.get("sv") or next(iter(names.values()), questionnaire.key)
    return _Survey(
        stem=f"{questionnaire.key}-{survey_round.period}-round-{survey_round.id}",
        properties={
            "title": f"{name}: {survey_round.name} ({survey_round.period})",
            "subject": name,
            "keywords": questionnaire.key,
            "description": " / ".join(f"{lang}: {text}" for lang, text in names.items()),
        },
    )


def _file(fmt: ExportFormat, name: str, chunks: Iterator[bytes]) -> ExportFile:
    return ExportFile(f"{name}.{formats.EXTENSIONS[fmt]}", formats.MEDIA_TYPES[fmt], chunks)


def codebook(
    session: Session, organisation_id: int, round_id: int, fmt: ExportFormat
) -> ExportFile:
    """Items, option codes and scores, labels in every language."""
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    survey = _survey(session, survey_round)
    header, rows = service.codebook_rows(_definition(session, survey_round))
    return _file(
        fmt,
        f"{survey.stem}-codebook",
        formats.table_stream(fmt, "codebook", header, rows, properties=survey.properties),
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
    survey = _survey(session, survey_round)
    definition = _definition(session, survey_round)
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
            properties=survey.properties,
        )
    return _file(fmt, f"{survey.stem}-responses", chunks)


def results(
    session: Session, organisation_id: int, round_id: int, fmt: ExportFormat, *, by: str | None
) -> ExportFile:
    """A round's results, one row per figure, suppression kept."""
    figures = results_service.round_results(session, organisation_id, round_id, by=by)
    survey_round = rounds_service.get_round(session, organisation_id, round_id)
    survey = _survey(session, survey_round)
    chunks = formats.table_stream(
        fmt,
        "results",
        results_rows.HEADER,
        results_rows.result_rows(figures),
        properties=survey.properties,
    )
    return _file(fmt, f"{survey.stem}-results", chunks)
