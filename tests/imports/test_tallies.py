"""Answer counts into a historical round: dry runs with every row problem, all or nothing,
replays, the rounds that refuse counts, roles and another organisation's round."""

from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import DataImport, Response, SurveyRound
from survey_api.results import tally_store
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import create_area, ok, publish_standard
from tests.imports.test_tallies_equivalence import post_tallies


def _historical(
    org: Org, codes: tuple[str, ...] = ("norr", "syd"), version_id: int | None = None
) -> tuple[int, dict[str, int]]:
    first = version_id is None
    if version_id is None:
        version_id = publish_standard(org.analyst)["id"]
    areas = {code: create_area(org.analyst, code)["id"] for code in codes}
    if first:  # the organisation's first round: and an area outside it
        areas["utanfor"] = create_area(org.analyst, "utanfor")["id"]
    body = {
        "name": "Trygghetsmätning 2022",
        "questionnaire_version_id": version_id,
        "period": "2022",
        "area_ids": [areas[c] for c in codes],
        "open_date": "2022-03-01",
        "close_date": "2022-04-15",
        "historical": True,
    }
    return ok(org.admin.post("/api/v1/rounds", json=body), 201)["id"], areas


GOOD = (
    "area,item,option,count\n"
    "norr,*,,40\n"
    "norr,trivsel,1,4\n"
    "norr,trivsel,2,6\n"
    "norr,trivsel,3,14\n"
    "norr,trivsel,4,12\n"
    "norr,trivsel,9,3\n"
    "norr,utsatt_brott_12m,*,36\n"
    "norr,utsatt_brott_12m,1,5\n"
    "norr,utsatt_brott_12m,3,4\n"
    "norr,utsatt_brott_12m,6,28\n"
)


def _tallies(db: sessionmaker[Session], round_id: int) -> int:
    with db() as session:
        return len(tally_store.stored_rows(session, round_id))


def _source(db: sessionmaker[Session], round_id: int) -> str:
    with db() as session:
        return session.scalars(select(SurveyRound.source).where(SurveyRound.id == round_id)).one()


def test_a_dry_run_reports_every_row_problem_and_stores_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    round_id, _ = _historical(org)
    content = (
        b"Area;Item;Option;Count\n"
        b"norr;trivsel;1;4\n"  # 2: fine
        b"okand;trivsel;1;4\n"  # 3: unknown area
        b"utanfor;trivsel;1;4\n"  # 4: area not in the round
        b"norr;finns_inte;1;4\n"  # 5: unknown item
        b"norr;fritext_plats;1;4\n"  # 6: text item
        b"norr;trivsel;7;4\n"  # 7: not an option of the item
        b"norr;trivsel;2;-3\n"  # 8: negative count
        b"norr;trivsel;3;fyra\n"  # 9: not a number
        b"norr;trivsel;1;5\n"  # 10: duplicate of row 2
        b"norr;trivsel;*;20\n"  # 11: '*' on a single-answer item
        b"norr;trivsel;4;1;extra\n"  # 12: more cells than the heading
        b"syd;trivsel;2;1.5\n"  # 13: not a whole number
    )
    report = ok(post_tallies(org.analyst, round_id, content, dry_run="true"))
    assert report["dry_run"] is True and report["import_id"] is None
    assert report["kind"] == "tallies" and report["encoding"] == "utf-8"
    assert report["rows_read"] == 12
    found = {(p["row"], p["column"], p["type"]) for p in report["problems"]}
    assert found == {
        (3, "area", "unknown_area"),
        (4, "area", "area_not_in_round"),
        (5, "item", "unknown_item"),
        (6, "item", "text_item"),
        (7, "option", "unknown_option"),
        (8, "count", "bad_count"),
        (9, "count", "bad_count"),
        (10, None, "duplicate_row"),
        (11, "option", "unknown_option"),
        (12, None, "extra_cells"),
        (13, "count", "bad_count"),
    }
    assert report["problems_total"] == 11
    duplicate = next(p for p in report["problems"] if p["type"] == "duplicate_row")
    assert "row 2" in duplicate["msg"]
    assert report["per_area"] == [
        {"area_id": report["per_area"][0]["area_id"], "area_code": "norr", "rows": 1}
    ]
    # The real run is all or nothing: 422 with the same report, and nothing stored.
    body = problem(post_tallies(org.analyst, round_id, content), 422)
    assert body["report"]["problems_total"] == 11
    assert body["report"]["dry_run"] is False
    assert _tallies(db, round_id) == 0
    assert _source(db, round_id) == "imported"


def test_counts_that_cannot_come_from_one_set_of_respondents_are_problems(org: Org) -> None:
    round_id, _ = _historical(org)
    content = (
        b"area,item,option,count\n"
        b"norr,*,,10\n"
        b"norr,trivsel,1,8\n"
        b"norr,trivsel,2,5\n"  # 13 answers to trivsel, 10 respondents
        b"syd,utsatt_brott_12m,*,3\n"
        b"syd,utsatt_brott_12m,1,4\n"  # 4 ticked code 1, 3 answered the item
    )
    report = ok(post_tallies(org.analyst, round_id, content, dry_run="true"))
    assert {(p["row"], p["type"]) for p in report["problems"]} == {
        (2, "inconsistent_counts"),
        (5, "inconsistent_counts"),
    }


def test_a_file_without_the_columns_or_with_nul_is_refused(org: Org) -> None:
    round_id, _ = _historical(org)
    body = problem(post_tallies(org.analyst, round_id, b"area,item,antal\nnorr,trivsel,3\n"), 400)
    assert "missing: option, count" in body["detail"]
    assert "not known: 'antal'" in body["detail"]
    report = ok(
        post_tallies(
            org.analyst, round_id, b"area,item,option,count\nno\x00rr,trivsel,1,3\n", dry_run=1
        )
    )
    assert [p["type"] for p in report["problems"]] == ["nul_character"]
    # Windows-1252 (Excel's Swedish CSV) reads as well as UTF-8.
    latin = "area;item;option;count\r\nnorr;trivsel;1;3\r\n".encode("cp1252")
    assert ok(post_tallies(org.analyst, round_id, latin, dry_run=1))["problems"] == []


def test_a_real_run_stores_the_counts_and_a_repeat_is_a_replay(
    org: Org, db: sessionmaker[Session]
) -> None:
    round_id, areas = _historical(org)
    report = ok(post_tallies(org.analyst, round_id, GOOD.encode()), 201)
    assert report["dry_run"] is False and report["replayed"] is False
    assert report["import_id"] is not None
    assert report["rows_read"] == 10 and report["rows_stored"] == 10
    assert report["per_area"] == [{"area_id": areas["norr"], "area_code": "norr", "rows": 10}]
    assert report["notes"] == []
    assert _source(db, round_id) == "imported_tallies"
    assert ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))["source"] == "imported_tallies"
    stored = _tallies(db, round_id)
    again = ok(post_tallies(org.analyst, round_id, GOOD.encode()))
    assert again["replayed"] is True and again["import_id"] == report["import_id"]
    assert _tallies(db, round_id) == stored
    with db() as session:
        imports = session.scalars(
            select(DataImport).where(DataImport.survey_round_id == round_id)
        ).all()
        assert [(i.kind, i.rows_stored, i.file_name) for i in imports] == [
            ("tallies", 10, "report.csv")
        ]
    # The figures, computed by hand from the counts: trivsel n = 36 (3 'vet inte'),
    # favourable codes 3, 4 = 26; mean of scores 1..4.
    results = ok(org.analyst.get(f"/api/v1/rounds/{round_id}/results"))
    norr = next(a for a in results["areas"] if a["code"] == "norr")
    assert norr["responses"]["responses"] == 40
    trivsel = next(i for i in norr["items"] if i["key"] == "trivsel")
    assert (trivsel["n"], trivsel["non_substantive"]) == (36, 3)
    assert trivsel["favourable"]["x"] == 26
    assert abs(trivsel["mean"]["mean"] - (4 * 1 + 6 * 2 + 14 * 3 + 12 * 4) / 36) < 1e-12
    victims = next(i for i in norr["indicators"] if i["key"] == "andel_utsatta_12m")
    assert (victims["n"], victims["share"]["x"]) == (36, 36 - 28)
    multi = next(i for i in norr["items"] if i["key"] == "utsatt_brott_12m")
    assert multi["n"] == 36 and multi["unavailable_reason"] is None


def test_without_star_rows_respondents_are_estimated_and_multi_choice_shares_unavailable(
    org: Org,
) -> None:
    round_id, _ = _historical(org)
    content = "\n".join(
        line for line in GOOD.splitlines() if ",*," not in line and not line.endswith(",*,36")
    )
    report = ok(post_tallies(org.analyst, round_id, content.encode()), 201)
    assert report["problems"] == []
    assert any("norr" in note and "largest" in note for note in report["notes"])
    assert any("utsatt_brott_12m" in note for note in report["notes"])
    results = ok(org.analyst.get(f"/api/v1/rounds/{round_id}/results"))
    norr = next(a for a in results["areas"] if a["code"] == "norr")
    assert norr["responses"]["responses"] == 39  # trivsel's 39 answers, the most of any item
    multi = next(i for i in norr["items"] if i["key"] == "utsatt_brott_12m")
    assert multi["n"] is None and multi["suppressed"] is False
    assert "option '*'" in multi["unavailable_reason"]
    victims = next(i for i in norr["indicators"] if i["key"] == "andel_utsatta_12m")
    assert victims["share"] is None and "option '*'" in victims["unavailable_reason"]
    organisation = results["pooled"][0]
    pooled = next(i for i in organisation["indicators"] if i["key"] == "andel_utsatta_12m")
    assert pooled["share"] is None and pooled["unavailable_reason"] == victims["unavailable_reason"]


def test_which_rounds_take_counts(org: Org, db: sessionmaker[Session]) -> None:
    round_id, areas = _historical(org)
    # A second file may add an area that has no counts yet, never add to one that has.
    ok(post_tallies(org.analyst, round_id, GOOD.encode()), 201)
    more = GOOD.replace("norr", "syd").encode()
    body = problem(post_tallies(org.analyst, round_id, GOOD.replace("40", "41").encode()), 409)
    assert "norr" in body["detail"]
    added = ok(post_tallies(org.analyst, round_id, more), 201)
    assert added["per_area"][0]["area_code"] == "syd"
    # A collected round collects its own answers.
    version_id = ok(org.analyst.get(f"/api/v1/rounds/{round_id}"))["questionnaire_version_id"]
    collected = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Nu",
                "questionnaire_version_id": version_id,
                "period": "2026",
                "area_ids": [areas["norr"]],
                "open_date": date.today().isoformat(),
                "close_date": date.today().isoformat(),
            },
        ),
        201,
    )["id"]
    problem(post_tallies(org.analyst, collected, GOOD.encode(), dry_run="true"), 409)
    # A historical round that holds imported responses: counts would count them twice.
    holding, holding_areas = _historical(org, ("ost",), version_id)
    with db() as session:
        session.add(
            Response(
                survey_round_id=holding,
                area_id=holding_areas["ost"],
                language="sv",
                channel="paper",
                entry="import",
                submitted_date=date(2022, 3, 15),
                answers={"trivsel": 3},
            )
        )
        session.commit()
    body = problem(
        post_tallies(org.analyst, holding, b"area,item,option,count\nost,trivsel,1,3\n"), 409
    )
    assert "imported responses" in body["detail"]


def test_roles_and_another_organisations_round(org: Org, make_org: Any) -> None:
    round_id, _ = _historical(org)
    problem(post_tallies(org.integrator, round_id, GOOD.encode()), 403)
    ok(post_tallies(org.admin, round_id, GOOD.encode(), dry_run="true"))
    other = make_org()
    missing = problem(post_tallies(other.analyst, round_id, GOOD.encode()), 404)
    assert missing["detail"] == problem(
        post_tallies(other.analyst, 2_000_000_000, GOOD.encode()), 404
    )["detail"].replace("2000000000", str(round_id))


def test_an_xlsx_report_table_reads_like_the_csv(org: Org) -> None:
    import io

    from openpyxl import Workbook

    round_id, _ = _historical(org)
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for line in GOOD.splitlines():
        cells: list[Any] = line.split(",")
        if cells[3].isdigit():
            cells[3] = int(cells[3])
        sheet.append(cells)
    buffer = io.BytesIO()
    workbook.save(buffer)
    response = org.analyst.post(
        f"/api/v1/rounds/{round_id}/tallies/import",
        params={"dry_run": "true"},
        files={
            "file": (
                "rapport.xlsx",
                buffer.getvalue(),
                "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            )
        },
    )
    report = ok(response)
    assert report["encoding"] == "xlsx" and report["problems"] == []
    assert report["rows_stored"] == 10
