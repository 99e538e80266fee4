"""Inline SVG charts for the routekaart report: trend lines, the gap with its 2047 path, wijken ranked.

Standard library only. Every chart is a self-contained <svg> with a viewBox (it scales to the page), role="img",
a <title> and a <desc>, and real text for its labels. A missing value is never drawn: the line breaks there.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from html import escape

from .data import HEERLEN, NEDERLAND, NOORD, ZUID

# Okabe-Ito: distinguishable with the common colour-vision deficiencies; markers differ too, so colour is
# never the only cue. Noord is the emphasised series everywhere on the page.
COLOURS = {NOORD: "#D55E00", ZUID: "#0072B2", HEERLEN: "#009E73", NEDERLAND: "#000000"}
MARKERS = {NOORD: "circle", ZUID: "square", HEERLEN: "triangle", NEDERLAND: "diamond"}
SHORT = {NOORD: "N", ZUID: "Z"}  # beside each wijk's name, so the bar's area is in the text, not only in its colour
GRID, AXIS, MUTED = "#d9d9d9", "#595959", "#595959"

W = 560  # viewBox width of every chart; the page scales it to the column (and to a phone's width)
FONT = 13


def nl_number(value: float | None, decimals: int = 0, signed: bool = False) -> str:
    """Dutch notation: decimal comma, thousands with a dot, a real minus sign ('−2,6', '86.832')."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "–"
    text = f"{abs(value):,.{decimals}f}".replace(",", "\0").replace(".", ",").replace("\0", ".")
    if text.strip("0,.") == "":  # rounds to zero: no sign
        return text
    if value < 0:
        return "−" + text
    return ("+" + text) if signed else text


def nice_ticks(lo: float, hi: float, count: int = 5) -> list[float]:
    """Round tick values covering [lo, hi] (1, 2, 2.5 or 5 times a power of ten apart)."""
    if hi < lo:
        lo, hi = hi, lo
    if hi == lo:
        pad = abs(hi) * 0.1 or 1.0
        lo, hi = lo - pad, hi + pad
    raw = (hi - lo) / max(count - 1, 1)
    mag = 10 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    start = math.floor(lo / step + 1e-9) * step
    ticks, t = [], start
    while t < hi + step * 0.999:
        ticks.append(round(t, 10))
        t += step
    return ticks


def _decimals_of(ticks: Sequence[float]) -> int:
    for d in range(4):
        if all(abs(round(t, d) - t) < 1e-9 for t in ticks):
            return d
    return 4


@dataclass
class Scale:
    d0: float
    d1: float
    r0: float
    r1: float

    def __call__(self, v: float) -> float:
        if self.d1 == self.d0:
            return (self.r0 + self.r1) / 2
        return self.r0 + (v - self.d0) / (self.d1 - self.d0) * (self.r1 - self.r0)


@dataclass
class Series:
    """One area's values on the chart's years; None = no value (missing, suppressed or not published)."""

    key: str
    label: str
    values: dict[int, float | None]
    intervals: dict[int, tuple[float, float]] = field(default_factory=dict)

    @property
    def colour(self) -> str:
        return COLOURS.get(self.key, "#555555")


@dataclass
class Bar:
    key: str
    label: str
    group: str  # NOORD or ZUID
    value: float
    interval: tuple[float, float] | None = None


def _f(x: float) -> str:
    return f"{x:.1f}"


def _open(chart_id: str, height: float, title: str, desc: str, kind: str) -> list[str]:
    return [f'<svg class="chart chart-{kind}" id="{chart_id}" viewBox="0 0 {W} {_f(height)}" role="img" '
            f'aria-labelledby="{chart_id}-title" aria-describedby="{chart_id}-desc" '
            f'preserveAspectRatio="xMidYMid meet" xmlns="http://www.w3.org/2000/svg" font-size="{FONT}">',
            f'<title id="{chart_id}-title">{escape(title)}</title>',
            f'<desc id="{chart_id}-desc">{escape(desc)}</desc>']


def marker(shape: str, x: float, y: float, colour: str, size: float = 4.5, attrs: str = "", tip: str = "") -> str:
    tip_el = f"<title>{escape(tip)}</title>" if tip else ""
    s = size
    if shape == "circle":
        el = f'<circle cx="{_f(x)}" cy="{_f(y)}" r="{_f(s)}" fill="{colour}"{attrs}>{tip_el}</circle>'
    elif shape == "square":
        el = (f'<rect x="{_f(x - s)}" y="{_f(y - s)}" width="{_f(2 * s)}" height="{_f(2 * s)}" fill="{colour}"{attrs}>'
              f"{tip_el}</rect>")
    elif shape == "triangle":
        pts = f"{_f(x)},{_f(y - s * 1.2)} {_f(x + s * 1.1)},{_f(y + s * 0.8)} {_f(x - s * 1.1)},{_f(y + s * 0.8)}"
        el = f'<polygon points="{pts}" fill="{colour}"{attrs}>{tip_el}</polygon>'
    else:  # diamond
        pts = f"{_f(x)},{_f(y - s * 1.3)} {_f(x + s * 1.3)},{_f(y)} {_f(x)},{_f(y + s * 1.3)} {_f(x - s * 1.3)},{_f(y)}"
        el = f'<polygon points="{pts}" fill="{colour}"{attrs}>{tip_el}</polygon>'
    return el


def _legend(series: Sequence[Series], y: float, x0: float = 8) -> list[str]:
    out, x = ['<g class="legend">'], x0
    for s in series:
        width = 3.5 if s.key == NOORD else 2
        out.append(f'<line x1="{_f(x)}" y1="{_f(y)}" x2="{_f(x + 22)}" y2="{_f(y)}" stroke="{s.colour}" '
                   f'stroke-width="{width}"/>')
        out.append(marker(MARKERS.get(s.key, "circle"), x + 11, y, s.colour, 4))
        weight = ' font-weight="700"' if s.key == NOORD else ""
        out.append(f'<text x="{_f(x + 27)}" y="{_f(y + 4.5)}"{weight}>{escape(s.label)}</text>')
        x += 40 + len(s.label) * (7.9 if s.key == NOORD else 7.4)
    out.append("</g>")
    return out


def _year_ticks(lo: int, hi: int, must: Sequence[int] = ()) -> list[int]:
    """Year labels that do not crowd: every year when few, else every 2nd/5th/10th, plus the `must` years
    (baseline, parity year) with the regular ticks next to them left out."""
    step = next(s for s in (1, 2, 5, 10, 20) if (hi - lo) / s <= 8)
    ticks = set(range(lo, hi + 1)) if step == 1 else {y for y in range(lo, hi + 1) if y % step == 0}
    keep = set(must) | ({lo} if step == 1 or not ticks else set())
    near = max(step * 0.6, 1)
    return sorted({t for t in ticks if all(abs(t - m) >= near for m in keep)} | keep)


def _y_axis(ys: Scale, ticks: Sequence[float], left: float, right: float) -> list[str]:
    d = _decimals_of(ticks)
    out = ['<g class="y-axis">']
    for t in ticks:
        y = ys(t)
        out.append(f'<line x1="{_f(left)}" y1="{_f(y)}" x2="{_f(right)}" y2="{_f(y)}" stroke="{GRID}" stroke-width="1"/>')
        out.append(f'<text x="{_f(left - 6)}" y="{_f(y + 4.5)}" text-anchor="end" fill="{MUTED}">{nl_number(t, d)}</text>')
    out.append("</g>")
    return out


def _x_axis(xs: Scale, ticks: Sequence[int], y: float) -> list[str]:
    out = ['<g class="x-axis">']
    for t in ticks:
        out.append(f'<line x1="{_f(xs(t))}" y1="{_f(y)}" x2="{_f(xs(t))}" y2="{_f(y + 4)}" stroke="{AXIS}"/>')
        out.append(f'<text x="{_f(xs(t))}" y="{_f(y + 18)}" text-anchor="middle" fill="{MUTED}">{t}</text>')
    out.append("</g>")
    return out


def _unit_label(unit: str, top: float) -> str:
    return f'<text class="unit" x="6" y="{_f(top - 14)}" fill="{MUTED}" font-size="12">{escape(unit)}</text>'


def _runs(years: Sequence[int], values: dict[int, float | None]) -> list[list[int]]:
    """Consecutive chart years that all have a value; a year without one ends the run (the line breaks)."""
    runs: list[list[int]] = [[]]
    for y in years:
        if values.get(y) is None:
            if runs[-1]:
                runs.append([])
        else:
            runs[-1].append(y)
    return [r for r in runs if r]


def _path(xs: Scale, ys: Scale, run: Sequence[int], values: dict[int, float | None]) -> str:
    return "M" + " L".join(f"{_f(xs(y))},{_f(ys(values[y]))}" for y in run)


def line_chart(chart_id: str, title: str, desc: str, years: Sequence[int], series: Sequence[Series],
               fmt: Callable[[float], str], unit: str, breaks: Sequence[int] = (), markers: Sequence[Marker] = ()) -> str:
    """Levels per area over the years. Lines join consecutive chart years only; every value has a marker. The
    time axis also reaches the `markers` (interventions), without adding years to the lines."""
    h, left, right, top, bottom = 300.0, 58.0, W - 18.0, 56.0, 260.0
    values = [v for s in series for v in s.values.values() if v is not None]
    values += [b for s in series for iv in s.intervals.values() for b in iv]
    ticks = nice_ticks(min(values), max(values))
    lo, hi = min([*years, *(m.year for m in markers)]), max([*years, *(m.year for m in markers)])
    xs = Scale(lo, hi, left + 14, right - 14)
    ys = Scale(ticks[0], ticks[-1], bottom, top)
    out = _open(chart_id, h, title, desc, "trend")
    out += _legend(series, 14)
    out.append(_unit_label(unit, top))
    out += _y_axis(ys, ticks, left, right)
    out += _x_axis(xs, _year_ticks(lo, hi), bottom)
    out += _markers(xs, markers, top, bottom)
    for b in breaks:
        if min(years) <= b <= max(years):
            x = xs(b - 0.5) if b - 0.5 >= min(years) else xs(b)
            out.append(f'<line class="series-break" x1="{_f(x)}" y1="{_f(top)}" x2="{_f(x)}" y2="{_f(bottom)}" '
                       f'stroke="{AXIS}" stroke-dasharray="2 3"><title>Trendbreuk vanaf {b}</title></line>')
    # Nederland first, Noord last: the emphasised line is drawn on top.
    for s in sorted(series, key=lambda s: s.key == NOORD):
        width = 3.5 if s.key == NOORD else 2
        out.append(f'<g class="series" data-area="{escape(s.key)}">')
        for y, (lo, hi) in s.intervals.items():
            if s.values.get(y) is not None:
                out.append(f'<line class="interval" x1="{_f(xs(y))}" y1="{_f(ys(lo))}" x2="{_f(xs(y))}" y2="{_f(ys(hi))}" '
                           f'stroke="{s.colour}" stroke-width="1.5" opacity="0.6"/>')
        for run in _runs(years, s.values):
            if len(run) > 1:
                out.append(f'<path class="line" d="{_path(xs, ys, run, s.values)}" fill="none" stroke="{s.colour}" '
                           f'stroke-width="{width}" stroke-linejoin="round" stroke-linecap="round"/>')
        for y in years:
            v = s.values.get(y)
            if v is not None:
                attrs = f' class="point" data-area="{escape(s.key)}" data-year="{y}" data-value="{v!r}"'
                out.append(marker(MARKERS.get(s.key, "circle"), xs(y), ys(v), s.colour, 5 if s.key == NOORD else 4,
                                  attrs, f"{s.label} {y}: {fmt(v)}"))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


@dataclass
class GapLine:
    """One target's gap per year (None = no gap that year) and its baseline (year, gap) for the 2047 path."""

    key: str  # the target area (NEDERLAND, ZUID): its colour and marker
    label: str
    values: dict[int, float | None]
    baseline: tuple[int, float] | None


@dataclass
class Marker:
    """A dated event on a chart's time axis (an intervention of the routekaart)."""

    year: int
    label: str


def _markers(xs: Scale, markers: Sequence[Marker], top: float, bottom: float) -> list[str]:
    out = []
    middle = (xs.r0 + xs.r1) / 2
    for i, m in enumerate(markers):
        x = xs(m.year)
        # The label on the side with room: right of a marker in the chart's left half, left of it otherwise.
        tx, anchor = (x + 3, "start") if x < middle else (x - 3, "end")
        out.append(f'<g class="marker" data-year="{m.year}"><line x1="{_f(x)}" y1="{_f(top - 4)}" x2="{_f(x)}" '
                   f'y2="{_f(bottom)}" stroke="{AXIS}" stroke-width="1.2" stroke-dasharray="1 3"/>'
                   f'<text x="{_f(tx)}" y="{_f(top + 10 + 13 * i)}" text-anchor="{anchor}" fill="{MUTED}" '
                   f'font-size="11">{escape(m.label)}</text><title>{escape(m.label)}</title></g>')
    return out


def gap_chart(chart_id: str, title: str, desc: str, lines: Sequence[GapLine], parity_year: int,
              fmt: Callable[[float], str], unit: str, markers: Sequence[Marker] = ()) -> str:
    """Noord's gap to each target per year, and the straight path from each baseline gap to zero in the parity
    year (dashed, in the target's colour). Zero is parity."""
    h, left, right, top, bottom = 300.0, 58.0, W - 18.0, 56.0, 260.0
    shown = [v for ln in lines for v in ln.values.values() if v is not None]
    shown += [ln.baseline[1] for ln in lines if ln.baseline]
    ticks = nice_ticks(min([0.0, *shown]), max([0.0, *shown]))
    first = min([y for ln in lines for y in ln.values] + [ln.baseline[0] for ln in lines if ln.baseline]
                + [m.year for m in markers])
    xs = Scale(first, parity_year, left + 14, right - 14)
    ys = Scale(ticks[0], ticks[-1], bottom, top)
    out = _open(chart_id, h, title, desc, "gap")
    out.append('<g class="legend">')
    x = 8.0
    for ln in lines:
        colour = COLOURS.get(ln.key, AXIS)
        out.append(f'<line x1="{_f(x)}" y1="14" x2="{_f(x + 22)}" y2="14" stroke="{colour}" stroke-width="3"/>')
        out.append(marker(MARKERS.get(ln.key, "circle"), x + 11, 14, colour, 4))
        out.append(f'<text x="{_f(x + 27)}" y="18.5">{escape(ln.label)}</text>')
        x += 40 + len(ln.label) * 7.2
    out.append(f'<line x1="{_f(x)}" y1="14" x2="{_f(x + 22)}" y2="14" stroke="{AXIS}" stroke-width="2" '
               'stroke-dasharray="6 4"/>')
    out.append(f'<text x="{_f(x + 27)}" y="18.5">pad naar 0 in {parity_year}</text>')
    out.append("</g>")
    out.append(_unit_label(unit, top))
    out += _y_axis(ys, ticks, left, right)
    must = [parity_year]
    for year in sorted(ln.baseline[0] for ln in lines if ln.baseline):  # baselines, unless labels would touch
        if all(abs(year - m) >= 3 for m in must):
            must.append(year)
    out += _x_axis(xs, _year_ticks(first, parity_year, sorted(must)), bottom)
    out.append(f'<line class="parity" x1="{_f(left)}" y1="{_f(ys(0))}" x2="{_f(right)}" y2="{_f(ys(0))}" '
               f'stroke="{AXIS}" stroke-width="1.5"/>')
    label_y = ys(0) + 15 if ys(0) - top < 16 else ys(0) - 5
    out.append(f'<text x="{_f(left + 4)}" y="{_f(label_y)}" fill="{MUTED}" font-size="12">geen kloof</text>')
    out += _markers(xs, markers, top, bottom)
    for ln in lines:
        colour = COLOURS.get(ln.key, AXIS)
        out.append(f'<g class="gap-line" data-target="{escape(ln.key)}">')
        if ln.baseline:
            by, bg = ln.baseline
            out.append(f'<path class="trajectory" d="M{_f(xs(by))},{_f(ys(bg))} L{_f(xs(parity_year))},{_f(ys(0))}" '
                       f'fill="none" stroke="{colour}" stroke-width="2" stroke-dasharray="6 4"/>')
        years = sorted(ln.values)
        for run in _runs(years, ln.values):
            if len(run) > 1:
                out.append(f'<path class="line" d="{_path(xs, ys, run, ln.values)}" fill="none" stroke="{colour}" '
                           'stroke-width="3"/>')
        for y in years:
            v = ln.values[y]
            if v is not None:
                attrs = f' class="point" data-area="gap-{escape(ln.key)}" data-year="{y}" data-value="{v!r}"'
                out.append(marker(MARKERS.get(ln.key, "circle"), xs(y), ys(v), colour, 5, attrs,
                                  f"{ln.label} {y}: {fmt(v)}"))
        out.append("</g>")
    out.append("</svg>")
    return "\n".join(out)


def bar_chart(chart_id: str, title: str, desc: str, bars: Sequence[Bar], refs: Sequence[tuple[str, str, float]],
              fmt: Callable[[float], str], unit: str, group_labels: dict[str, str]) -> str:
    """Wijken ranked, one horizontal bar each, coloured (and named) by programme area; reference lines for
    Heerlen and Nederland. `refs` is (area key, label, value)."""
    row, label_w, top = 21.0, 250.0, 50.0
    left, right = label_w, W - 56.0
    bottom = top + row * len(bars)
    h = bottom + 34
    lows = [b.interval[0] for b in bars if b.interval] + [b.value for b in bars] + [v for _k, _l, v in refs]
    highs = [b.interval[1] for b in bars if b.interval] + [b.value for b in bars] + [v for _k, _l, v in refs]
    ticks = nice_ticks(min(0.0, *lows), max(0.0, *highs), 5)
    xs = Scale(ticks[0], ticks[-1], left, right)
    out = _open(chart_id, h, title, desc, "wijken")
    out.append('<g class="legend">')
    x = 8.0
    for key in (NOORD, ZUID):
        out.append(f'<rect x="{_f(x)}" y="6" width="14" height="14" fill="{COLOURS[key]}"/>')
        out.append(f'<text x="{_f(x + 19)}" y="18">{escape(group_labels[key])}</text>')
        x += 40 + len(group_labels[key]) * 7.2
    for key, label, _v in refs:
        out.append(f'<line x1="{_f(x)}" y1="13" x2="{_f(x + 18)}" y2="13" stroke="{COLOURS.get(key, AXIS)}" '
                   'stroke-width="2" stroke-dasharray="4 3"/>')
        out.append(f'<text x="{_f(x + 23)}" y="18">{escape(label)}</text>')
        x += 36 + len(label) * 7.2
    out.append("</g>")
    out.append(f'<text x="{_f(left)}" y="{_f(top - 8)}" fill="{MUTED}" font-size="12">{escape(unit)}</text>')
    d = _decimals_of(ticks)
    for t in ticks:
        out.append(f'<line x1="{_f(xs(t))}" y1="{_f(top)}" x2="{_f(xs(t))}" y2="{_f(bottom)}" stroke="{GRID}"/>')
        out.append(f'<text x="{_f(xs(t))}" y="{_f(bottom + 18)}" text-anchor="middle" fill="{MUTED}">{nl_number(t, d)}</text>')
    for i, b in enumerate(bars):
        y = top + i * row
        x0, x1 = sorted((xs(0), xs(b.value)))
        colour = COLOURS[b.group]
        tip = f"{b.label} ({group_labels[b.group]}): {fmt(b.value)}"
        out.append(f'<g class="bar" data-area="{escape(b.key)}" data-group="{escape(b.group)}">')
        out.append(f'<text x="{_f(left - 6)}" y="{_f(y + row / 2 + 4.5)}" text-anchor="end">{escape(b.label)} '
                   f'<tspan fill="{colour}" font-weight="700">{SHORT[b.group]}</tspan></text>')
        out.append(f'<rect x="{_f(x0)}" y="{_f(y + 3)}" width="{_f(max(x1 - x0, 0.5))}" height="{_f(row - 6)}" '
                   f'fill="{colour}" data-value="{b.value!r}"><title>{escape(tip)}</title></rect>')
        out.append("</g>")
    # Reference lines over the bars (which wijken lie above Nederland?), numbers on white patches over the lines.
    for key, label, v in refs:
        out.append(f'<line class="reference" x1="{_f(xs(v))}" y1="{_f(top - 2)}" x2="{_f(xs(v))}" y2="{_f(bottom)}" '
                   f'stroke="{COLOURS.get(key, AXIS)}" stroke-width="2" stroke-dasharray="4 3">'
                   f'<title>{escape(label)}: {escape(fmt(v))}</title></line>')
    for i, b in enumerate(bars):
        y, cy = top + i * row, top + i * row + row / 2
        end = max(xs(0), xs(b.value))
        if b.interval:
            lo, hi = (xs(v) for v in b.interval)
            whisker = f"M{_f(lo)},{_f(cy)} L{_f(hi)},{_f(cy)} " + " ".join(
                f"M{_f(x)},{_f(cy - 4)} L{_f(x)},{_f(cy + 4)}" for x in (lo, hi))
            out.append(f'<path class="interval" data-area="{escape(b.key)}" d="{whisker}" stroke="#000" stroke-width="1.2"/>')
            end = max(end, hi)
        label = fmt(b.value)
        out.append(f'<rect x="{_f(end + 2)}" y="{_f(y + 3)}" width="{_f(len(label) * 7 + 4)}" height="{_f(row - 6)}" '
                   'fill="#fff"/>')
        out.append(f'<text class="value" data-area="{escape(b.key)}" x="{_f(end + 4)}" y="{_f(cy + 4.5)}" '
                   f'font-size="12">{escape(label)}</text>')
    out.append("</svg>")
    return "\n".join(out)


def empty_chart(chart_id: str, title: str, desc: str, message: str) -> str:
    out = _open(chart_id, 120, title, desc, "empty")
    out.append(f'<rect x="1" y="1" width="{W - 2}" height="118" fill="#f7f7f7" stroke="{GRID}"/>')
    out.append(f'<text x="{W / 2}" y="65" text-anchor="middle" fill="{MUTED}">{escape(message)}</text>')
    out.append("</svg>")
    return "\n".join(out)
