"""The console's languages: Swedish first, English beside it.

The msgids are English; ``locale/sv/LC_MESSAGES/messages.po`` is compiled in memory on first
use, like the tenant form's catalogues (see ``survey_api.web.i18n``, whose negotiation and
language names this module reuses). After changing a string::

    .venv/bin/pybabel extract -F src/survey_api/console/babel.cfg --no-location \
        --omit-header --sort-output -o src/survey_api/console/locale/messages.pot \
        src/survey_api/console
    .venv/bin/pybabel update -i src/survey_api/console/locale/messages.pot \
        -d src/survey_api/console/locale --width 100 --ignore-obsolete
"""

import io
from functools import cache
from importlib import resources

from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po
from babel.support import NullTranslations, Translations

from survey_api.web import i18n as web_i18n

LANGUAGES = ("sv", "en")
DEFAULT_LANGUAGE = "sv"
DOMAIN = "messages"


@cache
def translations(language: str) -> NullTranslations:
    """The compiled catalogue of a console language (the English msgids for English)."""
    if language == "en" or language not in LANGUAGES:
        return NullTranslations()
    po = resources.files("survey_api.console").joinpath(
        "locale", language, "LC_MESSAGES", f"{DOMAIN}.po"
    )
    with po.open("rb") as fp:
        catalog = read_po(fp, locale=language, domain=DOMAIN)
    buffer = io.BytesIO()
    write_mo(buffer, catalog, use_fuzzy=False)
    buffer.seek(0)
    return Translations(fp=buffer, domain=DOMAIN)


def negotiate(requested: str | None, accept_language: str | None) -> str:
    """?lang= (or a form's _lang), else Accept-Language, else Swedish."""
    return web_i18n.negotiate(
        LANGUAGES, requested=requested, accept_language=accept_language, default=DEFAULT_LANGUAGE
    )


def language(code: str) -> web_i18n.Language:
    """A language's own name and direction."""
    return web_i18n.language(code)
