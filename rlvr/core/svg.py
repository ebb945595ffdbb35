"""Small charts as inline SVG text, for the run reports: line charts (with optional 95% bands) and
stacked bars.

    chart = line_chart([Series("mean reward", steps, rewards)], title="reward", xlabel="step",
                       ylabel="reward", marker=(600, "after warm-up"))
    html = f"<figure>{chart}</figure>"

Why not matplotlib's SVG: the report must build where only the light dependencies are installed
(`rlvr report` on a laptop with a copied run folder), and a hand-drawn chart stays a few
kilobytes with readable structure: every drawn data element has class "data", so a test (or a
browser) can check that a chart holds something.

Every label is escaped here, whatever its source. Each series is thinned to at most
`MAX_POINTS` points (means over runs of consecutive points) and bars to `MAX_BARS`, so the size of
a chart is bounded whatever the length of the run. Non-finite values are gaps in a line.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

WIDTH = 640
"""Chart width in pixels (the viewBox; the page scales it down on narrow screens)."""
PLOT_HEIGHT = 220
_LEFT, _RIGHT, _TOP, _AXIS_BELOW = 62, 18, 34, 46
_LEGEND_ROW = 18
MAX_POINTS = 600
MAX_BARS = 150
_LARGEST = 1e12
PALETTE = ("#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e", "#8c564b", "#17becf", "#7f7f7f")


@dataclass
class Series:
    """One line of a line chart."""

    label: str
    xs: Sequence[float]
    ys: Sequence[float]
    faint: bool = False
    """Drawn thin and pale, without a legend entry (the raw values under a moving average)."""
    dots: bool = False
    """A dot at each point (few points, or points that a gap would otherwise hide)."""
    color: int | None = None
    """Palette index; default: the series' position."""
    band: tuple[Sequence[float], Sequence[float]] | None = None
    """(lows, highs) at the same xs: a shaded interval around the line (a 95% interval)."""


def line_chart(series: Sequence[Series], *, title: str, xlabel: str, ylabel: str,
               marker: tuple[float, str] | None = None, y_range: tuple[float, float] | None = None,
               log2_x: bool = False, x_ticks: Sequence[float] | None = None) -> str | None:
    """An SVG line chart; None when no series holds a finite point. `marker` = (x, label) draws a
    dashed vertical line; `log2_x` spaces x by log2 (for k of pass@k) and needs x > 0; `x_ticks`
    places the x ticks (rounds: whole numbers only) where there are at most 16."""
    drawn = []
    for index, line in enumerate(series):
        points = [(x, y) for x, y in zip(_floats(line.xs), _floats(line.ys), strict=False)
                  if math.isfinite(x) and (x > 0 or not log2_x)]
        points = _thin(points, MAX_POINTS)
        if any(math.isfinite(y) for _, y in points):
            drawn.append((line, index if line.color is None else line.color, points))
    if not drawn:
        return None
    bands = {index: _band(line) for index, (line, _, _) in enumerate(drawn)}
    xs = [x for _, _, points in drawn for x, _ in points]
    ys = [y for _, _, points in drawn for _, y in points if math.isfinite(y)]
    ys += [v for rows in bands.values() for _, low, high in rows for v in (low, high)]
    if marker is not None and math.isfinite(marker[0]) and (marker[0] > 0 or not log2_x):
        xs.append(marker[0])
    x_scale = _Scale(min(xs), max(xs), log2_x)
    y_scale = _Scale(*(y_range or (min(ys), max(ys))))
    legend = [(line.label, color, "line") for line, color, _ in drawn if not line.faint]
    parts, legend_rows = _frame(x_scale, y_scale, title, xlabel, ylabel, legend,
                                ticks_at=list(x_ticks) if x_ticks is not None else sorted(set(xs)) if log2_x else None)
    for index, (line, color, points) in enumerate(drawn):
        parts.extend(_polygon(bands[index], x_scale, y_scale, _color(color)))
        parts.extend(_line(points, x_scale, y_scale, _color(color), line))
    parts.extend(_marker(marker, x_scale))
    return _svg(title, parts, legend_rows)


def stacked_bars(xs: Sequence[float], layers: Mapping[str, Sequence[float]], *, title: str, xlabel: str,
                 ylabel: str, marker: tuple[float, str] | None = None) -> str | None:
    """Bars at `xs`, each split into `layers` (label -> values, bottom first; non-finite or
    negative counts as 0); None when nothing is above zero. Over `MAX_BARS` bars, runs of
    consecutive bars are averaged into one."""
    columns = [[_nonnegative(v) for v in _floats(values)] for values in layers.values()]
    rows = _thin([(x, *values) for x, *values in zip(_floats(xs), *columns, strict=False) if math.isfinite(x)], MAX_BARS)
    labels = [label for index, label in enumerate(layers) if any(row[index + 1] > 0 for row in rows)]
    if not labels:
        return None
    keep = [index for index, label in enumerate(layers) if label in labels]
    totals = [sum(row[i + 1] for i in keep) for row in rows]
    centres = [row[0] for row in rows]
    spacing = min((b - a for a, b in zip(centres, centres[1:], strict=False) if b > a), default=1.0)
    low, high = min(centres) - spacing / 2, max(centres) + spacing / 2
    if marker is not None and math.isfinite(marker[0]):
        low, high = min(low, marker[0]), max(high, marker[0])
    x_scale, y_scale = _Scale(low, high, pad=False), _Scale(0.0, max(totals), from_zero=True)
    legend = [(label, index, "box") for index, label in enumerate(layers) if label in labels]
    parts, legend_rows = _frame(x_scale, y_scale, title, xlabel, ylabel, legend)
    names = list(layers)
    width = max(0.5, abs(x_scale.px(spacing) - x_scale.px(0.0)) * 0.8)
    for row in rows:
        bottom = 0.0
        for index in keep:
            value = row[index + 1]
            if value > 0:
                top_px, bottom_px = y_scale.py(bottom + value), y_scale.py(bottom)
                parts.append(f'<rect class="data" x="{x_scale.px(row[0]) - width / 2:.1f}" y="{top_px:.1f}" '
                             f'width="{width:.1f}" height="{max(0.3, bottom_px - top_px):.1f}" '
                             f'fill="{_color(index)}"><title>{_escape(names[index])}: '
                             f'{value:.3g}</title></rect>')
            bottom += value
    parts.extend(_marker(marker, x_scale))
    return _svg(title, parts, legend_rows)


# ---- scales and frame --------------------------------------------------------------------------
class _Scale:
    """Data -> pixels along one axis, over a range widened a little (or to +-1 when it is a point)."""

    def __init__(self, low: float, high: float, log2: bool = False, pad: bool = True,
                 from_zero: bool = False) -> None:
        self.log2 = log2
        low, high = (math.log2(low), math.log2(high)) if log2 else (low, high)
        if high - low < 1e-12:
            low, high = low - max(1.0, abs(low) * 0.1), high + max(1.0, abs(high) * 0.1)
        margin = (high - low) * 0.04 if pad else 0.0
        self.low, self.high = (0.0 if from_zero else low - margin), high + margin
        self.x_pixels = (_LEFT, WIDTH - _RIGHT)
        self.y_pixels = (_TOP + PLOT_HEIGHT, _TOP)

    def _fraction(self, value: float) -> float:
        value = math.log2(value) if self.log2 else value
        return (value - self.low) / (self.high - self.low)

    def px(self, value: float) -> float:
        return self.x_pixels[0] + self._fraction(value) * (self.x_pixels[1] - self.x_pixels[0])

    def py(self, value: float) -> float:
        return self.y_pixels[0] + self._fraction(value) * (self.y_pixels[1] - self.y_pixels[0])

    def ticks(self) -> list[float]:
        """About five round values inside the range (1, 2 or 5 times a power of ten apart)."""
        if self.log2:
            exponents = range(math.ceil(self.low), math.floor(self.high) + 1)
            stride = max(1, math.ceil(len(exponents) / 8))  # a wide range: every other power, or fewer
            return [2.0**e for e in exponents[::stride]]
        raw = (self.high - self.low) / 5
        power = 10 ** math.floor(math.log10(raw))
        step = next(m * power for m in (1, 2, 5, 10) if m * power >= raw)
        first = math.ceil(self.low / step)
        return [i * step for i in range(first, first + 12) if i * step <= self.high + 1e-9 * step]


def _frame(x_scale: _Scale, y_scale: _Scale, title: str, xlabel: str, ylabel: str,
           legend: list[tuple[str, int, str]], ticks_at: list[float] | None = None) -> tuple[list[str], int]:
    """Title, plot area, grid, ticks, axis labels and the legend (below the x label, in rows);
    the SVG parts and the number of legend rows."""
    left, right = x_scale.x_pixels
    bottom, top = y_scale.y_pixels
    parts = [f'<text x="{WIDTH / 2:.0f}" y="20" text-anchor="middle" class="title">{_escape(title)}</text>',
             f'<rect x="{left}" y="{top}" width="{right - left}" height="{bottom - top}" class="plot"/>']
    for value in y_scale.ticks():
        y = y_scale.py(value)
        parts.append(f'<line x1="{left}" x2="{right}" y1="{y:.1f}" y2="{y:.1f}" class="grid"/>'
                     f'<text x="{left - 6}" y="{y + 4:.1f}" text-anchor="end">{_number(value)}</text>')
    x_ticks = ticks_at if ticks_at is not None and len(ticks_at) <= 16 else x_scale.ticks()
    for value in x_ticks:
        x = x_scale.px(value)
        parts.append(f'<line x1="{x:.1f}" x2="{x:.1f}" y1="{bottom}" y2="{bottom + 4}" class="axis"/>'
                     f'<text x="{x:.1f}" y="{bottom + 17}" text-anchor="middle">{_number(value)}</text>')
    parts.append(f'<text x="{(left + right) / 2:.0f}" y="{bottom + 36}" text-anchor="middle">{_escape(xlabel)}</text>')
    parts.append(f'<text transform="translate(16 {(top + bottom) / 2:.0f}) rotate(-90)" '
                 f'text-anchor="middle">{_escape(ylabel)}</text>')
    x, row = left, 0
    for label, color, kind in legend:
        width = 28 + 7 * len(label)
        if x + width > WIDTH - _RIGHT and x > left:
            x, row = left, row + 1
        y = bottom + _AXIS_BELOW + 12 + row * _LEGEND_ROW
        swatch = (f'<line x1="{x}" x2="{x + 18}" y1="{y - 4}" y2="{y - 4}" stroke="{_color(color)}" stroke-width="3"/>'
                  if kind == "line" else f'<rect x="{x + 4}" y="{y - 10}" width="10" height="10" fill="{_color(color)}"/>')
        parts.append(f'{swatch}<text x="{x + 24}" y="{y}">{_escape(label)}</text>')
        x += width
    return parts, row + 1 if legend else 0


def _line(points: list[tuple[float, float]], x_scale: _Scale, y_scale: _Scale, color: str, line: Series) -> list[str]:
    """Polylines through the finite runs of `points`; a lone point between gaps becomes a dot."""
    style = 'stroke-width="1" stroke-opacity="0.35"' if line.faint else 'stroke-width="2"'
    parts, run = [], []
    for x, y in [*points, (math.nan, math.nan)]:
        if math.isfinite(y):
            run.append(f"{x_scale.px(x):.1f},{y_scale.py(y):.1f}")
            continue
        if len(run) > 1:
            parts.append(f'<polyline class="data" fill="none" stroke="{color}" {style} points="{" ".join(run)}"/>')
        elif run and not line.dots:
            cx, cy = run[0].split(",")
            parts.append(f'<circle class="data" cx="{cx}" cy="{cy}" r="3" fill="{color}"/>')
        run = []
    if line.dots:
        for x, y in points:
            if math.isfinite(y):
                parts.append(f'<circle class="data" cx="{x_scale.px(x):.1f}" cy="{y_scale.py(y):.1f}" r="3" '
                             f'fill="{color}"><title>{_escape(line.label)}: {_number(y)} at {_number(x)}</title></circle>')
    return parts


def _band(line: Series) -> list[tuple[float, float, float]]:
    """The finite (x, low, high) rows of a series' band, thinned like its points; [] without one."""
    if line.band is None:
        return []
    rows = zip(_floats(line.xs), _floats(line.band[0]), _floats(line.band[1]), strict=False)
    return _thin([r for r in rows if all(math.isfinite(v) for v in r) and r[1] <= r[2]], MAX_POINTS)


def _polygon(rows: list[tuple[float, float, float]], x_scale: _Scale, y_scale: _Scale, color: str) -> list[str]:
    """The band as one pale polygon: along the highs, back along the lows."""
    if len(rows) < 2:
        return []
    edge = [(x, high) for x, _, high in rows] + [(x, low) for x, low, _ in reversed(rows)]
    points = " ".join(f"{x_scale.px(x):.1f},{y_scale.py(y):.1f}" for x, y in edge)
    return [f'<polygon class="data band" fill="{color}" fill-opacity="0.18" stroke="none" points="{points}"/>']


def _marker(marker: tuple[float, str] | None, x_scale: _Scale) -> list[str]:
    if marker is None or not math.isfinite(marker[0]) or (x_scale.log2 and marker[0] <= 0):
        return []
    x = x_scale.px(marker[0])
    bottom, top = _TOP + PLOT_HEIGHT, _TOP
    return [f'<line class="marker" x1="{x:.1f}" x2="{x:.1f}" y1="{top}" y2="{bottom}"/>'
            f'<text class="marker-label" x="{x + 4:.1f}" y="{top + 12}">{_escape(marker[1])}</text>']


def _svg(title: str, parts: list[str], legend_rows: int) -> str:
    height = _TOP + PLOT_HEIGHT + _AXIS_BELOW + legend_rows * _LEGEND_ROW + 6
    return (f'<svg class="chart" role="img" aria-label="{_escape(title)}" viewBox="0 0 {WIDTH} {height}" '
            f'width="{WIDTH}" height="{height}">' + "".join(parts) + "</svg>")


# ---- values ------------------------------------------------------------------------------------
def _floats(values: Sequence[object]) -> list[float]:
    """Numbers as floats; anything else (text, None, bools) and magnitudes over `_LARGEST` as NaN,
    a gap: no metric of a run is that large, and such values would overflow the axis' span."""
    out = []
    for value in values:
        number = math.nan
        if isinstance(value, (int, float)) and not isinstance(value, bool) and abs(value) <= _LARGEST:
            number = float(value)
        out.append(number)
    return out


def _nonnegative(value: float) -> float:
    return value if math.isfinite(value) and value > 0 else 0.0


def _thin(rows: list[tuple[float, ...]], limit: int) -> list[tuple[float, ...]]:
    """At most `limit` rows: the means (finite values only) of runs of consecutive rows."""
    if len(rows) <= limit:
        return rows
    size = math.ceil(len(rows) / limit)
    thinned = []
    for start in range(0, len(rows), size):
        chunk = rows[start : start + size]
        columns = []
        for values in zip(*chunk, strict=True):
            finite = [v for v in values if math.isfinite(v)]
            columns.append(sum(finite) / len(finite) if finite else math.nan)
        thinned.append(tuple(columns))
    return thinned


def _number(value: float) -> str:
    """A tick label: integers plainly, other values with three significant digits."""
    if abs(value) < 1e-12:
        return "0"
    if float(value).is_integer() and abs(value) < 1e7:
        return str(int(value))
    return f"{value:.3g}"


def _color(index: int) -> str:
    return PALETTE[index % len(PALETTE)]


def _escape(text: object) -> str:
    return html.escape(str(text), quote=True)
