"""The areas import's dry run (the preview) and XLSX files, on both databases: the preview
answers exactly what the import then does, and neither a preview nor a file with one bad row
stores anything; Excel workbooks import like CSV; hostile files get a precise 4xx."""

import io
import zipfile
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy.orm import Session, sessionmaker

from survey_api.areas.upload import OLE_MAGIC, XLSX_MEDIA_TYPE
from tests.api.support import area_count, error_locs, problem
from tests.api.test_hostile_input import snapshot
from tests.conftest import Org
from tests.helpers import create_area, ok

HEADER = [
    "code",
    "name",
    "municipality_code",
    "deso_code",
    "deso_version",
    "households",
    "year",
    "area_type",
    "police_classification",
]
ROWS = [
    ["hjallbo", "Hjällbo", "1480", "1480C1010", "2025", "2300", "2024", "1", "sarskilt_utsatt"],
    ["lunden", "Lunden", "1480", "", "", "500", "", "", ""],
    ["kortedala", "Kortedala", "1480", "", "", "1800", "2025", "2", "utsatt"],
]


def csv_of(rows: list[list[str]], header: list[str] = HEADER) -> bytes:
    return "\n".join(",".join(r) for r in [header, *rows]).encode() + b"\n"


def xlsx_of(rows: list[list[Any]], header: list[str] = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [header, *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def send(org: Org, data: bytes, *, dry_run: bool, content_type: str = "text/csv") -> Any:
    return org.analyst.post(
        "/api/v1/areas/import",
        params={"dry_run": "true"} if dry_run else None,
        content=data,
        headers={"Content-Type": content_type},
    )


def stored_areas(org: Org) -> list[dict[str, Any]]:
    return list(ok(org.analyst.get("/api/v1/areas"))["items"])


def without_new_ids(rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r | {"area_id": None} if r["outcome"] == "create" else r for r in rows]


def set_up(org: Org) -> None:
    create_area(
        org.analyst,
        "hjallbo",
        households=100,
        name="Hjällbo",
        classifications=[{"year": 2024, "area_type": 2, "police_classification": "utsatt"}],
    )
    create_area(org.analyst, "lunden", households=500, name="Lunden")


def test_the_preview_is_what_the_import_then_does(org: Org, db: sessionmaker[Session]) -> None:
    set_up(org)
    before = snapshot(db, org.id)
    preview = ok(send(org, csv_of(ROWS), dry_run=True))
    assert snapshot(db, org.id) == before  # a preview stores nothing
    assert preview["dry_run"] is True and preview["errors"] == [] and preview["areas"] == []
    assert (preview["created"], preview["updated"], preview["unchanged"]) == (1, 1, 1)
    rows = {r["code"]: r for r in preview["rows"]}
    assert [r["line"] for r in preview["rows"]] == [2, 3, 4]
    assert rows["lunden"]["outcome"] == "unchanged" and rows["lunden"]["changes"] == []
    assert rows["kortedala"]["outcome"] == "create" and rows["kortedala"]["area_id"] is None
    changes = {(c["field"], c["year"]): (c["old"], c["new"]) for c in rows["hjallbo"]["changes"]}
    assert changes == {
        ("deso_code", None): (None, "1480C1010"),
        ("deso_version", None): (None, "2025"),
        ("households", None): (100, 2300),
        ("area_type", 2024): (2, 1),
        ("police_classification", 2024): ("utsatt", "sarskilt_utsatt"),
    }

    done = ok(send(org, csv_of(ROWS), dry_run=False))
    assert done["dry_run"] is False
    assert without_new_ids(done["rows"]) == preview["rows"]
    assert (done["created"], done["updated"], done["unchanged"]) == (1, 1, 1)
    areas = {a["code"]: a for a in stored_areas(org)}
    assert done["rows"][2]["area_id"] == areas["kortedala"]["id"]
    assert areas["hjallbo"]["households"] == 2300
    assert areas["hjallbo"]["classifications"] == [
        {"year": 2024, "area_type": 1, "police_classification": "sarskilt_utsatt"}
    ]
    # Now the same file changes nothing, and says so.
    again = ok(send(org, csv_of(ROWS), dry_run=True))
    assert (again["created"], again["updated"], again["unchanged"]) == (0, 0, 3)


def test_a_file_with_one_bad_row_stores_nothing_and_the_preview_names_it(
    org: Org, db: sessionmaker[Session]
) -> None:
    set_up(org)
    bad = [*ROWS, ["angered", "Angered", "148", "", "", "900", "2025", "7", ""]]
    before = snapshot(db, org.id)
    preview = ok(send(org, csv_of(bad), dry_run=True))
    assert preview["dry_run"] is True and len(preview["rows"]) == 3
    assert ["row", 5, "municipality_code"] in error_locs(preview)
    assert ["row", 5, "area_type"] in error_locs(preview)
    assert snapshot(db, org.id) == before
    refused = problem(send(org, csv_of(bad), dry_run=False), 422)
    assert error_locs(refused) == error_locs(preview)
    assert "nothing was imported" in refused["detail"]
    assert snapshot(db, org.id) == before


def test_a_file_level_fault_is_the_same_4xx_with_or_without_dry_run(
    org: Org, db: sessionmaker[Session]
) -> None:
    for dry_run in (True, False):
        body = problem(send(org, b"code,name,colour\nx,X,red\n", dry_run=dry_run), 400)
        assert "colour" in body["detail"]
    assert area_count(db, org.id) == 0


@pytest.mark.parametrize("as_form", [False, True], ids=["body", "multipart"])
def test_an_excel_workbook_imports_like_the_csv(org: Org, as_form: bool) -> None:
    set_up(org)
    # Excel keeps numbers as numbers (2300, 2300.0) and may leave cells empty (None).
    cells: list[list[Any]] = [
        ["hjallbo", "Hjällbo", 1480, "1480C1010", 2025, 2300.0, 2024, 1, "sarskilt_utsatt"],
        ["lunden", "Lunden", "1480", None, None, 500, None, None, None],
        ["kortedala", "Kortedala", 1480, None, None, 1800, 2025, 2, "utsatt"],
    ]
    data = xlsx_of(cells)
    csv_preview = ok(send(org, csv_of(ROWS), dry_run=True))

    def post(dry_run: bool) -> Any:
        if as_form:
            return org.analyst.post(
                "/api/v1/areas/import",
                params={"dry_run": str(dry_run).lower()},
                files={"file": ("omraden.xlsx", data, XLSX_MEDIA_TYPE)},
            )
        return send(org, data, dry_run=dry_run, content_type=XLSX_MEDIA_TYPE)

    preview = ok(post(True))
    assert preview["rows"] == csv_preview["rows"] and preview["errors"] == []
    done = ok(post(False))
    assert without_new_ids(done["rows"]) == preview["rows"]
    assert {a["code"]: a["households"] for a in stored_areas(org)} == {
        "hjallbo": 2300,
        "kortedala": 1800,
        "lunden": 500,
    }


def test_excel_row_errors_carry_the_sheet_s_row_numbers(
    org: Org, db: sessionmaker[Session]
) -> None:
    data = xlsx_of(
        [
            ["a1", "A", 1480, None, None, 10, None, None, None],
            [None] * 9,  # an empty row is skipped but keeps its number
            ["a2", "B", 1480, None, None, "many", None, None, None],
        ]
    )
    preview = ok(send(org, data, dry_run=True, content_type="application/octet-stream"))
    assert error_locs(preview) == [["row", 4, "households"]]
    assert problem(send(org, data, dry_run=False), 422)["errors"][0]["loc"] == [
        "row",
        4,
        "households",
    ]
    assert area_count(db, org.id) == 0


def test_formulas_are_plain_text_or_refused(org: Org) -> None:
    formula = "=cmd|' /C calc'!A0"
    data = xlsx_of(
        [
            ["f1", formula, 1480, None, None, None, None, None, None],
            ['=HYPERLINK("x")', "F2", 1480, None, None, "=1+1", None, None, None],
        ]
    )
    preview = ok(send(org, data, dry_run=True))
    assert ["row", 3, "code"] in error_locs(preview)
    assert ["row", 3, "households"] in error_locs(preview)
    good = xlsx_of([["f1", formula, 1480, None, None, None, None, None, None]])
    ok(send(org, good, dry_run=False))
    [area] = stored_areas(org)
    assert area["name"] == formula  # kept as the text it is, never evaluated
    text = csv_of([["f2", formula.replace("'", ""), "1480", "", "", "", "", "", ""]])
    ok(send(org, text, dry_run=False))
    assert {a["name"] for a in stored_areas(org)} == {formula, formula.replace("'", "")}


def _zip_bomb() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * 60_000_000)
    return buffer.getvalue()


HOSTILE = [
    ("not a zip", XLSX_MEDIA_TYPE, b"code,name,municipality_code\nx,X,1480\n", 400, "not one"),
    ("a broken zip", XLSX_MEDIA_TYPE, b"PK\x03\x04" + b"\x00" * 200, 400, "cannot be read"),
    ("a zip that is no workbook", "text/csv", None, 400, "cannot be read"),
    ("an old .xls", "application/vnd.ms-excel", OLE_MAGIC * 8, 400, ".xls"),
    ("a zip bomb", XLSX_MEDIA_TYPE, "bomb", 413, "unpacks to"),
    ("an empty sheet", XLSX_MEDIA_TYPE, "empty", 400, "empty"),
    ("a header only", XLSX_MEDIA_TYPE, "header", 400, "no data rows"),
    ("an unknown column", XLSX_MEDIA_TYPE, "colour", 400, "unknown columns: colour"),
]


def _hostile_body(kind: bytes | str | None) -> bytes:
    if isinstance(kind, bytes):
        return kind
    if kind is None:
        buffer = io.BytesIO()
        with zipfile.ZipFile(buffer, "w") as archive:
            archive.writestr("hello.txt", "hello")
        return buffer.getvalue()
    if kind == "bomb":
        return _zip_bomb()
    if kind == "empty":
        return xlsx_of([], header=[])
    if kind == "header":
        return xlsx_of([])
    return xlsx_of([["x", "X", "1480", "red"]], header=["code", "name", "municipality_code", kind])


@pytest.mark.parametrize(
    ("content_type", "kind", "status", "detail"),
    [h[1:] for h in HOSTILE],
    ids=[h[0] for h in HOSTILE],
)
def test_hostile_files_get_a_precise_4xx_and_store_nothing(
    org: Org,
    db: sessionmaker[Session],
    content_type: str,
    kind: bytes | str | None,
    status: int,
    detail: str,
) -> None:
    data = _hostile_body(kind)
    for dry_run in (True, False):
        body = problem(send(org, data, dry_run=dry_run, content_type=content_type), status)
        assert detail in body["detail"], body
    assert area_count(db, org.id) == 0


def test_huge_cells_and_nul_are_row_errors(org: Org, db: sessionmaker[Session]) -> None:
    data = xlsx_of([["h1", "n" * 32_000, 1480, None, None, None, None, None, None]])
    assert error_locs(ok(send(org, data, dry_run=True))) == [["row", 2, "name"]]
    text = csv_of([["n1", "Gårds\x00ten", "1480", "", "", "", "", "", ""]])
    preview = ok(send(org, text, dry_run=True))
    assert error_locs(preview) == [["row", 2, "name"]] and "NUL" in preview["errors"][0]["msg"]
    assert area_count(db, org.id) == 0


def test_a_column_the_file_leaves_out_keeps_the_stored_value(org: Org) -> None:
    full = ["code", "name", "municipality_code", "deso_code", "deso_version", "households"]
    ok(
        send(
            org,
            csv_of([["hj", "Hjällbo", "1480", "1480C1010", "2025", "2300"]], full),
            dry_run=False,
        )
    )
    names_only = csv_of([["hj", "Hjällbo centrum", "1480"]], ["code", "name", "municipality_code"])
    (row,) = ok(send(org, names_only, dry_run=True))["rows"]
    assert [c["field"] for c in row["changes"]] == ["name"]
    (area,) = ok(send(org, names_only, dry_run=False))["areas"]
    assert area["name"] == "Hjällbo centrum"
    assert (area["deso_code"], area["deso_version"], area["households"]) == (
        "1480C1010",
        "2025",
        2300,
    )
    blank = csv_of([["hj", "Hjällbo centrum", "1480", ""]], [*full[:3], "households"])
    (cleared,) = ok(send(org, blank, dry_run=False))["areas"]
    assert cleared["households"] is None and cleared["deso_code"] == "1480C1010"


def test_a_classification_column_the_file_leaves_out_keeps_the_stored_year(org: Org) -> None:
    both = ["code", "name", "municipality_code", "year", "area_type", "police_classification"]
    ok(
        send(
            org,
            csv_of([["hj", "Hjällbo", "1480", "2025", "1", "sarskilt_utsatt"]], both),
            dry_run=False,
        )
    )
    police_only = ["code", "name", "municipality_code", "year", "police_classification"]
    file = csv_of([["hj", "Hjällbo", "1480", "2025", "utsatt"]], police_only)
    (row,) = ok(send(org, file, dry_run=True))["rows"]
    assert [(c["field"], c["old"], c["new"]) for c in row["changes"]] == [
        ("police_classification", "sarskilt_utsatt", "utsatt")
    ]
    (area,) = ok(send(org, file, dry_run=False))["areas"]
    (year,) = area["classifications"]
    assert (year["year"], year["area_type"], year["police_classification"]) == (2025, 1, "utsatt")
