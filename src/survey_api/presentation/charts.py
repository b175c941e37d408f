"""Small server-side SVG charts: no JavaScript, no external fonts, readable on a phone and in print.

Pure functions returning SVG markup. Every value is also written as text beside its mark and in
the chart's accessible name, so nothing is told by colour alone. Text must stay readable (at
least 12 CSS px) from a 360 px phone to a desktop:

- the stacked bar has no viewBox: positions are percentages of its width and text is in CSS
  pixels, so the bar stretches and the text keeps its size;
- the trend chart scales with its viewBox, which is sized near the width it is shown at (the
  stylesheet caps it at 26rem), so 16-unit text renders at 13–17 px.
"""

import math
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape
from typing import Literal

from survey_api.presentation import formatting

# A sequential palette from the first option (dark) to the last (light), with steps far enough
# apart to tell neighbours apart. White text sits on the first two (contrast ≥ 5:1), dark text
# on the others (≥ 7:1).
PALETTE = ("#08306b", "#2171b5", "#6baed6", "#b9d6ee", "#e6f0fa", "#f4f4f4", "#dddddd")
WHITE_TEXT_ON = 2
NON_SUBSTANTIVE = "#bbbbbb"
TEXT = "#111111"
MUTED = "#444444"
# An estimate of a character's advance in system sans-serif fonts, as a share of the font size,
# used to decide whether a label fits (generous, since a clipped label is worse than a missing one).
CHAR_WIDTH = 0.6

Unit = Literal["percent", "index"]


@dataclass(frozen=True)
class Segment:
    label: str
    share: float  # 0..1
    substantive: bool = True


@dataclass(frozen=True)
class TrendPoint:
    period: str
    value: float | None  # 0..100 (a share in % or an index); None when suppressed
    low: float | None = None
    high: float | None = None
    # A footnote mark after the period (say a historical round's data source), and what a point
    # without a value says: "–" when suppressed, a page's own word when it is unavailable.
    mark: str = ""
    missing: str = "–"


@dataclass(frozen=True)
class Marker:
    period: str  # the first period at or after the intervention's start
    label: str


def segment_colours(segments: Sequence[Segment]) -> list[str]:
    """Each segment's fill, in order (the bar and its legend use the same)."""
    colours = []
    index = 0
    for segment in segments:
        if segment.substantive:
            colours.append(PALETTE[min(index, len(PALETTE) - 1)])
            index += 1
        else:
            colours.append(NON_SUBSTANTIVE)
    return colours


def distribution_bar(
    segments: Sequence[Segment], *, language: str, height: int = 32, font_size: int = 14
) -> str:
    """A 100 % stacked bar; a segment wide enough for its share has it printed inside."""
    pct = [formatting.percent(s.share, language) for s in segments]
    description = "; ".join(f"{s.label} {p}" for s, p in zip(segments, pct, strict=True))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
        f'class="bar" role="img" aria-label="{escape(description)}">'
    ]
    x = 0.0
    colours = segment_colours(segments)
    substantive_seen = 0
    for segment, colour, label in zip(segments, colours, pct, strict=True):
        w = segment.share * 100
        parts.append(
            f'<rect x="{x:.2f}%" y="0" width="{w:.2f}%" height="{height}" fill="{colour}" '
            f'stroke="#ffffff" stroke-width="1"><title>{escape(segment.label)}: {label}'
            "</title></rect>"
        )
        if segment.substantive:
            substantive_seen += 1
        # 12 % of a 328 px phone-wide bar is 39 px: room for "100 %" at 14 px.
        if segment.share >= 0.12:
            white = segment.substantive and substantive_seen <= WHITE_TEXT_ON
            parts.append(
                f'<text x="{x + w / 2:.2f}%" y="{height / 2 + font_size * 0.35:.1f}" '
                f'text-anchor="middle" font-size="{font_size}" '
                f'fill="{"#ffffff" if white else TEXT}">{label}</text>'
            )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def distribution_legend(segments: Sequence[Segment], *, language: str) -> str:
    """The bar's key as an HTML list: a swatch, the option's label and its share."""
    items = []
    for segment, colour in zip(segments, segment_colours(segments), strict=True):
        items.append(
            '<li><svg xmlns="http://www.w3.org/2000/svg" width="14" height="14" '
            f'aria-hidden="true" class="swatch"><rect width="14" height="14" fill="{colour}" '
            f'stroke="#767676" stroke-width="1"/></svg>{escape(segment.label)}'
            f"{formatting.NBSP}{formatting.percent(segment.share, language)}</li>"
        )
    return f'<ul class="legend">{"".join(items)}</ul>'


def _value_text(value: float, unit: Unit, language: str) -> str:
    if unit == "percent":
        return formatting.percent(value / 100, language)
    return formatting.number(value, language)


def _fit(text: str, room: float, font_size: float) -> str:
    """Shorten a label with an ellipsis so it fits in `room` units."""
    most = max(1, int(room / (font_size * CHAR_WIDTH)))
    return text if len(text) <= most else text[: max(1, most - 1)].rstrip() + "…"


def trend_chart(
    points: Sequence[TrendPoint],
    markers: Sequence[Marker] = (),
    *,
    title: str,
    language: str,
    unit: Unit = "percent",
    width: int = 400,
    height: int = 250,
    font_size: int = 16,
) -> str:
    """A line with its 95 % interval band over periods, and intervention start markers."""
    left, right, top, bottom = 60, 14, 30, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = max(len(points), 1)
    step_w = plot_w / n

    def x_of(i: int) -> float:
        return left + step_w * (i + 0.5)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, v)) / 100)

    # Label every k-th period (and always the latest) when all of them would collide.
    def axis_label(p: TrendPoint) -> str:
        return p.period + p.mark + ("" if p.value is not None else f" ({p.missing})")

    longest = max((len(axis_label(p)) for p in points), default=4) + 1
    every = max(1, math.ceil(longest * font_size * CHAR_WIDTH / step_w))
    labelled = {i for i in range(len(points)) if (len(points) - 1 - i) % every == 0}

    known = [(i, p) for i, p in enumerate(points) if p.value is not None]
    described = ", ".join(
        f"{p.period}{p.mark}: "
        f"{p.missing if p.value is None else _value_text(p.value, unit, language)}"
        for p in points
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'class="trend" role="img" aria-label="{escape(title)}: {escape(described)}" '
        f'font-size="{font_size}">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            f'stroke="{"#767676" if tick == 0 else "#dddddd"}" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + font_size * 0.35:.1f}" text-anchor="end" '
            f'fill="{MUTED}">{_value_text(tick, unit, language)}</text>'
        )
    band = [(i, p) for i, p in known if p.low is not None and p.high is not None]
    if len(band) >= 2:
        upper = " ".join(f"{x_of(i):.1f},{y_of(p.high or 0):.1f}" for i, p in band)
        lower = " ".join(f"{x_of(i):.1f},{y_of(p.low or 0):.1f}" for i, p in reversed(band))
        out.append(f'<polygon points="{upper} {lower}" fill="#aed6f1" fill-opacity="0.6"/>')
    for i, p in band:
        out.append(
            f'<line x1="{x_of(i):.1f}" x2="{x_of(i):.1f}" y1="{y_of(p.low or 0):.1f}" '
            f'y2="{y_of(p.high or 0):.1f}" stroke="#2e86c1" stroke-width="1.5"/>'
        )
    if len(known) >= 2:
        line = " ".join(f"{x_of(i):.1f},{y_of(p.value or 0):.1f}" for i, p in known)
        out.append(f'<polyline points="{line}" fill="none" stroke="#1b4f72" stroke-width="2.5"/>')
    for i, p in known:
        value = p.value or 0.0
        # Above the point, or below it when the point is near the top.
        y_text = y_of(value) - 9 if y_of(value) - 9 - font_size > top - 6 else y_of(value) + 22
        out.append(f'<circle cx="{x_of(i):.1f}" cy="{y_of(value):.1f}" r="4.5" fill="#1b4f72"/>')
        if i in labelled:
            out.append(
                f'<text x="{x_of(i):.1f}" y="{y_text:.1f}" text-anchor="middle" '
                f'font-weight="600" fill="{TEXT}" stroke="#ffffff" stroke-width="3" '
                f'paint-order="stroke">{_value_text(value, unit, language)}</text>'
            )
    periods = [p.period for p in points]
    for marker in markers:
        if marker.period not in periods:
            continue
        mx = x_of(periods.index(marker.period)) - step_w / 2
        # The label runs towards the side with more room, above the plot.
        if mx - left > width - right - mx:
            anchor, tx, room = "end", mx + 5, mx + 5 - 4
            text = _fit(marker.label, room - font_size, font_size) + " ▼"
        else:
            anchor, tx, room = "start", mx - 5, width - (mx - 5) - 4
            text = "▼ " + _fit(marker.label, room - font_size, font_size)
        out.append(
            f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top - 6}" y2="{top + plot_h}" '
            'stroke="#7b241c" stroke-width="1.5" stroke-dasharray="5 3"/>'
            f'<text x="{tx:.1f}" y="{top - 12}" text-anchor="{anchor}" fill="#7b241c">'
            f"<title>{escape(marker.label)}</title>{escape(text)}</text>"
        )
    for i, p in enumerate(points):
        if i not in labelled:
            continue
        label = escape(axis_label(p))
        out.append(
            f'<text x="{x_of(i):.1f}" y="{height - 10}" text-anchor="middle" fill="{TEXT}">'
            f"{label}</text>"
        )
    out.append("</svg>")
    return "".join(out)


def sparkline(
    values: Sequence[int | None], *, label: str, height: int = 36, bar: int = 6, gap: int = 2
) -> str:
    """Small bars, one per day, scaled to the largest; None (a hidden count) is a short grey
    tick that looks the same whatever the true count. `label` is the accessible name; the page
    gives the figures in words and a table beside it, so the bars are never the only source."""
    step = bar + gap
    width = max(step * len(values) - gap, bar)
    # Drawn at most 288 px wide, so it fits a 360 px phone; a long round's bars get narrower.
    shown_width = min(width, 288)
    top = max((v for v in values if v is not None), default=0) or 1
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" '
        f'width="{shown_width}" height="{height}" class="sparkline" role="img" '
        f'aria-label="{escape(label)}" preserveAspectRatio="none">',
        f'<line x1="0" x2="{width}" y1="{height - 0.5}" y2="{height - 0.5}" '
        'stroke="#767676" stroke-width="1"/>',
    ]
    for i, value in enumerate(values):
        x = i * step
        if value is None:
            out.append(
                f'<rect x="{x}" y="{height - 4}" width="{bar}" height="3" '
                f'fill="{NON_SUBSTANTIVE}"/>'
            )
        elif value > 0:
            h = max(2.0, (height - 2) * value / top)
            out.append(
                f'<rect x="{x}" y="{height - 1 - h:.1f}" width="{bar}" height="{h:.1f}" '
                'fill="#1b4f72"/>'
            )
    out.append("</svg>")
    return "".join(out)


@dataclass(frozen=True)
class IntervalRow:
    """One row of an interval chart: a figure on the chart's scale with its 95 % interval, or
    None when suppressed (then the row shows `suppressed_text` and no mark at all)."""

    label: str
    value: float | None
    low: float | None = None
    high: float | None = None
    # What a row without a value writes instead of the chart's `suppressed_text` (a figure
    # that is unavailable, not suppressed).
    missing: str | None = None


def interval_chart(
    rows: Sequence[IntervalRow],
    *,
    title: str,
    language: str,
    unit: Literal["percent", "index", "mean"] = "percent",
    top: float = 100.0,
    reference: IntervalRow | None = None,
    suppressed_text: str = "–",
    row_height: int = 46,
    font_size: int = 14,
) -> str:
    """Rows of a figure as a dot on its 95 % interval, on one scale from 0 to `top` (100 for
    shares in percent and indices), with an optional reference (say the organisation's total)
    drawn as a dashed vertical line. Like the stacked bar it has no viewBox: positions are
    percentages of its width and text is in CSS pixels, so it stretches from a phone to a
    desktop and its text keeps its size. Each row writes its label and figure as text above its
    mark; a suppressed row writes only `suppressed_text`, whatever its true n."""

    def pct(value: float) -> float:
        # 2–98 % of the width, so that a dot at either end is drawn whole.
        return 2 + 96 * max(0.0, min(top, value)) / top if top > 0 else 2.0

    def text_of(value: float) -> str:
        if unit == "percent":
            return formatting.percent(value / 100, language)
        if unit == "mean":
            return formatting.number(value, language, decimals=1)
        return formatting.number(value, language)

    header = font_size + 12
    axis = font_size + 14
    height = header + row_height * len(rows) + axis
    described = "; ".join(
        f"{r.label} {(r.missing or suppressed_text) if r.value is None else text_of(r.value)}"
        for r in rows
    )
    if reference is not None and reference.value is not None:
        described = f"{reference.label} {text_of(reference.value)}; {described}"
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="100%" height="{height}" '
        f'class="intervals" role="img" aria-label="{escape(title)}: {escape(described)}" '
        f'font-size="{font_size}">'
    ]
    # The narrowest width the chart is drawn at (a 360 px phone less the page's margins): labels
    # are shortened to fit it beside their figure, with the whole label in a tooltip.
    narrowest = 300
    for i, row in enumerate(rows):
        y = header + row_height * i
        figure = (row.missing or suppressed_text) if row.value is None else text_of(row.value)
        room = narrowest - len(figure) * font_size * CHAR_WIDTH - 12
        weight = "" if row.value is None else ' font-weight="600"'
        out.append(
            f'<text x="0" y="{y + font_size + 2}" fill="{TEXT}"><title>{escape(row.label)}'
            f"</title>{escape(_fit(row.label, room, font_size))}</text>"
            f'<text x="100%" y="{y + font_size + 2}" text-anchor="end" '
            f'fill="{MUTED if row.value is None else TEXT}"{weight}>{escape(figure)}</text>'
        )
        track = y + font_size + 14
        out.append(
            f'<line x1="2%" x2="98%" y1="{track}" y2="{track}" stroke="#dddddd" stroke-width="1"/>'
        )
        if row.value is None:
            continue
        if row.low is not None and row.high is not None:
            out.append(
                f'<line x1="{pct(row.low):.2f}%" x2="{pct(row.high):.2f}%" y1="{track}" '
                f'y2="{track}" stroke="#2171b5" stroke-width="6" stroke-linecap="butt"/>'
            )
        out.append(
            f'<circle cx="{pct(row.value):.2f}%" cy="{track}" r="6" fill="#08306b" '
            'stroke="#ffffff" stroke-width="1.5"/>'
        )
    if reference is not None and reference.value is not None:
        x = pct(reference.value)
        anchor = "start" if x < 50 else "end"
        shift = "4" if x < 50 else "-4"
        out.append(
            f'<line x1="{x:.2f}%" x2="{x:.2f}%" y1="{header - 4}" '
            f'y2="{header + row_height * len(rows)}" stroke="#7b241c" stroke-width="1.5" '
            'stroke-dasharray="5 3"/>'
            f'<text x="{x:.2f}%" dx="{shift}" y="{font_size}" text-anchor="{anchor}" '
            f'fill="#7b241c">{escape(reference.label)} {escape(text_of(reference.value))}'
            "</text>"
        )
    base = header + row_height * len(rows) + 4
    for tick, anchor in ((0.0, "start"), (top / 2, "middle"), (top, "end")):
        out.append(
            f'<line x1="{pct(tick):.2f}%" x2="{pct(tick):.2f}%" y1="{base - 4}" y2="{base + 2}" '
            f'stroke="#767676" stroke-width="1"/>'
            f'<text x="{pct(tick):.2f}%" y="{base + font_size + 4}" text-anchor="{anchor}" '
            f'fill="{MUTED}">{escape(text_of(tick))}</text>'
        )
    out.append("</svg>")
    return "".join(out)
