"""Swedish and English numbers and percentages, the same on every page."""

import pytest

from survey_api.presentation import formatting

NBSP = "\u00a0"


@pytest.mark.parametrize(
    ("share", "sv", "en"),
    [(0.413, f"41{NBSP}%", "41%"), (0.0, f"0{NBSP}%", "0%"), (1.0, f"100{NBSP}%", "100%")],
)
def test_percent_is_swedish_with_a_non_breaking_space(share: float, sv: str, en: str) -> None:
    assert formatting.percent(share, "sv") == sv
    assert formatting.percent(share, "sv-SE") == sv
    assert formatting.percent(share, "en") == en


def test_ranges_numbers_and_unknown_languages() -> None:
    assert formatting.percent_range(0.352, 0.481, "sv") == f"35–48{NBSP}%"
    assert formatting.percent_range(0.352, 0.481, "en") == "35–48%"
    assert formatting.number(12345, "sv") == f"12{NBSP}345"
    assert formatting.number(12345, "en") == "12,345"
    assert formatting.number(3.45, "sv", decimals=1) == "3,4"  # half to even, decimal comma
    assert formatting.number_range(48.4, 57.6, "sv") == "48–58"
    assert formatting.locale_of("xx-nonsense") == "sv_SE"
