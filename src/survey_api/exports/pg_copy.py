"""The responses CSV export on PostgreSQL: one `COPY (SELECT …) TO STDOUT`, streamed.

The Python path (service.response_rows + formats.csv_stream) fetches rows and formats every
cell in Python; at 100k responses that is most of the export's time. Here the database
computes every cell, defuses formula-like text, formats numbers and dates exactly as the
Python path writes them and quotes the CSV; Python only re-ends each row with CRLF (COPY
always ends rows with LF, and a row is one CopyData message, so each read is one whole row)
and gathers rows into chunks. The bytes are identical to the Python path's
(tests/exports/test_pg_copy.py proves it), which SQLite keeps using.

The copy runs on a pooled connection of its own, in one read-only transaction: one snapshot
for the whole file, held only while the body streams. The request's session is committed
and closed before the body is sent, as for every other export.
"""

from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import Engine

from survey_api.exports import service
from survey_api.exports.formats import FORMULA_START
from survey_api.models import SurveyRound
from survey_api.questionnaires.definition import Item

CHUNK_BYTES = 64 * 1024

# The formula starters as SQL (chr() of each code point, so the statement is plain ASCII and
# control characters need no escaping); PostgreSQL folds the constants once per statement.
_FORMULA_STARTERS_SQL = ", ".join(f"chr({ord(ch)})" for ch in sorted(FORMULA_START))


def _text(expression: str) -> str:
    """Text as formats.csv_stream writes it: a `'` before a formula character, and an empty
    string written as an empty (unquoted) cell like None (COPY would quote it as `""`)."""
    return (
        f"CASE WHEN left({expression}, 1) IN ({_FORMULA_STARTERS_SQL}) "
        f"THEN '''' || ({expression}) ELSE NULLIF({expression}, '') END"
    )


def _number(expression: str, excel: bool) -> str:
    """A float8 as Python's repr() writes it (csv_stream writes str(float)).

    Both print the shortest digits that read back to the same double (extra_float_digits = 1,
    set for the copy); they differ only for whole numbers (Python `3.0`, PostgreSQL `3`) and
    in where scientific notation starts for large ones (Python from 1e16, PostgreSQL from
    1e15). Answers are validated to |x| <= 1e15, so every whole number fits the int8 branch;
    a number like 1e-05 prints the same in both. The Swedish dialect swaps the decimal point
    for a comma.
    """
    text = (
        f"CASE WHEN {expression} = trunc({expression}) "
        f"THEN ({expression})::int8::text || '.0' ELSE ({expression})::text END"
    )
    return f"replace({text}, '.', ',')" if excel else text


def copy_select(
    survey_round: SurveyRound, columns: Sequence[tuple[str, Item, int | None]], *, excel: bool
) -> str:
    """The SELECT whose CSV is the responses export's body (without the header row).

    Same rows, order and cells as service.response_rows: numbered in response id order (the
    number, never the id, leaves the database), the area's code, language, channel, entry, the
    date (YYYY-MM-DD under the DateStyle copy_chunks sets) and one column per
    service.response_columns entry. Ids are integers,
    so inlining them is safe (COPY takes no bind parameters).
    """
    cells = [
        "row_number() OVER (ORDER BY response.id)",
        _text("area.code"),
        _text("response.language"),
        _text("response.channel"),
        _text("response.entry"),
        # YYYY-MM-DD: date output under DateStyle ISO (set for the copy), cheaper than to_char.
        "response.submitted_date",
    ]
    for _name, item, code in columns:
        expression = service.column_expression("postgresql", item, code)
        if item.kind == "text":
            cells.append(_text(expression))
        elif item.kind == "number" and code is None:
            cells.append(_number(expression, excel))
        else:
            cells.append(expression)
    return (
        "SELECT "
        + ",\n       ".join(cells)
        + "\nFROM response LEFT JOIN area ON area.id = response.area_id"
        + f" AND area.organisation_id = {int(survey_round.organisation_id)}"
        + f"\nWHERE response.survey_round_id = {int(survey_round.id)}"
        + "\nORDER BY response.id"
    )


def copy_statement(select: str, *, excel: bool) -> str:
    """COPY of `select` as CSV in the export's dialect (`;` for Swedish Excel)."""
    delimiter = ";" if excel else ","
    return f"COPY ({select}) TO STDOUT WITH (FORMAT csv, DELIMITER '{delimiter}')"


def _crlf(rows: list[Any]) -> bytes:
    """COPY rows (each ending in LF) as one block of CRLF-ended rows.

    COPY quotes every field that holds a CR or LF, so a block without a `"` has no newline
    but the rows' own: one replace does it. Otherwise each row's last byte is swapped.
    """
    block = b"".join(rows)
    if b'"' not in block:
        return block.replace(b"\n", b"\r\n")
    return b"".join([bytes(row[:-1]) + b"\r\n" for row in rows])


def copy_chunks(engine: Engine, statement: str, head: bytes) -> Iterator[bytes]:
    """`head` (the header row), then the COPY's rows with CRLF endings, in ~64 kB chunks.

    The connection is checked out when the first chunk is asked for and returned when the
    last is sent, or when the client goes away: closing the generator cancels the COPY.
    """
    raw = engine.raw_connection()
    try:
        connection = raw.driver_connection
        assert connection is not None
        with connection.cursor() as cursor:
            cursor.execute("SET TRANSACTION READ ONLY")
            # Shortest round-trip floats (see _number) and dates as YYYY-MM-DD, whatever the
            # server's defaults.
            cursor.execute("SET LOCAL extra_float_digits = 1")
            cursor.execute("SET LOCAL DateStyle = 'ISO, YMD'")
            rows: list[Any] = []
            size = 0
            pending = head
            with cursor.copy(statement) as copy:
                # One read is one whole row ending in LF (one CopyData message per row).
                for row in copy:
                    rows.append(row)
                    size += len(row)
                    if size >= CHUNK_BYTES:
                        yield pending + _crlf(rows)
                        rows = []
                        pending = b""
                        size = 0
            yield pending + _crlf(rows)
        connection.rollback()
    finally:
        raw.close()
