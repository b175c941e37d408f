"""The console's Questionnaires section over HTTP, on both databases: the list, a version page
with its comparability report in Swedish, the tenant-form preview in sv/en/ar (the tenant
pages' stylesheet and CSP, no form to send), a new questionnaire from the standard one or a
JSON file (precise located errors, nothing stored), a new draft, publishing after a
confirmation, viewers reading only, CSRF, and another organisation's ids like missing ones."""

import json
from collections.abc import Callable
from typing import Any

import httpx
from sqlalchemy import func, select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.models import Questionnaire, QuestionnaireVersion
from survey_api.web.rendering import CONTENT_SECURITY_POLICY
from tests.questionnaires.pair import version_1, version_2
from tests.staff.conftest import Browser, StaffOrg, csrf_of, make_staff_org

QUESTIONNAIRE_ROUTES = (
    ("GET", "/console/questionnaires/{questionnaire_id}"),
    ("POST", "/console/questionnaires/{questionnaire_id}/drafts"),
    ("GET", "/console/questionnaires/{questionnaire_id}/versions/{number}"),
    ("POST", "/console/questionnaires/{questionnaire_id}/versions/{number}/upload"),
    ("GET", "/console/questionnaires/{questionnaire_id}/versions/{number}/publish"),
    ("POST", "/console/questionnaires/{questionnaire_id}/versions/{number}/publish"),
    ("GET", "/console/questionnaires/{questionnaire_id}/versions/{number}/preview/{language}"),
)


def signed_in(browser: Callable[[], Browser], org: StaffOrg, role: str = "admin") -> Browser:
    client = browser()
    assert client.log_in(org.emails[role]).status_code == 303
    return client


def upload(
    client: Browser, path: str, content: bytes, page: str = "/console/questionnaires/new"
) -> httpx.Response:
    token = csrf_of(client.get(page).text)
    return client.post(
        path,
        data={"csrf_token": token, "source": "file"},
        files={"definition": ("definition.json", content, "application/json")},
    )


def count_versions(db: sessionmaker[Session], org_id: int) -> int:
    with db() as session:
        return (
            session.scalar(
                select(func.count())
                .select_from(QuestionnaireVersion)
                .join(Questionnaire)
                .where(Questionnaire.organisation_id == org_id)
            )
            or 0
        )


def questionnaire_id(location: str) -> int:
    return int(location.split("/console/questionnaires/")[1].split("/")[0])


def start_standard(client: Browser) -> int:
    made = client.form("/console/questionnaires/new", source="standard")
    assert made.status_code == 303, made.text[:800]
    assert made.headers["location"].endswith("/versions/1?done=created")
    return questionnaire_id(made.headers["location"])


def test_standard_questionnaire_list_version_page_and_previews(
    browser: Callable[[], Browser], staff_org: StaffOrg
) -> None:
    admin = signed_in(browser, staff_org)
    assert "Det finns inga frågeformulär ännu" in admin.get("/console/questionnaires").text
    qid = start_standard(admin)
    listed = admin.get("/console/questionnaires").text
    assert "Trygghetsmätning för hyresgäster" in listed and "Utkast" in listed
    assert f'href="/console/questionnaires/{qid}/versions/1"' in listed
    page = admin.get(f"/console/questionnaires/{qid}/versions/1?done=created")
    assert page.status_code == 200
    assert "Frågeformuläret är skapat som ett utkast" in page.text
    assert "ingen tidigare version att jämföra med" in page.text
    assert "Publicera den här versionen" in page.text
    assert "Content-Security-Policy" in page.headers

    base = f"/console/questionnaires/{qid}/versions/1/preview"
    texts = {
        "sv": "Hur trygg eller otrygg känner du dig om du går ut ensam",
        "en": "How safe or unsafe do you feel if you go out alone",
        "ar": "ما مدى شعورك بالأمان",
    }
    for language, text in texts.items():
        preview = admin.get(f"{base}/{language}")
        assert preview.status_code == 200, preview.text[:500]
        html = preview.text
        # The tenant form's own page: its stylesheet and its CSP, no form to send.
        assert preview.headers["Content-Security-Policy"] == CONTENT_SECURITY_POLICY
        assert '<link rel="stylesheet" href="/static/form.' in html
        assert "<form" not in html and 'name="_token"' not in html
        assert text in html
        direction = "rtl" if language == "ar" else "ltr"
        assert f'<html lang="{language}" dir="{direction}">' in html
        # Clearly a preview, in the reader's console language.
        assert "Förhandsgranskning – ingenting kan skickas från den här sidan" in html
        assert 'lang="sv" dir="ltr"' in html
    assert 'name="trygg_ute_kvall"' in admin.get(f"{base}/sv").text
    second = admin.get(f"{base}/en?step=2")
    assert "Steg" not in second.text and "Step 2 of" in second.text
    assert admin.get(f"{base}/en?step=999").status_code == 200
    assert admin.get(f"{base}/fi").status_code == 404
    english = admin.get(f"{base}/ar?lang=en").text
    assert "Preview – nothing can be sent from this page" in english


def test_json_upload_publish_new_draft_and_the_report(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, staff_org)
    new = "/console/questionnaires/new"
    # Not JSON, empty, and a definition with checker errors: precise, located, nothing stored.
    syntax = upload(admin, new, b'{"key": "x",\n "items": [}')
    assert syntax.status_code == 422
    assert "line 2, column" in syntax.text and "Ingenting är sparat" in syntax.text
    assert upload(admin, new, b"").status_code == 422
    broken = version_1()
    broken["items"][1]["favourable"] = [7]
    broken["indicators"][0]["item"] = "nope"
    refused = upload(admin, new, json.dumps(broken).encode())
    assert refused.status_code == 422
    assert '<span class="code">items[1].favourable[0]</span>' in refused.text
    assert "code 7 is not an option of &#39;b&#39;" in refused.text
    assert '<span class="code">indicators[0].item</span>' in refused.text
    assert count_versions(db, staff_org.id) == 0

    made = upload(admin, new, json.dumps(version_1()).encode())
    assert made.status_code == 303, made.text[:800]
    qid = questionnaire_id(made.headers["location"])
    v1 = f"/console/questionnaires/{qid}/versions/1"
    confirm = admin.get(f"{v1}/publish")
    assert confirm.status_code == 200 and "Publicera version 1?" in confirm.text
    published = admin.form(f"{v1}/publish", page=f"{v1}/publish")
    assert published.status_code == 303
    assert published.headers["location"] == f"{v1}?done=published"
    page = admin.get(published.headers["location"]).text
    assert "Versionen är publicerad" in page and "Publicerad" in page
    assert "Publicera den här versionen" not in page
    # Publishing twice is refused with a page, not a 500.
    assert admin.get(f"{v1}/publish").status_code == 409

    drafted = admin.form(
        f"/console/questionnaires/{qid}/drafts", page=f"/console/questionnaires/{qid}"
    )
    assert drafted.status_code == 303
    v2 = f"/console/questionnaires/{qid}/versions/2"
    assert drafted.headers["location"] == f"{v2}?done=drafted"
    # A copy of version 1 keeps every trend.
    copy = admin.get(v2).text
    assert "Behåller sin trend: 10" in copy and "Trenden bryts: 0" in copy
    replaced = upload(admin, f"{v2}/upload", json.dumps(version_2()).encode(), page=v2)
    assert replaced.status_code == 303, replaced.text[:800]
    # A file with another key is refused for the draft, located, and the draft is unchanged.
    other_key = version_2() | {"key": "annan"}
    refused_key = upload(admin, f"{v2}/upload", json.dumps(other_key).encode(), page=v2)
    assert refused_key.status_code == 422 and '<span class="code">key</span>' in refused_key.text

    confirm2 = admin.get(f"{v2}/publish").text
    for expected in (
        "Jämfört med version 1",
        "Behåller sin trend: 2",
        "Trenden bryts: 7",
        "Nya: 1",
        "Borttagna: 1",
        "frågetypen har ändrats från ett svar till flera svar.",
        "svarsalternativ har lagts till (koder 4).",
        "poängen har ändrats för koderna 3.",
        "de positiva svaren har ändrats från koderna 1 till 1, 2.",
        "Indikatorns svarskoder har ändrats från 1 till 1, 2.",
        "Indexets riktning har ändrats.",
        "Finns inte i föregående version",
        "Finns inte i den här versionen",
    ):
        assert expected in confirm2, expected
    assert admin.form(f"{v2}/publish", page=f"{v2}/publish").status_code == 303
    listed = admin.get("/console/questionnaires").text
    assert listed.count("Publicerad") >= 2


def test_viewers_read_only_and_csrf_is_refused(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    admin = signed_in(browser, staff_org)
    qid = start_standard(admin)
    v1 = f"/console/questionnaires/{qid}/versions/1"
    viewer = signed_in(browser, staff_org, "viewer")
    assert viewer.get("/console/questionnaires").status_code == 200
    page = viewer.get(v1)
    assert page.status_code == 200 and "Publicera den här versionen" not in page.text
    assert viewer.get(f"{v1}/preview/ar").status_code == 200
    assert "Starta ett nytt frågeformulär" not in viewer.get("/console/questionnaires").text
    token = csrf_of(viewer.get("/console/").text)
    assert viewer.get("/console/questionnaires/new").status_code == 403
    assert viewer.get(f"{v1}/publish").status_code == 403
    for path in (
        "/console/questionnaires/new",
        f"/console/questionnaires/{qid}/drafts",
        f"{v1}/publish",
        f"{v1}/upload",
    ):
        refused = viewer.post(path, data={"csrf_token": token, "source": "standard"})
        assert refused.status_code == 403, path
    # The admin's own form without its token, or with another session's token.
    for bad in ({}, {"csrf_token": token}):
        assert admin.post(f"{v1}/publish", data=bad).status_code == 403
        assert (
            admin.post(
                "/console/questionnaires/new", data={**bad, "source": "standard"}
            ).status_code
            == 403
        )
    with db() as session:
        statuses = session.scalars(
            select(QuestionnaireVersion.status)
            .join(Questionnaire)
            .where(Questionnaire.organisation_id == staff_org.id)
        ).all()
    assert statuses == ["draft"]


def test_another_organisations_questionnaire_is_exactly_like_a_missing_one(
    browser: Callable[[], Browser], staff_org: StaffOrg, db: sessionmaker[Session]
) -> None:
    theirs_org = make_staff_org(db)
    theirs = start_standard(signed_in(browser, theirs_org))
    client = signed_in(browser, staff_org)
    token = csrf_of(client.get("/console/").text)
    missing = 2_000_000_000
    data: dict[str, Any] = {"csrf_token": token, "source": "standard"}
    for method, template in QUESTIONNAIRE_ROUTES:
        answers = [
            client.request(
                method,
                template.format(questionnaire_id=qid, number=number, language="sv"),
                data=data if method == "POST" else None,
            )
            for qid, number in ((theirs, 1), (missing, 1), ("abc", 1), (theirs, "x"))
        ]
        assert [a.status_code for a in answers] == [404] * 4, (method, template)
        texts = {
            # the long id first: a small id may be its prefix (2 in 2000000000)
            a.text.replace(str(missing), "ID")
            .replace(str(theirs), "ID")
            .replace("abc", "ID")
            .replace("/versions/x", "/versions/1")
            for a in answers
        }
        assert len(texts) == 1, (method, template)
        assert "Här finns ingenting" in answers[0].text
    with db() as session:
        version = session.scalars(
            select(QuestionnaireVersion).where(QuestionnaireVersion.questionnaire_id == theirs)
        ).one()
        assert version.status == "draft"
