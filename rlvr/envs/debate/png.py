"""A tiny PNG line chart in numpy + zlib (no plotting library): lines, axes and ticks, no text.

Used for the debate experiment's plot; labels go in the accompanying table, since drawing glyphs
would need a font. Each series is drawn as a polyline with a dot at every point; an optional
band (low, high) per series is shaded lightly.

>>> import tempfile, os
>>> path = os.path.join(tempfile.mkdtemp(), "chart.png")
>>> write_line_chart(path, [[0.4, 0.4, 0.41], [0.4, 0.5, 0.6]], y_range=(0.0, 1.0))
>>> open(path, "rb").read(8) == b"\\x89PNG\\r\\n\\x1a\\n"
True
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Sequence

import numpy as np

PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
"""Series colours, in order (the table lists series in the same order)."""


def _chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)


def encode_png(image: np.ndarray) -> bytes:
    """PNG bytes of an (H, W, 3) uint8 RGB image."""
    height, width, _ = image.shape
    rows = np.concatenate([np.zeros((height, 1), np.uint8), image.reshape(height, width * 3)], axis=1)
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + _chunk(b"IHDR", header) + _chunk(b"IDAT", zlib.compress(rows.tobytes(), 9)) + _chunk(b"IEND", b"")


def _line(image: np.ndarray, x0: float, y0: float, x1: float, y1: float, colour: Sequence[int], width: int = 2) -> None:
    steps = int(max(abs(x1 - x0), abs(y1 - y0))) + 1
    for t in np.linspace(0.0, 1.0, steps + 1):
        x, y = int(round(x0 + t * (x1 - x0))), int(round(y0 + t * (y1 - y0)))
        image[max(y - width // 2, 0) : y + width - width // 2, max(x - width // 2, 0) : x + width - width // 2] = colour


def write_line_chart(
    path: str,
    series: Sequence[Sequence[float]],
    *,
    bands: Sequence[tuple[Sequence[float], Sequence[float]]] | None = None,
    y_range: tuple[float, float] = (0.0, 1.0),
    size: tuple[int, int] = (480, 320),
) -> None:
    """Write a line chart: x = point index (evenly spaced), y within `y_range` (gridlines every 0.1)."""
    width, height = size
    margin = 30
    image = np.full((height, width, 3), 255, np.uint8)
    low, high = y_range
    points = max(len(s) for s in series)

    def to_pixel(index: int, value: float) -> tuple[float, float]:
        x = margin + (width - 2 * margin) * (index / max(points - 1, 1))
        y = height - margin - (height - 2 * margin) * (float(np.clip(value, low, high)) - low) / (high - low)
        return x, y

    for tick in np.arange(np.ceil(low * 10) / 10, high + 1e-9, 0.1):  # light gridlines
        _, y = to_pixel(0, tick)
        image[int(round(y)), margin : width - margin] = (225, 225, 225)
    for index in range(points):  # x ticks, one per round
        x, _ = to_pixel(index, low)
        image[height - margin : height - margin + 5, int(round(x))] = (0, 0, 0)
    _line(image, margin, height - margin, width - margin, height - margin, (0, 0, 0), 1)
    _line(image, margin, margin, margin, height - margin, (0, 0, 0), 1)
    for number, values in enumerate(series):
        colour = PALETTE[number % len(PALETTE)]
        if bands is not None:
            shade = tuple(int(255 - (255 - c) * 0.25) for c in colour)
            for index, (lo, hi) in enumerate(zip(*bands[number], strict=True)):
                x, y_lo = to_pixel(index, lo)
                _, y_hi = to_pixel(index, hi)
                _line(image, x, y_hi, x, y_lo, shade, 6)
        for index in range(len(values) - 1):
            _line(image, *to_pixel(index, values[index]), *to_pixel(index + 1, values[index + 1]), colour)
        for index, value in enumerate(values):
            x, y = to_pixel(index, value)
            image[max(int(y) - 3, 0) : int(y) + 4, max(int(x) - 3, 0) : int(x) + 4] = colour
    with open(path, "wb") as handle:
        handle.write(encode_png(image))
