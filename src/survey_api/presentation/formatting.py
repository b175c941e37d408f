"""Numbers and percentages as a reader of the page's language expects them (Babel, CLDR).

Swedish writes "41 %" and "1 234" with a non-breaking space (U+00A0), so a figure never breaks
across lines; English writes "41%" and "1,234". Shares are whole percent on pages: the
intervals beside them say how precise they are.
"""

from decimal import Decimal

from babel import Locale, UnknownLocaleError
from babel.numbers import format_decimal, format_percent

NBSP = "\u00a0"
DEFAULT_LOCALE = "sv_SE"


def locale_of(language: str) -> str:
    """The Babel locale for a page language ("sv", "en", "sv-SE"); Swedish when unknown."""
    code = language.replace("-", "_")
    if code == "sv":
        return DEFAULT_LOCALE
    try:
        Locale.parse(code)
    except (ValueError, UnknownLocaleError):
        return DEFAULT_LOCALE
    return code


def percent(share: float, language: str) -> str:
    """A share 0..1 in whole percent: "41 %" (sv, with U+00A0), "41%" (en)."""
    return str(format_percent(share, locale=locale_of(language)))


def percent_range(low: float, high: float, language: str) -> str:
    """An interval of shares with the sign once: "35–48 %" (sv), "35–48%" (en)."""
    return f"{number(float(Decimal(str(low)) * 100), language)}–{percent(high, language)}"


def number(value: float, language: str, *, decimals: int = 0) -> str:
    """A number with the language's grouping and decimal sign: "1 234", "3,5" (sv)."""
    pattern = "#,##0" + ("." + "0" * decimals if decimals else "")
    return str(format_decimal(value, format=pattern, locale=locale_of(language)))


def number_range(low: float, high: float, language: str) -> str:
    """An interval of plain numbers (an index): "48–57"."""
    return f"{number(low, language)}–{number(high, language)}"
