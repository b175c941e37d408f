"""Residential areas (bostadsområden) and their yearly classifications."""

import re
from collections import defaultdict
from collections.abc import Iterable, Sequence
from typing import Any

from pydantic import ValidationError
from sqlalchemy import or_, select
from sqlalchemy.orm import Session

from survey_api.areas.schemas import (
    AreaCreate,
    AreaFieldChange,
    AreaImportError,
    AreaImportResult,
    AreaImportRow,
    AreaPage,
    AreaRead,
    AreaUpdate,
    Classification,
    ImportOutcome,
)
from survey_api.areas.upload import parse_csv
from survey_api.exceptions import (
    Conflict,
    NotFound,
    ValidationFailed,
)
from survey_api.models import Area, AreaClassification
from survey_api.paging import PageRequest, fetch

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


def list_areas(
    session: Session, organisation_id: int, page: PageRequest, search: str | None = None
) -> AreaPage:
    """A page of the organisation's areas, by code; `search` keeps those whose code or name
    contains it (ignoring case; on SQLite only ASCII letters fold)."""
    query = select(Area).where(Area.organisation_id == organisation_id)
    wanted = (search or "").replace("\x00", "").strip()[:200]
    if wanted:
        pattern = "%" + re.sub(r"([\\%_])", r"\\\1", wanted) + "%"
        query = query.where(
            or_(Area.code.ilike(pattern, escape="\\"), Area.name.ilike(pattern, escape="\\"))
        )
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
    """Create or update areas from CSV text; any bad row rejects the whole file."""
    return import_rows(session, organisation_id, parse_csv(text))


def _validate_rows(
    rows: Sequence[tuple[int, dict[str, str]]],
) -> tuple[list[tuple[int, AreaCreate]], list[dict[str, Any]]]:
    """Each row as an AreaCreate, and every error with its line (and column)."""
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
    return parsed, errors


def _changes(
    area: Area | None, stored: Sequence[AreaClassification], data: AreaCreate
) -> list[AreaFieldChange]:
    """What importing ``data`` changes: every given field of a new area, or the fields and
    the classification year that differ from the stored area and its classifications."""
    changes: list[AreaFieldChange] = []
    for attr, value in _given_fields(data).items():
        old = getattr(area, attr) if area is not None else None
        if old != value:
            changes.append(AreaFieldChange(field=attr, old=old, new=value))
    by_year = {c.year: c for c in stored}
    for c in data.classifications:
        row = by_year.get(c.year)
        if row is None:
            changes.append(AreaFieldChange(field="year", year=c.year, old=None, new=c.year))
        for attr in _given_classification(c):
            old = getattr(row, attr) if row is not None else None
            if old != getattr(c, attr):
                changes.append(
                    AreaFieldChange(field=attr, year=c.year, old=old, new=getattr(c, attr))
                )
    return changes


def _given_fields(data: AreaCreate) -> dict[str, Any]:
    """The area's fields the file has a column for (an empty cell clears one); a column the
    file leaves out keeps what is stored, so a file of names alone does not wipe DeSO codes."""
    return data.model_dump(include=data.model_fields_set - {"classifications", "code"})


def _given_classification(c: Classification) -> list[str]:
    """The classification fields the file has a column for (the rest keep the stored year)."""
    return [f for f in ("area_type", "police_classification") if f in c.model_fields_set]


def _plan(
    session: Session, organisation_id: int, rows: Sequence[tuple[int, dict[str, str]]]
) -> tuple[list[tuple[AreaImportRow, AreaCreate, Area | None]], list[dict[str, Any]]]:
    """The one rule of an import, shared by the preview and the import itself: per valid row
    its outcome (create, update with the changed fields, unchanged), and the row errors.
    Two queries whatever the file's length: the organisation's areas and their classifications."""
    parsed, errors = _validate_rows(rows)
    existing = {
        a.code: a
        for a in session.scalars(select(Area).where(Area.organisation_id == organisation_id))
    }
    wanted = [existing[d.code].id for _line, d in parsed if d.code in existing]
    stored = classifications_of(session, wanted)
    plan: list[tuple[AreaImportRow, AreaCreate, Area | None]] = []
    for line, data in parsed:
        area = existing.get(data.code)
        changes = _changes(area, stored.get(area.id, []) if area is not None else [], data)
        outcome: ImportOutcome = "create" if area is None else "update" if changes else "unchanged"
        row = AreaImportRow(
            line=line,
            code=data.code,
            outcome=outcome,
            area_id=area.id if area is not None else None,
            changes=changes,
        )
        plan.append((row, data, area))
    return plan, errors


def _summary(
    plan: Sequence[tuple[AreaImportRow, AreaCreate, Area | None]],
    errors: list[dict[str, Any]],
    *,
    dry_run: bool,
    areas: list[AreaRead],
) -> AreaImportResult:
    rows = [row for row, _data, _area in plan]
    return AreaImportResult(
        dry_run=dry_run,
        created=sum(r.outcome == "create" for r in rows),
        updated=sum(r.outcome == "update" for r in rows),
        unchanged=sum(r.outcome == "unchanged" for r in rows),
        rows=rows,
        errors=[AreaImportError.model_validate(e) for e in errors],
        areas=areas,
    )


def preview_import(
    session: Session, organisation_id: int, rows: Sequence[tuple[int, dict[str, str]]]
) -> AreaImportResult:
    """What importing the rows would do, row by row, and every row error; stores nothing."""
    plan, errors = _plan(session, organisation_id, rows)
    return _summary(plan, errors, dry_run=True, areas=[])


def import_rows(
    session: Session, organisation_id: int, rows: Sequence[tuple[int, dict[str, str]]]
) -> AreaImportResult:
    """Create or update areas from parsed rows; any bad row rejects the whole file."""
    plan, errors = _plan(session, organisation_id, rows)
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
    # New areas in one flush (the plan found their codes free); classifications likewise.
    fresh = {
        row.line: Area(
            organisation_id=organisation_id, **data.model_dump(exclude={"classifications"})
        )
        for row, data, area in plan
        if area is None
    }
    session.add_all(fresh.values())
    session.flush()
    stored = classifications_of(
        session,
        [area.id for row, _data, area in plan if area is not None and row.outcome == "update"],
    )
    touched: list[Area] = []
    done: list[tuple[AreaImportRow, AreaCreate, Area | None]] = []
    for row, data, area in plan:
        if area is None:
            area = fresh[row.line]
            row = row.model_copy(update={"area_id": area.id})
            session.add_all(
                AreaClassification(area_id=area.id, **c.model_dump()) for c in data.classifications
            )
        elif row.outcome == "update":
            for attr, value in _given_fields(data).items():
                setattr(area, attr, value)
            by_year = {c.year: c for c in stored.get(area.id, [])}
            for c in data.classifications:
                existing_row = by_year.get(c.year)
                if existing_row is None:
                    session.add(AreaClassification(area_id=area.id, **c.model_dump()))
                else:
                    for attr in _given_classification(c):
                        setattr(existing_row, attr, getattr(c, attr))
        touched.append(area)
        done.append((row, data, area))
    session.flush()
    return _summary(done, [], dry_run=False, areas=read_areas(session, touched))


def _row_payload(row: dict[str, str]) -> dict[str, Any]:
    payload: dict[str, Any] = {
        k: (v or None)
        for k, v in row.items()
        if k not in ("year", "area_type", "police_classification")
    }
    if payload.get("households") is not None:
        payload["households"] = _maybe_int(payload["households"])
    if row.get("year"):
        # Only the columns the file has: a year's other field keeps its stored value.
        classification: dict[str, Any] = {"year": _maybe_int(row["year"])}
        if "area_type" in row:
            classification["area_type"] = _maybe_int(row["area_type"]) if row["area_type"] else None
        if "police_classification" in row:
            classification["police_classification"] = row["police_classification"] or None
        payload["classifications"] = [classification]
    elif row.get("area_type") or row.get("police_classification"):
        payload["classifications"] = [{"year": None}]
    return payload


def _maybe_int(value: str) -> int | str:
    return int(value) if _INTEGER.fullmatch(value) else value
