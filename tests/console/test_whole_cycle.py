"""The whole cycle a coordinator goes through in the console, in Chromium on the demo (issue 9):
log in as the README says, import 20 areas from a CSV, create a round on the standard
questionnaire, issue codes and open their letters, let tenants answer 12 times through the real
tenant form (2 in one area with the letters' codes, waiting for a batch; 10 in another through
the poster's area link) while the overview counts them ("färre än 10" until there are 10),
close the round (the waiting answers are counted), read its results and a breakdown, register
an intervention and open its evaluation on the demo's history, create a share link, open it and
revoke it (its page then says so), create an API key and revoke it (the API then answers 401);
and as an analyst the admin-only pages answer 403. Every page is checked for CSP violations and the
browser console for errors.

Runs once, on its own SQLite file with the demo (the console browser tests run on the SQLite
leg only). With SURVEY_API_SCREENSHOTS=docs it saves the README's console screenshots.
"""

import re
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import httpx
import pytest

from survey_api.rounds.service import today
from tests.console.cycle_support import (
    DemoConsole,
    answer_the_form,
    areas_csv,
    assert_clean,
    demo_console,
    screenshot,
    tenant_page,
)
from tests.helpers import full_answers
from tests.web.browser.checks import watched_page

pytestmark = pytest.mark.browser

NBSP = "\u00a0"
AREAS = 20
CODE_ANSWERS = 2
LINK_ANSWERS = 10
ROUND_NAME = "Trygghetsmätning Norra kvarteren"


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DemoConsole]:
    with demo_console(tmp_path_factory.mktemp("demo-console")) as console:
        yield console


def nav(page: Any, name: str) -> None:
    """Follow a link of the console's navigation by its visible name."""
    page.get_by_role("navigation", name="Konsol").get_by_role("link", name=name).click()
    page.wait_for_load_state()
    assert_clean(page, name)


def overview_row(page: Any, area: str) -> list[str]:
    """The cells of an area's line in the new round's table on the overview."""
    nav(page, "Översikt")
    section = page.locator("section.round").filter(has_text=ROUND_NAME)
    row = section.locator("tbody tr").filter(
        has=page.get_by_role("rowheader", name=area, exact=True)
    )
    cells: list[str] = row.locator("td").all_inner_texts()
    return cells


def waiting(page: Any) -> str:
    text: str = (
        page.locator("section.round").filter(has_text=ROUND_NAME).locator("ul.facts").inner_text()
    )
    return text


def answers(n: int) -> dict[str, int]:
    """Tenant n's answers: the questions about safety and well-being and two background
    questions, a little different from person to person (the rest left out, as people do)."""
    given = full_answers()
    chosen: dict[str, int] = {
        key: given[key]
        for key in ("trygg_gemensamma_utr", "trygg_bostad", "oro_brott_omrade", "kon")
    }
    chosen["trygg_ute_kvall"] = 1 + n % 4
    chosen["trivsel"] = 1 + (n * 3) % 4
    chosen["aldersgrupp"] = 1 + n % 3
    return chosen


def test_the_whole_cycle_as_a_coordinator(chromium: Any, demo: DemoConsole, tmp_path: Path) -> None:
    tenant_errors: list[str] = []
    year = today().year
    with watched_page(chromium, base_url=demo.base_url, locale="sv-SE") as page:
        # watched_page listens to its own page; the letters open in a second tab of the context.
        page.context.on(
            "console",
            lambda m: (
                tenant_errors.append(f"{m.page.url}: {m.text}")
                if m.type == "error" and m.page is not page
                else None
            ),
        )
        # 1. Log in as the README's quick start says: admin@demo.example, the printed password.
        page.goto("/console/login")
        page.get_by_label("E-postadress").fill(demo.admin_email)
        page.get_by_label("Lösenord").fill(demo.admin_password)
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url("**/console/")
        assert page.get_by_role("heading", level=1).inner_text() == "Översikt"
        assert "Demobostäder AB" in page.locator("main").inner_text()
        assert_clean(page, "overview")

        # 2. Twenty areas from a CSV file the coordinator has.
        csv_file = tmp_path / "nya-omraden.csv"
        csv_file.write_text(areas_csv(AREAS, year=year), encoding="utf-8")
        import_areas(page, csv_file)
        area_names = [f"Norra kvarteret {n}" for n in range(1, AREAS + 1)]
        letter_area, poster_area = area_names[0], area_names[1]

        # 3. A round on the standard questionnaire for the twenty new areas. A monthly period,
        #    so the demo's yearly series (and the evaluation below) stays as it is.
        nav(page, "Mätomgångar")
        page.get_by_role("link", name="Skapa en mätomgång").click()
        page.wait_for_url("**/console/rounds/new")
        wizard = page.locator("form.wizard")
        # The demo has both standard surveys published: the coordinator picks one.
        safety = wizard.get_by_role("radio", name=re.compile("Trygghetsmätning"))
        customer = wizard.get_by_role("radio", name=re.compile("Kundenkät"))
        assert not safety.is_checked() and not customer.is_checked()
        safety.check()
        page.get_by_label("Mätomgångens namn").fill(ROUND_NAME)
        page.get_by_label("Period", exact=True).fill(f"{today():%Y-%m}")
        for name in area_names:
            wizard.get_by_role("checkbox", name=re.compile(rf"^{name} \(")).check()
        assert wizard.get_by_role("radio", name="Områdeslänkar på").is_checked()
        screenshot(page, "round-wizard")
        assert_clean(page, "wizard")
        page.get_by_role("button", name="Skapa mätomgången").click()
        page.wait_for_url(re.compile(r".*/console/rounds/\d+\?done=created"))
        round_id = int(re.findall(r"/rounds/(\d+)", page.url)[0])
        assert "Mätomgången är skapad" in page.get_by_role("status").inner_text()
        assert page.locator("table tbody tr").count() == AREAS
        assert_clean(page, "round page")

        # 4. Codes for the first area and their letters, opened in a new tab.
        page.get_by_label("Område", exact=True).select_option(label=f"{letter_area} (norra-01)")
        page.get_by_label("Antal koder").fill(str(CODE_ANSWERS))
        page.get_by_role("button", name="Utfärda koder").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Utfärdade koder"
        with page.expect_popup() as popup:
            page.get_by_role("button", name="Skriv ut brev för de här koderna").click()
        letters = popup.value
        letters.wait_for_load_state()
        codes = letters.locator("p.code").all_inner_texts()
        letter_text = letters.locator("body").inner_text()
        assert len(codes) == CODE_ANSWERS and all(code in letter_text for code in codes)
        code_page = re.search(r"gå till (\S+/code)", letter_text)
        assert code_page, letter_text[:500]
        assert_clean(letters, "letters")
        letters.close()

        # A poster's area link for the second area.
        page.get_by_role("link", name=ROUND_NAME).click()
        page.get_by_role("link", name="Skriv ut affischer med områdeslänkar").click()
        page.wait_for_url(f"**/console/rounds/{round_id}/posters")
        poster = page.locator("section.poster").filter(
            has=page.get_by_role("heading", name=re.compile(rf" {poster_area}\?$"))
        )
        area_link = poster.locator("p.poster-url").inner_text().strip()
        assert "/r/" in area_link, area_link
        assert_clean(page, "posters")

        # 5. Tenants answer: two with their letter's code (they wait for a batch, so the
        #    overview says they are waiting), then ten in the second area through the poster's
        #    link, counted at once but shown only from 10.
        assert overview_row(page, letter_area) == ["färre än 10", "–"]
        for n, code in enumerate(codes):
            with tenant_page(chromium, demo.base_url, tenant_errors) as tenant:
                tenant.goto(code_page.group(1))
                tenant.get_by_label("Kod", exact=True).fill(code)
                tenant.get_by_role("button", name="Fortsätt").click()
                tenant.wait_for_load_state()
                answer_the_form(tenant, answers(n))
                assert "Tack" in tenant.locator("h1").inner_text()
        assert overview_row(page, letter_area) == ["färre än 10", "–"]
        # Two waiting in the round is a small cell: told as "fewer than 10", not as 2.
        assert "Kodsvar som väntar: färre än 10" in waiting(page)
        for n in range(CODE_ANSWERS, CODE_ANSWERS + LINK_ANSWERS):
            with tenant_page(chromium, demo.base_url, tenant_errors) as tenant:
                tenant.goto(area_link)
                answer_the_form(tenant, answers(n))
                assert "Tack" in tenant.locator("h1").inner_text()
            link_answers = n - CODE_ANSWERS + 1
            row = overview_row(page, poster_area)
            if link_answers < 10:
                assert row == ["färre än 10", "–"], (link_answers, row)
            else:
                assert row[0] == str(link_answers), (link_answers, row)
                assert row[1].replace("\n", " ") == f"2{NBSP}% av hushållen", row  # 10 of 450
        screenshot(page, "overview")

        # 6. Close the round: the waiting code answers are counted, and the round leaves the
        #    overview.
        nav(page, "Mätomgångar")
        page.get_by_role("link", name=ROUND_NAME).click()
        page.get_by_role("link", name="Stäng mätomgången nu…").click()
        page.get_by_role("button", name="Ja, stäng mätomgången").click()
        page.wait_for_url("**done=closed")
        assert "Mätomgången är stängd" in page.get_by_role("status").inner_text()
        facts = page.locator("dl.facts-list").inner_text()
        # 12 answers, but 12 − the poster area's 10 would give the letters' area's 2: the total
        # is hidden like that area, and so is 0 waiting.
        assert re.search(r"Svar\s+färre än 10\s", facts), facts
        assert re.search(r"Kodsvar som väntar\s+färre än 10\s", facts), facts
        assert_clean(page, "round closed")
        nav(page, "Översikt")
        assert ROUND_NAME not in page.locator("main").inner_text()

        # 7. Results: figures for the poster's area (ten answers), none for the letters' area
        #    (two), and a breakdown by age group.
        nav(page, "Resultat")
        page.get_by_role("link", name=re.compile(ROUND_NAME)).click()
        page.wait_for_url(f"**/console/results/{round_id}")
        area = page.locator("section.results-area").filter(
            has=page.get_by_role("heading", name=re.compile(rf"^{poster_area} "))
        )
        facts = area.locator("dl").inner_text()
        assert re.search(rf"Svar\s+{LINK_ANSWERS}\s", facts), facts
        figures = area.locator("table.figures")
        assert figures.count() == 1
        first_row = figures.locator("tbody tr").first.locator("td").all_inner_texts()
        assert re.match(rf"\d+{NBSP}%", first_row[0]), first_row  # " *": a wide interval
        assert re.fullmatch(rf"\d+–\d+{NBSP}%", first_row[1]), first_row
        assert first_row[2] == str(LINK_ANSWERS), first_row
        other = page.locator("section.results-area").filter(
            has=page.get_by_role("heading", name=re.compile(rf"^{letter_area} "))
        )
        assert "färre än 10" in other.locator("dl").inner_text()
        assert_clean(page, "round results")
        area.get_by_role("link", name=re.compile("Svarsfördelningar")).click()
        page.get_by_label("Bakgrundsfråga", exact=True).select_option(value="aldersgrupp")
        page.get_by_role("button", name="Visa", exact=True).click()
        page.wait_for_url("**by=aldersgrupp")
        breakdown = page.get_by_role("table", name=re.compile("Nyckeltal efter"))
        assert breakdown.locator("thead th").count() >= 3
        # Ten answers over three age groups: every group is too small to show.
        assert "färre än 10" in breakdown.locator("tbody").inner_text()
        assert_clean(page, "area results with a breakdown")

        # The demo's current round, where a breakdown has figures: the README's screenshot.
        nav(page, "Resultat")
        page.get_by_role("link", name=f"Trygghetsmätning {year}").click()
        page.wait_for_load_state()
        hjallbo = page.locator("section.results-area").filter(
            has=page.get_by_role("heading", name=re.compile("^Hjällbo "))
        )
        assert re.search(r"\d+,\d|\d+" + NBSP + "%", hjallbo.locator("table").inner_text())
        screenshot(page, "results", height=1400)
        hjallbo.get_by_role("link", name=re.compile("Svarsfördelningar")).click()
        page.get_by_label("Bakgrundsfråga", exact=True).select_option(value="aldersgrupp")
        page.get_by_role("button", name="Visa", exact=True).click()
        page.wait_for_url("**by=aldersgrupp")
        cells = page.get_by_role("table", name=re.compile("Nyckeltal efter")).locator("tbody td")
        assert any(re.match(r"\d", text) for text in cells.all_inner_texts())
        assert_clean(page, "demo area with a breakdown")

        # 8. Share the round's results for one area with a board; the link opens without login.
        nav(page, "Resultat")
        page.get_by_role("link", name=re.compile(ROUND_NAME)).click()
        share = page.locator("section").filter(
            has=page.get_by_role("heading", name="Dela med en styrelse")
        )
        share.get_by_label("Område").select_option(label=poster_area)
        share.get_by_label("Antal dagar länken gäller").fill("30")
        share.get_by_role("button", name="Skapa en delningslänk").click()
        page.wait_for_load_state()
        assert page.get_by_role("heading", level=1).inner_text() == "Delningslänken är skapad"
        share_url = page.locator(".notice code").inner_text().strip()
        assert "/reports/" in share_url, share_url
        assert_clean(page, "share link created")
        with tenant_page(chromium, demo.base_url, tenant_errors) as board:
            response = board.goto(share_url)
            assert response is not None and response.status == 200
            assert poster_area in board.locator("body").inner_text()
        revoke_share_link(page, chromium, demo, share_url, poster_area, tenant_errors)

        # 9. An intervention on the demo's history, and its evaluation.
        nav(page, "Insatser")
        page.get_by_role("link", name="Registrera en insats").click()
        page.wait_for_url("**/console/interventions/new")
        page.get_by_label("Namn", exact=True).fill("Ny belysning i Hjällbo")
        page.get_by_label("Kategori").fill("belysning")
        page.get_by_role("checkbox", name=re.compile(r"^Hjällbo \(")).check()
        page.get_by_label("Startar").fill(date(year - 1, 9, 1).isoformat())
        page.get_by_label("Kostnad i kronor (frivilligt)").fill("450 000")
        page.get_by_role("button", name="Registrera insatsen").click()
        page.wait_for_url(re.compile(r".*/console/interventions/\d+\?done=created"))
        assert "Insatsen är registrerad" in page.get_by_role("status").inner_text()
        assert_clean(page, "intervention registered")
        page.get_by_role("link", name="Utvärdering").click()
        page.wait_for_url("**/evaluation")
        did = page.locator("p.did").inner_text()
        assert re.search(r"−?\d+,\d procentenheter", did), did
        assert re.search(
            r"95 % konfidensintervall −?\d+,\d till −?\d+,\d", did.replace(NBSP, " ")
        ), did
        cells_table = page.get_by_role("table", name=re.compile("Andel med 95"))
        assert str(year - 1) in cells_table.inner_text() and str(year) in cells_table.inner_text()
        caveat = page.locator(".warning")
        assert caveat.get_by_role("heading", name="Det här är inget bevis").count() == 1
        assert len(caveat.locator("p").inner_text()) > 40
        assert_clean(page, "evaluation")
        screenshot(page, "evaluation")

        # 10. An API key for an integration, then revoked: the API refuses it with 401.
        nav(page, "API-nycklar")
        page.get_by_label("Namn", exact=True).fill("Integration hyresgästsystem")
        page.get_by_role("radio", name=re.compile("Integratör|integrator", re.I)).check()
        page.get_by_role("button", name="Skapa nyckel").click()
        secret = page.locator("#secret").inner_text().strip()
        assert secret.startswith("sak_")
        with httpx.Client(base_url=demo.base_url) as api:
            headers = {"Authorization": f"Bearer {secret}"}
            assert api.get("/api/v1/areas", headers=headers).status_code == 200
            page.get_by_role("link", name="Tillbaka till API-nycklarna").click()
            page.get_by_role("link", name="Återkalla – Integration hyresgästsystem").click()
            page.wait_for_url("**/revoke")
            page.get_by_role("button", name=re.compile("Återkalla")).click()
            page.wait_for_url("**/console/keys?revoked=*")
            assert "är återkallad" in page.get_by_role("status").inner_text()
            assert_clean(page, "key revoked")
            refused = api.get("/api/v1/areas", headers=headers)
            assert refused.status_code == 401, refused.text

    # 11. An analyst works in the console but the admin-only pages answer 403.
    with watched_page(chromium, base_url=demo.base_url, locale="sv-SE") as page:
        page.goto("/console/login")
        page.get_by_label("E-postadress").fill(demo.analyst_email)
        page.get_by_label("Lösenord").fill(demo.analyst_password)
        page.get_by_role("button", name="Logga in").click()
        page.wait_for_url("**/console/")
        menu = page.get_by_role("navigation", name="Konsol")
        for name in ("Inställningar", "API-nycklar", "Användare"):
            assert menu.get_by_role("link", name=name).count() == 0, name
        for path in ("/console/settings", "/console/keys", "/console/users"):
            response = page.goto(path)
            assert response is not None and response.status == 403, path
            assert_clean(page, f"403 on {path}")
        response = page.goto(f"/console/rounds/{round_id}")
        assert response is not None and response.status == 200

    assert not [e for e in tenant_errors if "status of 4" not in e], tenant_errors


def import_areas(page: Any, csv_file: Path) -> None:
    """Areas > import from a file: upload it, check the preview, import it."""
    nav(page, "Områden")
    page.get_by_role("link", name="Importera områden från en fil").click()
    page.wait_for_url("**/console/areas/import")
    page.get_by_label("CSV- eller Excel-fil").set_input_files(str(csv_file))
    page.get_by_role("button", name="Förhandsgranska").click()
    page.wait_for_load_state()
    preview = page.locator("main").inner_text()
    assert "Norra kvarteret 1" in preview and "Norra kvarteret 20" in preview, preview[:1000]
    assert_clean(page, "areas import preview")
    page.get_by_role("button", name="Importera", exact=True).click()
    page.wait_for_load_state()
    assert re.match(rf"{AREAS} nya, 0 ", page.get_by_role("status").inner_text())
    assert_clean(page, "areas imported")


def revoke_share_link(
    page: Any, chromium: Any, demo: DemoConsole, share_url: str, area: str, errors: list[str]
) -> None:
    """Revoke the share link from the round's results page; the board's page then says so."""
    page.get_by_role("link", name="Tillbaka till mätomgångens resultat").click()
    page.wait_for_load_state()
    links = page.get_by_role("table", name=re.compile("delningslänkar"))
    row = links.locator("tbody tr").filter(has=page.get_by_role("rowheader", name=area, exact=True))
    assert "Aktiv" in row.inner_text()
    row.get_by_role("link", name=re.compile(rf"^Återkalla – {area},")).click()
    page.wait_for_url("**/revoke")
    assert_clean(page, "revoke a share link?")
    page.get_by_role("button", name="Återkalla länken").click()
    page.wait_for_url("**revoked=*")
    assert "återkallad" in page.get_by_role("status").inner_text()
    assert "Återkallad" in row.inner_text()
    assert_clean(page, "share link revoked")
    with tenant_page(chromium, demo.base_url, errors) as board:
        response = board.goto(share_url)
        assert response is not None and response.status in (404, 410), response
        assert "den har återkallats" in board.locator("body").inner_text()
