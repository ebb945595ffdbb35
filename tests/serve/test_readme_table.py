"""The README's serving table is `benchmarks/serve_load.py`'s output: each range there is the
lowest and highest figure of the runs recorded in benchmarks/results/serve_load_cpu.json."""

from __future__ import annotations

import json
import re
from decimal import ROUND_HALF_UP, Decimal
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
ROW = re.compile(r"^\| (\d+) \| (\d+) \| ([\d,.]+)-([\d,.]+) \| ([\d.]+)-([\d.]+) ms \| ([\d.]+)-([\d.]+) ms \| (\d+) \|$")


def rounded_like(value: float, text: str) -> str:
    places = len(text.partition(".")[2])
    return str(Decimal(str(value)).quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_UP))


def test_serving_table_equals_the_recorded_runs():
    section = (ROOT / "README.md").read_text().split("## Serving envs over HTTP", 1)[1].split("\n## ", 1)[0]
    rows = [ROW.match(line).groups() for line in section.splitlines() if ROW.match(line)]
    recorded = json.loads((ROOT / "benchmarks" / "results" / "serve_load_cpu.json").read_text())
    assert [int(row[0]) for row in rows] == [level["sessions"] for level in recorded["runs"][0]]
    for i, (sessions, held, *ranges, errors) in enumerate(rows):
        runs = [run[i] for run in recorded["runs"]]
        assert int(held) == min(r["sessions_held"] for r in runs) and int(errors) == sum(r["errors"] for r in runs)
        for (low, high), key in zip(zip(ranges[::2], ranges[1::2], strict=True), ("steps_per_s", "p50_ms", "p99_ms"), strict=True):
            values = [r[key] for r in runs]
            assert rounded_like(min(values), low) == low.replace(",", ""), (sessions, key)
            assert rounded_like(max(values), high) == high.replace(",", ""), (sessions, key)
