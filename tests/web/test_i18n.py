"""The interface catalogues: complete, up to date with the code, and negotiation rules."""

from pathlib import Path

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from survey_api.web import i18n

WEB = Path(i18n.__file__).parent
LOCALE = WEB / "locale"


def catalogue(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fp:
        return read_po(fp, locale=locale)


def extracted() -> set[str]:
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    return {
        message if isinstance(message, str) else message[0]
        for _, _, message, _, _ in extract_from_dir(str(WEB), method_map)
    }


def test_template_matches_the_code() -> None:
    """messages.pot lists exactly the strings the code and templates use (see locale/README.md)."""
    pot = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    assert pot == extracted()


def test_at_least_swedish_english_and_arabic() -> None:
    assert {"sv", "en", "ar"} <= set(i18n.catalogue_languages())
    assert i18n.catalogue_languages()[:3] == ("sv", "en", "ar")


@pytest.mark.parametrize("language", i18n.catalogue_languages())
def test_catalogue_is_complete_and_consistent(language: str) -> None:
    pot = {m.id for m in catalogue(LOCALE / "messages.pot") if m.id}
    po = catalogue(LOCALE / language / "LC_MESSAGES" / "messages.po", language)
    translated = {m.id: m for m in po if m.id}
    assert set(translated) == pot, f"run pybabel update (see {LOCALE / 'README.md'})"
    for message in translated.values():
        assert message.string, f"{language}: {message.id!r} is not translated"
        assert not message.fuzzy, f"{language}: {message.id!r} is fuzzy"
    # Placeholders such as %(date)s must survive translation.
    problems = [(m.id, [str(e) for e in errors]) for m, errors in po.check()]
    assert not problems, problems


def test_catalogues_compile_and_translate() -> None:
    assert i18n.translations("sv").gettext("Next") == "Nästa"
    assert i18n.translations("ar").gettext("Next") == "التالي"
    assert i18n.translations("en").gettext("Next") == "Next"
    # A language without a catalogue shows the source strings.
    assert i18n.translations("so").gettext("Next") == "Next"


@pytest.mark.parametrize(
    ("code", "name", "direction"),
    [
        ("sv", "Svenska", "ltr"),
        ("ar", "العربية", "rtl"),
        ("fa", "فارسی", "rtl"),
        ("so", "Soomaali", "ltr"),
        ("ti", "ትግርኛ", "ltr"),
        ("sr-Latn", "Srpski (latinica)", "ltr"),
        ("zz", "zz", "ltr"),
    ],
)
def test_language_names_and_direction(code: str, name: str, direction: str) -> None:
    language = i18n.language(code)
    assert (language.name, language.direction) == (name, direction)


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        (None, []),
        ("", []),
        ("sv", ["sv"]),
        ("en;q=0.5, ar", ["ar", "en"]),
        ("ar-SE,ar;q=0.9,en-US;q=0.8,en;q=0.7", ["ar-SE", "ar", "en-US", "en"]),
        ("fr;q=0, *;q=0.1, bad tag", []),
        ("de;q=abc, sv", ["sv"]),
    ],
)
def test_parse_accept_language(header: str | None, expected: list[str]) -> None:
    assert i18n.parse_accept_language(header) == expected


@pytest.mark.parametrize(
    ("requested", "accept", "expected"),
    [
        (None, None, "sv"),
        ("ar", "en", "ar"),
        ("AR", None, "ar"),
        ("de", "en", "en"),
        (None, "ar-IQ", "ar"),
        (None, "fr, en;q=0.2", "en"),
        (None, "fr", "sv"),
        (None, "sr", "sr-Latn"),
    ],
)
def test_negotiate(requested: str | None, accept: str | None, expected: str) -> None:
    available = ["sv", "en", "ar", "sr-Latn"]
    assert (
        i18n.negotiate(available, requested=requested, accept_language=accept, default="sv")
        == expected
    )


def test_offered_languages() -> None:
    assert i18n.offered_languages(["sv", "en", "ar"], None) == ["sv", "en", "ar"]
    assert i18n.offered_languages(["sv", "en", "ar"], ["ar", "sv", "so"]) == ["sv", "ar"]
    assert i18n.offered_languages(["sv", "en"], ["so"]) == ["sv", "en"]
