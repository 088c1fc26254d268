"""Charts drawn on the server as inline SVG: data in, markup out.

No script, no charting library, no ``style`` attribute: the console's Content-Security-Policy
allows neither inline scripts nor inline styles, so colours are presentation attributes
(``fill``, ``stroke``) and console.css only sets the type. Every chart is an ``<svg
role="img">`` named by its ``<title>`` and described by its ``<desc>`` (WAI-ARIA Graphics
Module; SVG Accessibility API Mappings); every mark has a ``<title>`` (its value, shown on
hover) and ``data-`` attributes naming its series and category, which tests read.

The functions know nothing of cases or notices: texts arrive translated, and every text is
escaped here. Same data, same markup: coordinates are rounded to two decimals and nothing
depends on the clock. Colours are Okabe and Ito's palette (Color Universal Design), which
people with the common colour-vision deficiencies tell apart; the tables beside each chart
carry the same numbers for those who cannot see it at all.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from html import escape

from markupsafe import Markup

__all__ = [
    "PALETTE",
    "Bar",
    "Category",
    "Series",
    "Slice",
    "Strip",
    "Swatch",
    "donut",
    "nice_ticks",
    "stacked_bars",
    "stacked_columns",
    "strip_plot",
]

# Okabe-Ito: blue, orange, bluish green, reddish purple, sky blue, vermillion, yellow, grey.
PALETTE = {
    "blue": "#0072b2",
    "orange": "#e69f00",
    "green": "#009e73",
    "purple": "#cc79a7",
    "sky": "#56b4e9",
    "vermillion": "#d55e00",
    "yellow": "#f0e442",
    "grey": "#999999",
}
INK = "#1d2733"
MUTED = "#5b6776"
GRID = "#d5dbe2"
FONT = 12
WIDTH = 480
_ID = re.compile(r"[a-z][a-z0-9-]{0,63}")


@dataclass(frozen=True, slots=True)
class Category:
    """A place on an axis: ``key`` for data attributes, ``label`` to show."""

    key: str
    label: str


@dataclass(frozen=True, slots=True)
class Series:
    """Stacked values, one per category, in one colour."""

    key: str
    label: str
    values: tuple[int, ...]
    colour: str


@dataclass(frozen=True, slots=True)
class Swatch:
    """A legend entry: ``key`` for data attributes, ``label`` to show, its colour."""

    key: str
    label: str
    colour: str


@dataclass(frozen=True, slots=True)
class Bar:
    """One horizontal bar made of parts (one per legend entry), left to right; ``note`` is
    shown after it (its total when empty)."""

    key: str
    label: str
    parts: tuple[int, ...]
    note: str = ""


@dataclass(frozen=True, slots=True)
class Strip:
    """One row of a strip plot: points (value, within its mark or not) and the marks (the
    deadlines) they are measured against."""

    key: str
    label: str
    marks: tuple[float, ...]
    points: tuple[tuple[float, bool], ...]


@dataclass(frozen=True, slots=True)
class Slice:
    key: str
    label: str
    value: int
    colour: str


# -- small pieces ---------------------------------------------------------------------------


def _e(text: object) -> str:
    return escape(str(text), quote=True)


def _n(x: float) -> str:
    """A coordinate: two decimals at most, no trailing zeros (deterministic text)."""
    text = f"{x:.2f}".rstrip("0").rstrip(".")
    return "0" if text == "-0" else text


def _count(n: float) -> str:
    return f"{round(n):,}"


def text_width(text: str, size: float = FONT) -> float:
    """A fair guess of the drawn width: wide (CJK, Hangul) characters are about one em,
    others a little over half."""
    wide = sum(unicodedata.east_asian_width(ch) in "WF" for ch in text)
    return wide * size + (len(text) - wide) * size * 0.6


def _clip(text: str, width: float, size: float = FONT) -> str:
    """``text`` shortened with an ellipsis to fit ``width``."""
    if text_width(text, size) <= width:
        return text
    while text and text_width(text + "…", size) > width:
        text = text[:-1]
    return text + "…"


def nice_ticks(top: float, count: int = 4, *, whole: bool = True) -> list[float]:
    """Tick values from 0 to ``top`` or just past it, about ``count`` steps of 1, 2, 2.5 or 5
    times a power of ten (whole numbers only when ``whole``); at least ``[0, 1]``."""
    if top <= 0:
        return [0, 1]
    raw = top / count
    power = 10 ** math.floor(math.log10(raw))
    steps = [m * power for m in (1, 2, 2.5, 5, 10)]
    if whole:
        steps = [max(1, round(step)) for step in steps if step >= 1 and step == int(step)] or [1]
    step = next((step for step in steps if step >= raw), steps[-1])
    ticks = [0.0]
    while ticks[-1] < top:
        ticks.append(round(ticks[-1] + step, 10))
    return ticks


def _text(x: float, y: float, text: str, **attrs: object) -> str:
    merged = {"font-size": FONT, "fill": INK, **{k.replace("_", "-"): v for k, v in attrs.items()}}
    rendered = "".join(f' {k}="{_e(v)}"' for k, v in merged.items())
    return f'<text x="{_n(x)}" y="{_n(y)}"{rendered}>{_e(text)}</text>'


def _legend(
    entries: Sequence[tuple[str, str]], x: float, y: float, width: float
) -> tuple[str, float]:
    """Swatches and labels in rows from (x, y); the markup and the height used."""
    if not entries:
        return "", 0.0
    parts = ['<g class="legend">']
    cx, cy, row = x, y, FONT + 8
    for label, colour in entries:
        span = 16 + text_width(label) + 18
        if cx > x and cx + span > x + width:
            cx, cy = x, cy + row
        parts.append(
            f'<rect x="{_n(cx)}" y="{_n(cy)}" width="12" height="12" rx="2" fill="{_e(colour)}"/>'
        )
        parts.append(_text(cx + 16, cy + 10, label))
        cx += span
    parts.append("</g>")
    return "".join(parts), cy - y + row


def _svg(chart_id: str, width: float, height: float, title: str, desc: str, body: str) -> Markup:
    if not _ID.fullmatch(chart_id):
        raise ValueError(f"a chart id is lowercase letters, digits and dashes: {chart_id!r}")
    return Markup(
        f'<svg xmlns="http://www.w3.org/2000/svg" class="chart" id="{chart_id}" '
        f'viewBox="0 0 {_n(width)} {_n(height)}" width="{_n(width)}" height="{_n(height)}" '
        f'role="img" aria-labelledby="{chart_id}-title {chart_id}-desc">'
        f'<title id="{chart_id}-title">{_e(title)}</title>'
        f'<desc id="{chart_id}-desc">{_e(desc)}</desc>{body}</svg>'
    )


def _mark_title(*parts: str) -> str:
    return f"<title>{_e(' · '.join(p for p in parts if p))}</title>"


# -- charts ---------------------------------------------------------------------------------


def stacked_columns(
    chart_id: str,
    *,
    title: str,
    desc: str,
    categories: Sequence[Category],
    series: Sequence[Series],
    value_label: str,
    category_label: str = "",
    width: float = WIDTH,
    height: float = 240,
) -> Markup:
    """Columns per category (days), the series stacked bottom to top in order. Category
    labels are thinned to about eight, always keeping the last (today)."""
    for s in series:
        if len(s.values) != len(categories):
            raise ValueError(f"series {s.key!r} has {len(s.values)} values for {len(categories)}")
    legend, legend_h = _legend([(s.label, s.colour) for s in series], 8, 6, width - 16)
    totals = [sum(s.values[i] for s in series) for i in range(len(categories))]
    ticks = nice_ticks(max(totals, default=0))
    left = 12 + max(text_width(_count(t)) for t in ticks)
    top, bottom = legend_h + 26, 40
    plot_w, plot_h = width - left - 10, height - top - bottom
    scale = plot_h / ticks[-1]
    base = top + plot_h
    out = [legend, _text(left, top - 8, value_label, fill=MUTED)]
    for t in ticks:
        y = base - t * scale
        out.append(
            f'<line x1="{_n(left)}" y1="{_n(y)}" x2="{_n(width - 10)}" y2="{_n(y)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(left - 6, y + 4, _count(t), text_anchor="end", fill=MUTED))
    slot = plot_w / max(1, len(categories))
    bar_w = max(1.0, slot * 0.72)
    every = max(1, math.ceil(len(categories) / 8))
    for i, cat in enumerate(categories):
        x = left + i * slot + (slot - bar_w) / 2
        y = base
        for s in series:
            value = s.values[i]
            if value <= 0:
                continue
            h = value * scale
            y -= h
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(bar_w)}" height="{_n(h)}" '
                f'fill="{_e(s.colour)}" data-series="{_e(s.key)}" '
                f'data-category="{_e(cat.key)}" data-value="{value}">'
                f"{_mark_title(cat.label, s.label, _count(value))}</rect>"
            )
        if (len(categories) - 1 - i) % every == 0:
            half = text_width(cat.label) / 2  # kept inside the chart at both ends
            centre = min(max(x + bar_w / 2, half + 2), width - half - 2)
            out.append(_text(centre, base + 16, cat.label, text_anchor="middle", fill=MUTED))
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(base)}" x2="{_n(width - 10)}" y2="{_n(base)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    if category_label:
        out.append(_text(width - 10, height - 6, category_label, text_anchor="end", fill=MUTED))
    return _svg(chart_id, width, height, title, desc, "".join(out))


def stacked_bars(
    chart_id: str,
    *,
    title: str,
    desc: str,
    bars: Sequence[Bar],
    legend: Sequence[Swatch],
    value_label: str,
    width: float = WIDTH,
) -> Markup:
    """Horizontal bars, one per row, each made of parts coloured as ``legend`` in order, with
    a note (or the total) after the bar."""
    for bar in bars:
        if len(bar.parts) != len(legend):
            raise ValueError(f"bar {bar.key!r} has {len(bar.parts)} parts for {len(legend)}")
    legend_svg, legend_h = _legend([(s.label, s.colour) for s in legend], 8, 6, width - 16)
    label_w = min(220.0, max((text_width(b.label) for b in bars), default=40.0)) + 14
    note_w = max((text_width(b.note or _count(sum(b.parts))) for b in bars), default=20.0) + 12
    ticks = nice_ticks(max((sum(b.parts) for b in bars), default=0))
    top, row, bottom = legend_h + 14, 30, 42
    height = top + row * max(1, len(bars)) + bottom
    left, plot_w = label_w, max(80.0, width - label_w - note_w - 10)
    scale = plot_w / ticks[-1]
    base = top + row * max(1, len(bars))
    out = [legend_svg]
    for t in ticks:
        x = left + t * scale
        out.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(base)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(_text(x, base + 16, _count(t), text_anchor="middle", fill=MUTED))
    for i, bar in enumerate(bars):
        y = top + i * row + 6
        shown = _clip(bar.label, label_w - 14)
        out.append(
            f'<text x="{_n(left - 8)}" y="{_n(y + 13)}" font-size="{FONT}" fill="{INK}" '
            f'text-anchor="end">{_e(shown)}{_mark_title(bar.label)}</text>'
        )
        x = left
        for part, value in zip(legend, bar.parts, strict=True):
            if value <= 0:
                continue
            w = value * scale
            out.append(
                f'<rect x="{_n(x)}" y="{_n(y)}" width="{_n(w)}" height="18" '
                f'fill="{_e(part.colour)}" data-series="{_e(part.key)}" '
                f'data-category="{_e(bar.key)}" data-value="{value}">'
                f"{_mark_title(bar.label, part.label, _count(value))}</rect>"
            )
            x += w
        out.append(_text(x + 6, y + 13, bar.note or _count(sum(bar.parts))))
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(top)}" x2="{_n(left)}" y2="{_n(base)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append(_text(left + plot_w, height - 6, value_label, text_anchor="end", fill=MUTED))
    return _svg(chart_id, width, height, title, desc, "".join(out))


def strip_plot(
    chart_id: str,
    *,
    title: str,
    desc: str,
    strips: Sequence[Strip],
    value_label: str,
    point_text: str,
    within: Swatch,
    beyond: Swatch,
    mark_label: str,
    width: float = WIDTH,
    stretch: float = 4.0,
) -> Markup:
    """Rows of points along one axis with a vertical mark (a deadline) in each row; points
    are coloured ``within`` or ``beyond`` their row's marks. The axis runs to the largest point
    or mark, but at most ``stretch`` times the largest mark: points past it sit at the edge
    as arrows. ``point_text`` formats a value (``"{value} h"``)."""
    marks = [m for s in strips for m in s.marks]
    values = [v for s in strips for v, _ in s.points]
    limit = max(marks, default=0) * stretch or max(values, default=1)
    ticks = nice_ticks(min(max([*values, *marks], default=1), limit), 5, whole=False)
    entries = [(within.label, within.colour), (beyond.label, beyond.colour), (mark_label, INK)]
    legend_svg, legend_h = _legend(entries, 8, 6, width - 16)
    label_w = min(200.0, max((text_width(s.label) for s in strips), default=40.0)) + 14
    top, row, bottom = legend_h + 14, 40, 42
    rows = max(1, len(strips))
    height = top + row * rows + bottom
    left, plot_w = label_w, width - label_w - 20
    scale = plot_w / ticks[-1]
    base = top + row * rows
    out = [legend_svg]
    for t in ticks:
        x = left + t * scale
        out.append(
            f'<line x1="{_n(x)}" y1="{_n(top)}" x2="{_n(x)}" y2="{_n(base)}" '
            f'stroke="{GRID}" stroke-width="1"/>'
        )
        out.append(
            _text(
                x, base + 16, _count(t) if t == int(t) else _n(t), text_anchor="middle", fill=MUTED
            )
        )
    for i, strip in enumerate(strips):
        mid = top + i * row + row / 2
        shown = _clip(strip.label, label_w - 14)
        out.append(
            f'<text x="{_n(left - 8)}" y="{_n(mid + 4)}" font-size="{FONT}" fill="{INK}" '
            f'text-anchor="end">{_e(shown)}{_mark_title(strip.label)}</text>'
        )
        for mark in sorted(set(strip.marks)):
            x = left + min(mark, ticks[-1]) * scale
            out.append(
                f'<line x1="{_n(x)}" y1="{_n(mid - 14)}" x2="{_n(x)}" y2="{_n(mid + 14)}" '
                f'stroke="{INK}" stroke-width="2" data-mark="{_n(mark)}">'
                f"{_mark_title(mark_label, point_text.format(value=_n(mark)))}</line>"
            )
        for j, (value, ok) in enumerate(strip.points):
            swatch = within if ok else beyond
            y = mid + ((j * 7) % 5 - 2) * 3  # a fixed jitter, so close points stay apart
            tip = _mark_title(swatch.label, point_text.format(value=_n(round(value, 1))))
            common = f'fill="{_e(swatch.colour)}" data-series="{_e(swatch.key)}"'
            if value > ticks[-1]:
                x = left + plot_w
                out.append(
                    f'<path d="M{_n(x - 8)} {_n(y - 5)}L{_n(x)} {_n(y)}L{_n(x - 8)} {_n(y + 5)}Z" '
                    f'{common} data-value="{_n(value)}">{tip}</path>'
                )
            else:
                out.append(
                    f'<circle cx="{_n(left + value * scale)}" cy="{_n(y)}" r="5" '
                    f'fill-opacity="0.8" {common} data-value="{_n(value)}">{tip}</circle>'
                )
    out.append(
        f'<line x1="{_n(left)}" y1="{_n(base)}" x2="{_n(left + plot_w)}" y2="{_n(base)}" '
        f'stroke="{INK}" stroke-width="1"/>'
    )
    out.append(_text(left + plot_w, height - 6, value_label, text_anchor="end", fill=MUTED))
    return _svg(chart_id, width, height, title, desc, "".join(out))


def _pct(part: int, whole: int) -> str:
    return f"{round(100 * part / whole)}%" if whole else "\u2013"


def donut(
    chart_id: str,
    *,
    title: str,
    desc: str,
    slices: Sequence[Slice],
    centre: str,
    centre_note: str = "",
    width: float = WIDTH,
) -> Markup:
    """A ring cut into ``slices`` clockwise from the top, ``centre`` written in the hole, and a
    legend with each slice's count and share."""
    cx, cy, r, ring = 100.0, 100.0, 70.0, 28.0
    total = sum(max(0, s.value) for s in slices)
    around = 2 * math.pi * r
    out = [
        f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="none" stroke="{GRID}" '
        f'stroke-width="{_n(ring)}"/>'
    ]
    done = 0
    for s in slices:
        if s.value <= 0 or not total:
            continue
        length = around * s.value / total
        out.append(
            f'<circle cx="{_n(cx)}" cy="{_n(cy)}" r="{_n(r)}" fill="none" '
            f'stroke="{_e(s.colour)}" stroke-width="{_n(ring)}" '
            f'stroke-dasharray="{_n(length)} {_n(around)}" '
            f'stroke-dashoffset="{_n(-around * done / total)}" '
            f'transform="rotate(-90 {_n(cx)} {_n(cy)})" '
            f'data-series="{_e(s.key)}" data-value="{s.value}">'
            f"{_mark_title(s.label, _count(s.value), _pct(s.value, total))}</circle>"
        )
        done += s.value
    out.append(_text(cx, cy + 6, centre, text_anchor="middle", font_size=22, font_weight="700"))
    if centre_note:
        out.append(
            _text(
                cx, cy + 24, _clip(centre_note, 2 * r - ring - 8), text_anchor="middle", fill=MUTED
            )
        )
    x, y = 2 * cx + 16, cy - 12 * len(slices) + 6
    for s in slices:
        out.append(
            f'<rect x="{_n(x)}" y="{_n(y)}" width="12" height="12" rx="2" fill="{_e(s.colour)}"/>'
        )
        out.append(_text(x + 18, y + 10, _clip(s.label, width - x - 90)))
        out.append(
            _text(
                width - 8,
                y + 10,
                f"{_count(s.value)} · {_pct(s.value, total)}",
                text_anchor="end",
                font_weight="600",
            )
        )
        y += 24
    return _svg(chart_id, width, 2 * cy, title, desc, "".join(out))
