"""Rows for the codebook and the anonymised responses of a round (files.py makes the files)."""

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import ColumnElement, literal_column, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area, Response, SurveyRound
from survey_api.questionnaires.definition import Item, QuestionnaireDefinition

RESPONSE_BATCH = 2000


def codebook_rows(definition: QuestionnaireDefinition) -> tuple[list[str], list[list[Any]]]:
    """One row per item and option: codes, scores and labels in every language."""
    languages = definition.languages
    header = [
        "item",
        "kind",
        "section",
        "background",
        "option_code",
        "score",
        "substantive",
        "favourable",
        *(f"text_{lang}" for lang in languages),
    ]
    rows: list[list[Any]] = []
    for item in definition.items:
        base = [item.key, item.kind, item.section, int(item.background)]
        rows.append([*base, None, None, None, None, *(item.text.get(x) for x in languages)])
        for option in item.options:
            rows.append(
                [
                    *base,
                    option.code,
                    option.score,
                    int(option.is_substantive),
                    int(option.code in item.favourable),
                    *(option.label.get(x) for x in languages),
                ]
            )
    for indicator in definition.indicators:
        rows.append(
            [
                indicator.key,
                "indicator",
                None,
                0,
                " ".join(map(str, indicator.codes)),
                None,
                None,
                None,
                *(indicator.label.get(x) for x in languages),
            ]
        )
    for index in definition.indices:
        rows.append(
            [
                index.key,
                f"index ({index.orientation})",
                None,
                0,
                " ".join(index.items),
                None,
                None,
                None,
                *(index.label.get(x) for x in languages),
            ]
        )
    return header, rows


def response_columns(
    definition: QuestionnaireDefinition, include_text: bool
) -> list[tuple[str, Item, int | None]]:
    """Export columns: one per item, one 0/1 column per option of a multi-choice item."""
    columns: list[tuple[str, Item, int | None]] = []
    for item in definition.items:
        if item.kind == "text" and not include_text:
            continue
        if item.kind == "multi_choice":
            columns.extend((f"{item.key}_{o.code}", item, o.code) for o in item.options)
        else:
            columns.append((item.key, item, None))
    return columns


def column_expression(dialect: str, item: Item, code: int | None) -> str:
    """One export column, as SQL the database computes from the answers JSON.

    Extracting in SQL keeps the export's hot loop out of Python: no JSON decoding per row.
    Item keys match ^[a-z][a-z0-9_]*$ and codes are integers (both validated on the way in),
    so inlining them is safe. The PostgreSQL COPY export (pg_copy.py) formats these same
    expressions, so both paths read identical values.
    """
    key = item.key
    if dialect == "postgresql":
        if code is not None:
            return (
                f"CASE WHEN jsonb_exists(response.answers, '{key}') "
                f"THEN (response.answers -> '{key}' @> '[{int(code)}]')::int END"
            )
        cast = {"text": "", "number": "::float"}.get(item.kind, "::int")
        return f"(response.answers ->> '{key}'){cast}"
    if code is not None:
        return (
            f"CASE WHEN json_type(response.answers, '$.{key}') IS NOT NULL THEN "
            f"EXISTS (SELECT 1 FROM json_each(response.answers, '$.{key}') "
            f"WHERE value = {int(code)}) END"
        )
    return f"json_extract(response.answers, '$.{key}')"


def _column_sql(dialect: str, item: Item, code: int | None) -> ColumnElement[Any]:
    return literal_column(column_expression(dialect, item, code))


def response_rows(
    factory: sessionmaker[Session],
    survey_round: SurveyRound,
    columns: Sequence[tuple[str, Item, int | None]],
) -> Iterator[list[Any]]:
    """Stream a round's responses in id order, in batches, on a session of its own.

    Rows carry a running number, not the response id, so an export cannot be joined to
    anything else; free text only when its columns were asked for.
    """
    with factory() as session:
        codes: dict[int, str] = dict(
            session.execute(
                select(Area.id, Area.code).where(
                    Area.organisation_id == survey_round.organisation_id
                )
            ).all()
        )
        dialect = session.get_bind().dialect.name
        answer_columns = [_column_sql(dialect, item, code) for _name, item, code in columns]
        last_id = 0
        number = 0
        while True:
            batch = session.execute(
                select(
                    Response.id,
                    Response.area_id,
                    Response.language,
                    Response.channel,
                    Response.entry,
                    Response.submitted_date,
                    *answer_columns,
                )
                .where(Response.survey_round_id == survey_round.id, Response.id > last_id)
                .order_by(Response.id)
                .limit(RESPONSE_BATCH)
            ).all()
            if not batch:
                return
            for row in batch:
                number += 1
                yield [
                    number,
                    codes.get(row[1]),
                    row[2],
                    row[3],
                    row[4],
                    row[5].isoformat(),
                    *row[6:],
                ]
            last_id = batch[-1][0]
            session.rollback()  # end the read transaction between batches


def response_header(columns: Sequence[tuple[str, Item, int | None]]) -> list[str]:
    """The header of the responses export."""
    return [
        "row",
        "area",
        "language",
        "channel",
        "entry",
        "submitted_date",
        *(c[0] for c in columns),
    ]


def response_text_columns(columns: Sequence[tuple[str, Item, int | None]]) -> list[int]:
    """Positions in a responses row that can hold text: area, language, channel, entry, date
    and free-text answers. Every other answer column is a number or empty (multi-choice flags
    are computed in SQL; other answers are validated as codes or numbers on the way in)."""
    return [
        1,
        2,
        3,
        4,
        5,
        *(6 + i for i, (_, item, _) in enumerate(columns) if item.kind == "text"),
    ]
