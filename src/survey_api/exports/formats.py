"""Tabular export formats, written row by row so memory stays constant.

`csv` is RFC 4180 with `.` decimals in UTF-8; `csv-excel` is what Swedish Excel opens with a
double click: `;` separators, decimal comma and a UTF-8 byte-order mark; `xlsx` is a real
workbook (openpyxl in write-only mode, spooled through a temporary file).
"""

import csv
import io
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from typing import Any, Literal

from openpyxl import Workbook

ExportFormat = Literal["csv", "csv-excel", "xlsx"]
MEDIA_TYPES: dict[str, str] = {
    "csv": "text/csv; charset=utf-8",
    "csv-excel": "text/csv; charset=utf-8",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
}
EXTENSIONS = {"csv": "csv", "csv-excel": "csv", "xlsx": "xlsx"}
ROWS_PER_CHUNK = 500


def csv_stream(
    header: Sequence[str], rows: Iterable[Sequence[Any]], *, excel: bool = False
) -> Iterator[bytes]:
    """Encode rows as CSV in chunks; `excel` gives the Swedish Excel dialect."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, delimiter=";" if excel else ",", lineterminator="\r\n")
    writer.writerow(header)
    prefix = "\ufeff" if excel else ""
    pending = 0
    # The hot loop of every export: the csv module writes None as "" and ints and strings
    # as they are, so only the Swedish dialect touches cells (floats get a decimal comma).
    for row in rows:
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
) -> Iterator[bytes]:
    """Write sheets to a write-only workbook on disk, then stream the file."""
    workbook = Workbook(write_only=True)
    for title, header, rows in sheets:
        sheet = workbook.create_sheet(title=title[:31])
        sheet.append(list(header))
        for row in rows:
            sheet.append(list(row))
    with tempfile.TemporaryFile() as spool:
        workbook.save(spool)
        spool.seek(0)
        while chunk := spool.read(64 * 1024):
            yield chunk


def table_stream(
    fmt: ExportFormat, title: str, header: Sequence[str], rows: Iterable[Sequence[Any]]
) -> Iterator[bytes]:
    """One table in the requested format."""
    if fmt == "xlsx":
        return xlsx_stream([(title, header, rows)])
    return csv_stream(header, rows, excel=fmt == "csv-excel")


def content_disposition(filename: str) -> str:
    """An attachment header with an ASCII-safe file name."""
    safe = "".join(ch if ch.isalnum() or ch in "-_." else "_" for ch in filename)
    return f'attachment; filename="{safe}"'
