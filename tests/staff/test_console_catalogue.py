"""The console's Swedish catalogue: up to date with the code and templates, every string
translated, placeholders kept (the English msgids need no catalogue)."""

from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from survey_api.console import i18n

CONSOLE = Path(i18n.__file__).parent
LOCALE = CONSOLE / "locale"
FIX = (
    "re-extract and update the catalogue as the module docstring of survey_api/console/i18n.py "
    "says, then translate what is new"
)


def catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def extracted() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(CONSOLE), method_map)
    }


def singular(message_id: str | tuple[str, ...]) -> str:
    return message_id if isinstance(message_id, str) else message_id[0]


def test_the_template_lists_exactly_the_strings_in_use() -> None:
    pot = {singular(m.id) for m in catalogue(LOCALE / "messages.pot") if m.id}
    assert pot == extracted(), FIX


def test_swedish_is_complete_and_consistent() -> None:
    pot = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    po = catalogue(LOCALE / "sv" / "LC_MESSAGES" / "messages.po", "sv")
    translated = {m.id: m for m in po if m.id}
    assert set(translated) == pot, FIX
    for message in translated.values():
        assert message.string, f"{message.id!r} is not translated"
        assert not message.fuzzy, f"{message.id!r} is fuzzy"
    problems = [(m.id, [str(e) for e in errors]) for m, errors in po.check()]
    assert not problems, problems
