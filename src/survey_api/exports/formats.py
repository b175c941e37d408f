"""Tabular export formats, written row by row so memory stays constant.

`csv` is RFC 4180 with `.` decimals in UTF-8; `csv-excel` is what Swedish Excel opens with a
double click: `;` separators, decimal comma and a UTF-8 byte-order mark; `xlsx` is a real
workbook (openpyxl in write-only mode, spooled through a temporary file).

Every format is defused against formula injection (OWASP "CSV injection"): tenants' free text,
area names and questionnaire labels must never run as formulas in the spreadsheet that opens
the file. In CSV a text cell starting with a formula character gets a leading `'` (Excel hides
it and shows the text); in XLSX every text cell is written as a string, never a formula.
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Mapping, Sequence
from typing import Any, Literal

ExportFormat = Literal["csv", "csv-excel", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "csv-excel": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"csv": "csv", "csv-excel": "csv", "xlsx": "xlsx"}
ROWS_PER_CHUNK = 500

# A cell starting with one of these can be a formula to Excel, LibreOffice or Google Sheets:
# = + - @, tab and CR (OWASP), LF, and the full-width = + - @ (cheap to include: some inputs fold
# them to ASCII). Hand-written rather than defusedcsv: that library also rewrites `|` inside the
# text (the cell would no longer say what the tenant wrote), leaves tab-, CR- and LF-leading
# text alone, puts a Python call on every cell of the hot loop, and does nothing for XLSX.
FORMULA_START = frozenset("=+-@\t\r\n\uff1d\uff0b\uff0d\uff20")
# What openpyxl would turn from text into a formula (`=…`) or an error value (`#N/A`…).
_XLSX_NOT_TEXT = ("=", "#")


def defuse(value: Any) -> Any:
    """A CSV cell that no spreadsheet runs: text starting with a formula character gets a
    leading `'`; numbers (negative ones too), None and any other text pass unchanged."""
    if isinstance(value, str) and value[:1] in FORMULA_START:
        return "'" + value
    return value


def xlsx_cell(sheet: Any, value: Any) -> Any:
    """A value for a write-only sheet that stays text if it is text: never a formula or an
    error value. Control characters XML cannot hold become U+FFFD (openpyxl would raise
    half-way through the file)."""
    if not isinstance(value, str):
        return value
    # openpyxl (and the NumPy it loads) is imported on first use: processes that never write
    # a workbook start faster (benchmarks/bench_import.py).
    from openpyxl.cell import WriteOnlyCell
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    if ILLEGAL_CHARACTERS_RE.search(value):
        value = ILLEGAL_CHARACTERS_RE.sub("\ufffd", value)
    if value[:1] in _XLSX_NOT_TEXT:
        cell = WriteOnlyCell(sheet, value)
        cell.data_type = "s"  # after the value: assigning a value infers the type again
        return cell
    return value


def csv_stream(
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    excel: bool = False,
    text_columns: Sequence[int] | None = None,
) -> Iterator[bytes]:
    """Encode rows as CSV in chunks; `excel` gives the Swedish Excel dialect.

    `text_columns` are the positions that can hold text (all when None); every other cell must
    be a number or None. Naming them keeps a wide numeric export fast.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow([defuse(v) for v in header])
    prefix = "\ufeff" if excel else ""
    pending = 0
    # The hot loop of every export: the csv module writes None as "" and ints and strings as
    # they are, so Python only touches the cells that can be text (a `'` before a formula
    # character, inlined: a call per cell is what would cost) and, in the Swedish dialect,
    # floats (a decimal comma, after the text check so a negative number never gets a `'`).
    start = FORMULA_START
    for row in rows:
        for i in range(len(row)) if text_columns is None else text_columns:
            v = row[i]
            if isinstance(v, str) and v[:1] in start:
                row = [*row[:i], "'" + v, *row[i + 1 :]]
        if excel:
            row = [str(v).replace(".", ",") if v.__class__ is float else v for v in row]
        writer.writerow(row)
        pending += 1
        if pending >= ROWS_PER_CHUNK:
            yield (prefix + buffer.getvalue()).encode("utf-8")
            prefix = ""
            buffer.seek(0)
            buffer.truncate()
            pending = 0
    yield (prefix + buffer.getvalue()).encode("utf-8")


def xlsx_stream(
    sheets: Iterable[tuple[str, Sequence[str], Iterable[Sequence[Any]]]],
    *,
    text_columns: Sequence[int] | None = None,
    properties: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """Write sheets to a write-only workbook on disk, then stream the file.

    `text_columns` as in csv_stream: only those cells go through xlsx_cell, the others are
    handed to openpyxl as they are (its own per-cell XML writing is most of the time; see
    benchmarks/README.md, bench_export.py). `properties` are document properties (title,
    subject, keywords, description: what Excel shows under File > Info), never cells, so the
    sheets keep the layout integrators read.
    """
    from openpyxl import Workbook
    from openpyxl.cell.cell import ILLEGAL_CHARACTERS_RE

    workbook = Workbook(write_only=True)
    for name, value in (properties or {}).items():
        setattr(workbook.properties, name, ILLEGAL_CHARACTERS_RE.sub("\ufffd", value))
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append([xlsx_cell(sheet, v) for v in header])
        if text_columns is None:
            for row in rows:
                sheet.append([xlsx_cell(sheet, v) for v in row])
            continue
        for row in rows:
            cells = list(row)
            for i in text_columns:
                if cells[i].__class__ is str:
                    cells[i] = xlsx_cell(sheet, cells[i])
            sheet.append(cells)
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk


def table_stream(
    fmt: ExportFormat,
    title: str,
    header: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    text_columns: Sequence[int] | None = None,
    properties: Mapping[str, str] | None = None,
) -> Iterator[bytes]:
    """One table in the requested format (`text_columns` as in csv_stream; `properties`, the
    workbook's document properties, only in xlsx: a CSV has none and keeps its columns)."""
    if fmt == "xlsx":
        return xlsx_stream(
            [(title, header, rows)], text_columns=text_columns, properties=properties
        )
    return csv_stream(header, rows, excel=fmt == "csv-excel", text_columns=text_columns)


def content_disposition(filename: str) -> str:
    """An attachment header with an ASCII-safe file name."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return f'attachment; filename="{safe}"'
