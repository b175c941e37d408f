"""charts.interval_chart: a dot on its interval per row, a suppressed row with its text and no
mark whatever its true figure, the reference as a dashed line, Swedish figures, escaped labels."""

import re

from survey_api.presentation import charts

NBSP = "\u00a0"


def test_rows_reference_and_suppressed_row() -> None:
    svg = charts.interval_chart(
        [
            charts.IntervalRow("Hjällbo <b>", 72.0, 65.0, 78.0),
            charts.IntervalRow("Kortedala", None),
        ],
        title="Trygga",
        language="sv",
        reference=charts.IntervalRow("Alla områden", 60.0),
        suppressed_text="färre än 10",
    )
    assert svg.count("<circle") == 1 and 'stroke-dasharray="5 3"' in svg
    assert f"72{NBSP}%" in svg and f"Alla områden 60{NBSP}%" in svg
    assert "färre än 10" in svg and "Hjällbo &lt;b&gt;" in svg and "<b>" not in svg
    assert 'role="img"' in svg and "viewBox" not in svg
    # Positions stay inside the chart's width (2–98 %), so a dot at either end is drawn whole.
    xs = [float(x) for x in re.findall(r'(?:cx|x1|x2)="([\d.]+)%"', svg)]
    assert xs and min(xs) >= 2 and max(xs) <= 98


def test_a_suppressed_row_looks_the_same_whatever_its_figure() -> None:
    def drawn(low: float | None) -> str:
        row = charts.IntervalRow("A", None, low, None if low is None else low + 5)
        return charts.interval_chart([row], title="T", language="en", suppressed_text="fewer")

    assert drawn(None) == drawn(3.0) == drawn(90.0)


def test_means_use_the_decimal_comma() -> None:
    svg = charts.interval_chart(
        [charts.IntervalRow("A", 3.25, 2.5, 4.0)], title="T", language="sv", unit="mean", top=5
    )
    assert ">3,3<" in svg or ">3,2<" in svg
    assert ">2,5<" in svg  # the axis' middle tick
