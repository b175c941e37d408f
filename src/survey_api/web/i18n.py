"""Interface languages: gettext catalogues compiled from the committed .po files, and negotiation.

Only the interface's own strings (buttons, errors, progress, thank-you page) live in the
catalogues; question texts come from the questionnaire definition. Adding a language means
adding ``locale/<lang>/LC_MESSAGES/messages.po`` (see ``locale/README.md``): the catalogues are
compiled in memory when first used, so no compiled .mo file is committed or built.
"""

import io
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources
from importlib.resources.abc import Traversable

from babel import Locale, UnknownLocaleError
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

DOMAIN = "messages"
# The language of the msgids; pages in a language without a catalogue fall back to it.
SOURCE_LANGUAGE = "en"
# Offered first on pages that know no questionnaire (code entry, thank-you, errors).
PREFERRED_ORDER = ("sv", "en", "ar")
_TAG = re.compile(r"[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*")


def locale_dir() -> Traversable:
    """The package directory holding one folder of .po files per language."""
    return resources.files("survey_api.web").joinpath("locale")


@cache
def catalogue_languages() -> tuple[str, ...]:
    """Languages with an interface catalogue, in the order pages without a round list them."""
    found = [
        entry.name
        for entry in locale_dir().iterdir()
        if entry.is_dir() and entry.joinpath("LC_MESSAGES", f"{DOMAIN}.po").is_file()
    ]
    first = [lang for lang in PREFERRED_ORDER if lang in found]
    return (*first, *sorted(lang for lang in found if lang not in first))


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a language (msgids, i.e. English, when there is none)."""
    po = locale_dir().joinpath(language, "LC_MESSAGES", f"{DOMAIN}.po")
    if language not in catalogue_languages() or not po.is_file():
        return NullTranslations()
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language.replace("-", "_"), domain=DOMAIN)
    buffer = io.BytesIO()
    # Fuzzy entries are left out, as msgfmt does: an unchecked translation shows the source.
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


@dataclass(frozen=True)
class Language:
    """A language as a page shows it: code, own name and writing direction."""

    code: str
    name: str
    direction: str  # "ltr" or "rtl"

    @property
    def ui_language(self) -> str:
        """The catalogue used for the interface strings of a page in this language."""
        return self.code if self.code in catalogue_languages() else SOURCE_LANGUAGE


@cache
def language(code: str) -> Language:
    """Name (in the language itself) and direction of a BCP 47 language code."""
    try:
        loc = Locale.parse(code, sep="-")
    except (UnknownLocaleError, ValueError):
        return Language(code=code, name=code, direction="ltr")
    name = loc.get_display_name(loc) or code
    direction = "rtl" if loc.character_order == "right-to-left" else "ltr"
    return Language(code=code, name=name[:1].upper() + name[1:], direction=direction)


def parse_accept_language(header: str | None) -> list[str]:
    """Language tags of an Accept-Language header, most preferred first (q=0 dropped)."""
    if not header:
        return []
    weighted: list[tuple[float, int, str]] = []
    for position, part in enumerate(header.split(",")):
        tag, _, params = part.strip().partition(";")
        tag = tag.strip()
        if not _TAG.fullmatch(tag):
            continue
        quality = 1.0
        for param in params.split(";"):
            name, _, value = param.strip().partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = float(value)
                except ValueError:
                    quality = 0.0
        if quality > 0:
            weighted.append((-quality, position, tag))
    return [tag for _, _, tag in sorted(weighted)]


def negotiate(
    available: Sequence[str],
    *,
    requested: str | None,
    accept_language: str | None,
    default: str,
) -> str:
    """The explicitly requested language, else the best Accept-Language match, else default."""
    by_lower = {code.lower(): code for code in available}
    if requested and requested.lower() in by_lower:
        return by_lower[requested.lower()]
    for tag in parse_accept_language(accept_language):
        tag = tag.lower()
        if tag in by_lower:
            return by_lower[tag]
        # "ar-SE" matches "ar"; "sr" matches "sr-Latn".
        primary = tag.split("-")[0]
        if primary in by_lower:
            return by_lower[primary]
        for code_lower, code in by_lower.items():
            if code_lower.split("-")[0] == primary:
                return code
    return default if default in available else available[0]


def offered_languages(
    questionnaire: Sequence[str], organisation: Iterable[str] | None
) -> list[str]:
    """The questionnaire's languages, narrowed to the organisation's choice when it made one."""
    if organisation is None:
        return list(questionnaire)
    chosen = set(organisation)
    narrowed = [lang for lang in questionnaire if lang in chosen]
    # Never offer nothing: a setting that excludes every language is ignored.
    return narrowed or list(questionnaire)
