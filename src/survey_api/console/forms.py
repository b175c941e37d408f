"""What the console's sections share to read a request and show a form again: ids from the
path, the page number of a list and its previous/next links, numbers typed in a form, the
ticked area boxes, and a form's errors with the 422 it is shown again with."""

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from typing import Annotated, Any, TypeVar

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from survey_api.areas import service as areas_service
from survey_api.config import Settings
from survey_api.console.rendering import PageLanguage
from survey_api.exceptions import NotFound
from survey_api.ids import MAX_ID
from survey_api.paging import MAX_LIMIT, Page, PageRequest

ItemT = TypeVar("ItemT")


def path_id(raw: str, what: str) -> int:
    """An id from the path; anything that is not one gives the same NotFound ("no such
    {what}") as a missing id or another organisation's, which the caller's service raises."""
    value = int(raw) if raw.isascii() and raw.isdigit() and len(raw) <= 10 else 0
    if not 1 <= value <= MAX_ID:
        raise NotFound(f"no such {what}")
    return value


def app_settings(request: Request) -> Settings:
    """The service's settings."""
    settings: Settings = request.app.state.settings
    return settings


def to_int(value: str | None) -> int | str | None:
    """A number typed in a form as an int ("2 300" too); blank as None; anything else as
    typed, for the request model to refuse."""
    if value is None or not value.strip():
        return None
    stripped = "".join(value.split())
    ok = stripped.isascii() and stripped.isdigit() and len(stripped) < 15
    return int(stripped) if ok else value


async def _checked_areas(request: Request) -> list[str]:
    """Every ticked area box (a form's fields keep only the first value of a name)."""
    form = await request.form()
    return [value for value in form.getlist("area_ids") if isinstance(value, str)]


CheckedAreas = Annotated[list[str], Depends(_checked_areas)]


@dataclass(frozen=True)
class AreaChoice:
    """An area to tick."""

    id: int
    code: str
    name: str


def area_choices(session: Session, organisation_id: int) -> list[AreaChoice]:
    """Every area of the organisation, by code, to tick in a form."""
    return [
        AreaChoice(area.id, area.code, area.name)
        for area in all_pages(
            lambda page: areas_service.list_areas(session, organisation_id, page), "/console/areas"
        )
    ]


# --- lists -------------------------------------------------------------------------------------


def page_number(request: Request) -> int:
    """?page= as a number from 1; anything else is the first page."""
    raw = request.query_params.get("page", "1")
    return max(int(raw) if raw.isascii() and raw.isdigit() and len(raw) < 7 else 1, 1)


def all_pages(read: Callable[[PageRequest], Page[ItemT]], path: str) -> list[ItemT]:
    """Every item of a paged service list, page after page."""
    found: list[ItemT] = []
    offset = 0
    while True:
        page = read(PageRequest(limit=MAX_LIMIT, offset=offset, path=path))
        found += page.items
        offset += MAX_LIMIT
        if page.next is None:
            return found


def paging(
    lang: PageLanguage, path: str, number: int, total: int, size: int, **kept: str
) -> dict[str, Any]:
    """A list page's number, last page and previous/next links (keeping `kept` in them), for
    templates/_lists.html's paging macro."""
    last = max(1, -(-total // size))
    return {
        "total": total,
        "number": number,
        "last": last,
        "previous_url": lang.url(path, **kept, page=str(number - 1)) if number > 1 else None,
        "next_url": lang.url(path, **kept, page=str(number + 1)) if number < last else None,
    }


# --- errors ------------------------------------------------------------------------------------


@dataclass
class FormErrors:
    """Errors per field (the service's own messages) and for the whole form."""

    fields: dict[str, list[str]] = field(default_factory=dict)
    general: list[str] = field(default_factory=list)

    def add(self, name: str, message: str) -> None:
        self.fields.setdefault(name, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.fields or self.general)


def model_errors(
    problems: Iterable[Mapping[str, Any]],
    field_of: Callable[[list[Any], str], str],
    fallback: str = "invalid input",
) -> FormErrors:
    """A request model's errors (or a service's ValidationFailed.errors) beside their fields:
    `field_of` names a problem's field from its loc and message, or "" for the whole form."""
    errors = FormErrors()
    for problem in problems:
        message = str(problem.get("msg", ""))
        name = field_of(list(problem.get("loc", [])), message)
        if name:
            errors.add(name, message)
        else:
            errors.general.append(message or fallback)
    return errors


def form_state(errors: FormErrors | None, names: Iterable[str]) -> dict[str, Any]:
    """A form's status (422 when shown again with errors), its errors and the order of the
    error summary (the form's own field order), for render()."""
    return {
        "status": 422 if errors else 200,
        "errors": errors or FormErrors(),
        "order": [name for name in names if errors and name in errors.fields],
    }
