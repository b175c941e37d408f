"""Residential areas: create, read, update, classifications per year and CSV import."""

from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Area, AreaClassification
from tests.api.support import area_count, error_locs, problem
from tests.conftest import Org
from tests.helpers import create_area, ok

HJALLBO: dict[str, Any] = {
    "code": "hjallbo",
    "name": "Hjällbo",
    "municipality_code": "1480",
    "deso_code": "1480C1010",
    "deso_version": "2025",
    "regso_code": "1480R001",
    "regso_version": "2025",
    "households": 2300,
    "classifications": [{"year": 2025, "area_type": 1, "police_classification": "sarskilt_utsatt"}],
}


def test_create_read_list_and_update_an_area(org: Org, db: sessionmaker[Session]) -> None:
    created = ok(org.analyst.post("/api/v1/areas", json=HJALLBO), 201)
    assert {k: created[k] for k in HJALLBO} == HJALLBO
    assert ok(org.integrator.get(f"/api/v1/areas/{created['id']}")) == created

    ok(
        org.analyst.post(
            "/api/v1/areas",
            json={**HJALLBO, "code": "angered", "name": "Angered", "classifications": []},
        ),
        201,
    )
    listed = ok(org.integrator.get("/api/v1/areas"))["items"]
    assert [a["code"] for a in listed] == ["angered", "hjallbo"]

    updated = ok(
        org.analyst.patch(
            f"/api/v1/areas/{created['id']}", json={"name": "Hjällbo centrum", "households": 2350}
        )
    )
    assert (updated["name"], updated["households"]) == ("Hjällbo centrum", 2350)
    assert updated["deso_code"] == "1480C1010"  # fields not sent stay as they were
    assert ok(org.analyst.get(f"/api/v1/areas/{created['id']}")) == updated
    with db() as session:
        stored = session.get(Area, created["id"])
        assert stored is not None
        assert (stored.name, stored.households, stored.organisation_id) == (
            "Hjällbo centrum",
            2350,
            org.id,
        )


@pytest.mark.parametrize("kommunkod", ["148", "14800", "14a0", "", " 1480"])
def test_kommunkod_must_be_four_digits(org: Org, kommunkod: str) -> None:
    body = problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "a", "name": "A", "municipality_code": kommunkod}
        ),
        422,
    )
    assert error_locs(body) == [["body", "municipality_code"]]


def test_kommunkod_cannot_be_patched_to_an_invalid_value(org: Org) -> None:
    area = create_area(org.analyst, "centrum", deso_code=None)
    body = problem(
        org.analyst.patch(f"/api/v1/areas/{area['id']}", json={"municipality_code": "99"}), 422
    )
    assert ["body", "municipality_code"] in error_locs(body)
    assert ok(org.analyst.get(f"/api/v1/areas/{area['id']}"))["municipality_code"] == "1480"


@pytest.mark.parametrize(
    ("fields", "complaint"),
    [
        ({"deso_code": "1480C1010"}, "deso_version"),
        ({"regso_code": "1480R001"}, "regso_version"),
        ({"deso_code": "0581C1010", "deso_version": "2025"}, "municipality"),
        ({"regso_code": "0581R001", "regso_version": "2025"}, "municipality"),
    ],
)
def test_deso_and_regso_need_a_version_and_must_lie_in_the_municipality(
    org: Org, fields: dict[str, str], complaint: str
) -> None:
    body = problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "a", "name": "A", "municipality_code": "1480", **fields}
        ),
        422,
    )
    assert complaint in body["detail"]
    assert body["errors"]
    assert ok(org.analyst.get("/api/v1/areas"))["items"] == []


@pytest.mark.parametrize(
    ("fields", "bad_field"),
    [
        ({"deso_code": "1480X1010", "deso_version": "2025"}, "deso_code"),
        ({"deso_code": "1480C1010", "deso_version": "25"}, "deso_version"),
        ({"regso_code": "1480R01", "regso_version": "2025"}, "regso_code"),
    ],
)
def test_malformed_deso_and_regso_codes_are_rejected(
    org: Org, fields: dict[str, str], bad_field: str
) -> None:
    body = problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "a", "name": "A", "municipality_code": "1480", **fields}
        ),
        422,
    )
    assert error_locs(body) == [["body", bad_field]]


def test_an_update_must_keep_codes_inside_the_municipality(org: Org) -> None:
    area = ok(org.analyst.post("/api/v1/areas", json=HJALLBO), 201)
    body = problem(
        org.analyst.patch(f"/api/v1/areas/{area['id']}", json={"municipality_code": "0581"}), 422
    )
    assert "municipality" in body["detail"]
    assert ok(org.analyst.get(f"/api/v1/areas/{area['id']}"))["municipality_code"] == "1480"


def test_an_update_may_change_only_the_deso_code_when_a_version_is_stored(org: Org) -> None:
    area = ok(org.analyst.post("/api/v1/areas", json=HJALLBO), 201)
    updated = ok(org.analyst.patch(f"/api/v1/areas/{area['id']}", json={"deso_code": "1480C1020"}))
    assert (updated["deso_code"], updated["deso_version"]) == ("1480C1020", "2025")


def test_an_update_cannot_leave_a_deso_code_without_its_version(org: Org) -> None:
    area = create_area(org.analyst, "centrum")
    problem(org.analyst.patch(f"/api/v1/areas/{area['id']}", json={"deso_code": "1480C1020"}), 422)
    stored = ok(org.analyst.get(f"/api/v1/areas/{area['id']}"))
    assert stored["deso_code"] is None


def test_classifications_are_kept_per_year_and_upserted(
    org: Org, db: sessionmaker[Session]
) -> None:
    area = ok(org.analyst.post("/api/v1/areas", json=HJALLBO), 201)
    updated = ok(
        org.analyst.patch(
            f"/api/v1/areas/{area['id']}",
            json={
                "classifications": [
                    {"year": 2025, "area_type": 2, "police_classification": "utsatt"},
                    {"year": 2023, "area_type": 1, "police_classification": "risk"},
                ]
            },
        )
    )
    assert updated["classifications"] == [
        {"year": 2025, "area_type": 2, "police_classification": "utsatt"},
        {"year": 2023, "area_type": 1, "police_classification": "risk"},
    ]
    # A later update that lists one year leaves the others alone.
    updated = ok(
        org.analyst.patch(
            f"/api/v1/areas/{area['id']}",
            json={
                "classifications": [{"year": 2026, "area_type": 3, "police_classification": "none"}]
            },
        )
    )
    assert [c["year"] for c in updated["classifications"]] == [2026, 2025, 2023]
    with db() as session:
        rows = session.scalars(
            select(AreaClassification).where(AreaClassification.area_id == area["id"])
        ).all()
        assert sorted((r.year, r.area_type, r.police_classification) for r in rows) == [
            (2023, 1, "risk"),
            (2025, 2, "utsatt"),
            (2026, 3, "none"),
        ]


@pytest.mark.parametrize(
    "classification",
    [
        {"year": 2025, "area_type": 0},
        {"year": 2025, "area_type": 6},
        {"year": 2025, "police_classification": "farlig"},
        {"area_type": 2},
        {"year": 2025, "colour": "red"},
    ],
)
def test_invalid_classifications_are_rejected(org: Org, classification: dict[str, Any]) -> None:
    area = create_area(org.analyst, "centrum")
    body = problem(
        org.analyst.patch(
            f"/api/v1/areas/{area['id']}", json={"classifications": [classification]}
        ),
        422,
    )
    assert all(loc[:3] == ["body", "classifications", 0] for loc in error_locs(body))
    assert ok(org.analyst.get(f"/api/v1/areas/{area['id']}"))["classifications"] == []


def test_a_year_listed_twice_is_rejected(org: Org) -> None:
    area = create_area(org.analyst, "centrum")
    body = problem(
        org.analyst.patch(
            f"/api/v1/areas/{area['id']}",
            json={
                "classifications": [{"year": 2025, "area_type": 1}, {"year": 2025, "area_type": 2}]
            },
        ),
        422,
    )
    assert error_locs(body) == [["body", "classifications", 1, "year"]]
    assert ok(org.analyst.get(f"/api/v1/areas/{area['id']}"))["classifications"] == []


def test_a_duplicate_code_is_a_conflict(org: Org, make_org: Any) -> None:
    create_area(org.analyst, "centrum")
    body = problem(
        org.analyst.post(
            "/api/v1/areas", json={"code": "centrum", "name": "Again", "municipality_code": "1480"}
        ),
        409,
    )
    assert "centrum" in body["detail"]
    assert len(ok(org.analyst.get("/api/v1/areas"))["items"]) == 1
    # Codes are unique per organisation, not across organisations.
    other = make_org()
    create_area(other.analyst, "centrum")


# --- CSV import ---------------------------------------------------------------------------------

CSV_HEADER = (
    "code,name,municipality_code,deso_code,deso_version,regso_code,regso_version,households,"
    "year,area_type,police_classification"
)


def post_csv(org: Org, text: str, *, bom: bool = False) -> Any:
    data = ("\ufeff" + text if bom else text).encode("utf-8")
    return org.analyst.post(
        "/api/v1/areas/import", content=data, headers={"Content-Type": "text/csv"}
    )


def test_csv_import_with_commas(org: Org) -> None:
    text = (
        "\n".join(
            [
                CSV_HEADER,
                "hjallbo,Hjällbo,1480,1480C1010,2025,1480R001,2025,2300,2025,1,sarskilt_utsatt",
                "kortedala,Kortedala,1480,,,,,1800,2025,2,utsatt",
                "lunden,Lunden,1480,,,,,,,,",
            ]
        )
        + "\n"
    )
    result = ok(post_csv(org, text))
    assert (result["created"], result["updated"]) == (3, 0)
    areas = {a["code"]: a for a in ok(org.analyst.get("/api/v1/areas"))["items"]}
    assert set(areas) == {"hjallbo", "kortedala", "lunden"}
    assert areas["hjallbo"]["name"] == "Hjällbo"
    assert areas["hjallbo"]["deso_code"] == "1480C1010"
    assert areas["hjallbo"]["classifications"] == [
        {"year": 2025, "area_type": 1, "police_classification": "sarskilt_utsatt"}
    ]
    assert areas["kortedala"]["households"] == 1800
    assert areas["lunden"]["households"] is None and areas["lunden"]["classifications"] == []


def test_csv_import_with_semicolons_and_a_bom_updates_existing_areas(org: Org) -> None:
    create_area(org.analyst, "hjallbo", households=100)
    text = (
        "\r\n".join(
            [
                "code;name;municipality_code;households;year;area_type",
                "hjallbo;Hjällbo;1480;2300;2024;1",
                "norra;Norra Biskopsgården;1480;1500;2024;2",
            ]
        )
        + "\r\n"
    )
    result = ok(post_csv(org, text, bom=True))
    assert (result["created"], result["updated"]) == (1, 1)
    areas = {a["code"]: a for a in ok(org.analyst.get("/api/v1/areas"))["items"]}
    assert areas["hjallbo"]["households"] == 2300
    assert areas["hjallbo"]["name"] == "Hjällbo"
    assert areas["norra"]["classifications"] == [
        {"year": 2024, "area_type": 2, "police_classification": None}
    ]


def test_csv_import_reports_every_bad_row_and_imports_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    create_area(org.analyst, "hjallbo", households=100)
    before = ok(org.analyst.get("/api/v1/areas"))["items"]
    text = (
        "\n".join(
            [
                CSV_HEADER,
                "hjallbo,Hjällbo,1480,,,,,2300,,,",  # good: would update
                "angered,Angered,148,,,,,900,,,",  # line 3: kommunkod
                "lovgardet,Lövgärdet,1480,1480C1010,,,,700,,,",  # line 4: DeSO without version
                "gardsten,Gårdsten,1480,,,,,many,2025,7,",  # line 5: households and area type
                "bergsjon,Bergsjön,1480,,,,,1200,2025,2,ok",  # line 6: police classification
                "hjallbo,Hjällbo igen,1480,,,,,1200,,,",  # line 7: code twice in the file
                "frolunda,Frölunda,1480,,,,,1000,,,",  # good
            ]
        )
        + "\n"
    )
    body = problem(post_csv(org, text), 422)
    locs = error_locs(body)
    assert {loc[1] for loc in locs} == {3, 4, 5, 6, 7}
    assert all(loc[0] == "row" for loc in locs)
    assert ["row", 3, "municipality_code"] in locs
    assert ["row", 5, "households"] in locs
    assert ["row", 7, "code"] in locs
    assert "nothing was imported" in body["detail"]
    assert ok(org.analyst.get("/api/v1/areas"))["items"] == before
    assert area_count(db, org.id) == 1


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("code,name,municipality_code,colour\nx,X,1480,red\n", "colour"),
        ("code,name\nx,X\n", "municipality_code"),
        (CSV_HEADER + "\n", "no data rows"),
    ],
)
def test_csv_files_with_bad_columns_are_refused(
    org: Org, db: sessionmaker[Session], text: str, complaint: str
) -> None:
    body = problem(post_csv(org, text), 400)
    assert complaint in body["detail"]
    assert area_count(db, org.id) == 0


def test_csv_that_is_not_utf8_is_refused(org: Org, db: sessionmaker[Session]) -> None:
    data = "code,name,municipality_code\nhjallbo,Hjällbo,1480\n".encode("latin-1")
    body = problem(
        org.analyst.post(
            "/api/v1/areas/import", content=data, headers={"Content-Type": "text/csv"}
        ),
        400,
    )
    assert "UTF-8" in body["detail"]
    assert area_count(db, org.id) == 0
