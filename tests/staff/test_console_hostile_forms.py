"""Hostile input through every console form, found by crawling the console, on both databases.

The console is crawled as an admin (and as an analyst) from /console/: every same-site page up
to a bound, every ``<form method="post">`` with its fields. Each form is then posted with its
real CSRF token and, field by field, a NUL byte and a 100,000-character string; the other
payloads (formulas, bidirectional overrides with emoji and combining marks, blank text, numbers
and dates no parser should take, options that are not among the options, repeated names, files
with a NUL, empty or not UTF-8) rotate over the forms. Every answer must be a console page
(never JSON, never the "Something went wrong" page, never a 500, never a logged error) with the
security headers; a 4xx must leave the organisation's rows exactly as they were. A formula that
is accepted as legitimate text comes back defused from the export and escaped on the page.

Forms that end the crawl's usefulness (closing the round, revoking, deleting, publishing, the
admin's own account, the password, logout) are posted after all the others.
"""

import csv
import html
import io
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx
import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from survey_api.auth import service as auth_service
from survey_api.models import StaffSession
from survey_api.organisations import service as organisations_service
from survey_api.staff import service as staff_service
from tests.api.test_hostile_input import Snapshot, snapshot
from tests.conftest import LiveServer
from tests.helpers import ok, open_round, standard_definition
from tests.staff.conftest import PASSWORD, Browser, StaffOrg, csrf_of, make_staff_org

MAX_PAGES = 150
HUGE = "x" * 100_000
FORMULAS = ['=HYPERLINK("http://x","y")', "+cmd|' /C calc'!A0", "@SUM(1)"]
BIDI = "\u202eHjällbo 🏠 Z\u0351\u0363a\u0334l\u0315g\u0360o"
BLANK = "  \t  "
NUMBERS = ["1e309", "-0", "١٢"]
DATES = ["2026-02-30", "0000-01-01"]
FILES: list[tuple[str, bytes]] = [
    ("nul.csv", b"code;name\nhostile;Hj\x00llbo\n"),
    ("empty.csv", b""),
    ("latin1.csv", "code;name\nhostile;Hjällbo Gårda\n".encode("latin-1") + b"\xff\xfe\x81"),
]
# What the console shows when it failed (the 500 page): never for a hostile value.
GENERIC_ERROR = ("Felet har loggats", "The error has been logged")
SECURITY_HEADERS = ("content-security-policy", "x-content-type-options", "x-frame-options")
# Every field a person types into (numbers and dates too) gets a NUL and a huge value.
TEXT_LIKE = {"text", "search", "email", "password", "url", "tel", "hidden", "textarea"}
TEXT_LIKE |= {"number", "date"}
# Valid values for fields a form leaves empty, so that the hostile value is the only fault.
FILL = {
    "code": "hostile",
    "name": "Hjällbo",
    "email": "ny.person@x.example",
    "municipality_code": "1480",
    "households": "120",
    "period": "2027",
    "count": "2",
    "year": "2025",
    "cost_sek": "1000",
    "description": "Belysning vid gångtunneln.",
    "label": "Styrelsen",
    "expires_in_days": "30",
    "current_password": PASSWORD,
}
# Posted after all the others, in this order: they close, revoke, delete or sign out.
LATE_WORDS = ("publish", "close", "revoke", "delete", "/active", "/role", "sign-out", "reset")
LAST_WORDS = ("/password", "/logout")
# The forms that may sign the poster out (on their own account), posted last, in this order.
SIGNING_OUT = ("/active", "/sign-out", "/reset", "/logout")


@dataclass
class Input:
    name: str
    kind: str  # text, textarea, number, date, select, radio, checkbox, file, hidden, ...
    value: str = ""
    options: list[str] = field(default_factory=list)


@dataclass
class Form:
    page: str
    action: str
    inputs: list[Input]
    multipart: bool = False

    @property
    def key(self) -> tuple[str, tuple[str, ...]]:
        return self.action, tuple(sorted({i.name for i in self.inputs}))

    @property
    def names(self) -> set[str]:
        return {i.name for i in self.inputs}

    def named(self, kind: set[str]) -> list[Input]:
        seen: dict[str, Input] = {}
        for i in self.inputs:
            if i.kind in kind and i.name != "csrf_token" and i.name not in seen:
                seen[i.name] = i
        return list(seen.values())


class PageParser(HTMLParser):
    """The links and the post forms of one console page."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.links: list[str] = []
        self.forms: list[Form] = []
        self._form: Form | None = None
        self._select: Input | None = None
        self._textarea: Input | None = None
        self._radios: dict[str, Input] = {}

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "a" and a.get("href"):
            self.links.append(a["href"])
        elif tag == "form" and a.get("method", "get").lower() == "post":
            self._form = Form(
                page="",
                action=a.get("action", ""),
                inputs=[],
                multipart="multipart" in a.get("enctype", ""),
            )
            self._radios = {}
        elif self._form is None or not a.get("name") and tag != "option":
            return
        elif tag == "input":
            kind = a.get("type", "text").lower()
            if kind in ("submit", "button", "reset", "image"):
                return
            if kind == "radio":
                group = self._radios.get(a["name"])
                if group is None:
                    group = self._radios[a["name"]] = Input(a["name"], "radio")
                    self._form.inputs.append(group)
                group.options.append(a.get("value", "on"))
                if "checked" in a or not group.value:
                    group.value = a.get("value", "on") if "checked" in a else group.value
                return
            if kind == "checkbox" and "checked" not in a:
                # an unchecked box is not sent; it is still a field to attack
                self._form.inputs.append(Input(a["name"], "checkbox", "", [a.get("value", "on")]))
                return
            if kind == "text" and a.get("inputmode") in ("numeric", "decimal"):
                kind = "number"  # the console's numbers are text that phones type as digits
            self._form.inputs.append(Input(a["name"], kind, a.get("value", "")))
        elif tag == "select":
            self._select = Input(a["name"], "select")
            self._form.inputs.append(self._select)
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            self._select.options.append(value)
            if "selected" in a or len(self._select.options) == 1:
                self._select.value = value
        elif tag == "textarea":
            self._textarea = Input(a["name"], "textarea")
            self._form.inputs.append(self._textarea)

    def handle_data(self, data: str) -> None:
        if self._textarea is not None:
            self._textarea.value += data

    def handle_endtag(self, tag: str) -> None:
        if tag == "form" and self._form is not None:
            self.forms.append(self._form)
            self._form = None
        elif tag == "select":
            self._select = None
        elif tag == "textarea":
            self._textarea = None


def _console_path(base: str, href: str) -> str | None:
    url = urlsplit(urljoin(base, href))
    if url.scheme not in ("http", "") or url.netloc not in ("", urlsplit(base).netloc):
        return None
    if not url.path.startswith("/console/") or url.path.startswith("/console/static/"):
        return None
    if "lang=" in url.query or url.path in ("/console/logout",):
        return None
    return url.path + (f"?{url.query}" if url.query else "")


def crawl(client: Browser, start: str = "/console/") -> list[Form]:
    """Every post form on the console pages reachable from `start` (at most MAX_PAGES)."""
    seen = {start}
    queue = [start]
    forms: dict[tuple[str, tuple[str, ...]], Form] = {}
    fetched = 0
    while queue and fetched < MAX_PAGES:
        path = queue.pop(0)
        response = client.get(path)
        fetched += 1
        if response.status_code != 200 or "text/html" not in response.headers.get(
            "content-type", ""
        ):
            continue
        parser = PageParser()
        parser.feed(response.text)
        for href in parser.links:
            found = _console_path(str(response.url), href)
            if found and found not in seen:
                seen.add(found)
                queue.append(found)
        for form in parser.forms:
            form.page = path
            form.action = urlsplit(urljoin(str(response.url), form.action or path)).path
            forms.setdefault(form.key, form)
    return list(forms.values())


def rank(form: Form, own_user_id: int) -> tuple[int, str]:
    """Harmless forms first; then the ones that close or revoke; one's own account and the
    password last, logout at the very end."""
    action = form.action
    if action.endswith(SIGNING_OUT) and (
        action.endswith("/logout") or f"/users/{own_user_id}/" in action
    ):
        return 4, str(next(n for n, end in enumerate(SIGNING_OUT) if action.endswith(end)))
    if any(w in action for w in LAST_WORDS) or f"/users/{own_user_id}/" in action:
        return 3, action
    if any(w in action for w in LATE_WORDS):
        return 2, action
    return 1, action


def order(forms: list[Form], own_user_id: int) -> list[Form]:
    return sorted(forms, key=lambda form: rank(form, own_user_id))


def with_nul(text: str) -> str:
    text = text or "Hjällbo"
    return text[:1] + "\x00" + text[1:]


Data = list[tuple[str, str]]
Files = list[tuple[str, tuple[str, bytes, str]]]


def base_data(form: Form, token: str) -> Data:
    data: Data = [("csrf_token", token)]
    for i in form.inputs:
        if i.name == "csrf_token" or i.kind == "file" or i.kind == "checkbox" and not i.value:
            continue
        value = i.value or FILL.get(i.name, "")
        data.append((i.name, value))
    return data


def replaced(data: Data, name: str, value: str) -> Data:
    out = [(k, v) for k, v in data if k != name]
    return [*out, (name, value)]


def attacks(form: Form, index: int) -> Iterator[tuple[str, Data | None, Files | None]]:
    """(what, fields or None for the base, files) for each post of this form."""
    texts = form.named(TEXT_LIKE)
    for i in texts:
        yield f"NUL in {i.name}", replaced_nul(i), None
        yield f"100,000 characters in {i.name}", [(i.name, HUGE)], None
    rotating: list[tuple[str, str]] = [(f, f) for f in FORMULAS] + [
        ("bidi", BIDI),
        ("blank", BLANK),
    ]
    for n, i in enumerate(texts):
        what, value = rotating[(index + n) % len(rotating)]
        yield f"{what} in {i.name}", [(i.name, value)], None
    for i in form.named({"number"}):
        for value in NUMBERS:
            yield f"{value} in {i.name}", [(i.name, value)], None
    for i in form.named({"date"}):
        for value in DATES:
            yield f"{value} in {i.name}", [(i.name, value)], None
    for i in form.named({"select", "radio", "checkbox"}):
        yield f"an unknown option in {i.name}", [(i.name, "999999 ogiltig")], None
    if texts:
        first = texts[(index) % len(texts)]
        yield f"{first.name} twice", [(first.name, "\x00"), (first.name, HUGE)], None
    for i in form.named({"file"}):
        for filename, content in FILES:
            yield f"{filename} as {i.name}", None, [(i.name, (filename, content, "text/csv"))]


def replaced_nul(i: Input) -> Data:
    return [(i.name, with_nul(i.value or FILL.get(i.name, "")))]


class Collect(logging.Handler):
    def __init__(self) -> None:
        super().__init__(level=logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def server_errors() -> Iterator[Collect]:
    """ERROR records of the app and of uvicorn (every unhandled failure is logged)."""
    handler = Collect()
    loggers = [logging.getLogger("survey_api"), logging.getLogger("uvicorn.error")]
    for logger in loggers:
        logger.addHandler(handler)
    try:
        yield handler
    finally:
        for logger in loggers:
            logger.removeHandler(handler)


@dataclass
class World:
    org: StaffOrg
    api: httpx.Client
    round_id: int
    area_ids: list[int]
    db: sessionmaker[Session]
    set_password_token: str


def _api(server: LiveServer, db: sessionmaker[Session], org_id: int) -> httpx.Client:
    with db() as session:
        organisation = organisations_service.get_organisation(session, org_id)
        key = auth_service.create_api_key(session, organisation, name="admin", role="admin")[1]
        auth_service.create_api_key(session, organisation, name="integration", role="integrator")
        session.commit()
    return httpx.Client(
        base_url=server.base_url, headers={"Authorization": f"Bearer {key}"}, timeout=30
    )


def make_world(server: LiveServer, db: sessionmaker[Session]) -> World:
    """One of everything a console page can act on."""
    org = make_staff_org(db)
    api = _api(server, db, org.id)
    made = open_round(api, n_areas=2)
    ok(
        api.post(
            "/api/v1/interventions",
            json={
                "name": "Belysning",
                "category": "belysning",
                "area_ids": made.area_ids[:1],
                "start_date": "2025-01-01",
            },
        ),
        201,
    )
    ok(
        api.post(
            f"/api/v1/rounds/{made.id}/invitations",
            json={"area_id": made.area_ids[0], "count": 2},
        ),
        201,
    )
    ok(api.post(f"/api/v1/rounds/{made.id}/share-links", json={"language": "sv"}), 201)
    draft = standard_definition()
    draft["key"] = "utkast"
    ok(api.post("/api/v1/questionnaires", json=draft), 201)
    body = {
        "responses": [
            {"area_id": made.area_ids[0], "language": "sv", "channel": "paper", "answers": {}}
        ]
    }
    headers = {"Idempotency-Key": uuid.uuid4().hex}
    ok(api.post(f"/api/v1/rounds/{made.id}/responses/bulk", json=body, headers=headers), 201)
    with db() as session:
        organisation = organisations_service.get_organisation(session, org.id)
        _user, token = staff_service.create_user(
            session, organisation, f"ny.{org.slug}@x.example", "viewer"
        )
        session.commit()
    return World(org, api, made.id, made.area_ids, db, token)


@pytest.fixture
def world(console_server: LiveServer, db: sessionmaker[Session]) -> Iterator[World]:
    made = make_world(console_server, db)
    yield made
    made.api.close()


def signed_in(browser: Callable[[], Browser], org: StaffOrg, role: str) -> Browser:
    client = browser()
    assert client.log_in(org.emails[role]).status_code == 303
    return client


def rows(world: World) -> Snapshot:
    """Every stored row of the organisation; of staff sessions only which exist, since every
    request may move a session's last use (not the data a form acts on)."""
    found = snapshot(world.db, world.org.id)
    with world.db() as session:
        found["staff_session"] = sorted(str(i) for i in session.scalars(select(StaffSession.id)))
    return found


@dataclass
class Outcome:
    """What the posts found: the accepted hostile values and every broken promise."""

    accepted: list[tuple[str, str]] = field(default_factory=list)
    posts: int = 0
    problems: list[str] = field(default_factory=list)


def check(
    response: httpx.Response, what: str, before: Snapshot, world: World, errors: Collect
) -> tuple[bool, list[str]]:
    """The answer is a console page, not a failure; a 4xx stored nothing. (accepted, problems)"""
    where = f"{what} → {response.request.method} {response.request.url.path}"
    found: list[str] = []
    if response.status_code >= 500 and response.status_code != 503:
        found.append(f"{where}: {response.status_code}")
    if errors.records:
        found.append(f"{where}: logged {[r.getMessage() for r in errors.records]}")
        errors.records.clear()
    for header in SECURITY_HEADERS:
        if header not in response.headers:
            found.append(f"{where}: no {header}")
    if response.status_code in (302, 303):
        target = urlsplit(response.headers["location"]).path
        if not target.startswith("/console/"):
            found.append(f"{where}: redirected off the console")
        path = response.request.url.path
        if target == "/console/login" and not path.endswith(SIGNING_OUT + ("/login",)):
            found.append(f"{where}: signed out (the posts after it test nothing)")
        return True, found
    if "text/html" not in response.headers.get("content-type", ""):
        found.append(f"{where}: not a page: {response.text[:200]}")
    if any(generic in response.text for generic in GENERIC_ERROR):
        found.append(f"{where}: the generic error page with {response.status_code}")
    if 400 <= response.status_code < 500:
        after = rows(world)
        if after != before:
            changed = sorted(
                t for t in after.keys() | before.keys() if after.get(t) != before.get(t)
            )
            found.append(f"{where}: a {response.status_code} changed stored rows in {changed}")
        return False, found
    return True, found


def post_all(
    client: Browser,
    forms: list[Form],
    world: World,
    errors: Collect,
    token_of: Callable[[Form], str],
    *,
    only_nul_and_huge: bool = False,
) -> Outcome:
    """Post every attack on every form."""
    outcome = Outcome()
    before = rows(world)
    for index, form in enumerate(forms):
        for what, fields, files in attacks(form, index):
            if only_nul_and_huge and not what.startswith(("NUL", "100,000")):
                continue
            data = base_data(form, token_of(form))
            if fields:
                names = {n for n, _ in fields}
                # a password and its repetition get the same value, or only the mismatch shows
                twins = [(f"{n}_again", v) for n, v in fields if f"{n}_again" in form.names]
                for name in names | {n for n, _ in twins}:
                    data = [(k, v) for k, v in data if k != name]
                data += fields + twins
            response = client.post(form.action, data=_as_dict(data), files=files)
            outcome.posts += 1
            taken, problems = check(response, what, before, world, errors)
            outcome.problems += problems
            if taken:
                outcome.accepted.append((form.action, what))
                before = rows(world)
    return outcome


def _as_dict(data: Data) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for k, v in data:
        if k in out:
            out[k] = [*out[k], v] if isinstance(out[k], list) else [out[k], v]
        else:
            out[k] = v
    return out


def test_every_console_form_answers_hostile_input_with_a_page_and_stores_nothing_on_4xx(
    browser: Callable[[], Browser], world: World, server_errors: Collect
) -> None:
    # The login form, as nobody.
    anonymous = browser()
    login = anonymous.get("/console/login")
    login_forms = crawl(anonymous, "/console/login")
    assert any(f.action == "/console/login" for f in login_forms)
    anonymous_token = csrf_of(login.text)
    found = post_all(anonymous, login_forms, world, server_errors, lambda _f: anonymous_token)

    # The one-time link's form, as the person who got it.
    newcomer = browser()
    link = f"/console/set-password/{world.set_password_token}"
    link_forms = crawl(newcomer, link)
    assert [f.action for f in link_forms] == [link]
    link_token = csrf_of(newcomer.get(link).text)
    linked = post_all(newcomer, link_forms, world, server_errors, lambda _f: link_token)
    found.problems += linked.problems

    # The analyst's forms: NUL and huge text in every field.
    analyst = signed_in(browser, world.org, "analyst")
    analyst_forms = order(crawl(analyst), world.org.user_ids["analyst"])
    analyst_token = csrf_of(analyst.get("/console/password").text)
    analysts = post_all(
        analyst,
        # not what closes, revokes or signs out: the admin's crawl still needs it
        [f for f in analyst_forms if rank(f, world.org.user_ids["analyst"])[0] == 1],
        world,
        server_errors,
        lambda _f: analyst_token,
        only_nul_and_huge=True,
    )

    admin = signed_in(browser, world.org, "admin")
    forms = order(crawl(admin), world.org.user_ids["admin"])
    actions = {f.action for f in forms}
    for expected in (
        "/console/areas/new",
        f"/console/areas/{world.area_ids[0]}/edit",
        "/console/areas/import",
        "/console/interventions/new",
        "/console/rounds/new",
        f"/console/rounds/{world.round_id}/invitations",
        f"/console/rounds/{world.round_id}/close",
        f"/console/results/{world.round_id}/share-links",
        "/console/users",
        "/console/settings",
        "/console/keys",
        "/console/questionnaires/new",
        "/console/password",
        "/console/logout",
        f"/console/users/{world.org.user_ids['viewer']}/active",
    ):
        assert expected in actions, (expected, sorted(actions))
    for pattern in ("/console/interventions/", "/share-links/", "/console/keys/"):
        revoking = [a for a in actions if pattern in a and a.endswith(("/delete", "/revoke"))]
        assert revoking, (pattern, sorted(actions))
    uploads = {f.action for f in forms if any(i.kind == "file" for i in f.inputs)}
    assert "/console/areas/import" in uploads, uploads
    admin_token = csrf_of(admin.get("/console/password").text)
    admins = post_all(admin, forms, world, server_errors, lambda _f: admin_token)
    problems = found.problems + analysts.problems + admins.problems
    assert not problems, "\n".join(problems)
    # Whatever was accepted, no NUL reached a row (SQLite would have kept it silently).
    assert admins.posts > 5 * len(forms) and analysts.posts > 0
    # (tally_block holds float64 arrays as bytes: its zero bytes are numbers, not text.)
    stored = [
        row
        for name, table in rows(world).items()
        if name != "tally_block"
        for row in table
        if "\\x00" in row
    ]
    assert not stored, stored
    # some hostile text is legitimate text (a formula as an area's name)
    assert any("areas" in action for action, _what in admins.accepted), admins.accepted


def edit_through_the_console(admin: Browser, edit: str, name: str, value: str) -> None:
    """Post the console's edit form as it is, with one field changed; it must be accepted."""
    page = admin.get(edit)
    assert page.status_code == 200, edit
    parser = PageParser()
    parser.feed(page.text)
    form = next(f for f in parser.forms if f.action in (edit, ""))
    data = replaced(base_data(form, csrf_of(page.text)), name, value)
    response = admin.post(edit, data=_as_dict(data))
    assert response.status_code == 303, response.text[:2000]


def shown_escaped(page: str, value: str) -> bool:
    """The value is on the page as text: its quotes and brackets escaped, never raw markup."""
    escaped = html.escape(value, quote=True)
    normalised = page.replace("&#34;", "&quot;").replace("&#39;", "&#x27;")
    return value not in page and escaped in normalised


def test_a_formula_accepted_as_a_name_is_defused_in_exports_and_escaped_on_pages(
    browser: Callable[[], Browser], world: World, server_errors: Collect
) -> None:
    admin = signed_in(browser, world.org, "admin")
    area_id = world.area_ids[0]
    formula = FORMULAS[0]
    edit_through_the_console(admin, f"/console/areas/{area_id}/edit", "name", formula)
    intervention = ok(world.api.get("/api/v1/interventions"))["items"][0]["id"]
    command = FORMULAS[1]
    edit_through_the_console(admin, f"/console/interventions/{intervention}/edit", "name", command)
    assert not server_errors.records

    assert ok(world.api.get(f"/api/v1/areas/{area_id}"))["name"] == formula
    assert ok(world.api.get(f"/api/v1/interventions/{intervention}"))["name"] == command
    assert shown_escaped(admin.get("/console/areas").text, formula)
    assert shown_escaped(admin.get("/console/interventions").text, command)

    exports = f"/api/v1/rounds/{world.round_id}/exports/results"
    export = world.api.get(exports, params={"format": "csv"})
    assert export.status_code == 200, export.text[:500]
    cells = [cell for row in csv.reader(io.StringIO(export.text)) for cell in row]
    assert formula not in cells
    assert "'" + formula in cells
    workbook = world.api.get(exports, params={"format": "xlsx"})
    assert workbook.status_code == 200, workbook.text[:500]
    sheets = load_workbook(io.BytesIO(workbook.content))
    named = [
        cell
        for sheet in sheets.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if isinstance(cell.value, str) and "HYPERLINK" in cell.value
    ]
    assert named, "the area's name is not in the workbook"
    assert all(cell.data_type == "s" for cell in named), [(c.value, c.data_type) for c in named]


def test_a_conflicting_one_shot_form_says_what_is_wrong_not_the_generic_error(
    browser: Callable[[], Browser], world: World, server_errors: Collect
) -> None:
    admin = signed_in(browser, world.org, "admin")
    questionnaires = ok(world.api.get("/api/v1/questionnaires"))
    first = questionnaires["items"][0]["id"] if "items" in questionnaires else questionnaires[0]
    page = f"/console/questionnaires/{first}"
    token = csrf_of(admin.get(page).text)
    action = f"/console/questionnaires/{first}/drafts"
    assert admin.post(action, data={"csrf_token": token}).status_code == 303
    again = admin.post(action, data={"csrf_token": token})
    assert again.status_code == 409
    assert not server_errors.records
    assert not any(generic in again.text for generic in GENERIC_ERROR), again.text
    assert "Det här går inte just nu" in again.text and "Inget ändrades." in again.text
