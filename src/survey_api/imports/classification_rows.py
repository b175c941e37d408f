"""Reading a classifications file's heading and rows (imports/classifications.py has the rules
and the import): each row checked cell by cell into a `ParsedRow`, or its problems reported.
Nothing here touches the database.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from survey_api.areas.schemas import DESO_PATTERN, REGSO_PATTERN, VERSION_PATTERN
from survey_api.exceptions import BadRequest
from survey_api.imports.classification_schemas import ClassificationField, CodeKind
from survey_api.imports.files import NOTHING
from survey_api.imports.problems import Problems

__all__ = [
    "COLUMN_ALIASES",
    "OPTIONAL_COLUMNS",
    "POLICE_WORDS",
    "PRECEDENCE",
    "REQUIRED_COLUMNS",
    "VALUE_COLUMNS",
    "ParsedRow",
    "parse_heading",
    "parse_row",
]

#: Lower wins: the area's own code names it exactly, a DeSO is smaller than a RegSO.
PRECEDENCE: dict[CodeKind, int] = {"area_code": 0, "deso": 1, "regso": 2}

REQUIRED_COLUMNS = ("code_kind", "code", "year")
VALUE_COLUMNS = ("area_type", "police_class")
OPTIONAL_COLUMNS = ("code_version",)
# The areas CSV calls the police column police_classification; take that heading too.
COLUMN_ALIASES = {"police_classification": "police_class"}

#: Our codes and the words of the police's own list, compared case-insensitively.
POLICE_WORDS = {
    "none": "none",
    "utsatt": "utsatt",
    "risk": "risk",
    "sarskilt_utsatt": "sarskilt_utsatt",
    "utsatt område": "utsatt",
    "riskområde": "risk",
    "särskilt utsatt område": "sarskilt_utsatt",
}
_DESO = re.compile(DESO_PATTERN)
_REGSO = re.compile(REGSO_PATTERN)
_VERSION = re.compile(VERSION_PATTERN)
_AREA_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,39}$")
_YEAR = re.compile(r"^[0-9]{4}$")


@dataclass(frozen=True, slots=True)
class ParsedRow:
    line: int
    code_kind: CodeKind
    code: str
    code_version: str | None
    year: int
    values: dict[ClassificationField, str]  # the non-blank ones, as stored (police: our code)
    texts: dict[ClassificationField, str]  # the cells as written, for the report


def parse_heading(columns: list[str]) -> tuple[dict[str, int], list[str]]:
    """Where each column the import reads is, and the headings it ignores; a 400 when a
    required column is missing (nothing can be read from such a file)."""
    positions: dict[str, int] = {}
    ignored: list[str] = []
    for index, raw in enumerate(columns):
        name = re.sub(r"[\s-]+", "_", raw.strip().lower())
        name = COLUMN_ALIASES.get(name, name)
        if name in (*REQUIRED_COLUMNS, *VALUE_COLUMNS, *OPTIONAL_COLUMNS):
            if name in positions:
                raise BadRequest(f"the column {name!r} is named twice in the heading; {NOTHING}")
            positions[name] = index
        elif raw.strip():
            ignored.append(raw.strip().replace("\x00", "\ufffd")[:200])
    missing = [c for c in REQUIRED_COLUMNS if c not in positions]
    if missing or not any(c in positions for c in VALUE_COLUMNS):
        needed = [*missing] + (
            [] if any(c in positions for c in VALUE_COLUMNS) else ["area_type and/or police_class"]
        )
        raise BadRequest(
            "the file's heading lacks " + ", ".join(needed) + ". Columns: code_kind (deso, "
            "regso or area_code), code, year, area_type and/or police_class, optionally "
            f"code_version; {NOTHING}"
        )
    return positions, ignored[:50]


def parse_row(
    line: int,
    cells: list[str],
    positions: dict[str, int],
    width: int,
    problems: Problems,
    *,
    pad: bool,
) -> ParsedRow | None:
    """One row as a `ParsedRow`, or None with its problems added."""
    before = problems.total
    if len(cells) > width:
        problems.add(
            line,
            None,
            None,
            "extra_cells",
            f"the row has {len(cells)} cells, more than the heading's {width} columns",
        )
    elif len(cells) < width and not pad:
        problems.add(
            line,
            None,
            None,
            "missing_cells",
            f"the row has {len(cells)} cells, fewer than the heading's {width} columns",
        )

    def cell(name: str) -> str:
        index = positions.get(name)
        return cells[index].strip() if index is not None and index < len(cells) else ""

    kind_text = cell("code_kind")
    kind = kind_text.lower()
    code = cell("code")
    if kind not in PRECEDENCE:
        problems.add(
            line,
            "code_kind",
            kind_text,
            "unknown_code_kind",
            "code_kind must be deso, regso or area_code",
        )
    elif not code:
        problems.add(line, "code", code, "missing", "the code is blank")
    else:
        if kind in ("deso", "regso"):
            code = code.upper()
        pattern, example = {
            "deso": (_DESO, "a DeSO code is 4 digits, A, B or C and 4 digits, e.g. 1480C1010"),
            "regso": (_REGSO, "a RegSO code is 4 digits, R and 3 digits, e.g. 1480R001"),
            "area_code": (_AREA_CODE, "an area code is letters, digits, _ . - (at most 40)"),
        }[kind]
        if not pattern.fullmatch(code):
            problems.add(line, "code", cell("code"), "malformed_code", example)
    version = cell("code_version") or None
    if version is not None and not _VERSION.fullmatch(version):
        problems.add(
            line,
            "code_version",
            version,
            "bad_code_version",
            "code_version is the code set's year, 4 digits (e.g. 2018 or 2025)",
        )
    year_text = cell("year")
    if not _YEAR.fullmatch(year_text) or not 1990 <= int(year_text) <= 2100:
        problems.add(line, "year", year_text, "bad_year", "year must be a year 1990-2100")
    values: dict[ClassificationField, str] = {}
    texts: dict[ClassificationField, str] = {}
    area_type = cell("area_type")
    if area_type:
        if area_type in ("1", "2", "3", "4", "5"):
            values["area_type"] = texts["area_type"] = area_type
        else:
            problems.add(
                line,
                "area_type",
                area_type,
                "out_of_range",
                "area_type must be 1-5 (Segregationsbarometern's områdestyp) or blank",
            )
    police = cell("police_class")
    if police:
        known = POLICE_WORDS.get(re.sub(r"\s+", " ", police.casefold()))
        if known is None:
            problems.add(
                line,
                "police_class",
                police,
                "unknown_police_class",
                "police_class must be none, utsatt, risk, sarskilt_utsatt, "
                "'utsatt område', 'riskområde', 'särskilt utsatt område' or blank",
            )
        else:
            values["police_class"] = known
            texts["police_class"] = police
    if problems.total > before:
        return None
    return ParsedRow(
        line=line,
        code_kind=kind,  # type: ignore[arg-type]  # checked against PRECEDENCE above
        code=code,
        code_version=version if kind != "area_code" else None,
        year=int(year_text),
        values=values,
        texts=texts,
    )
