"""The report's inline-SVG charts, kept under this name for callers: the code is `rlvr.core.svg`,
a light module, so that the experiments' reports (a layer below training) draw with it too."""

from rlvr.core.svg import MAX_BARS, MAX_POINTS, PALETTE, Series, line_chart, stacked_bars

__all__ = ["MAX_BARS", "MAX_POINTS", "PALETTE", "Series", "line_chart", "stacked_bars"]
