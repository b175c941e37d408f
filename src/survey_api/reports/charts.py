"""Small server-side SVG charts for the printable results page.

Pure functions returning SVG markup: no JavaScript, no external fonts, readable in print.
Every value is also written as text beside its mark, so nothing is told by colour alone.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

# A sequential palette from favourable (dark) to unfavourable (light), AA-contrast against
# the white labels placed inside the wider segments.
PALETTE = ("#1b4f72", "#2e86c1", "#5dade2", "#a9cce3", "#d6eaf8", "#eeeeee", "#dddddd")
NON_SUBSTANTIVE = "#bbbbbb"


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


@dataclass(frozen=True)
class Marker:
    period: str  # the first period at or after the intervention's start
    label: str


def distribution_bar(segments: Sequence[Segment], *, width: int = 560, height: int = 28) -> str:
    """A 100 % stacked bar with each segment's share printed in or under it."""
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height + 18}" '
        f'width="100%" role="img" aria-label="{escape(_describe(segments))}">'
    ]
    x = 0.0
    colour_index = 0
    for segment in segments:
        w = segment.share * width
        if segment.substantive:
            colour = PALETTE[min(colour_index, len(PALETTE) - 1)]
            colour_index += 1
        else:
            colour = NON_SUBSTANTIVE
        parts.append(
            f'<rect x="{x:.1f}" y="0" width="{w:.1f}" height="{height}" fill="{colour}" '
            f'stroke="#ffffff" stroke-width="1"><title>{escape(segment.label)}: '
            f"{segment.share:.0%}</title></rect>"
        )
        if w >= 34:
            text_colour = "#ffffff" if colour_index <= 2 and segment.substantive else "#111111"
            parts.append(
                f'<text x="{x + w / 2:.1f}" y="{height / 2 + 5:.1f}" text-anchor="middle" '
                f'font-size="13" fill="{text_colour}">{segment.share:.0%}</text>'
            )
        x += w
    parts.append("</svg>")
    return "".join(parts)


def _describe(segments: Sequence[Segment]) -> str:
    return "; ".join(f"{s.label} {s.share:.0%}" for s in segments)


def trend_chart(
    points: Sequence[TrendPoint],
    markers: Sequence[Marker] = (),
    *,
    title: str,
    width: int = 560,
    height: int = 220,
    unit: str = "%",
) -> str:
    """A line with its 95 % interval band over periods, and intervention start markers."""
    left, right, top, bottom = 44, 16, 12, 34
    plot_w, plot_h = width - left - right, height - top - bottom
    n = len(points)

    def x_of(i: int) -> float:
        return left + (plot_w * (i + 0.5) / n if n else 0)

    def y_of(v: float) -> float:
        return top + plot_h * (1 - max(0.0, min(100.0, v)) / 100)

    known = [(i, p) for i, p in enumerate(points) if p.value is not None]
    described = ", ".join(
        f"{p.period}: {'—' if p.value is None else f'{p.value:.0f}{unit}'}" for p in points
    )
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" width="100%" '
        f'role="img" aria-label="{escape(title)}: {escape(described)}">'
    ]
    for tick in (0, 25, 50, 75, 100):
        y = y_of(tick)
        out.append(
            f'<line x1="{left}" x2="{width - right}" y1="{y:.1f}" y2="{y:.1f}" '
            'stroke="#dddddd" stroke-width="1"/>'
            f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end" font-size="11" '
            f'fill="#333333">{tick}</text>'
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
        out.append(
            f'<circle cx="{x_of(i):.1f}" cy="{y_of(p.value or 0):.1f}" r="4" fill="#1b4f72"/>'
            f'<text x="{x_of(i):.1f}" y="{y_of(p.value or 0) - 9:.1f}" text-anchor="middle" '
            f'font-size="12" fill="#111111">{p.value:.0f}</text>'
        )
    periods = [p.period for p in points]
    for marker in markers:
        if marker.period in periods:
            mx = x_of(periods.index(marker.period)) - plot_w / (2 * n)
            out.append(
                f'<line x1="{mx:.1f}" x2="{mx:.1f}" y1="{top}" y2="{top + plot_h}" '
                'stroke="#7b241c" stroke-width="1.5" stroke-dasharray="5 3"/>'
                f'<text x="{mx + 4:.1f}" y="{top + 12}" font-size="11" fill="#7b241c">'
                f"▼ {escape(marker.label)}</text>"
            )
    for i, p in enumerate(points):
        label = escape(p.period) + ("" if p.value is not None else " (—)")
        out.append(
            f'<text x="{x_of(i):.1f}" y="{height - 12}" text-anchor="middle" font-size="12" '
            f'fill="#111111">{label}</text>'
        )
    out.append("</svg>")
    return "".join(out)
