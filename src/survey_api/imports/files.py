"""Reading a file of past surveys: CSV (UTF-8, UTF-8 with BOM or Windows-1252; `,`, `;` or
tab) or an Excel workbook (.xlsx), streamed row by row from a spooled temporary file so that
memory stays flat in the file's size. Every problem with the file as a whole is a precise 400
naming where it is; problems with single rows are the caller's to report by row number.

    source = spool(upload.file, upload.filename, upload.content_type)
    with open_table(source) as table:
        table.columns      # the heading row, stripped
        for line, cells in table.rows:   # cells: list[str], one per column position
            ...
"""

from __future__ import annotations

import codecs
import csv
import hashlib
import io
import zipfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import BinaryIO, Literal

from survey_api.areas.upload import OLE_MAGIC, XLSX_MEDIA_TYPE, ZIP_MAGIC, cell_text
from survey_api.exceptions import BadRequest, PayloadTooLarge, SurveyError

Encoding = Literal["utf-8", "utf-8-sig", "windows-1252"]
ENCODINGS: tuple[Encoding, ...] = ("utf-8", "utf-8-sig", "windows-1252")
_CHUNK = 1 << 20
# An XLSX file is compressed XML read as a stream (memory stays flat), but refuse archives
# that would unpack to more than this: a "zip bomb" fits in a small upload.
MAX_XLSX_UNPACKED_BYTES = 2_000_000_000
MAX_COLUMNS = 2000
NOTHING = "nothing was imported"
# Bytes that Windows-1252 leaves undefined: a file holding one is not Windows-1252 either.
_UNDEFINED_IN_1252 = frozenset(b"\x81\x8d\x8f\x90\x9d")


@dataclass(frozen=True, slots=True)
class SourceFile:
    """An uploaded file on a seekable stream, with its SHA-256 (the import's identity)."""

    stream: BinaryIO
    name: str
    sha256: str
    size: int
    kind: Literal["csv", "xlsx"]


@dataclass
class Table:
    """The heading and the data rows of a file; ``rows`` can be iterated once."""

    columns: list[str]
    encoding: str  # "utf-8", "utf-8-sig", "windows-1252" or "xlsx"
    rows: Iterator[tuple[int, list[str]]]


def spool(stream: BinaryIO, name: str | None, content_type: str | None = None) -> SourceFile:
    """Hash an uploaded file (already spooled by the multipart parser) and tell its kind by
    its first bytes; a wrong content type does not matter, an old .xls or a file that claims
    to be XLSX and is not gets a 400."""
    stream.seek(0)
    digest = hashlib.sha256()
    size = 0
    head = b""
    while chunk := stream.read(_CHUNK):
        if not head:
            head = chunk[:8]
        digest.update(chunk)
        size += len(chunk)
    stream.seek(0)
    if size == 0:
        raise BadRequest(f"the file is empty; {NOTHING}")
    declared = (content_type or "").split(";")[0].strip().lower()
    if head.startswith(OLE_MAGIC):
        raise BadRequest(
            "the file is an old Excel workbook (.xls); save it as .xlsx or as CSV. " + NOTHING
        )
    if head.startswith(ZIP_MAGIC):
        kind: Literal["csv", "xlsx"] = "xlsx"
    elif declared == XLSX_MEDIA_TYPE:
        raise BadRequest(f"the file is sent as an Excel workbook (.xlsx) but is not one; {NOTHING}")
    else:
        kind = "csv"
    return SourceFile(
        stream=stream,
        name=(name or "")[:200],
        sha256=digest.hexdigest(),
        size=size,
        kind=kind,
    )


@contextmanager
def open_table(source: SourceFile, *, encoding: Encoding | None = None) -> Iterator[Table]:
    """The file's heading and a stream of its data rows (blank rows skipped).

    A CSV file's encoding is found by reading it once: UTF-8 (with or without a byte order
    mark) when every byte is UTF-8, else Windows-1252 (what Excel on Swedish Windows saves as
    "CSV") when the file has no UTF-8 letters at all and only bytes Windows-1252 defines. A
    file that mixes the two, or ends in the middle of a UTF-8 character, is refused; the
    caller may name the encoding instead."""
    source.stream.seek(0)
    if source.kind == "xlsx":
        with _xlsx_table(source.stream) as table:
            yield table
        return
    found = encoding or detect_encoding(source.stream)
    source.stream.seek(0)
    text = io.TextIOWrapper(source.stream, encoding=found, newline="", errors="strict")
    try:
        yield _csv_table(text, found)
    finally:
        text.detach()  # leave the caller's stream open


def detect_encoding(stream: BinaryIO) -> Encoding:
    """UTF-8, UTF-8 with a BOM, or Windows-1252 (see open_table); a 400 otherwise."""
    stream.seek(0)
    head = stream.read(3)
    bom = head == codecs.BOM_UTF8
    stream.seek(0)
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    offset = 0
    line = 1
    seen_non_ascii = False
    while True:
        chunk = stream.read(_CHUNK)
        final = not chunk
        try:
            decoded = decoder.decode(chunk, final=final)
        except UnicodeDecodeError as exc:
            if final:
                raise BadRequest(
                    "the file ends in the middle of a UTF-8 character: it looks cut off "
                    f"(truncated). Send the whole file; {NOTHING}"
                ) from None
            if seen_non_ascii or bom or any(ord(c) > 127 for c in _decodable_prefix(chunk, exc)):
                bad_line = line + chunk.count(b"\n", 0, exc.start)
                raise BadRequest(
                    f"the file mixes encodings: line {bad_line} has the byte "
                    f"0x{chunk[exc.start]:02x}, which is not UTF-8, but earlier lines are "
                    "UTF-8. Save it again as CSV UTF-8; " + NOTHING
                ) from None
            return _windows_1252(stream)
        seen_non_ascii = seen_non_ascii or any(ord(c) > 127 for c in decoded)
        if final:
            return "utf-8-sig" if bom else "utf-8"
        offset += len(chunk)
        line += chunk.count(b"\n")


def _decodable_prefix(chunk: bytes, exc: UnicodeDecodeError) -> str:
    return chunk[: exc.start].decode("utf-8", errors="ignore")


def _windows_1252(stream: BinaryIO) -> Encoding:
    stream.seek(0)
    line = 1
    while chunk := stream.read(_CHUNK):
        bad = next((i for i, b in enumerate(chunk) if b in _UNDEFINED_IN_1252), None)
        if bad is not None:
            at = line + chunk.count(b"\n", 0, bad)
            raise BadRequest(
                f"the file is neither UTF-8 nor Windows-1252: line {at} has the byte "
                f"0x{chunk[bad]:02x}. Save it again as CSV UTF-8; {NOTHING}"
            )
        line += chunk.count(b"\n")
    return "windows-1252"


def _csv_table(text: io.TextIOWrapper, encoding: str) -> Table:
    try:
        first = text.readline()
    except UnicodeDecodeError:
        raise BadRequest(f"the heading row is not {encoding}; {NOTHING}") from None
    first = first.removeprefix("\ufeff")
    if not first.strip():
        raise BadRequest(f"the file's first line must name the columns; {NOTHING}")
    delimiter = max((";", ",", "\t"), key=first.count)
    try:
        heading = next(csv.reader([first], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        raise BadRequest(f"line 1: the heading row cannot be read ({exc}); {NOTHING}") from None
    columns = _columns(heading)
    return Table(
        columns=columns,
        encoding=encoding,
        rows=_csv_rows(text, delimiter, encoding, len(columns)),
    )


def _trimmed(cells: list[str], width: int) -> list[str]:
    """Drop empty cells past the heading's width (a trailing delimiter, Excel's blanks)."""
    while len(cells) > width and not cells[-1]:
        cells.pop()
    return cells


def _csv_rows(
    text: io.TextIOWrapper, delimiter: str, encoding: str, width: int
) -> Iterator[tuple[int, list[str]]]:
    reader = csv.reader(text, delimiter=delimiter, strict=True)
    start = 2
    try:
        for cells in reader:
            line = start
            start = reader.line_num + 2  # the heading was read before the reader started
            if any(c.strip() for c in cells):
                yield line, _trimmed([c.strip() for c in cells], width)
    except csv.Error as exc:
        if "unexpected end of data" in str(exc):
            raise BadRequest(
                f"line {start}: the file ends inside a quoted field: it looks cut off "
                f"(truncated). Send the whole file; {NOTHING}"
            ) from None
        raise BadRequest(f"line {start}: the CSV cannot be read ({exc}); {NOTHING}") from None
    except UnicodeDecodeError as exc:
        raise BadRequest(
            f"near line {start}: the file is not {encoding} ({exc.reason}); {NOTHING}"
        ) from None


def _columns(heading: list[str]) -> list[str]:
    columns = [h.strip() for h in heading]
    while columns and not columns[-1]:
        columns.pop()
    if not columns:
        raise BadRequest(f"the file's first row must name the columns; {NOTHING}")
    if len(columns) > MAX_COLUMNS:
        raise BadRequest(f"the file has {len(columns)} columns, more than {MAX_COLUMNS}; {NOTHING}")
    seen: set[str] = set()
    for name in columns:
        if name and name in seen:
            raise BadRequest(f"the column {name!r} is named twice in the heading; {NOTHING}")
        seen.add(name)
    return columns


@contextmanager
def _xlsx_table(stream: BinaryIO) -> Iterator[Table]:
    unreadable = BadRequest(
        "the Excel file (.xlsx) cannot be read: it is damaged, cut off or not an XLSX "
        f"workbook. Save it again from Excel as .xlsx, or as CSV; {NOTHING}"
    )
    try:
        with zipfile.ZipFile(stream) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, zipfile.LargeZipFile, ValueError, EOFError):
        raise unreadable from None
    if unpacked > MAX_XLSX_UNPACKED_BYTES:
        raise PayloadTooLarge(
            f"the Excel file unpacks to {unpacked} bytes, more than the "
            f"{MAX_XLSX_UNPACKED_BYTES} an import may hold; {NOTHING}"
        )
    stream.seek(0)
    from openpyxl import load_workbook  # on first use, as in exports.formats

    try:
        workbook = load_workbook(stream, read_only=True, data_only=False)
    except Exception:  # openpyxl raises many kinds (KeyError, XML and ZIP errors) for one fault
        raise unreadable from None
    try:
        if not workbook.worksheets:
            raise BadRequest(f"the Excel file has no sheet; {NOTHING}")
        cells = workbook.worksheets[0].iter_rows(values_only=True)
        try:
            first = next(cells, None)
        except Exception:
            raise unreadable from None
        if first is None:
            raise BadRequest(
                f"the first sheet of the Excel file is empty: its first row must name the "
                f"columns; {NOTHING}"
            )
        columns = _columns([cell_text(v) for v in first])

        def rows() -> Iterator[tuple[int, list[str]]]:
            try:
                for line, values in enumerate(cells, start=2):
                    texts = [cell_text(v) for v in values]
                    if any(texts):
                        yield line, _trimmed(texts, len(columns))
            except SurveyError:
                raise
            except Exception:
                raise unreadable from None

        yield Table(columns=columns, encoding="xlsx", rows=rows())
    finally:
        workbook.close()
