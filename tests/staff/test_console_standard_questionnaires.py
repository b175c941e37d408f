"""The console's "new questionnaire" page offers both shipped standard questionnaires, over HTTP
on both databases: the kundenkät is created from its radio button exactly as the file is, a
form without a choice still gives the trygghetsmätning, and an unknown choice stores nothing."""

import json
from collections.abc import Callable
from pathlib import Path

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Questionnaire, QuestionnaireVersion
from tests.staff.conftest import Browser, StaffOrg, csrf_of
from tests.staff.test_console_questionnaires import questionnaire_id, signed_in

DATA = Path(__file__).resolve().parents[2] / "src/survey_api/data"


def stored(db: sessionmaker[Session], org_id: int) -> dict[str, object]:
    with db() as session:
        rows = session.execute(
            select(Questionnaire.key, QuestionnaireVersion.definition)
            .join(QuestionnaireVersion)
            .where(Questionnaire.organisation_id == org_id)
        ).all()
    return {key: definition for key, definition in rows}


def test_the_page_offers_both_standards_and_creates_the_chosen_one(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    analyst = signed_in(browser, staff_org, "analyst")
    page = analyst.get("/console/questionnaires/new").text
    assert 'id="standard-trygghetsmatning-standard" name="standard"' in page
    assert 'value="trygghetsmatning-standard" checked' in page
    assert 'id="standard-kundenkat-standard"' in page
    assert "Trygghetsmätning för hyresgäster" in page and "Kundenkät för hyresgäster" in page
    assert "serviceindex, produktindex och trivselindex" in page
    english = analyst.get("/console/questionnaires/new?lang=en").text
    assert "Tenant customer survey" in english and "Choose a standard questionnaire" in english

    made = analyst.form(
        "/console/questionnaires/new", source="standard", standard="kundenkat-standard"
    )
    assert made.status_code == 303, made.text[:800]
    kund_id = questionnaire_id(made.headers["location"])
    version = analyst.get(f"/console/questionnaires/{kund_id}/versions/1").text
    assert "Kundenkät för hyresgäster" in version
    preview = analyst.get(f"/console/questionnaires/{kund_id}/versions/1/preview/sv").text
    assert 'name="lgh_standard"' in preview and "Lägenhetens standard" in preview

    # A form without a choice (as before there were two) gives the trygghetsmätning.
    older = analyst.form("/console/questionnaires/new", source="standard")
    assert older.status_code == 303, older.text[:800]
    kund = json.loads((DATA / "kundenkat-standard.json").read_text(encoding="utf-8"))
    trygg = json.loads((DATA / "trygghetsmatning-standard.json").read_text(encoding="utf-8"))
    assert stored(db, staff_org.id) == {kund["key"]: kund, trygg["key"]: trygg}

    # The same standard twice is the API's conflict, shown on the page; nothing new is stored.
    again = analyst.form(
        "/console/questionnaires/new", source="standard", standard="kundenkat-standard"
    )
    assert again.status_code == 422, again.status_code
    assert "error-summary" in again.text
    assert len(stored(db, staff_org.id)) == 2


def test_an_unknown_standard_is_refused_and_nothing_is_stored(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    analyst = signed_in(browser, staff_org, "analyst")
    token = csrf_of(analyst.get("/console/questionnaires/new").text)
    for bad in ("nkis-standard", "../trygghetsmatning-standard", "kundenkat-standard.json"):
        refused = analyst.post(
            "/console/questionnaires/new",
            data={"csrf_token": token, "source": "standard", "standard": bad},
        )
        assert refused.status_code == 422, bad
        assert "Välj ett av standardformulären." in refused.text
        assert 'href="#standard-trygghetsmatning-standard"' in refused.text
    assert stored(db, staff_org.id) == {}
