"""Residential areas (bostadsområden) and their yearly classifications."""

import csv
import io
import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import select
from sqlalchemy.orm import Session

from survey_api.areas.schemas import (
    AreaCreate,
    AreaImportResult,
    AreaPage,
    AreaRead,
    AreaUpdate,
    Classification,
)
from survey_api.exceptions import BadRequest, Conflict, NotFound, ValidationFailed
from survey_api.models import Area, AreaClassification
from survey_api.paging import PageRequest, fetch

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
# ASCII digits only, and few of them: "²".isdigit() is true but int("²") fails, and int()
# refuses more than 4300 digits. Anything else stays text and fails validation as such.
_INTEGER = re.compile(r"-?[0-9]{1,18}")


def get_area(session: Session, organisation_id: int, area_id: int) -> Area:
    """Load an area of the organisation; another organisation's area is 'not found' too."""
    area = session.get(Area, area_id)
    if area is None or area.organisation_id != organisation_id:
        raise NotFound(f"no area with id {area_id}")
    return area


def areas_by_ids(session: Session, organisation_id: int, area_ids: Iterable[int]) -> list[Area]:
    """Load the organisation's areas with these ids, or raise NotFound naming the missing ones."""
    wanted = sorted(set(area_ids))
    areas = list(
        session.scalars(
            select(Area).where(Area.organisation_id == organisation_id, Area.id.in_(wanted))
        )
    )
    missing = sorted(set(wanted) - {a.id for a in areas})
    if missing:
        raise NotFound(f"no areas with ids {', '.join(map(str, missing))}")
    return sorted(areas, key=lambda a: a.id)


def classifications_of(
    session: Session, area_ids: Sequence[int]
) -> dict[int, list[AreaClassification]]:
    """Classifications per area, newest year first."""
    result: dict[int, list[AreaClassification]] = defaultdict(list)
    if area_ids:
        rows = session.scalars(
            select(AreaClassification)
            .where(AreaClassification.area_id.in_(area_ids))
            .order_by(AreaClassification.area_id, AreaClassification.year.desc())
        )
        for row in rows:
            result[row.area_id].append(row)
    return result


def to_read(area: Area, classifications: Sequence[AreaClassification]) -> AreaRead:
    """The API view of an area."""
    return AreaRead.model_validate(
        {
            **{c: getattr(area, c) for c in AreaRead.model_fields if c != "classifications"},
            "classifications": [Classification.model_validate(c) for c in classifications],
        }
    )


def read_areas(session: Session, areas: Sequence[Area]) -> list[AreaRead]:
    """API views for several areas with one classification query."""
    by_area = classifications_of(session, [a.id for a in areas])
    return [to_read(a, by_area.get(a.id, [])) for a in areas]


def list_areas(session: Session, organisation_id: int, page: PageRequest) -> AreaPage:
    """A page of the organisation's areas, by code."""
    query = select(Area).where(Area.organisation_id == organisation_id)
    areas, total = fetch(session, query, page, order_by=[Area.code], id_column=Area.id)
    return AreaPage.of(read_areas(session, areas), total, page)


def create_area(session: Session, organisation_id: int, data: AreaCreate) -> Area:
    """Create an area; its code must be new in the organisation."""
    existing = session.scalar(
        select(Area.id).where(Area.organisation_id == organisation_id, Area.code == data.code)
    )
    if existing is not None:
        raise Conflict(f"an area with code {data.code!r} already exists (id {existing})")
    area = Area(organisation_id=organisation_id, **data.model_dump(exclude={"classifications"}))
    session.add(area)
    session.flush()
    upsert_classifications(session, area.id, data.classifications)
    return area


def update_area(session: Session, organisation_id: int, area_id: int, data: AreaUpdate) -> Area:
    """Apply the sent fields; classifications are upserted per year."""
    area = get_area(session, organisation_id, area_id)
    fields = data.model_dump(exclude_unset=True, exclude={"classifications"})
    for field, value in fields.items():
        setattr(area, field, value)
    if fields:
        _check_cross_field_rules(area)
    if data.classifications is not None:
        upsert_classifications(session, area.id, data.classifications)
    session.flush()
    return area


def _check_cross_field_rules(area: Area) -> None:
    """A partial update must still leave codes with versions, inside the municipality."""
    try:
        AreaCreate.model_validate(
            {c: getattr(area, c) for c in AreaCreate.model_fields if c != "classifications"}
        )
    except ValidationError as exc:
        errors: list[dict[str, Any]] = [
            {"loc": ["body"], "msg": e["msg"], "type": e["type"]} for e in exc.errors()
        ]
        raise ValidationFailed(
            "the update leaves the area invalid: " + "; ".join(str(e["msg"]) for e in errors),
            errors=errors,
        ) from None


def upsert_classifications(
    session: Session, area_id: int, classifications: Sequence[Classification]
) -> None:
    """Insert or replace the given years' classifications of an area."""
    years = [c.year for c in classifications]
    repeated = [i for i, year in enumerate(years) if year in years[:i]]
    if repeated:
        raise ValidationFailed(
            "classifications list a year more than once",
            errors=[
                {
                    "loc": ["body", "classifications", i, "year"],
                    "msg": f"year {years[i]} is listed more than once",
                    "type": "duplicate",
                }
                for i in repeated
            ],
        )
    existing = {
        c.year: c
        for c in session.scalars(
            select(AreaClassification).where(AreaClassification.area_id == area_id)
        )
    }
    for c in classifications:
        row = existing.get(c.year)
        if row is None:
            session.add(AreaClassification(area_id=area_id, **c.model_dump()))
        else:
            row.area_type = c.area_type
            row.police_classification = c.police_classification
    session.flush()


def import_csv(session: Session, organisation_id: int, text: str) -> AreaImportResult:
    """Create or update areas from CSV; any bad row rejects the whole file."""
    rows = _parse_csv(text)
    errors: list[dict[str, Any]] = []
    parsed: list[tuple[int, AreaCreate]] = []
    seen: dict[str, int] = {}
    for line, raw in rows:
        payload = _row_payload(raw)
        try:
            candidate = AreaCreate.model_validate(payload)
        except ValidationError as exc:
            for err in exc.errors():
                field = [str(p) for p in err["loc"] if not isinstance(p, int)]
                loc: list[str | int] = ["row", line, *(field[-1:] or [])]
                errors.append({"loc": loc, "msg": err["msg"], "type": err["type"]})
            continue
        if candidate.code in seen:
            errors.append(
                {
                    "loc": ["row", line, "code"],
                    "type": "duplicate",
                    "msg": f"code {candidate.code!r} is also on line {seen[candidate.code]}",
                }
            )
            continue
        seen[candidate.code] = line
        parsed.append((line, candidate))
    if errors:
        first = "; ".join(
            f"line {e['loc'][1]}" + "".join(f", column {c}" for c in e["loc"][2:]) + f": {e['msg']}"
            for e in errors[:3]
        )
        more = f" (and {len(errors) - 3} more)" if len(errors) > 3 else ""
        raise ValidationFailed(
            f"{len({e['loc'][1] for e in errors})} of {len(rows)} rows are invalid; "
            f"nothing was imported. {first}{more}",
            errors=errors,
        )
    existing = {
        a.code: a
        for a in session.scalars(select(Area).where(Area.organisation_id == organisation_id))
    }
    created = updated = 0
    touched: list[Area] = []
    for _line, data in parsed:
        area = existing.get(data.code)
        if area is None:
            area = create_area(session, organisation_id, data)
            created += 1
        else:
            for attr, value in data.model_dump(exclude={"classifications", "code"}).items():
                setattr(area, attr, value)
            upsert_classifications(session, area.id, data.classifications)
            updated += 1
        touched.append(area)
    session.flush()
    return AreaImportResult(created=created, updated=updated, areas=read_areas(session, touched))


def _parse_csv(text: str) -> list[tuple[int, dict[str, str]]]:
    text = text.removeprefix("\ufeff")
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") > first_line.count(",") else ","
    reader = csv.DictReader(io.StringIO(text), delimiter=delimiter)
    try:
        header = [h.strip() for h in (reader.fieldnames or [])]
    except csv.Error as exc:
        raise _unreadable(text, delimiter, 1, [], exc) from None
    unknown = [h for h in header if h not in CSV_COLUMNS]
    missing = [h for h in ("code", "name", "municipality_code") if h not in header]
    if unknown or missing:
        parts = []
        if unknown:
            parts.append(f"unknown columns: {', '.join(unknown)}")
        if missing:
            parts.append(f"missing columns: {', '.join(missing)}")
        raise BadRequest(f"{'; '.join(parts)}. Columns are: {', '.join(CSV_COLUMNS)}")
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


def _row_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        k: (v or None)
        for k, v in row.items()
        if k not in ("year", "area_type", "police_classification")
    }
    if payload.get("households") is not None:
        payload["households"] = _maybe_int(payload["households"])
    if row.get("year"):
        payload["classifications"] = [
            {
                "year": _maybe_int(row["year"]),
                "area_type": _maybe_int(row["area_type"]) if row.get("area_type") else None,
                "police_classification": row.get("police_classification") or None,
            }
        ]
    elif row.get("area_type") or row.get("police_classification"):
        payload["classifications"] = [{"year": None}]
    return payload


def _maybe_int(value: str) -> int | str:
    return int(value) if _INTEGER.fullmatch(value) else value


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
