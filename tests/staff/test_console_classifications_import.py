"""The console's classifications import (/console/areas/classifications/import): the dry run
shown as tables stores nothing, "Importera" stores exactly the previewed file (kept on the
server under a token signed for the session), a forged or other session's confirmation or a
kept file changed on disk imports nothing (both databases, real HTTP stack)."""

import hashlib
import re
from collections.abc import Callable, Iterator
from typing import Any

import httpx
import pytest
from sqlalchemy.orm import Session, sessionmaker

from survey_api.console import uploads
from tests.api.test_hostile_input import snapshot
from tests.conftest import LiveServer
from tests.helpers import create_area, ok
from tests.staff.conftest import Browser, StaffOrg, csrf_of
from tests.staff.test_console_rounds import api_client

URL = "/console/areas/classifications/import"
HEADER = "code_kind,code,code_version,year,area_type,police_class"


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


def csv(*rows: str) -> bytes:
    return ("\n".join([HEADER, *rows]) + "\n").encode()


def upload(client: Browser, data: bytes, name: str = "klassning.csv") -> Any:
    page = client.get(URL)
    assert page.status_code == 200
    assert "<h1>Importera klassningar</h1>" in page.text
    return client.post(
        URL, data={"csrf_token": csrf_of(page.text)}, files={"file": (name, data, "text/csv")}
    )


def confirm_fields(preview_html: str) -> dict[str, str]:
    return dict(
        re.findall(r'<input type="hidden" name="([a-z0-9_]+)" value="([^"]*)">', preview_html)
    )


def classifications(api: httpx.Client, area_id: int) -> dict[int, tuple[int | None, str | None]]:
    body = ok(api.get(f"/api/v1/areas/{area_id}"))
    return {
        c["year"]: (c["area_type"], c["police_classification"]) for c in body["classifications"]
    }


def test_the_dry_run_is_shown_stores_nothing_and_importera_stores_it(
    browser: Callable[[], Browser],
    staff_org: StaffOrg,
    api: httpx.Client,
    db: sessionmaker[Session],
) -> None:
    hjallbo = create_area(api, "hjallbo", deso_code="1480C1010", deso_version="2018")
    ok(
        api.patch(
            f"/api/v1/areas/{hjallbo['id']}",
            json={"classifications": [{"year": 2023, "area_type": 2}]},
        )
    )
    client = signed_in(browser, staff_org)
    assert "/console/areas/classifications/import" in client.get("/console/areas").text
    data = csv(
        "deso,1480C1010,2018,2023,1,",
        "deso,1480C1010,2018,2024,1,särskilt utsatt område",
        *[f"deso,0180C{n:04d},2018,2024,3," for n in range(30)],
    )
    before = snapshot(db, staff_org.id)
    preview = upload(client, data)
    assert preview.status_code == 200, preview.text
    assert snapshot(db, staff_org.id) == before
    assert "Inget är sparat ännu" in preview.text
    assert "Vad importen skulle ändra, per område och år" in preview.text
    # Hjällbo 2023: area type 2 -> 1; 2024: a new year.
    assert "2 – socioekonomiska utmaningar → <strong>1 – stora socioekonomiska utmaningar" in (
        preview.text
    )
    assert "nytt år" in preview.text
    assert "Rader för andra områden (de första 20 av 30)" in preview.text
    assert "Importera</button>" in preview.text

    done = client.post(f"{URL}/confirm", data=confirm_fields(preview.text))
    assert done.status_code == 200, done.text
    assert "Klassningarna är importerade" in done.text
    assert "2 områdesår ändrades, 0 var redan som i filen och 30 rader gällde andra områden" in (
        done.text
    )
    assert classifications(api, hjallbo["id"]) == {2023: (1, None), 2024: (1, "sarskilt_utsatt")}
    # The same confirmation again: the file is imported already, nothing more changes.
    again = client.post(f"{URL}/confirm", data=confirm_fields(preview.text))
    assert again.status_code == 409 and "redan importerats" in again.text
    assert "Importera</button>" not in again.text


def test_row_problems_and_conflicts_are_tables_and_offer_no_import(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    create_area(api, "hjallbo", deso_code="1480C1010", deso_version="2018")
    client = signed_in(browser, staff_org, "admin")
    data = csv(
        "deso,1480C1010,,2024,2,",
        "deso,1480C1010,2018,2024,3,",
        "deso,1480C1010,,2024,7,",
        "kommun,1480,,2024,1,",
    )
    preview = upload(client, data)
    assert preview.status_code == 200
    assert "2 fel på filens rader." in preview.text
    assert "stoppas: rätta filen" in preview.text
    assert "Ange områdestypen som ett tal från 1 till 5" in preview.text
    assert "Ange kodtypen som deso, regso eller area_code." in preview.text
    assert "Importera</button>" not in preview.text
    assert 'name="file_data"' not in preview.text


def test_a_confirmation_imports_only_the_previewed_file_in_its_session(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    lunden = create_area(api, "lunden")
    client = signed_in(browser, staff_org)
    preview = upload(client, csv("area_code,lunden,,2024,4,"))
    fields = confirm_fields(preview.text)
    # The file stays on the server: the form carries its token and hash, never the file.
    assert set(fields) >= {"token", "file_sha256", "filename", "signature", "plan"}
    assert "file_data" not in fields
    assert fields["file_sha256"] == hashlib.sha256(csv("area_code,lunden,,2024,4,")).hexdigest()
    kept = uploads.kept_path(fields["token"])
    assert kept is not None and kept.read_bytes() == csv("area_code,lunden,,2024,4,")
    # Another file previewed in the same session: its token under the first file's signature.
    other = confirm_fields(upload(client, csv("area_code,lunden,,2024,1,")).text)
    for forged in (
        {"token": other["token"]},
        {"file_sha256": other["file_sha256"]},
        {"token": other["token"], "file_sha256": other["file_sha256"]},
        {"filename": "annan.csv"},
        {"signature": "0" * 64},
        {"signature": other["signature"]},
        {"token": "../" + fields["token"][3:]},
        {"token": ""},
    ):
        answer = client.post(f"{URL}/confirm", data=fields | forged)
        assert answer.status_code == 400 and "gällde inte filen du förhandsgranskade" in answer.text
    # Another session of the same user: the signature is bound to the session that previewed.
    second = signed_in(browser, staff_org)
    token = csrf_of(second.get(URL).text)
    stolen = second.post(f"{URL}/confirm", data=fields | {"csrf_token": token})
    assert stolen.status_code == 400
    assert classifications(api, lunden["id"]) == {}
    # Both previews are still kept, unimported.
    assert uploads.kept_path(fields["token"]) is not None
    assert uploads.kept_path(other["token"]) is not None


def test_a_kept_file_changed_on_disk_is_not_imported_and_an_imported_one_is_deleted(
    browser: Callable[[], Browser], staff_org: StaffOrg, api: httpx.Client
) -> None:
    lunden = create_area(api, "lunden")
    client = signed_in(browser, staff_org)
    fields = confirm_fields(upload(client, csv("area_code,lunden,,2024,4,")).text)
    kept = uploads.kept_path(fields["token"])
    assert kept is not None
    kept.write_bytes(csv("area_code,lunden,,2024,1,"))
    changed = client.post(f"{URL}/confirm", data=fields)
    assert changed.status_code == 400 and "gällde inte filen du förhandsgranskade" in changed.text
    assert classifications(api, lunden["id"]) == {}
    assert uploads.kept_path(fields["token"]) is None

    fields = confirm_fields(upload(client, csv("area_code,lunden,,2024,4,")).text)
    done = client.post(f"{URL}/confirm", data=fields)
    assert done.status_code == 200 and "Klassningarna är importerade" in done.text
    assert classifications(api, lunden["id"]) == {2024: (4, None)}
    assert uploads.kept_path(fields["token"]) is None


def test_no_file_a_bad_file_and_a_viewer_are_refused(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    client = signed_in(browser, staff_org)
    token = csrf_of(client.get(URL).text)
    empty = client.post(URL, data={"csrf_token": token}, files={"file": ("", b"", "text/csv")})
    assert empty.status_code == 422 and "Välj en CSV- eller Excel-fil" in empty.text
    no_columns = client.post(
        URL, data={"csrf_token": token}, files={"file": ("x.csv", b"code,year\n", "text/csv")}
    )
    assert no_columns.status_code == 400 and "code_kind" in no_columns.text
    viewer = signed_in(browser, staff_org, "viewer")
    assert viewer.get(URL).status_code == 403
