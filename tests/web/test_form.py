"""The form itself over HTTP: steps, show_if, validation, language, and the one-time submission."""

import copy
import json
import re
from typing import Any

import httpx
import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.invitations.service import hash_code
from survey_api.models import FormTokenUse, Invitation, PendingResponse, Response
from survey_api.rounds.service import today
from tests.conftest import TEST_SECRET, LiveServer, Org
from tests.helpers import full_answers, ok, publish_standard, standard_definition
from tests.web.conftest import Survey, area_path, issue_codes
from tests.web.pages import complete, form, post, step_keys


def stored(db: sessionmaker[Session], round_id: int) -> list[Response | PendingResponse]:
    """What a round received: stored responses, then code answers still waiting for a batch."""
    with db() as session:
        return [
            *session.scalars(
                select(Response).where(Response.survey_round_id == round_id).order_by(Response.id)
            ),
            *session.scalars(
                select(PendingResponse)
                .where(PendingResponse.survey_round_id == round_id)
                .order_by(PendingResponse.id)
            ),
        ]


def start(tenant: httpx.Client, page: httpx.Response) -> httpx.Response:
    return post(tenant, page, action="start")


def walk_to(
    tenant: httpx.Client, page: httpx.Response, key: str, answers: dict[str, Any] | None = None
) -> httpx.Response:
    """Press Next (answering as given) until the step asking `key`."""
    for _ in range(20):
        if key in step_keys(page):
            return page
        page = post(tenant, page, answers or {})
        assert page.status_code == 200, page.text
    raise AssertionError(f"never asked {key}")


def progress(page: httpx.Response) -> str:
    match = re.search(r'<p class="progress">(.*?)</p>', page.text)
    assert match
    return match.group(1)


def main_button(page: httpx.Response) -> str:
    return next(text for name, value, text in form(page.text).buttons if value == "next")


# --- storing -----------------------------------------------------------------------------------


def test_answers_arrive_exactly_as_entered(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    answers = full_answers()
    # A browser sends a textarea's newlines as CRLF; the tenant typed one newline.
    answers["fritext_plats"] = "Gångtunneln vid centrum är mörk.\r\nÅtgärda belysningen – tack!"
    sent, steps = complete(tenant, tenant.get(survey.link), answers)
    assert sent.status_code == 303
    assert sent.headers["location"] == "/thanks?lang=sv"
    thanks = tenant.get(sent.headers["location"])
    assert thanks.status_code == 200 and "Tack!" in thanks.text
    [response] = stored(db, survey.round.id)
    expected = {
        **full_answers(),
        "fritext_plats": "Gångtunneln vid centrum är mörk.\nÅtgärda belysningen – tack!",
    }
    assert response.answers == expected
    assert isinstance(response, Response) and response.entry == "link"
    assert (response.area_id, response.language, response.channel, response.submitted_date) == (
        survey.area_id,
        "sv",
        "web",
        today(),
    )
    assert len(steps) == 10


def test_invitation_code_in_arabic(
    org: Org, survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    code = issue_codes(org, survey.round.id, survey.round.area_ids[1], 1)[0]
    with db() as session:
        spent_before = session.scalar(select(func.count()).select_from(FormTokenUse))
    answers = {**full_answers(), "fritext_plats": "الإضاءة ضعيفة قرب المدخل"}
    arabic = {"Accept-Language": "ar"}
    first = tenant.get(f"/i/{code}", headers=arabic)
    assert 'dir="rtl"' in first.text
    sent, _ = complete(tenant, first, answers, headers=arabic)
    assert sent.status_code == 303 and sent.headers["location"] == "/thanks?lang=ar"
    [response] = stored(db, survey.round.id)
    assert isinstance(response, PendingResponse)  # a code answer waits for its batch
    assert response.answers == answers
    assert (response.language, response.area_id) == ("ar", survey.round.area_ids[1])
    with db() as session:
        invitation = session.scalars(
            select(Invitation).where(Invitation.code_hash == hash_code(code, TEST_SECRET))
        ).one()
        spent_after = session.scalar(select(func.count()).select_from(FormTokenUse))
    assert invitation.used_date == today()
    assert spent_after == spent_before + 1


def _last_step(tenant: httpx.Client, first: httpx.Response) -> httpx.Response:
    page = start(tenant, first)
    while main_button(page) != "Skicka mina svar":
        page = post(tenant, page, {"trivsel": 4})
    return page


def test_a_form_is_sent_once(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    last = _last_step(tenant, tenant.get(survey.link))
    data = form(last.text).data({"kon": 2}, "next")
    assert tenant.post("/form", data=data).status_code == 303
    again = tenant.post("/form", data=data)
    assert again.status_code == 409
    assert "Dina svar är redan skickade" in again.text
    # Any step of a sent form now says so, too.
    assert tenant.post("/form", data={**data, "_step": "0"}).status_code == 409
    assert [r.answers for r in stored(db, survey.round.id)] == [{"trivsel": 4, "kon": 2}]


def test_a_code_started_twice_is_used_once(
    org: Org, survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    code = issue_codes(org, survey.round.id, survey.area_id, 1)[0]
    tab_one = _last_step(tenant, tenant.get(f"/i/{code}"))
    tab_two = _last_step(tenant, tenant.get(f"/i/{code}"))
    assert post(tenant, tab_one).status_code == 303
    refused = post(tenant, tab_two)
    assert refused.status_code == 409
    assert "Koden har redan använts" in refused.text
    assert len(stored(db, survey.round.id)) == 1


def test_round_closed_while_answering(
    org: Org, survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    page = start(tenant, tenant.get(survey.link))
    ok(org.analyst.post(f"/api/v1/rounds/{survey.round.id}/close"))
    closed = post(tenant, page, {"trygg_bostad": 1})
    assert closed.status_code == 410
    assert "Enkäten är stängd" in closed.text
    assert stored(db, survey.round.id) == []


# --- steps and show_if -------------------------------------------------------------------------


def test_follow_up_is_asked_on_the_next_step_only_when_it_applies(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    _, without = complete(tenant, tenant.get(survey.link), {"utsatt_brott_12m": [6]})
    assert {"anmalt_polis"} not in without
    _, with_crime = complete(
        tenant, tenant.get(survey.link), {"utsatt_brott_12m": [2, 5], "anmalt_polis": 3}
    )
    index = with_crime.index({"utsatt_brott_12m"})
    assert with_crime[index + 1] == {"anmalt_polis"}
    assert [r.answers for r in stored(db, survey.round.id)] == [
        {"utsatt_brott_12m": [6]},
        {"utsatt_brott_12m": [2, 5], "anmalt_polis": 3},
    ]


def test_changing_an_answer_drops_its_hidden_follow_up(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    page = walk_to(tenant, start(tenant, tenant.get(survey.link)), "utsatt_brott_12m")
    assert progress(page) == "Steg 2 av 10"
    follow_up = post(tenant, page, {"utsatt_brott_12m": [1]})
    assert step_keys(follow_up) == {"anmalt_polis"}
    assert progress(follow_up) == "Steg 3 av 10"
    back = post(tenant, follow_up, {"anmalt_polis": 1}, "back")
    assert form(back.text).filled() == {"utsatt_brott_12m": ["1"]}
    problems = post(tenant, back, {"utsatt_brott_12m": [6]})
    assert "problem_klotter" in step_keys(problems)
    assert progress(problems) == "Steg 3 av 9"
    assert "anmalt_polis" not in json.loads(form(problems.text).hidden["_state"])
    page = problems
    while main_button(page) != "Skicka mina svar":
        page = post(tenant, page)
    assert post(tenant, page).status_code == 303
    [response] = stored(db, survey.round.id)
    assert response.answers == {"utsatt_brott_12m": [6]}


def test_back_and_language_keep_the_answers(survey: Survey, tenant: httpx.Client) -> None:
    first = start(tenant, tenant.get(survey.link))
    assert main_button(first) == "Nästa"
    arabic = post(tenant, first, {"trygg_ute_kvall": 2, "trygg_bostad": 9}, "lang:ar")
    assert arabic.status_code == 200
    assert '<html lang="ar" dir="rtl">' in arabic.text
    assert form(arabic.text).hidden["_step"] == form(first.text).hidden["_step"]
    assert form(arabic.text).filled() == {"trygg_ute_kvall": ["2"], "trygg_bostad": ["9"]}
    assert "الخطوة 1 من 10" in arabic.text
    back_to_start = post(tenant, arabic, {"trygg_ute_kvall": 3}, "back")
    assert form(back_to_start.text).hidden["_step"] == "start"
    assert "ابدأ" in back_to_start.text
    again = start(tenant, back_to_start)
    assert form(again.text).filled() == {"trygg_ute_kvall": ["3"], "trygg_bostad": ["9"]}


def test_tampered_hidden_state_is_checked_again(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    last = _last_step(tenant, tenant.get(survey.link))
    data = form(last.text).data({}, "next")
    data["_state"] = json.dumps({"trivsel": 77, "anmalt_polis": 1, "nonsense": 1, "kon": True})
    page = tenant.post("/form", data=data)
    assert page.status_code == 422
    assert "trivsel" in step_keys(page)
    assert "Kontrollera svaret." in page.text
    assert stored(db, survey.round.id) == []


# --- validation --------------------------------------------------------------------------------


def _custom_survey(org: Org, server: LiveServer) -> Survey:
    """The standard questionnaire with a required question and number questions."""
    definition = standard_definition()
    definition["key"] = "custom-form"
    texts = {
        "sv": "Hur många bor i hushållet?",
        "en": "How many live in the household?",
        "ar": "كم عدد أفراد الأسرة؟",
    }
    hours = {
        "sv": "Hur många timmar per dag är du ute?",
        "en": "Hours outside per day?",
        "ar": "كم ساعة تقضي خارج المنزل يوميًا؟",
    }
    definition["items"] += [
        {
            "key": "hushall_antal",
            "kind": "number",
            "section": "bakgrund",
            "text": texts,
            "required": True,
            "min": 1,
            "max": 20,
        },
        {
            "key": "timmar_ute",
            "kind": "number",
            "section": "bakgrund",
            "text": hours,
            "integer": False,
            "min": 0,
            "max": 24,
        },
    ]
    for item in definition["items"]:
        if item["key"] == "kon":
            item["required"] = True
    version = publish_standard(org.analyst, definition)
    area = ok(
        org.analyst.post(
            "/api/v1/areas", json={"code": "custom", "name": "Custom", "municipality_code": "1480"}
        ),
        201,
    )
    survey_round = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "Custom",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [area["id"]],
                "open_date": "2020-01-01",
                "close_date": "2099-12-31",
            },
        ),
        201,
    )
    from tests.helpers import OpenRound

    r = OpenRound(id=survey_round["id"], version_id=version["id"], area_ids=[area["id"]])
    return Survey(round=r, area_links={area["id"]: area_path(server, r.id, area["id"])})


@pytest.mark.parametrize(
    ("language", "summary", "missing"),
    [
        ("sv", "Något behöver rättas", "Svara på frågan."),
        ("ar", "هناك مشكلة", "أجب عن هذا السؤال."),
    ],
)
def test_errors_beside_each_field_and_in_a_summary_with_answers_kept(
    org: Org,
    server: LiveServer,
    tenant: httpx.Client,
    db: sessionmaker[Session],
    language: str,
    summary: str,
    missing: str,
) -> None:
    custom = _custom_survey(org, server)
    headers = {"Accept-Language": language}
    page = walk_to(tenant, start(tenant, tenant.get(custom.link, headers=headers)), "kon")
    assert "(obligatorisk)" in page.text or "(إلزامي)" in page.text
    bad = post(tenant, page, {"aldersgrupp": 3, "timmar_ute": "mycket"})
    assert bad.status_code == 422
    text = bad.text
    assert f'<h2 id="error-summary-title">{summary}</h2>' in text
    assert text.index("error-summary") < text.index("<h1")
    # Beside each field, tied to it for screen readers.
    for key in ("kon", "hushall_antal", "timmar_ute"):
        assert f'id="e-{key}"' in text
        assert f'aria-describedby="e-{key}"' in text
    assert 'href="#f-kon-1"' in text and 'href="#f-hushall_antal"' in text
    assert text.count(missing) == 4  # kon and hushall_antal: in the summary and beside the field
    assert "<title>" + ("Fel:" if language == "sv" else "خطأ:") in text
    # What was entered is still there, the wrong number too.
    assert form(text).filled() == {"aldersgrupp": ["3"], "timmar_ute": ["mycket"]}
    fixed = post(
        tenant, bad, {"kon": 1, "aldersgrupp": 3, "hushall_antal": "٤", "timmar_ute": "2,5"}
    )
    assert fixed.status_code == 303, fixed.text
    [response] = stored(db, custom.round.id)
    assert {
        k: response.answers[k] for k in ("kon", "aldersgrupp", "hushall_antal", "timmar_ute")
    } == {"kon": 1, "aldersgrupp": 3, "hushall_antal": 4, "timmar_ute": 2.5}


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("0", "Skriv ett tal från 1 till 20."),
        ("2.5", "Skriv ett heltal, till exempel 3."),
        ("tre", "Skriv ett heltal, till exempel 3."),
    ],
)
def test_number_errors(
    org: Org, server: LiveServer, tenant: httpx.Client, value: str, message: str
) -> None:
    custom = _custom_survey(org, server)
    page = walk_to(tenant, start(tenant, tenant.get(custom.link)), "hushall_antal")
    bad = post(tenant, page, {"kon": 1, "hushall_antal": value})
    assert bad.status_code == 422
    assert message in bad.text
    assert form(bad.text).filled()["hushall_antal"] == [value]


def test_exclusive_option_cannot_be_combined(survey: Survey, tenant: httpx.Client) -> None:
    page = walk_to(tenant, start(tenant, tenant.get(survey.link)), "utsatt_brott_12m")
    bad = post(tenant, page, {"utsatt_brott_12m": [1, 6]})
    assert bad.status_code == 422
    assert "”Inget av detta” kan inte kombineras med andra svar." in bad.text
    assert form(bad.text).filled() == {"utsatt_brott_12m": ["1", "6"]}


def test_too_long_text_is_kept_with_an_error(survey: Survey, tenant: httpx.Client) -> None:
    page = walk_to(tenant, start(tenant, tenant.get(survey.link)), "fritext_plats")
    text = "ö" * 2001
    bad = post(tenant, page, {"fritext_plats": text})
    assert bad.status_code == 422
    assert "Skriv högst 2000 tecken. Du har skrivit 2001." in bad.text
    assert form(bad.text).filled() == {"fritext_plats": [text]}


def test_the_standard_questionnaire_needs_no_answer(
    survey: Survey, tenant: httpx.Client, db: sessionmaker[Session]
) -> None:
    sent, steps = complete(tenant, tenant.get(survey.link), {})
    assert sent.status_code == 303
    assert len(steps) == 9  # no crime ticked: no follow-up step
    assert [r.answers for r in stored(db, survey.round.id)] == [{}]


def test_a_definition_without_the_tenants_language_falls_back(
    org: Org, server: LiveServer, tenant: httpx.Client
) -> None:
    """Without Arabic, a phone asking for Arabic then English gets English, and no Arabic button."""
    definition = standard_definition()
    definition["key"] = "no-arabic"
    definition["languages"] = ["sv", "en"]

    def strip(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: strip(v) for k, v in node.items() if k != "ar"}
        if isinstance(node, list):
            return [strip(v) for v in node]
        return node

    version = publish_standard(org.analyst, strip(copy.deepcopy(definition)))
    area = ok(
        org.analyst.post(
            "/api/v1/areas", json={"code": "noar", "name": "No Arabic", "municipality_code": "1480"}
        ),
        201,
    )
    created = ok(
        org.analyst.post(
            "/api/v1/rounds",
            json={
                "name": "No Arabic",
                "questionnaire_version_id": version["id"],
                "period": "2026",
                "area_ids": [area["id"]],
                "open_date": "2020-01-01",
                "close_date": "2099-12-31",
            },
        ),
        201,
    )
    page = tenant.get(
        area_path(server, created["id"], area["id"]), headers={"Accept-Language": "ar,en;q=0.5"}
    )
    assert '<html lang="en" dir="ltr">' in page.text
    assert {b[1] for b in form(page.text).buttons} == {"start", "lang:sv"}
