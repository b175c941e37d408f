"""Importing past responses into historical rounds (issue 10, part 2), on both databases."""

import io
import json
from datetime import date
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import DataImport, Response, SurveyRound
from tests.api.support import problem
from tests.conftest import Org
from tests.helpers import ok
from tests.imports.response_files import (
    ITEMS,
    area_items,
    counts,
    distribution,
    historical_round,
    item_columns_xlsx,
    limesurvey_csv,
    post_import,
    respondents,
)

LIMESURVEY = {"preset": "limesurvey_standard"}
SAMPLE = Path(__file__).parent / "data" / "limesurvey-export-codes.csv"


def _stored(db: sessionmaker[Session], round_id: int) -> list[Response]:
    with db() as session:
        return list(
            session.scalars(
                select(Response).where(Response.survey_round_id == round_id).order_by(Response.id)
            )
        )


def _count(db: sessionmaker[Session], round_id: int) -> int:
    with db() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(Response)
                .where(Response.survey_round_id == round_id)
            )
            or 0
        )


def test_a_limesurvey_export_for_2023_lands_in_the_results(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr", "soder"])
    rid = created["id"]
    rows = respondents(2023, ["norr", "soder"], 30)
    content = limesurvey_csv(rows, languages=["sv", "sv", "en"])

    dry = ok(post_import(org.analyst, rid, content, LIMESURVEY, dry_run=True))
    assert dry["dry_run"] and dry["problems"] == [] and dry["problems_total"] == 0
    assert dry["rows_read"] == 60 and dry["rows_stored"] == 60
    assert {a["area_code"]: a["rows"] for a in dry["per_area"]} == {"norr": 30, "soder": 30}
    assert dry["encoding"] == "utf-8-sig" and dry["import_id"] is None
    assert _count(db, rid) == 0

    report = ok(post_import(org.analyst, rid, content, LIMESURVEY), 201)
    assert report["dry_run"] is False and report["replayed"] is False
    assert report["rows_stored"] == 60 and isinstance(report["import_id"], int)

    results = ok(org.analyst.get(f"/api/v1/rounds/{rid}/results"))
    for area in ("norr", "soder"):
        items = area_items(results, area)
        for key in ("trivsel", "trygg_ute_kvall", "utsatt_brott_12m", "kon"):
            assert distribution(items[key]) == dict(counts(rows, area, key)), (area, key)
        # The favourable share of trivsel (codes 3 and 4 of 1-4; 9 is "Vet inte"), by hand.
        trivsel = counts(rows, area, "trivsel")
        n = sum(c for code, c in trivsel.items() if code != 9)
        x = trivsel[3] + trivsel[4]
        assert items["trivsel"]["n"] == n
        assert (
            items["trivsel"]["favourable"]["p"] == round(x / n, 4)
            or abs(items["trivsel"]["favourable"]["p"] - x / n) < 1e-9
        )

    stored = _stored(db, rid)
    assert len(stored) == 60
    assert {r.entry for r in stored} == {"import"}
    assert {r.channel for r in stored} == {"web"}
    assert {r.submitted_date for r in stored} == {date(2023, 4, 15)}
    assert {r.data_import_id for r in stored} == {report["import_id"]}
    assert sorted(r.language for r in stored) == sorted(
        ["sv", "sv", "en"][n % 3] for n in range(1, 61)
    )
    # The file's order is not the stored order (shuffled), and the answers are the file's.
    file_answers = [json.dumps(a, sort_keys=True) for _, a in rows]
    stored_answers = [json.dumps(r.answers, sort_keys=True) for r in stored]
    assert sorted(stored_answers) == sorted(file_answers)
    assert stored_answers != file_answers
    # Nothing of LimeSurvey's own columns is stored anywhere: no token, IP address or time.
    with db() as session:
        record = session.get(DataImport, report["import_id"])
        assert record is not None
        everything = json.dumps([r.answers for r in stored]) + json.dumps(record.summary)
    assert "tok0" not in everything and "10.0." not in everything and "08:" not in everything
    assert record.rows_read == 60 and record.rows_stored == 60 and record.kind == "responses"

    rounds = ok(org.analyst.get(f"/api/v1/rounds/{rid}"))
    assert rounds["source"] == "imported" and rounds["status"] == "historical"
    listed = ok(org.analyst.get(f"/api/v1/rounds/{rid}/imports"))
    assert [i["id"] for i in listed] == [report["import_id"]]
    assert listed[0]["file_name"] == "export.csv" and listed[0]["rows_stored"] == 60


def test_the_real_limesurvey_sample_gives_its_documented_counts(org: Org) -> None:
    """The LimeSurvey 6.4.2 export of the standard questionnaire (15 responses, one area)."""
    created = historical_round(org, "2024", ["ls"])
    mapping = {**LIMESURVEY, "area": {"fixed": "ls"}}
    report = ok(post_import(org.admin, created["id"], SAMPLE.read_bytes(), mapping), 201)
    assert report["rows_stored"] == 15 and report["problems_total"] == 0
    assert report["unmapped_columns"] == []
    items = area_items(ok(org.admin.get(f"/api/v1/rounds/{created['id']}/results")), "ls")
    # The sample README's table of expected counts.
    assert distribution(items["trygg_ute_kvall"]) == {1: 4, 3: 4, 4: 1, 5: 3, 8: 1, 9: 2}
    assert distribution(items["trivsel"]) == {1: 3, 2: 6, 3: 2, 4: 1}
    assert distribution(items["utsatt_brott_12m"]) == {1: 1, 3: 1, 4: 1, 5: 2, 6: 13}
    assert distribution(items["kon"]) == {1: 2, 2: 8, 3: 3, 9: 2}
    assert distribution(items["barn_i_hushallet"]) == {1: 6, 2: 7, 9: 2}


def test_an_excel_sheet_for_2024_with_item_columns(org: Org, db: sessionmaker[Session]) -> None:
    created = historical_round(org, "2024", ["ost", "vast"])
    rid = created["id"]
    rows = respondents(2024, ["ost", "vast"], 30)
    keys = ["trivsel", "trygg_ute_kvall", "utsatt_brott_12m", "anmalt_polis", "kon"]
    content = item_columns_xlsx(rows, keys)
    report = ok(
        post_import(org.analyst, rid, content, {"preset": "item_columns"}, name="2024.xlsx"), 201
    )
    assert report["encoding"] == "xlsx" and report["rows_stored"] == 60
    results = ok(org.analyst.get(f"/api/v1/rounds/{rid}/results"))
    for area in ("ost", "vast"):
        items = area_items(results, area)
        for key in keys:
            if key != "anmalt_polis":  # few answers: suppressed
                assert distribution(items[key]) == dict(counts(rows, area, key)), (area, key)
    stored = _stored(db, rid)
    assert {r.channel for r in stored} == {"paper"} and {r.language for r in stored} == {"sv"}
    assert all(set(r.answers) <= set(keys) for r in stored)


def _broken_file() -> bytes:
    head = "omrade;trivsel;utsattBrott12m[SQ001];utsattBrott12m[SQ006];anmaltPolis;fritextPlats"
    lines = [
        head,
        "norr;A3;;Y;;",  # 2: fine
        "norr;A9;;Y;;",  # 3: wrong code
        "nowhere;A1;;Y;;",  # 4: unknown area
        "norr;A2;;Y;A1;",  # 5: anmalt_polis answered though no crime ticked (show_if)
        "norr;A2;;Y;;;extra",  # 6: more cells than the heading
        "norr;A2\x00;;Y;;",  # 7: NUL
        'norr;"=HYPERLINK(""http://evil.example"",""klick"")";;Y;;',  # 8: a formula stays text
        "norr;" + "x" * 100_000 + ";;Y;;",  # 9: a 100 KB cell
        "norr;A1;Y;Y;A1;",  # 10: exclusive code 6 with another
        "soder;A4;Y;;A1;" + "y" * 5000,  # 11: free text too long, not repeated in the report
        "soder;A4;Y;;A1;Mörkt",  # 12: fine
    ]
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def _mapping_for_broken() -> dict[str, Any]:
    return {
        "preset": "limesurvey_standard",
        "items": {key: None for key in ITEMS if key not in {"trivsel", "anmalt_polis"}}
        | {
            "utsatt_brott_12m": {
                "columns": {"utsattBrott12m[SQ001]": 1, "utsattBrott12m[SQ006]": 6}
            },
            "fritext_plats": {"column": "fritextPlats"},
        },
        "language": {"fixed": "sv"},
    }


def test_a_dry_run_reports_every_broken_row_and_stores_nothing(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr", "soder"])
    rid = created["id"]
    report = ok(post_import(org.analyst, rid, _broken_file(), _mapping_for_broken(), dry_run=True))
    assert report["rows_read"] == 11 and report["rows_stored"] == 2
    by_row: dict[int, list[dict[str, Any]]] = {}
    for p in report["problems"]:
        by_row.setdefault(p["row"], []).append(p)
    assert sorted(by_row) == [3, 4, 5, 6, 7, 8, 9, 10, 11]
    assert report["problems_total"] == len(report["problems"])
    (wrong,) = by_row[3]
    assert (wrong["type"], wrong["column"], wrong["item_key"], wrong["value"]) == (
        "unknown_value",
        "trivsel",
        "trivsel",
        "A9",
    )
    assert [(p["type"], p["column"], p["value"]) for p in by_row[4]] == [
        ("unknown_area", "omrade", "nowhere")
    ]
    assert [(p["type"], p["item_key"]) for p in by_row[5]] == [("show_if", "anmalt_polis")]
    assert [p["type"] for p in by_row[6]] == ["too_many_cells"]
    assert "invalid_character" in [p["type"] for p in by_row[7]]
    assert all("\x00" not in (p["value"] or "") for p in report["problems"])
    assert [(p["type"], p["value"]) for p in by_row[8]] == [
        ("unknown_value", '=HYPERLINK("http://evil.example","klick")')
    ]
    assert [p["type"] for p in by_row[9]] == ["unknown_value"]
    assert len(by_row[9][0]["value"]) == 200
    assert [(p["type"], p["item_key"]) for p in by_row[10]] == [("exclusive", "utsatt_brott_12m")]
    assert [(p["type"], p["item_key"], p["value"]) for p in by_row[11]] == [
        ("too_long", "fritext_plats", None)
    ]
    assert _count(db, rid) == 0
    assert ok(org.analyst.get(f"/api/v1/rounds/{rid}/imports")) == []


def test_a_real_run_with_one_bad_row_stores_nothing(org: Org, db: sessionmaker[Session]) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    rows = respondents(7, ["norr"], 12)
    good = limesurvey_csv(rows, languages=["sv"])
    last = good.split(b"\r\n")[-2]
    bad = good + last.replace(b'"A', b'"A9', 1) + b"\r\n"  # a 13th row with one wrong code
    body = problem(post_import(org.analyst, rid, bad, LIMESURVEY), 422)
    report = body["report"]
    assert report["problems_total"] >= 1 and report["import_id"] is None
    assert {p["row"] for p in report["problems"]} == {14}
    assert "nothing was imported" in body["detail"]
    assert _count(db, rid) == 0
    with db() as session:
        assert (
            session.scalar(
                select(func.count())
                .select_from(DataImport)
                .where(DataImport.survey_round_id == rid)
            )
            == 0
        )
    ok(post_import(org.analyst, rid, good, LIMESURVEY), 201)
    assert _count(db, rid) == 12


def test_the_same_file_and_mapping_is_imported_once(org: Org, db: sessionmaker[Session]) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    content = limesurvey_csv(respondents(3, ["norr"], 11), languages=["sv"])
    first = ok(post_import(org.analyst, rid, content, LIMESURVEY), 201)
    again = ok(post_import(org.admin, rid, content, LIMESURVEY), 200)
    assert again["replayed"] is True and again["import_id"] == first["import_id"]
    assert again["rows_stored"] == first["rows_stored"] == 11
    assert again["per_area"] == first["per_area"]
    assert _count(db, rid) == 11
    # The same file through another mapping is another import.
    other = ok(post_import(org.analyst, rid, content, {**LIMESURVEY, "channel": "paper"}), 201)
    assert other["import_id"] != first["import_id"] and other["replayed"] is False
    assert _count(db, rid) == 22
    assert len(ok(org.analyst.get(f"/api/v1/rounds/{rid}/imports"))) == 2


def test_taking_an_import_back_drops_it_from_the_results(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    first_rows = respondents(11, ["norr"], 12)
    second_rows = respondents(12, ["norr"], 15)
    first = ok(
        post_import(org.analyst, rid, limesurvey_csv(first_rows, languages=["sv"]), LIMESURVEY), 201
    )
    second = ok(
        post_import(org.analyst, rid, limesurvey_csv(second_rows, languages=["sv"]), LIMESURVEY),
        201,
    )
    both = area_items(ok(org.analyst.get(f"/api/v1/rounds/{rid}/results")), "norr")
    assert distribution(both["kon"]) == dict(
        counts(first_rows, "norr", "kon") + counts(second_rows, "norr", "kon")
    )
    problem(org.analyst.delete(f"/api/v1/rounds/{rid}/imports/{first['import_id']}"), 403)
    response = org.admin.delete(f"/api/v1/rounds/{rid}/imports/{first['import_id']}")
    assert response.status_code == 204, response.text
    assert _count(db, rid) == 15
    left = area_items(ok(org.analyst.get(f"/api/v1/rounds/{rid}/results")), "norr")
    assert distribution(left["kon"]) == dict(counts(second_rows, "norr", "kon"))
    assert _count(db, rid) == 15
    problem(org.analyst.get(f"/api/v1/rounds/{rid}/imports/{first['import_id']}"), 404)
    problem(org.admin.delete(f"/api/v1/rounds/{rid}/imports/{first['import_id']}"), 404)
    assert (
        ok(org.analyst.get(f"/api/v1/rounds/{rid}/imports/{second['import_id']}"))["id"]
        == (second["import_id"])
    )
    # Taking the other back leaves nothing; the next import of the first file is new again.
    ok_delete = org.admin.delete(f"/api/v1/rounds/{rid}/imports/{second['import_id']}")
    assert ok_delete.status_code == 204
    empty = ok(org.analyst.get(f"/api/v1/rounds/{rid}/results"))
    area = next(a for a in empty["areas"] if a["code"] == "norr")
    assert area["responses"]["suppressed"] is True
    again = post_import(org.analyst, rid, limesurvey_csv(first_rows, languages=["sv"]), LIMESURVEY)
    assert ok(again, 201)["replayed"] is False


def test_encodings_are_read_alike_and_a_mixed_file_is_refused(
    org: Org, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    # The area by name (with å, ä, ö) and free text: the encoding matters for both.
    ok(org.admin.patch(f"/api/v1/areas/{created['area_ids'][0]}", json={"name": "Hjällbo Öst"}))
    text = (
        "område;trivsel;fritext\r\nHjällbo Öst;1;Gångtunneln är mörk\r\nhjällbo öst;4;Trapphus\r\n"
    )
    mapping = {
        "area": {"column": "område", "by": "name"},
        "items": {"trivsel": {"column": "trivsel"}, "fritext_plats": {"column": "fritext"}},
    }
    stored = []
    for encoding, content in [
        ("utf-8", text.encode("utf-8")),
        ("utf-8-sig", b"\xef\xbb\xbf" + text.encode("utf-8")),
        ("windows-1252", text.encode("cp1252")),
    ]:
        report = ok(post_import(org.analyst, rid, content, mapping, dry_run=True))
        assert report["encoding"] == encoding and report["problems"] == [], report
        ok(post_import(org.analyst, rid, content, mapping), 201)
        stored.append(sorted(json.dumps(r.answers, sort_keys=True) for r in _stored(db, rid)))
        for imported in ok(org.analyst.get(f"/api/v1/rounds/{rid}/imports")):
            assert (
                org.admin.delete(f"/api/v1/rounds/{rid}/imports/{imported['id']}").status_code
                == 204
            )
    assert stored[0] == stored[1] == stored[2]
    assert '"fritext_plats": "G\\u00e5ngtunneln \\u00e4r m\\u00f6rk"' in stored[0][0] + stored[0][1]

    mixed = text.encode("utf-8") + "Hjällbo Öst;2;Källaren\r\n".encode("cp1252")
    body = problem(post_import(org.analyst, rid, mixed, mapping, dry_run=True), 400)
    assert "mixes encodings" in body["detail"] and "line 4" in body["detail"]
    cut = text.encode("utf-8") + "Hjä".encode()[:3]  # ends inside the two bytes of "ä"
    body = problem(post_import(org.analyst, rid, cut, mapping, dry_run=True), 400)
    assert "cut off" in body["detail"]
    quoted = b'omrade;trivsel\r\nnorr;"1\r\n'
    body = problem(post_import(org.analyst, rid, quoted, mapping, dry_run=True), 400)
    assert "truncated" in body["detail"]
    assert _count(db, rid) == 0


def test_hostile_files_and_mappings_get_precise_answers(org: Org) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    wide = (";".join(f"c{i}" for i in range(5000)) + "\r\n" + ";" * 4999 + "1\r\n").encode()
    body = problem(post_import(org.analyst, rid, wide, LIMESURVEY, dry_run=True), 400)
    assert "5000 columns" in body["detail"]
    content = b"omrade;trivsel\r\nnorr;1\r\n"
    body = problem(
        post_import(org.analyst, rid, content, '{"preset": "limesurvey_standard"\x00}'), 422
    )
    assert body["errors"][0]["loc"] == ["body", "mapping"]
    body = problem(post_import(org.analyst, rid, content, "[1, 2"), 422)
    assert body["errors"][0]["type"] == "json_invalid"
    body = problem(post_import(org.analyst, rid, content, {"preset": "netigate"}), 422)
    assert body["errors"][0]["loc"] == ["body", "mapping", "preset"]
    mapping = {"area": {"column": "omrade"}, "items": {"no_such_item": {"column": "x"}}}
    body = problem(post_import(org.analyst, rid, content, mapping), 422)
    assert body["errors"][0]["loc"] == ["body", "mapping", "items", "no_such_item"]
    mapping = {
        "area": {"column": "omrade"},
        "items": {"trivsel": {"column": "trivsel", "values": {"A1": 7}}},
    }
    body = problem(post_import(org.analyst, rid, content, mapping), 422)
    assert body["errors"][0]["loc"] == ["body", "mapping", "items", "trivsel", "values", "A1"]
    mapping = {"area": {"column": "omrade", "fixed": "norr"}, "surprise": 1}
    body = problem(post_import(org.analyst, rid, content, mapping), 422)
    assert {tuple(e["loc"][:3]) for e in body["errors"]} == {
        ("body", "mapping", "area"),
        ("body", "mapping", "surprise"),
    }
    # A column the mapping names that the file lacks is a problem of the heading row.
    mapping = {"area": {"column": "omrade"}, "items": {"trivsel": {"column": "trivsel_2023"}}}
    report = ok(post_import(org.analyst, rid, content, mapping, dry_run=True))
    assert [(p["row"], p["type"], p["column"]) for p in report["problems"]][0] == (
        1,
        "missing_column",
        "trivsel_2023",
    )
    problem(post_import(org.analyst, rid, b"", LIMESURVEY), 400)
    missing_file = org.analyst.post(
        f"/api/v1/rounds/{rid}/imports", data={"mapping": json.dumps(LIMESURVEY)}
    )
    problem(missing_file, 422)


def test_only_a_historical_round_of_ones_own_takes_imports(
    org: Org, make_org: Any, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    content = b"omrade;trivsel\r\nnorr;A1\r\n"
    collected = ok(
        org.admin.post(
            "/api/v1/rounds",
            json={
                "name": "Nu",
                "questionnaire_version_id": created["questionnaire_version_id"],
                "period": "2026",
                "area_ids": created["area_ids"],
                "open_date": "2026-01-01",
                "close_date": "2099-01-01",
            },
        ),
        201,
    )
    body = problem(post_import(org.analyst, collected["id"], content, LIMESURVEY), 409)
    assert "only a historical round takes imports" in body["detail"]
    with db() as session:
        session.get_one(SurveyRound, rid).source = "imported_tallies"
        session.commit()
    body = problem(post_import(org.analyst, rid, content, LIMESURVEY, dry_run=True), 409)
    assert "answer counts" in body["detail"]
    with db() as session:
        session.get_one(SurveyRound, rid).source = "imported"
        session.commit()

    other = make_org()
    problem(post_import(other.analyst, rid, content, LIMESURVEY, dry_run=True), 404)
    problem(other.analyst.get(f"/api/v1/rounds/{rid}/imports"), 404)
    problem(post_import(org.integrator, rid, content, LIMESURVEY, dry_run=True), 403)


def test_presets_are_there_to_download_edit_and_send_back(org: Org) -> None:
    listed = ok(org.integrator.get("/api/v1/imports/mappings"))
    assert [p["name"] for p in listed] == ["limesurvey_standard", "item_columns"]
    preset = ok(org.integrator.get("/api/v1/imports/mappings/limesurvey_standard"))
    assert preset["area"] == {"column": "omrade", "fixed": None, "by": "code", "values": {}}
    assert preset["items"]["trygg_ute_kvall"]["column"] == "tryggUteKvall"
    assert preset["items"]["trygg_ute_kvall"]["values"]["A7"] == 9
    assert preset["items"]["fortroende_polis"]["values"]["A5"] == 5
    assert preset["items"]["utsatt_brott_12m"]["columns"]["utsattBrott12m[SQ006]"] == 6
    assert preset["items"]["kannedom_fritidsbanken"]["column"] == "kannedomFritidsbank"
    assert preset["language"]["column"] == "startlanguage"
    assert {"id", "token", "ipaddr", "submitdate"} <= set(preset["ignore"])
    problem(org.integrator.get("/api/v1/imports/mappings/nope"), 404)

    # The downloaded mapping, changed (area from a token attribute), works as sent back.
    created = historical_round(org, "2023", ["norr"])
    preset["area"] = {"column": "attribute_1", "by": "code"}
    content = limesurvey_csv(respondents(5, ["norr"], 3), languages=["sv"]).replace(
        b'"omrade"', b'"attribute_1"', 1
    )
    report = ok(post_import(org.analyst, created["id"], content, preset, dry_run=True))
    assert report["rows_stored"] == 3 and report["problems"] == []


def test_another_organisations_import_is_not_found(
    org: Org, make_org: Any, db: sessionmaker[Session]
) -> None:
    created = historical_round(org, "2023", ["norr"])
    rid = created["id"]
    content = limesurvey_csv(respondents(9, ["norr"], 3), languages=["sv"])
    imported = ok(post_import(org.analyst, rid, content, LIMESURVEY), 201)["import_id"]
    other = make_org()
    own = historical_round(other, "2023", ["norr"])["id"]
    for round_id in (rid, own):
        path = f"/api/v1/rounds/{round_id}/imports/{imported}"
        missing = f"/api/v1/rounds/{round_id}/imports/2000000999"
        assert problem(other.admin.get(path), 404)["detail"] == problem(
            other.admin.get(missing), 404
        )["detail"].replace("2000000999", str(imported))
        problem(other.admin.delete(path), 404)
    # Under another round of its own organisation, an import is not found either.
    version = created["questionnaire_version_id"]
    second = historical_round(org, "2024", ["syd"], version_id=version)["id"]
    problem(org.admin.delete(f"/api/v1/rounds/{second}/imports/{imported}"), 404)
    assert _count(db, rid) == 3


def test_an_excel_formula_stays_text(org: Org) -> None:
    from openpyxl import Workbook

    created = historical_round(org, "2024", ["ost"])
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["area", "trivsel"])
    sheet.append(["ost", 3])
    sheet.append(["ost", '=HYPERLINK("http://evil.example","4")'])
    out = io.BytesIO()
    book.save(out)
    report = ok(
        post_import(
            org.analyst, created["id"], out.getvalue(), {"preset": "item_columns"}, dry_run=True
        )
    )
    assert report["rows_stored"] == 1
    assert [(p["row"], p["type"], p["value"]) for p in report["problems"]] == [
        (3, "unknown_value", '=HYPERLINK("http://evil.example","4")')
    ]


def test_the_contracts_example_is_a_clean_file(org: Org) -> None:
    from survey_api.imports.router import CSV_EXAMPLE, MAPPING_EXAMPLE

    created = historical_round(org, "2023", ["hjallbo"])
    report = ok(
        post_import(org.analyst, created["id"], CSV_EXAMPLE.encode(), MAPPING_EXAMPLE, dry_run=True)
    )
    assert report["rows_stored"] == 1 and report["problems"] == []
