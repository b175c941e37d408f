"""Reading the tenant pages like a browser without JavaScript would: forms, fields, buttons."""

from dataclasses import dataclass, field
from html.parser import HTMLParser
from typing import Any

import httpx


@dataclass
class Form:
    action: str
    method: str
    hidden: dict[str, str] = field(default_factory=dict)
    # name -> (input type, option values in page order, values currently checked/filled)
    fields: dict[str, tuple[str, list[str], list[str]]] = field(default_factory=dict)
    buttons: list[tuple[str, str, str]] = field(default_factory=list)  # name, value, text

    def data(self, answers: dict[str, Any], action: str | None) -> dict[str, Any]:
        """What the browser posts: hidden fields, what is already filled in, changed by the
        given answers (an empty list unticks), and the pressed button."""
        data: dict[str, Any] = dict(self.hidden)
        for name, (kind, _, values) in self.fields.items():
            if values:
                data[name] = values if kind == "checkbox" else values[0]
        for name, value in answers.items():
            if name not in self.fields:
                continue
            if value == []:
                data.pop(name, None)
            elif isinstance(value, list):
                data[name] = [str(v) for v in value]
            else:
                data[name] = str(value)
        if action is not None:
            data["_action"] = action
        return data

    def filled(self) -> dict[str, Any]:
        """What the page shows as already answered (checked boxes, filled fields)."""
        return {name: values for name, (_, _, values) in self.fields.items() if values}


class _Parser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []
        self.textarea: str | None = None
        self.button: tuple[str, str] | None = None
        self.text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: v or "" for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(action=a.get("action", ""), method=a.get("method", "get")))
            return
        if not self.forms:
            return
        form = self.forms[-1]
        if tag == "input":
            kind = a.get("type", "text")
            name = a.get("name", "")
            if kind == "hidden":
                form.hidden[name] = a.get("value", "")
            elif kind in ("radio", "checkbox"):
                entry = form.fields.setdefault(name, (kind, [], []))
                entry[1].append(a.get("value", ""))
                if "checked" in a:
                    entry[2].append(a.get("value", ""))
            else:
                value = a.get("value", "")
                form.fields[name] = (kind, [], [value] if value else [])
        elif tag == "textarea":
            self.textarea = a.get("name", "")
            self.text = []
        elif tag == "button":
            self.button = (a.get("name", ""), a.get("value", ""))
            self.text = []

    def handle_data(self, data: str) -> None:
        self.text.append(data)

    def handle_endtag(self, tag: str) -> None:
        if tag == "textarea" and self.textarea is not None:
            value = "".join(self.text)
            # HTML drops one newline right after <textarea>.
            value = value[1:] if value.startswith("\n") else value
            self.forms[-1].fields[self.textarea] = ("textarea", [], [value] if value else [])
            self.textarea = None
        elif tag == "button" and self.button is not None:
            self.forms[-1].buttons.append((*self.button, "".join(self.text).strip()))
            self.button = None


def forms(html: str) -> list[Form]:
    parser = _Parser()
    parser.feed(html)
    return parser.forms


def form(html: str, action: str = "/form") -> Form:
    found = [f for f in forms(html) if f.action == action]
    assert found, f"no form posting to {action} in:\n{html[:2000]}"
    return found[0]


def post(
    client: httpx.Client,
    page: httpx.Response,
    answers: dict[str, Any] | None = None,
    action: str | None = "next",
    form_action: str = "/form",
    headers: dict[str, str] | None = None,
) -> httpx.Response:
    """Press a button of the page's form after filling in answers."""
    f = form(page.text, form_action)
    return client.post(f.action, data=f.data(answers or {}, action), headers=headers)


def step_keys(page: httpx.Response) -> set[str]:
    """The item keys asked on a step page."""
    return {name for name in form(page.text).fields if not name.startswith("_")}


def complete(
    client: httpx.Client,
    start: httpx.Response,
    answers: dict[str, Any],
    headers: dict[str, str] | None = None,
    max_steps: int = 40,
) -> tuple[httpx.Response, list[set[str]]]:
    """From a start page, answer every step and send: the last response and each step's items."""
    assert start.status_code == 200, start.text
    page = post(client, start, action="start", headers=headers)
    seen: list[set[str]] = []
    for _ in range(max_steps):
        if page.status_code != 200 or 'name="_step"' not in page.text:
            return page, seen
        seen.append(step_keys(page))
        page = post(client, page, answers, "next", headers=headers)
    raise AssertionError("the form did not end")
