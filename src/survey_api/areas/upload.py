"""Reading an area file: CSV (`,` or `;`, UTF-8) or an Excel workbook (.xlsx), told by its
content, into numbered rows of text by column name; every problem is a precise 4xx."""

import csv
import io
import zipfile
from collections.abc import Sequence
from datetime import date, datetime, time

from survey_api.exceptions import BadRequest, PayloadTooLarge, SurveyError, ValidationFailed

CSV_COLUMNS = (
    "code",
    "name",
    "municipality_code",
    "deso_code",
    "deso_version",
    "regso_code",
    "regso_version",
    "households",
    "year",
    "area_type",
    "police_classification",
)
MAX_IMPORT_ROWS = 5000
XLSX_MEDIA_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
ZIP_MAGIC = b"PK\x03\x04"
OLE_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# An XLSX file is compressed XML: refuse archives that would unpack to more than this
# (a "zip bomb" fits in a small upload).
MAX_XLSX_UNPACKED_BYTES = 50_000_000
MAX_XLSX_COLUMNS = 50
# ASCII digits only, and few of them: "²".isdigit() is true but int("²") fails, and int()
# refuses more than 4300 digits. Anything else stays text and fails validation as such.


def read_upload(body: bytes, content_type: str | None = None) -> list[tuple[int, dict[str, str]]]:
    """The data rows of an uploaded area file, CSV or XLSX, each with its line number.

    The kind is told by the file's first bytes (an XLSX file is a ZIP archive), so a wrong
    content type does not matter; a file that claims to be XLSX and is not is refused."""
    declared = (content_type or "").split(";")[0].strip().lower()
    if body.startswith(ZIP_MAGIC):
        return _parse_xlsx(body)
    if body.startswith(OLE_MAGIC):
        raise BadRequest(
            "the file is an old Excel workbook (.xls); save it as .xlsx or as CSV (UTF-8). "
            "Nothing was imported"
        )
    if declared == XLSX_MEDIA_TYPE:
        raise BadRequest(
            "the file is sent as an Excel workbook (.xlsx) but is not one; nothing was imported"
        )
    return parse_csv(decode_csv(body))


def decode_csv(body: bytes) -> str:
    """CSV bytes as text: UTF-8 only, or a 400 naming the line of the first bad byte."""
    try:
        return body.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = body.count(b"\n", 0, exc.start) + 1
        raise BadRequest(
            f"the CSV file must be UTF-8 encoded: line {line} has the byte "
            f"0x{body[exc.start]:02x}, which is not UTF-8 there; nothing was imported"
        ) from None


def parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise _unreadable(text, delimiter, 1, [], exc) from None
    _check_header(header)
    rows: list[tuple[int, dict[str, str]]] = []
    record_start = reader.line_num + 1
    try:
        for row in reader:
            if len(rows) >= MAX_IMPORT_ROWS:
                raise BadRequest(f"at most {MAX_IMPORT_ROWS} rows per import")
            clean = {k.strip(): (v or "").strip() for k, v in row.items() if k is not None}
            if any(clean.values()):
                rows.append((reader.line_num, clean))
            record_start = reader.line_num + 1
    except csv.Error as exc:
        raise _unreadable(text, delimiter, record_start, header, exc) from None
    if not rows:
        raise BadRequest("the CSV file has no data rows")
    return rows


def _check_header(header: Sequence[str]) -> None:
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in ("code", "name", "municipality_code") if h not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        raise BadRequest(f"{'; '.join(parts)}. Columns are: {', '.join(CSV_COLUMNS)}")


def _parse_xlsx(body: bytes) -> list[tuple[int, dict[str, str]]]:
    """The first sheet of an XLSX workbook: the first row names the columns (as in the CSV),
    each later row is an area. Every cell is read as text, so a formula stays the text it is
    and fails validation (or is stored as plain text where any text is allowed)."""
    unreadable = BadRequest(
        "the Excel file (.xlsx) cannot be read: it is damaged or not an XLSX workbook. "
        "Save it again from Excel as .xlsx, or as CSV (UTF-8); nothing was imported"
    )
    try:
        with zipfile.ZipFile(io.BytesIO(body)) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise unreadable from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise PayloadTooLarge(
            f"the Excel file unpacks to {unpacked} bytes, more than the "
            f"{MAX_XLSX_UNPACKED_BYTES} an import may hold; nothing was imported"
        )
    # openpyxl (and the NumPy it may load) is imported on first use, as in exports.formats.
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(io.BytesIO(body), read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (KeyError, XML and ZIP errors) for one fault
        raise unreadable from None
    try:
        if not workbook.worksheets:
            raise BadRequest("the Excel file has no sheet; nothing was imported")
        sheet = workbook.worksheets[0]
        rows: list[tuple[int, dict[str, str]]] = []
        header: list[str] = []
        try:
            cells = sheet.iter_rows(max_col=MAX_XLSX_COLUMNS, values_only=True)
            for line, values in enumerate(cells, start=1):
                texts = [cell_text(v) for v in values]
                if line == 1:
                    header = texts
                    while header and not header[-1]:
                        header.pop()
                    _check_header([h for h in header if h])
                    continue
                clean = {h: texts[i] if i < len(texts) else "" for i, h in enumerate(header) if h}
                if any(clean.values()):
                    if len(rows) >= MAX_IMPORT_ROWS:
                        raise BadRequest(f"at most {MAX_IMPORT_ROWS} rows per import")
                    rows.append((line, clean))
        except SurveyError:
            raise
        except Exception:
            raise unreadable from None
    finally:
        workbook.close()
    if not header:
        raise BadRequest(
            "the first sheet of the Excel file is empty: its first row must name the columns "
            f"({', '.join(CSV_COLUMNS)}); nothing was imported"
        )
    if not rows:
        raise BadRequest("the Excel file has no data rows")
    return rows


def cell_text(value: object) -> str:
    """An Excel cell as the text a CSV would hold: 2300 (not 2300.0), dates as YYYY-MM-DD."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "TRUE" if value else "FALSE"
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e18:
        return str(int(value))
    if isinstance(value, datetime) and value.time() == time(0):
        return value.date().isoformat()
    if isinstance(value, (date, time)):
        return value.isoformat()
    return str(value).strip()


def _unreadable(
    text: str, delimiter: str, line: int, header: list[str], exc: csv.Error
) -> BadRequest | ValidationFailed:
    """The error for a CSV record the csv module cannot read, naming its line (and column)."""
    limit = csv.field_size_limit()
    if "new-line character" in str(exc):
        return BadRequest(
            f"line {line}: a carriage return (\\r) outside quotes; save the file with CRLF or "
            "LF line endings. Nothing was imported"
        )
    if "field limit" not in str(exc):
        return BadRequest(f"line {line}: the CSV cannot be read ({exc}); nothing was imported")
    # The csv module splits lines on "\n" alone (io.StringIO), so the same count finds the record.
    record = text.split("\n", line - 1)[-1]
    index = _long_field(record, delimiter, limit)
    loc: list[str | int] = ["row", line]
    where = f"line {line}"
    if index is not None and index < len(header):
        loc.append(header[index])
        where += f", column {header[index]}"
    elif index is not None:  # a header too long to read: no column names yet
        where += f", column {index + 1}"
    msg = f"the field is longer than {limit} characters"
    return ValidationFailed(
        f"{where}: {msg}; nothing was imported",
        errors=[{"loc": loc, "msg": msg, "type": "too_long"}],
    )


def _long_field(record: str, delimiter: str, limit: int) -> int | None:
    """The index of the first field of a CSV record longer than ``limit`` characters."""
    index = length = position = 0
    quoted, at_start = False, True
    while position < len(record):
        char = record[position]
        position += 1
        if quoted:
            if char == '"' and record[position : position + 1] == '"':
                position += 1  # an escaped quote, one character of the field
            elif char == '"':
                quoted = False
                continue
        elif char == '"' and at_start:
            quoted, at_start = True, False
            continue
        elif char == delimiter:
            index, length, at_start = index + 1, 0, True
            continue
        elif char in "\r\n":
            return None
        at_start = False
        length += 1
        if length > limit:
            return index
    return None
