"""The console's history flows over HTTP, on both databases: an admin creates a historical
round (nobody else may), its pages show where its data came from and nothing that only a round
open to tenants has; answers and answer counts are imported in two steps (a dry-run report as
a table, then the import of exactly the previewed file); imports are listed and taken back.
Roles, CSRF, and another organisation's round is exactly as absent as a missing one."""

import json
import re
from collections.abc import Callable, Iterator
from datetime import timedelta
from html import unescape
from typing import Any

import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.console import uploads
from tests.api.support import response_count
from tests.api.support import today as swedish_today
from tests.api.test_hostile_input import snapshot
from tests.conftest import LiveServer
from tests.helpers import ok
from tests.staff.conftest import Browser, csrf_of
from tests.staff.test_console_rounds import (
    World,
    create_via_console,
    make_world,
    signed_in,
    wizard_fields,
)

_ROUND_ID = re.compile(r"/console/rounds/(\d+)")
NBSP = "\u00a0"
LAST_YEAR = swedish_today().year - 1


@pytest.fixture
def world(server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(server, db)
    yield made
    made.api.close()


def historical_fields(world: World, **overrides: Any) -> dict[str, Any]:
    past = {
        "name": f"Trygghetsmätning {LAST_YEAR}",
        "period": str(LAST_YEAR),
        "open_date": f"{LAST_YEAR}-03-01",
        "close_date": f"{LAST_YEAR}-03-29",
        "historical": "on",
    }
    return wizard_fields(world, **(past | overrides))


def create_historical(client: Browser, world: World, **overrides: Any) -> int:
    page = client.get("/console/rounds/new?kind=historical")
    assert page.status_code == 200, page.text
    data = {"csrf_token": csrf_of(page.text), **historical_fields(world, **overrides)}
    created = client.post("/console/rounds/new", data=data)
    assert created.status_code == 303, created.text
    found = _ROUND_ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def test_an_admin_creates_a_historical_round_and_its_page_shows_only_what_fits(
    browser: Callable[[], Browser], world: World
) -> None:
    admin = signed_in(browser, world, "admin")
    listing = admin.get("/console/rounds")
    assert "/console/rounds/new?kind=historical" in listing.text
    wizard = admin.get("/console/rounds/new?kind=historical")
    assert "Skapa en historisk mätomgång" in wizard.text
    assert 'name="historical" value="on"' in wizard.text
    assert "Steg 4 av 4" in wizard.text and "Steg 5" not in wizard.text
    round_id = create_historical(admin, world)
    stored = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    assert stored["status"] == "historical" and stored["source"] == "imported"
    assert stored["period"] == str(LAST_YEAR) and stored["area_links_enabled"] is False
    assert stored["open_date"] == f"{LAST_YEAR}-03-01"
    page = admin.get(f"/console/rounds/{round_id}")
    assert page.status_code == 200
    facts = page.text.split('class="facts-list"')[1].split("</dl>")[0]
    assert "historisk" in facts and "importerade svar" in facts
    assert "Områdeslänkar" not in facts and "Kodsvar som väntar" not in facts
    for absent in (
        f"/console/rounds/{round_id}/invitations",
        f"/console/rounds/{round_id}/posters",
        f"/console/rounds/{round_id}/area-links",
        f"/console/rounds/{round_id}/close",
        "/r/",
    ):
        assert absent not in page.text, absent
    assert "Hjällbo" in page.text and "Hammarkullen" in page.text
    listing = admin.get("/console/rounds").text
    row = listing.split(f'href="/console/rounds/{round_id}"')[1].split("</tr>")[0]
    assert "historisk" in row and "importerade svar" in row
    # What only a round open to tenants has is refused even when asked for directly.
    posters = admin.get(f"/console/rounds/{round_id}/posters")
    assert posters.status_code == 409
    token = csrf_of(page.text)
    closed = admin.post(f"/console/rounds/{round_id}/close", data={"csrf_token": token})
    assert closed.status_code == 409 and "historical" in closed.text
    codes = admin.post(
        f"/console/rounds/{round_id}/invitations",
        data={"csrf_token": token, "area_id": str(world.area_ids[0]), "count": "2"},
    )
    assert codes.status_code == 409
    assert ok(world.api.get(f"/api/v1/rounds/{round_id}/invitations"))["total"]["issued"] == 0


def test_a_historical_round_must_lie_in_the_past(
    browser: Callable[[], Browser], world: World
) -> None:
    admin = signed_in(browser, world, "admin")
    page = admin.get("/console/rounds/new?kind=historical")
    today = swedish_today()
    data = historical_fields(world, close_date=(today + timedelta(days=3)).isoformat())
    answer = admin.post("/console/rounds/new", data={"csrf_token": csrf_of(page.text), **data})
    assert answer.status_code == 422
    assert 'id="close_date-error"' in answer.text and 'href="#close_date"' in answer.text
    assert "före i dag" in answer.text
    assert 'name="historical" value="on"' in answer.text  # still the historical wizard
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 0


def test_only_an_admin_may_create_a_historical_round(
    browser: Callable[[], Browser], world: World
) -> None:
    analyst = signed_in(browser, world, "analyst")
    listing = analyst.get("/console/rounds")
    assert "kind=historical" not in listing.text and "Skapa en mätomgång" in listing.text
    offered = analyst.get("/console/rounds/new?kind=historical")
    assert offered.status_code == 403 and "Din roll tillåter inte detta" in offered.text
    token = csrf_of(analyst.get("/console/rounds/new").text)
    posted = analyst.post(
        "/console/rounds/new", data={"csrf_token": token, **historical_fields(world)}
    )
    assert posted.status_code == 403 and "Din roll tillåter inte detta" in posted.text
    viewer = signed_in(browser, world, "viewer")
    viewer_token = csrf_of(viewer.get("/console/rounds").text)
    for method, data in (("GET", None), ("POST", historical_fields(world))):
        answer = viewer.request(
            method,
            "/console/rounds/new?kind=historical",
            data={"csrf_token": viewer_token, **data} if data else None,
        )
        assert answer.status_code == 403 and "Din roll tillåter inte detta" in answer.text
    # An admin's post without the session's CSRF token creates nothing either.
    admin = signed_in(browser, world, "admin")
    forged = admin.post(
        "/console/rounds/new", data={"csrf_token": "wrong", **historical_fields(world)}
    )
    assert forged.status_code == 403
    assert ok(world.api.get("/api/v1/rounds"))["total"] == 0


# --- importing answers and answer counts -------------------------------------------------------

_HIDDEN = re.compile(r'<input type="hidden" name="([a-z_0-9]+)" value="([^"]*)">')
CSV = "text/csv"


def hidden_fields(html: str) -> dict[str, str]:
    """The hidden inputs of a page's last form (the confirmation), unescaped like a browser."""
    form = html.rsplit("<form", 1)[1]
    return {name: unescape(value) for name, value in _HIDDEN.findall(form)}


def area_codes(world: World) -> list[str]:
    return [ok(world.api.get(f"/api/v1/areas/{a}"))["code"] for a in world.area_ids]


def answers_csv(rows: list[tuple[str, str, str]]) -> bytes:
    """A plain sheet for the item_columns mapping: area code and two items' option codes."""
    lines = ["area,trygg_ute_kvall,trivsel", *(",".join(row) for row in rows)]
    return ("\n".join(lines) + "\n").encode()


def check(
    client: Browser,
    round_id: int,
    data: bytes,
    *,
    path: str = "imports",
    name: str = "svar-2022.csv",
    kind: str = CSV,
    **fields: Any,
) -> Any:
    page = client.get(f"/console/rounds/{round_id}/{path}")
    assert page.status_code == 200, page.text
    extra = {} if path != "imports" else {"mapping": "item_columns"}
    files: dict[str, Any] = {"file": (name, data, kind)}
    if "mapping_file" in fields:
        files["mapping_file"] = ("mapping.json", fields.pop("mapping_file"), "application/json")
    return client.post(
        f"/console/rounds/{round_id}/{path}",
        data={"csrf_token": csrf_of(page.text), **extra, **fields},
        files=files,
    )


def import_id_on(client: Browser, round_id: int) -> int:
    """The first import listed on the round's page (an admin sees its take-back link)."""
    found = re.search(
        rf"/console/rounds/{round_id}/imports/(\d+)/delete",
        client.get(f"/console/rounds/{round_id}").text,
    )
    assert found
    return int(found.group(1))


def round_of(world: World, round_id: int) -> dict[str, Any]:
    found: dict[str, Any] = ok(world.api.get(f"/api/v1/rounds/{round_id}"))
    return found


def test_answers_are_checked_then_imported_exactly_as_previewed_and_taken_back(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first, second, _ = area_codes(world)
    page = admin.get(f"/console/rounds/{round_id}")
    assert "Inget har importerats till den här mätomgången än" in page.text
    assert f"/console/rounds/{round_id}/imports" in page.text
    analyst = signed_in(browser, world, "analyst")
    data = answers_csv(
        [
            (first, "1", "4"),
            (first, "2", "3"),
            (first, "9", ""),
            (second, "3", "2"),
            (second, "", "1"),
        ]
    )
    before = snapshot(db, world.org.id)
    report = check(analyst, round_id, data)
    assert report.status_code == 200, report.text
    assert snapshot(db, world.org.id) == before
    assert "Rapport från provkörningen" in report.text and "Inget är sparat ännu" in report.text
    areas = report.text.split('id="areas-caption"')[1].split("</table>")[0]
    assert re.search(rf'{first}</span></th><td class="num">3<', areas), areas
    assert re.search(rf'{second}</span></th><td class="num">2<', areas), areas
    assert "Importera</button>" in report.text
    fields = hidden_fields(report.text)
    assert fields["file_name"] == "svar-2022.csv"
    assert json.loads(fields["mapping_text"]) == {"preset": "item_columns"}
    done = analyst.post(f"/console/rounds/{round_id}/imports/confirm", data=fields)
    assert done.status_code == 200, done.text
    assert "Svaren är importerade" in done.text and "5 rader i filen är sparade" in done.text
    assert response_count(db, round_id) == 5
    # The kept file went with the import: the same confirmation cannot import it twice.
    again = analyst.post(f"/console/rounds/{round_id}/imports/confirm", data=fields)
    assert again.status_code == 400 and "inte filen du förhandsgranskade" in again.text
    assert response_count(db, round_id) == 5
    # The round page lists the import; only an admin may take it back.
    listed = analyst.get(f"/console/rounds/{round_id}").text
    imports = listed.split('id="imports-caption"')[1].split("</table>")[0]
    assert "svar-2022.csv" in imports and "Ta tillbaka" not in imports
    import_id = import_id_on(admin, round_id)
    refused = analyst.get(f"/console/rounds/{round_id}/imports/{import_id}/delete")
    assert refused.status_code == 403
    listed = admin.get(f"/console/rounds/{round_id}").text
    link = f"/console/rounds/{round_id}/imports/{import_id}/delete"
    assert link in listed
    confirm = admin.get(link)
    assert confirm.status_code == 200 and "Ja, ta tillbaka importen" in confirm.text
    assert "De 5 svar som filen förde in" in confirm.text
    taken = admin.post(link, data={"csrf_token": csrf_of(confirm.text)})
    assert taken.status_code == 303
    assert "Importen är tillbakatagen" in admin.get(taken.headers["location"]).text
    assert response_count(db, round_id) == 0
    assert (
        "Inget har importerats till den här mätomgången än"
        in admin.get(f"/console/rounds/{round_id}").text
    )


def test_a_broken_file_shows_its_problems_and_stores_nothing(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first, _, outside = area_codes(world)
    before = snapshot(db, world.org.id)
    report = check(
        admin, round_id, answers_csv([(first, "1", "4"), (first, "7", "3"), ("nowhere", "1", "1")])
    )
    assert report.status_code == 200, report.text
    assert "Det finns ett problem" in report.text and "2 problem i filen" in report.text
    problems = report.text.split('id="problems-caption"')[1].split("</table>")[0]
    rows = re.findall(r"<tr>\s*<td class=\"num\">(\d+)</td>(.*?)</tr>", problems, re.S)
    assert [line for line, _ in rows] == ["3", "4"]
    assert "trygg_ute_kvall" in rows[0][1] and ">7<" in rows[0][1]
    assert "nowhere" in rows[1][1]
    assert "Importera</button>" not in report.text and 'name="token"' not in report.text
    # More than a thousand problems: the first thousand are listed, and the total is said.
    many = answers_csv([(first, "7", "4")] * 1200)
    crowded = check(admin, round_id, many)
    assert crowded.status_code == 200
    assert "de första 1" + NBSP + "000 av 1" + NBSP + "200" in crowded.text
    assert crowded.text.split('id="problems-caption"')[1].count("<tr>") == 1001  # + heading
    for data, kind, status, text in (
        (b"", CSV, 400, "the file is empty"),
        (b"area,trygg_ute_kvall\n" + f"{first},1\n".encode() + b"\xc3", CSV, 400, "truncated"),
        (
            "area,trivsel\nÅby,1\n".encode() + "Öby,2\n".encode("cp1252"),
            CSV,
            400,
            "mixes encodings",
        ),
        (b"PK\x03\x04broken", "application/octet-stream", 400, "cannot be read"),
    ):
        answer = check(admin, round_id, data, kind=kind)
        assert answer.status_code == status and text in answer.text, (data, answer.text[-3000:])
        assert "Filen kan inte importeras" in answer.text
    no_mapping = check(admin, round_id, answers_csv([(first, "1", "1")]), mapping="file")
    assert no_mapping.status_code == 422 and "Mappningen kan inte användas" in no_mapping.text
    bad_json = check(
        admin, round_id, answers_csv([(first, "1", "1")]), mapping="file", mapping_file=b"{nej"
    )
    assert bad_json.status_code == 422 and "not valid JSON" in bad_json.text
    # Another area column through a ready-made mapping: the mapping's own problem, by column.
    moved = check(admin, round_id, answers_csv([(first, "1", "1")]), area_column="omrade_kod")
    assert moved.status_code in (200, 422), moved.text
    assert "omrade_kod" in moved.text and "Importera</button>" not in moved.text
    assert snapshot(db, world.org.id) == before
    assert outside not in report.text  # an area outside the round is never offered


def test_the_confirmation_imports_only_the_previewed_file(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first, second, _ = area_codes(world)
    fields = hidden_fields(check(admin, round_id, answers_csv([(first, "1", "1")])).text)
    other = hidden_fields(check(admin, round_id, answers_csv([(second, "2", "2")] * 3)).text)
    confirm = f"/console/rounds/{round_id}/imports/confirm"
    for forged in (
        {"token": other["token"]},
        {"signature": "0" * 64},
        {"file_sha256": other["file_sha256"]},
        {"mapping_text": '{"preset": "limesurvey_standard"}'},
        {"file_name": "annat.csv"},
        {"token": "../../etc/passwd"},
        {"token": ""},
    ):
        answer = admin.post(confirm, data=fields | forged)
        assert answer.status_code == 400, forged
        assert "inte filen du förhandsgranskade" in answer.text
    # Another session's signature does not carry over, nor to the other kind of import.
    analyst = signed_in(browser, world, "analyst")
    token = csrf_of(analyst.get(f"/console/rounds/{round_id}").text)
    stolen = analyst.post(confirm, data=fields | {"csrf_token": token})
    assert stolen.status_code == 400
    tallies = admin.post(f"/console/rounds/{round_id}/tallies/import/confirm", data=fields)
    assert tallies.status_code == 400
    # A kept file changed on the server's disk is not the previewed file either.
    kept = uploads.kept_path(fields["token"])
    assert kept is not None
    kept.write_bytes(answers_csv([(second, "4", "4")]))
    changed = admin.post(confirm, data=fields)
    assert changed.status_code == 400 and uploads.kept_path(fields["token"]) is None
    assert response_count(db, round_id) == 0
    # The other, untouched preview still imports: its three rows, not one more.
    done = admin.post(confirm, data=other)
    assert done.status_code == 200
    assert response_count(db, round_id) == 3


def test_answer_counts_only_are_checked_imported_and_taken_back(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first, second, _ = area_codes(world)
    page = admin.get(f"/console/rounds/{round_id}")
    assert f"/console/rounds/{round_id}/tallies/import" in page.text
    counts = [
        f"{first},*,,20",
        f"{first},trygg_ute_kvall,1,12",
        f"{first},trygg_ute_kvall,2,8",
        f"{second},*,,15",
        f"{second},trygg_ute_kvall,3,15",
    ]
    data = ("area,item,option,count\n" + "\n".join(counts) + "\n").encode()
    before = snapshot(db, world.org.id)
    broken = ("area,item,option,count\n" + f"{first},trygg_ute_kvall,6,3\n").encode()
    refused = check(admin, round_id, broken, path="tallies/import", name="fel.csv")
    assert refused.status_code == 200 and "Det finns ett problem" in refused.text
    assert "Importera</button>" not in refused.text
    report = check(admin, round_id, data, path="tallies/import", name="tabeller-2022.csv")
    assert report.status_code == 200, report.text
    assert snapshot(db, world.org.id) == before
    assert "svarsfördelningar" in report.text and "Importera</button>" in report.text
    fields = hidden_fields(report.text)
    done = admin.post(f"/console/rounds/{round_id}/tallies/import/confirm", data=fields)
    assert done.status_code == 200, done.text
    assert "Svarsfördelningarna är importerade" in done.text
    assert round_of(world, round_id)["source"] == "imported_tallies"
    shown = admin.get(f"/console/rounds/{round_id}").text
    facts = shown.split('class="facts-list"')[1].split("</dl>")[0]
    assert "endast svarsfördelningar" in facts and "Svar</dt>" not in facts
    assert "sammanvägda index" in shown
    assert "tabeller-2022.csv" in shown
    assert f'/console/rounds/{round_id}/imports"' not in shown  # no answers into counts
    import_id = import_id_on(admin, round_id)
    link = f"/console/rounds/{round_id}/imports/{import_id}/delete"
    confirm = admin.get(link)
    assert "svarsfördelningar som filen förde in" in confirm.text
    assert admin.post(link, data={"csrf_token": csrf_of(confirm.text)}).status_code == 303
    assert round_of(world, round_id)["source"] == "imported"


def test_roles_and_csrf_guard_every_import_route(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first = area_codes(world)[0]
    fields = hidden_fields(check(admin, round_id, answers_csv([(first, "1", "1")])).text)
    viewer = signed_in(browser, world, "viewer")
    token = csrf_of(viewer.get(f"/console/rounds/{round_id}").text)
    page = viewer.get(f"/console/rounds/{round_id}").text
    assert f"/console/rounds/{round_id}/imports" not in page
    for method, path in IMPORT_ROUTES:
        url = path.format(round_id=round_id, import_id=1)
        answer = viewer.request(
            method, url, data={"csrf_token": token} if method == "POST" else None
        )
        assert answer.status_code == 403, (method, path)
        assert "Din roll tillåter inte detta" in answer.text
    # A collected round takes no import: the service's own 409.
    analyst = signed_in(browser, world, "analyst")
    collected = create_via_console(analyst, world)
    answer = check(analyst, collected, answers_csv([(first, "1", "1")]))
    assert answer.status_code == 409 and "only a historical round takes imports" in answer.text
    # Without this session's CSRF token nothing is checked or imported.
    for bad in ({}, {"csrf_token": "wrong"}):
        forged = admin.post(
            f"/console/rounds/{round_id}/imports",
            data={"mapping": "item_columns", **bad},
            files={"file": ("x.csv", answers_csv([(first, "1", "1")]), CSV)},
        )
        assert forged.status_code == 403
        confirm = {k: v for k, v in fields.items() if k != "csrf_token"} | bad
        assert (
            admin.post(f"/console/rounds/{round_id}/imports/confirm", data=confirm).status_code
            == 403
        )
    assert response_count(db, round_id) == 0


# Every console import route with an id, walked with another organisation's ids.
IMPORT_ROUTES = (
    ("GET", "/console/rounds/{round_id}/imports"),
    ("POST", "/console/rounds/{round_id}/imports"),
    ("POST", "/console/rounds/{round_id}/imports/confirm"),
    ("GET", "/console/rounds/{round_id}/tallies/import"),
    ("POST", "/console/rounds/{round_id}/tallies/import"),
    ("POST", "/console/rounds/{round_id}/tallies/import/confirm"),
    ("GET", "/console/rounds/{round_id}/imports/{import_id}/delete"),
    ("POST", "/console/rounds/{round_id}/imports/{import_id}/delete"),
)


def test_another_organisations_round_and_import_are_exactly_like_missing_ones(
    browser: Callable[[], Browser], world: World, server: LiveServer, db: sessionmaker[Session]
) -> None:
    theirs_world = make_world(server, db)
    try:
        owner = signed_in(browser, theirs_world, "admin")
        theirs = create_historical(owner, theirs_world)
        code = area_codes(theirs_world)[0]
        fields = hidden_fields(check(owner, theirs, answers_csv([(code, "1", "1")])).text)
        assert (
            owner.post(f"/console/rounds/{theirs}/imports/confirm", data=fields).status_code == 200
        )
        their_import = import_id_on(owner, theirs)
        client = signed_in(browser, world, "admin")
        mine = create_historical(client, world)
        token = csrf_of(client.get("/console/rounds").text)
        missing = 2_000_000_000
        for method, template in IMPORT_ROUTES:
            probes = [(theirs, their_import), (missing, their_import), ("abc", their_import)]
            if "{import_id}" in template:
                probes += [(mine, their_import), (mine, missing), (mine, "abc")]
            answers = [
                client.request(
                    method,
                    template.format(round_id=round_id, import_id=import_id),
                    data={**fields, "csrf_token": token} if method == "POST" else None,
                    files={"file": ("x.csv", b"area\nx\n", CSV)} if method == "POST" else None,
                )
                for round_id, import_id in probes
            ]
            assert {a.status_code for a in answers} == {404}, (method, template)
            # The pages differ only in the address asked for (in their language links).
            texts = {a.text.replace(a.request.url.path, "PATH") for a in answers}
            assert len(texts) == 1, (method, template)
            assert "Här finns ingenting" in answers[0].text
        assert response_count(db, theirs) == 1
    finally:
        theirs_world.api.close()


def test_hostile_values_get_a_page_and_store_nothing(
    browser: Callable[[], Browser], world: World, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, world, "admin")
    round_id = create_historical(admin, world)
    first = area_codes(world)[0]
    before = snapshot(db, world.org.id)
    good = answers_csv([(first, "1", "1")])
    for fields, name, data in (
        ({"area_column": "om\x00rade"}, "svar.csv", good),
        ({"area_column": "x" * 100_000}, "svar.csv", good),
        ({"mapping": "limesurvey_standard\x00"}, "svar.csv", good),
        ({"mapping": "file", "mapping_file": b'{"preset": "item_columns\x00"}'}, "s.csv", good),
        ({"mapping": "file", "mapping_file": b"\xff\xfe"}, "svar.csv", good),
        ({"mapping": "file", "mapping_file": b"[" * 100_000}, "svar.csv", good),
        ({}, "sv\x00ar.csv", good),
        ({}, "=HYPERLINK(1).csv", f"area,trivsel\n{first},=HYPERLINK(1)\n".encode()),
        ({}, "nul.csv", f"area,trivsel\n{first},1\x00\n".encode()),
        ({}, "huge.csv", b"area," + b"k" * 100_000 + f"\n{first},1\n".encode()),
    ):
        answer = check(admin, round_id, data, name=name, **fields)
        assert answer.status_code < 500, (fields, name, answer.text[-2000:])
        assert answer.headers["content-type"].startswith("text/html")
        assert "Felet har loggats" not in answer.text
    fields = hidden_fields(check(admin, round_id, good).text)
    for forged in (
        {"mapping_text": "\x00"},
        {"file_name": "x" * 100_000},
        {"token": "\x00" * 32},
        {"signature": "\x00"},
    ):
        answer = admin.post(f"/console/rounds/{round_id}/imports/confirm", data=fields | forged)
        assert answer.status_code == 400, forged
    assert snapshot(db, world.org.id) == before
