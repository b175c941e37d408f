"""POST /api/v1/areas/classifications/import: official area types and police classes per
year from a file, matched to the organisation's areas by DeSO, RegSO or area code (both
databases, real HTTP stack). The expected values are written out by hand from each file."""

import io
from collections.abc import Callable
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import AreaClassification
from survey_api.models.data_import import DataImport
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import create_area, ok, open_round

URL = "/api/v1/areas/classifications/import"
HEADER = "code_kind,code,code_version,year,area_type,police_class"


def csv(*rows: str, header: str = HEADER) -> bytes:
    return ("\n".join([header, *rows]) + "\n").encode()


def send(
    org: Org,
    data: bytes,
    *,
    dry_run: bool = False,
    role: str = "analyst",
    name: str = "klassning.csv",
    media: str = "text/csv",
) -> Any:
    return org.clients[role].post(
        URL,
        params={"dry_run": "true"} if dry_run else None,
        files={"file": (name, data, media)},
    )


def xlsx(rows: list[list[Any]], header: str = HEADER) -> bytes:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in [header.split(","), *rows]:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def areas(org: Org) -> dict[str, dict[str, Any]]:
    """Three areas: Hjällbo (DeSO 1480C1010 of 2018, RegSO 1480R001 of 2018), Angered (DeSO
    1480C1020 of 2025, same RegSO) and Lunden (area code only)."""
    return {
        "hjallbo": create_area(
            org.analyst,
            "hjallbo",
            deso_code="1480C1010",
            deso_version="2018",
            regso_code="1480R001",
            regso_version="2018",
        ),
        "angered": create_area(
            org.analyst,
            "angered",
            deso_code="1480C1020",
            deso_version="2025",
            regso_code="1480R001",
            regso_version="2018",
        ),
        "lunden": create_area(org.analyst, "lunden"),
    }


def classifications(org: Org, area_id: int) -> dict[int, tuple[int | None, str | None]]:
    body = ok(org.analyst.get(f"/api/v1/areas/{area_id}"))
    return {
        c["year"]: (c["area_type"], c["police_classification"]) for c in body["classifications"]
    }


def test_deso_regso_and_area_code_rows_match_with_versions_and_a_dry_run_stores_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    made = areas(org)
    data = csv(
        "deso,1480C1010,2018,2023,1,",  # Hjällbo, its version
        "deso,1480c1020,,2023,2,",  # Angered, no version given: any version matches
        "regso,1480R001,2018,2024,,särskilt utsatt område",  # both areas, police only
        "area_code,lunden,,2024,4,none",
        "deso,1480C1020,2018,2024,5,",  # Angered's DeSO is of 2025: unmatched
        "deso,0180C3000,2025,2024,3,",  # another municipality: unmatched
    )
    preview = ok(send(org, data, dry_run=True))
    assert preview["dry_run"] is True and preview["import_id"] is None
    assert preview["rows_read"] == 6 and preview["rows_matched"] == 4
    assert preview["problems"] == [] and preview["conflicts"] == []
    assert preview["encoding"] == "utf-8"
    got = {
        (c["area_code"], c["year"]): (
            c["outcome"],
            c["old_area_type"],
            c["new_area_type"],
            c["old_police_class"],
            c["new_police_class"],
            c["rows"],
        )
        for c in preview["changes"]
    }
    assert got == {
        ("angered", 2023): ("add", None, 2, None, None, [3]),
        ("angered", 2024): ("add", None, None, None, "sarskilt_utsatt", [4]),
        ("hjallbo", 2023): ("add", None, 1, None, None, [2]),
        ("hjallbo", 2024): ("add", None, None, None, "sarskilt_utsatt", [4]),
        ("lunden", 2024): ("add", None, 4, None, "none", [5]),
    }
    assert preview["rows_stored"] == 5 and preview["unchanged"] == 0
    assert preview["unmatched"]["count"] == 2
    assert [(u["row"], u["reason"]) for u in preview["unmatched"]["sample"]] == [
        (6, "other_version"),
        (7, "no_area"),
    ]
    for area in made.values():
        assert classifications(org, area["id"]) == {}

    done = ok(send(org, data), 201)
    assert done["dry_run"] is False and done["replayed"] is False
    assert done["changes"] == preview["changes"]
    assert classifications(org, made["hjallbo"]["id"]) == {
        2023: (1, None),
        2024: (None, "sarskilt_utsatt"),
    }
    assert classifications(org, made["angered"]["id"]) == {
        2023: (2, None),
        2024: (None, "sarskilt_utsatt"),
    }
    assert classifications(org, made["lunden"]["id"]) == {2024: (4, "none")}
    with db() as session:
        record = session.get(DataImport, done["import_id"])
        assert record is not None
        assert (record.kind, record.survey_round_id, record.organisation_id) == (
            "classifications",
            None,
            org.id,
        )
        assert (record.file_name, record.rows_read, record.rows_stored) == ("klassning.csv", 6, 5)


def test_a_blank_cell_keeps_the_stored_value_and_unchanged_years_are_counted(org: Org) -> None:
    made = areas(org)
    hjallbo = made["hjallbo"]["id"]
    ok(
        org.analyst.patch(
            f"/api/v1/areas/{hjallbo}",
            json={
                "classifications": [
                    {"year": 2023, "area_type": 2, "police_classification": "risk"},
                    {"year": 2024, "area_type": 1, "police_classification": "utsatt"},
                ]
            },
        )
    )
    data = csv(
        "deso,1480C1010,2018,2023,1,",  # area type 2 -> 1, police kept
        "deso,1480C1010,2018,2024,1,utsatt",  # as stored
    )
    done = ok(send(org, data), 201)
    assert [(c["year"], c["outcome"]) for c in done["changes"]] == [(2023, "update")]
    change = done["changes"][0]
    assert (change["old_area_type"], change["new_area_type"]) == (2, 1)
    assert (change["old_police_class"], change["new_police_class"]) == ("risk", "risk")
    assert done["unchanged"] == 1 and done["rows_stored"] == 1
    assert classifications(org, hjallbo) == {2023: (1, "risk"), 2024: (1, "utsatt")}


def test_precedence_area_code_over_deso_over_regso_and_conflicts_within_a_kind_refuse(
    org: Org,
) -> None:
    made = areas(org)
    resolved = csv(
        "regso,1480R001,,2024,3,",
        "deso,1480C1010,,2024,2,",
        "area_code,hjallbo,,2024,1,",
        "regso,1480R001,,2024,,risk",  # only RegSO gives police: no conflict
    )
    preview = ok(send(org, resolved, dry_run=True))
    by_area = {c["area_code"]: c for c in preview["changes"]}
    assert by_area["hjallbo"]["new_area_type"] == 1
    assert by_area["hjallbo"]["new_police_class"] == "risk"
    assert by_area["angered"]["new_area_type"] == 3  # only the RegSO row names Angered's type
    [conflict] = preview["conflicts"]
    assert conflict["area_code"] == "hjallbo" and conflict["field"] == "area_type"
    assert conflict["resolution"] == "resolved" and conflict["value"] == "1"
    assert [(v["code_kind"], v["value"]) for v in conflict["values"]] == [
        ("area_code", "1"),
        ("deso", "2"),
        ("regso", "3"),
    ]

    refused = csv("deso,1480C1010,,2024,2,", "deso,1480C1010,2018,2024,3,")
    preview = ok(send(org, refused, dry_run=True))
    [conflict] = preview["conflicts"]
    assert conflict["resolution"] == "refused" and conflict["value"] is None
    assert [v["row"] for v in conflict["values"]] == [2, 3]
    body = problem(send(org, refused), 422)
    assert body["report"]["conflicts"][0]["resolution"] == "refused"
    assert classifications(org, made["hjallbo"]["id"]) == {}


@pytest.mark.parametrize(
    ("row", "column", "type_"),
    [
        ("deso,1480C1010,,20x4,1,", "year", "bad_year"),
        ("deso,1480C1010,,1850,1,", "year", "bad_year"),
        ("deso,1480C1010,,2024,6,", "area_type", "out_of_range"),
        ("deso,1480C1010,,2024,0,", "area_type", "out_of_range"),
        ("deso,1480C1010,,2024,,mycket utsatt", "police_class", "unknown_police_class"),
        ("kommun,1480,,2024,1,", "code_kind", "unknown_code_kind"),
        ("deso,1480X1010,,2024,1,", "code", "malformed_code"),
        ("regso,1480R01,,2024,1,", "code", "malformed_code"),
        ("area_code,hjäll bo,,2024,1,", "code", "malformed_code"),
        ("deso,1480C1010,18,2024,1,", "code_version", "bad_code_version"),
        ("deso,1480C1010,,2024,1,,extra", None, "extra_cells"),
        ("deso,1480C1010,,2024", None, "missing_cells"),
        ("deso,1480C\x001010,,2024,1,", "code", "malformed_code"),
    ],
)
def test_each_row_problem_is_reported_with_row_and_column_and_nothing_is_stored(
    org: Org, row: str, column: str | None, type_: str
) -> None:
    made = areas(org)
    data = csv("area_code,lunden,,2024,4,", row)
    preview = ok(send(org, data, dry_run=True))
    assert preview["problems_total"] >= 1
    assert (preview["problems"][0]["row"], preview["problems"][0]["column"]) == (3, column)
    assert preview["problems"][0]["type"] == type_
    body = problem(send(org, data), 422)
    assert body["report"]["problems"] == preview["problems"]
    assert body["errors"][0]["loc"][:2] == ["row", 3]
    # All or nothing: Lunden's good row is not stored either.
    assert classifications(org, made["lunden"]["id"]) == {}


def test_a_file_without_the_needed_columns_is_a_400(org: Org) -> None:
    body = problem(send(org, csv("deso,1480C1010,2024", header="code_kind,code,year")), 400)
    assert "area_type and/or police_class" in body["detail"]
    body = problem(send(org, csv("1480C1010,2024,1", header="code,year,area_type")), 400)
    assert "code_kind" in body["detail"]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "windows-1252"])
def test_encodings_read_the_police_words(org: Org, encoding: str) -> None:
    made = areas(org)
    text = (
        "code_kind;code;year;police_class\r\n"
        "deso;1480C1010;2024;Särskilt utsatt område\r\n"
        "deso;1480C1020;2024;RISKOMRÅDE\r\n"
        "area_code;lunden;2024;utsatt område\r\n"
    )
    done = ok(send(org, text.encode(encoding)), 201)
    assert done["encoding"] == encoding and done["problems"] == []
    assert classifications(org, made["hjallbo"]["id"]) == {2024: (None, "sarskilt_utsatt")}
    assert classifications(org, made["angered"]["id"]) == {2024: (None, "risk")}
    assert classifications(org, made["lunden"]["id"]) == {2024: (None, "utsatt")}


def test_an_xlsx_file_with_numbers_as_numbers(org: Org) -> None:
    made = areas(org)
    data = xlsx(
        [
            ["deso", "1480C1010", 2018, 2022, 2, None],
            ["area_code", "lunden", None, 2022, 5, "none"],
        ]
    )
    media = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    done = ok(send(org, data, name="klassning.xlsx", media=media), 201)
    assert done["encoding"] == "xlsx" and done["rows_stored"] == 2
    assert classifications(org, made["hjallbo"]["id"]) == {2022: (2, None)}
    assert classifications(org, made["lunden"]["id"]) == {2022: (5, "none")}


def test_the_same_file_again_is_replayed_and_changes_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    made = areas(org)
    data = csv("area_code,lunden,,2024,4,")
    first = ok(send(org, data), 201)
    hand = {"classifications": [{"year": 2024, "area_type": 2}]}
    ok(org.analyst.patch(f"/api/v1/areas/{made['lunden']['id']}", json=hand))
    again = ok(send(org, data, role="admin"))
    assert again["replayed"] is True and again["import_id"] == first["import_id"]
    assert again["changes"] == first["changes"]
    dry = ok(send(org, data, dry_run=True))
    assert dry["replayed"] is True and dry["dry_run"] is True
    assert classifications(org, made["lunden"]["id"]) == {2024: (2, None)}
    with db() as session:
        count = session.scalar(
            select(func.count())
            .select_from(DataImport)
            .where(DataImport.organisation_id == org.id, DataImport.kind == "classifications")
        )
    assert count == 1


def test_another_organisations_areas_are_never_matched_or_changed(
    make_org: Callable[[], Org], db: sessionmaker[Session]
) -> None:
    mine, theirs = make_org(), make_org()
    their_areas = areas(theirs)
    create_area(mine.analyst, "egen", deso_code="1480C9999", deso_version="2018")
    data = csv("deso,1480C1010,2018,2024,1,", "area_code,hjallbo,,2024,1,")
    done = ok(send(mine, data), 201)
    assert done["rows_matched"] == 0 and done["unmatched"]["count"] == 2
    assert done["changes"] == []
    with db() as session:
        stored = session.scalar(
            select(func.count())
            .select_from(AreaClassification)
            .where(AreaClassification.area_id.in_([a["id"] for a in their_areas.values()]))
        )
    assert stored == 0


def test_only_admins_and_analysts_import_and_a_form_without_a_file_is_a_422(org: Org) -> None:
    body = problem(send(org, csv("area_code,x,,2024,1,"), role="integrator"), 403)
    assert "integrator" in body["detail"]
    problem(org.analyst.post(URL, data={"other": "x"}), 422)
    problem(
        org.analyst.post(URL, content=b"code_kind,code\n", headers={"Content-Type": "text/csv"}),
        422,
    )


def test_pooled_groups_use_the_imported_area_type(org: Org) -> None:
    made_round = open_round(org.analyst, n_areas=2, period="2026")
    first, second = made_round.area_ids
    codes = {a["id"]: a["code"] for a in ok(org.analyst.get("/api/v1/areas"))["items"]}
    data = csv(
        f"area_code,{codes[first]},,2026,1,sarskilt_utsatt",
        f"area_code,{codes[second]},,2026,4,",
    )
    ok(send(org, data), 201)
    results = ok(org.analyst.get(f"/api/v1/rounds/{made_round.id}/results"))
    by_id = {a["area_id"]: a for a in results["areas"]}
    assert (by_id[first]["area_type"], by_id[first]["police_classification"]) == (
        1,
        "sarskilt_utsatt",
    )
    assert by_id[second]["area_type"] == 4
    groups = {g["group"]: g["area_ids"] for g in results["pooled"]}
    assert groups["area_type:1"] == [first] and groups["area_type:4"] == [second]
    assert groups["police:sarskilt_utsatt"] == [first]
