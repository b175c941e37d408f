"""The shared SVG charts: values written as text, in the page's language, sized to stay readable."""

import re

from survey_api.presentation import charts

NBSP = "\u00a0"


def test_distribution_bar_labels_shares_the_swedish_way_and_scales_without_its_text() -> None:
    segments = [
        charts.Segment("Mycket trygg", 0.41),
        charts.Segment("Ganska trygg", 0.49),
        charts.Segment("Otrygg", 0.10),
    ]
    svg = charts.distribution_bar(segments, language="sv")
    assert "viewBox" not in svg  # text stays in CSS pixels whatever the width
    assert re.findall(r">([^<]*)</text>", svg) == [f"41{NBSP}%", f"49{NBSP}%"]  # 10 % is too narrow
    assert f'aria-label="Mycket trygg 41{NBSP}%; Ganska trygg 49{NBSP}%; Otrygg 10{NBSP}%"' in svg
    legend = charts.distribution_legend(segments, language="en")
    assert legend.count("<li>") == 3 and "Otrygg\u00a010%" in legend


def test_trend_chart_text_and_markers() -> None:
    points = [
        charts.TrendPoint("2024", 57.2, 50.0, 64.0),
        charts.TrendPoint("2025", None),
        charts.TrendPoint("2026", 51.0, 44.0, 58.0),
    ]
    marker = charts.Marker("2026", "Trygghetsvärdar i Hjällbo med en mycket lång beskrivning")
    svg = charts.trend_chart(points, [marker], title="Andel otrygga", language="sv")
    assert 'viewBox="0 0 400 250"' in svg and 'font-size="16"' in svg
    texts = re.findall(r">([^<]*)</text>", svg)
    assert f"100{NBSP}%" in texts and f"57{NBSP}%" in texts and "2025 (–)" in texts
    assert "<title>Trygghetsvärdar i Hjällbo med en mycket lång beskrivning</title>" in svg
    shortened = next(t for t in texts if "Trygghetsvärdar" in t)
    assert shortened.endswith("▼") and "…" in shortened
    assert "2025: –" in svg  # the accessible name says which period is suppressed
    index = charts.trend_chart(points, title="Trygghetsindex", language="sv", unit="index")
    assert "%" not in "".join(re.findall(r">([^<]*)</text>", index))


def test_many_periods_are_labelled_sparsely() -> None:
    points = [
        charts.TrendPoint(f"{y}-Q{q}", 50.0) for y in (2023, 2024, 2025) for q in (1, 2, 3, 4)
    ]
    svg = charts.trend_chart(points, title="t", language="en")
    periods = [t for t in re.findall(r">([^<]*)</text>", svg) if "-Q" in t]
    assert periods[-1] == "2025-Q4" and 2 <= len(periods) < len(points)
