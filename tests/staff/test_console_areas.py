"""The console's Areas section over HTTP, on both databases: areas listed, searched and paged;
created and changed through the API's models (bad input re-shows the form in Swedish and
stores nothing); classifications per year; the import preview stores nothing and the
confirmation stores exactly what it showed; roles, CSRF, and another organisation's area is
exactly as absent as a missing one."""

import base64
import re
import zlib
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.areas.upload import XLSX_MEDIA_TYPE
from tests.api.test_areas_import_preview import xlsx_of
from tests.api.test_hostile_input import snapshot
from tests.conftest import LiveServer
from tests.helpers import create_area, ok
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org
from tests.staff.test_console_rounds import api_client

_ID = re.compile(r"/console/areas/(\d+)")
NBSP = "\u00a0"
CSV_HEADER = "code,name,municipality_code,households,year,area_type,police_classification"


@pytest.fixture
def api(
    server: LiveServer, db: sessionmaker[Session], staff_org: StaffOrg
) -> Iterator[httpx.Client]:
    client = api_client(server, db, staff_org.id)
    yield client
    client.close()


def signed_in(browser: Callable[[], Browser], org: StaffOrg, role: str = "analyst") -> Browser:
    client = browser()
    assert client.log_in(org.emails[role]).status_code == 303
    return client


def area_fields(**overrides: str) -> dict[str, str]:
    return {
        "code": "hjallbo",
        "name": "Hjällbo",
        "municipality_code": "1480",
        "deso_code": "1480C1010",
        "deso_version": "2025",
        "regso_code": "",
        "regso_version": "",
        "households": "2 300",
        **overrides,
    }


def create(client: Browser, **overrides: str) -> int:
    page = client.get("/console/areas/new")
    assert page.status_code == 200
    created = client.post(
        "/console/areas/new", data={"csrf_token": csrf_of(page.text), **area_fields(**overrides)}
    )
    assert created.status_code == 303, created.text
    found = _ID.search(created.headers["location"])
    assert found
    return int(found.group(1))


def stored(api: httpx.Client) -> list[dict[str, Any]]:
    return list(ok(api.get("/api/v1/areas", params={"limit": 500}))["items"])


def test_created_in_the_console_is_the_api_s_area(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    client = signed_in(browser, staff_org)
    area_id = create(client)
    area = ok(api.get(f"/api/v1/areas/{area_id}"))
    assert (area["code"], area["name"], area["households"]) == ("hjallbo", "Hjällbo", 2300)
    assert (area["deso_code"], area["deso_version"], area["regso_code"]) == (
        "1480C1010",
        "2025",
        None,
    )
    page = client.get(f"/console/areas/{area_id}?done=created")
    assert page.status_code == 200 and "Området är skapat" in page.text
    assert f"2{NBSP}300" in page.text
    listing = client.get("/console/areas")
    assert f'href="/console/areas/{area_id}"' in listing.text
    assert f'<td class="num">2{NBSP}300</td>' in listing.text


def test_bad_input_reshows_the_form_in_swedish_and_stores_nothing(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    client = signed_in(browser, staff_org)
    page = client.get("/console/areas/new")
    bad = client.post(
        "/console/areas/new",
        data={
            "csrf_token": csrf_of(page.text),
            **area_fields(code="", municipality_code="148", households="många", deso_version=""),
        },
    )
    assert bad.status_code == 422
    assert "Det finns ett problem" in bad.text
    for name in ("code", "municipality_code", "households"):
        assert f'id="{name}-error"' in bad.text, name
    assert "Ange kommunkoden med fyra siffror" in bad.text
    assert 'value="många"' in bad.text  # what was typed stays
    # The cross-field rule (a DeSO code needs its version), once the rest is right.
    cross = client.post(
        "/console/areas/new",
        data={"csrf_token": csrf_of(page.text), **area_fields(deso_version="")},
    )
    assert cross.status_code == 422 and 'id="deso_version-error"' in cross.text
    assert stored(api) == []
    # A code already taken is the service's conflict, beside the code.
    create(client)
    taken = client.post(
        "/console/areas/new", data={"csrf_token": csrf_of(page.text), **area_fields()}
    )
    assert taken.status_code == 422 and 'id="code-error"' in taken.text
    assert len(stored(api)) == 1


def test_edit_and_classifications(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    client = signed_in(browser, staff_org)
    area_id = create(client)
    path = f"/console/areas/{area_id}"
    edit = client.get(f"{path}/edit")
    assert edit.status_code == 200 and 'value="2300"' in edit.text
    saved = client.post(
        f"{path}/edit",
        data={"csrf_token": csrf_of(edit.text), **area_fields(name="Hjällbo C", households="")},
    )
    assert saved.status_code == 303 and saved.headers["location"].endswith("done=saved")
    area = ok(api.get(f"/api/v1/areas/{area_id}"))
    assert area["name"] == "Hjällbo C" and area["households"] is None
    # A refused change stores nothing, not even the fields that were fine.
    refused = client.post(
        f"{path}/edit",
        data={
            "csrf_token": csrf_of(edit.text),
            **area_fields(name="X", deso_code="0581C1010"),
        },
    )
    assert refused.status_code == 422 and 'id="deso_code-error"' in refused.text
    assert ok(api.get(f"/api/v1/areas/{area_id}"))["name"] == "Hjällbo C"

    form = client.get(f"{path}/classification")
    token = csrf_of(form.text)
    for year, area_type, police in (("2024", "2", "utsatt"), ("2025", "1", "sarskilt_utsatt")):
        done = client.post(
            f"{path}/classification",
            data={
                "csrf_token": token,
                "year": year,
                "area_type": area_type,
                "police_classification": police,
            },
        )
        assert done.status_code == 303, done.text
    # Replacing 2024 keeps 2025.
    replace = client.get(f"{path}/classification?year=2024")
    assert 'value="2024"' in replace.text and '<option value="2" selected>' in replace.text
    client.post(
        f"{path}/classification",
        data={"csrf_token": token, "year": "2024", "area_type": "3", "police_classification": ""},
    )
    assert ok(api.get(f"/api/v1/areas/{area_id}"))["classifications"] == [
        {"year": 2025, "area_type": 1, "police_classification": "sarskilt_utsatt"},
        {"year": 2024, "area_type": 3, "police_classification": None},
    ]
    page = client.get(path).text
    assert "särskilt utsatt område" in page and "3 – socioekonomiskt blandade" in page
    for bad in ({"year": "1800"}, {"year": "2025", "area_type": "9"}, {"year": "tjugo"}):
        answer = client.post(
            f"{path}/classification",
            data={"csrf_token": token, "area_type": "", "police_classification": "", **bad},
        )
        assert answer.status_code == 422 and "Det finns ett problem" in answer.text, bad
    assert len(ok(api.get(f"/api/v1/areas/{area_id}"))["classifications"]) == 2


def test_search_and_paging(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    for n in range(23):
        create_area(api, f"omr{n:02d}", households=1000 + n, name=f"Område {n:02d}")
    create_area(api, "hjallbo", name="Hjällbo")
    client = signed_in(browser, staff_org, "viewer")
    first = client.get("/console/areas?lang=en")
    assert first.status_code == 200 and "24 areas, page 1 of 2" in first.text
    codes = re.findall(r'<span class="code">([^<]+)</span></td>', first.text)
    assert codes[:2] == ["hjallbo", "omr00"] and len(codes) == 20
    second = client.get("/console/areas?page=2&lang=en")
    assert re.findall(r'<span class="code">([^<]+)</span></td>', second.text) == [
        "omr19",
        "omr20",
        "omr21",
        "omr22",
    ]
    # Letters fold case (non-ASCII ones only on PostgreSQL: SQLite's LIKE folds ASCII alone).
    found = client.get("/console/areas", params={"q": "hJäL"})
    assert "Hjällbo" in found.text and "omr01" not in found.text
    by_code = client.get("/console/areas", params={"q": "omr1"})
    assert by_code.text.count('<span class="code">omr1') == 10
    paged = client.get("/console/areas", params={"q": "omr", "page": "2"})
    assert "sida 2 av 2" in paged.text and "q=omr" in paged.text.split("Föregående sida")[0]
    for odd in ("%", "_", "\x00", "x" * 5000, "'; drop table areas; --"):
        answer = client.get("/console/areas", params={"q": odd})
        assert answer.status_code == 200, odd
    assert "Inget område matchar" in client.get("/console/areas", params={"q": "%"}).text


def import_csv_text(rows: list[str]) -> bytes:
    return ("\n".join([CSV_HEADER, *rows]) + "\n").encode()


def upload(client: Browser, data: bytes, name: str = "omraden.csv", kind: str = "text/csv") -> Any:
    page = client.get("/console/areas/import")
    assert page.status_code == 200
    assert '<label for="file">CSV- eller Excel-fil</label>' in page.text
    assert "Förhandsgranska</button>" in page.text
    return client.post(
        "/console/areas/import",
        data={"csrf_token": csrf_of(page.text)},
        files={"file": (name, data, kind)},
    )


def confirm_fields(preview_html: str) -> dict[str, str]:
    return dict(re.findall(r'<input type="hidden" name="([a-z_]+)" value="([^"]*)">', preview_html))


def test_the_preview_stores_nothing_and_the_confirmation_stores_exactly_it(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    api: httpx.Client,
    db: sessionmaker[Session],
) -> None:
    create_area(api, "hjallbo", households=100, name="Hjällbo")
    create_area(api, "lunden", households=500, name="Lunden")
    client = signed_in(browser, staff_org)
    data = import_csv_text(
        [
            "hjallbo,Hjällbo,1480,2300,2025,1,sarskilt_utsatt",
            "lunden,Lunden,1480,500,,,",
            *[f"n{n:02d},Nytt {n:02d},1480,{100 + n},,," for n in range(20)],
        ]
    )
    before = snapshot(db, staff_org.id)
    preview = upload(client, data)
    assert preview.status_code == 200, preview.text
    assert snapshot(db, staff_org.id) == before
    assert "Inget är sparat ännu" in preview.text
    assert "households</span>: 100 → 2300" in preview.text
    assert "Importera</button>" in preview.text
    api_preview = ok(
        api.post(
            "/api/v1/areas/import",
            params={"dry_run": "true"},
            content=data,
            headers={"Content-Type": "text/csv"},
        )
    )
    assert (api_preview["created"], api_preview["updated"], api_preview["unchanged"]) == (20, 1, 1)
    fields = confirm_fields(preview.text)
    done = client.post("/console/areas/import/confirm", data=fields)
    assert done.status_code == 200, done.text
    assert "Områdena är importerade" in done.text and "20 nya, 1 ändrade" in done.text
    areas = {a["code"]: a for a in stored(api)}
    assert len(areas) == 22 and areas["hjallbo"]["households"] == 2300
    assert areas["n07"]["name"] == "Nytt 07"
    # The same confirmation again now differs from the plan: it imports nothing more.
    again = client.post("/console/areas/import/confirm", data=fields)
    assert again.status_code == 409 and "Kontrollera den igen" in again.text


def test_a_confirmation_imports_only_the_previewed_file(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    api: httpx.Client,
    db: sessionmaker[Session],
) -> None:
    client = signed_in(browser, staff_org)
    preview = upload(client, import_csv_text(["a1,A,1480,10,,,"]))
    fields = confirm_fields(preview.text)
    other = base64.b64encode(zlib.compress(import_csv_text(["evil,Ond,1480,10,,,"]))).decode()
    bomb = base64.b64encode(zlib.compress(b"a" * 20_000_000)).decode()
    for forged in (
        {"file_data": other},
        {"signature": "0" * 64},
        {"file_data": "!!"},
        {"file_data": bomb},
        {"file_data": fields["file_data"][:-8]},
    ):
        answer = client.post("/console/areas/import/confirm", data=fields | forged)
        assert answer.status_code == 400 and "inte filen du förhandsgranskade" in answer.text
    # Another session's signature does not carry over either.
    second = signed_in(browser, staff_org, "admin")
    token = csrf_of(second.get("/console/areas/import").text)
    stolen = second.post("/console/areas/import/confirm", data=fields | {"csrf_token": token})
    assert stolen.status_code == 400
    assert stored(api) == []


def test_a_file_of_5000_rows_is_previewed_and_imported(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    client = signed_in(browser, staff_org)
    data = import_csv_text([f"a{n:04d},Område {n},1480,{n},2025,1," for n in range(5000)])
    preview = upload(client, data)
    assert preview.status_code == 200 and "5" + NBSP + "000" in preview.text
    done = client.post("/console/areas/import/confirm", data=confirm_fields(preview.text))
    assert done.status_code == 200
    assert ok(api.get("/api/v1/areas", params={"limit": 1}))["total"] == 5000


def test_row_errors_and_bad_files(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    api: httpx.Client,
    db: sessionmaker[Session],
) -> None:
    client = signed_in(browser, staff_org)
    before = snapshot(db, staff_org.id)
    preview = upload(
        client, import_csv_text(["a1,A,1480,10,,,", "a2,B,148,10,2025,9,", "a1,C,1480,,,,"])
    )
    assert preview.status_code == 200
    assert "2 rader i filen har fel" in preview.text
    assert "Ange kommunkoden med fyra siffror" in preview.text
    assert 'name="file_data"' not in preview.text and "Importera</button>" not in preview.text
    for data, kind, status, text in (
        (b"", "text/csv", 422, "Välj en CSV- eller Excel-fil"),
        (b"code,name,colour\nx,X,red\n", "text/csv", 400, "unknown columns: colour"),
        ("code,name,municipality_code\nx,Å,1480\n".encode("latin-1"), "text/csv", 400, "UTF-8"),
        (b"PK\x03\x04broken", XLSX_MEDIA_TYPE, 400, "cannot be read"),
    ):
        answer = upload(client, data, kind=kind)
        assert answer.status_code == status and text in answer.text, (data, answer.text[-3000:])
    assert snapshot(db, staff_org.id) == before


def test_an_excel_file_through_the_console(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    client = signed_in(browser, staff_org)
    data = xlsx_of(
        [["x1", "Excelby", 1480, 2300, 2025, 2, "risk"]],
        header=CSV_HEADER.split(","),
    )
    preview = upload(client, data, name="omraden.xlsx", kind=XLSX_MEDIA_TYPE)
    assert preview.status_code == 200 and "name</span>: Excelby" in preview.text
    done = client.post("/console/areas/import/confirm", data=confirm_fields(preview.text))
    assert done.status_code == 200
    [area] = stored(api)
    assert (area["name"], area["households"]) == ("Excelby", 2300)
    assert area["classifications"] == [
        {"year": 2025, "area_type": 2, "police_classification": "risk"}
    ]


def test_viewers_read_but_may_not_change(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    area_id = create_area(api, "hjallbo", name="Hjällbo")["id"]
    viewer = signed_in(browser, staff_org, "viewer")
    path = f"/console/areas/{area_id}"
    listing = viewer.get("/console/areas")
    assert listing.status_code == 200 and "Skapa ett område" not in listing.text
    page = viewer.get(path)
    assert page.status_code == 200 and "Ändra området" not in page.text
    token = csrf_of(listing.text)
    for get in (
        "/console/areas/new",
        "/console/areas/import",
        f"{path}/edit",
        f"{path}/classification",
    ):
        assert viewer.get(get).status_code == 403, get
    for post, data in (
        ("/console/areas/new", area_fields(code="v1")),
        (f"{path}/edit", area_fields(name="Viewer")),
        (f"{path}/classification", {"year": "2025", "area_type": "1"}),
        ("/console/areas/import", {}),
        ("/console/areas/import/confirm", {"file_data": "", "signature": ""}),
    ):
        answer = viewer.post(post, data={"csrf_token": token, **data})
        assert answer.status_code == 403 and "Inte tillåtet" in answer.text, post
    [area] = stored(api)
    assert area["name"] == "Hjällbo" and area["classifications"] == []


def test_posts_without_the_csrf_token_change_nothing(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    area_id = create_area(api, "hjallbo", name="Hjällbo")["id"]
    client = signed_in(browser, staff_org, "admin")
    path = f"/console/areas/{area_id}"
    preview = upload(client, import_csv_text(["a1,A,1480,10,,,"]))
    confirm = confirm_fields(preview.text)
    del confirm["csrf_token"]
    for post, data in (
        ("/console/areas/new", area_fields(code="c1")),
        (f"{path}/edit", area_fields(name="Ändrad")),
        (f"{path}/classification", {"year": "2025", "area_type": "1"}),
        ("/console/areas/import/confirm", confirm),
    ):
        for token in (None, "fel"):
            sent = data | ({"csrf_token": token} if token else {})
            answer = client.post(post, data=sent)
            assert answer.status_code == 403, (post, token)
            assert "Inget har ändrats" in answer.text
    [area] = stored(api)
    assert area["name"] == "Hjällbo" and area["classifications"] == []


# Every console areas route with an id, walked with another organisation's id.
AREA_ROUTES = (
    ("GET", "/console/areas/{area_id}"),
    ("GET", "/console/areas/{area_id}/overview"),
    ("GET", "/console/areas/{area_id}/edit"),
    ("POST", "/console/areas/{area_id}/edit"),
    ("GET", "/console/areas/{area_id}/classification"),
    ("POST", "/console/areas/{area_id}/classification"),
)


def test_another_organisations_area_is_exactly_like_a_missing_one(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    server: LiveServer,
    db: sessionmaker[Session],
) -> None:
    other = make_staff_org(db)
    their_api = api_client(server, db, other.id)
    try:
        theirs = create_area(their_api, "theirs", name="Deras")["id"]
        client = signed_in(browser, staff_org, "admin")
        token = csrf_of(client.get("/console/areas").text)
        data = {"csrf_token": token, **area_fields(name="Kapad"), "year": "2025"}
        missing = 2_000_000_000
        for method, template in AREA_ROUTES:
            answers = [
                client.request(
                    method,
                    template.format(area_id=area_id),
                    data=data if method == "POST" else None,
                )
                for area_id in (theirs, missing, "abc")
            ]
            assert [a.status_code for a in answers] == [404, 404, 404], (method, template)
            texts = {
                a.text.replace(str(missing), "ID").replace(str(theirs), "ID").replace("abc", "ID")
                for a in answers
            }
            assert len(texts) == 1, (method, template)
            assert "Här finns ingenting" in answers[0].text
        searched = client.get("/console/areas", params={"q": "Deras"}).text
        assert f"/console/areas/{theirs}" not in searched and "Inget område matchar" in searched
        area = ok(their_api.get(f"/api/v1/areas/{theirs}"))
        assert area["name"] == "Deras" and area["classifications"] == []
    finally:
        their_api.close()
