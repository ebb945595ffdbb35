"""The README's quickstart table is the benchmark's output: every figure in it equals what
`benchmarks/quickstart.py` recorded in `benchmarks/results/` for each install listed there."""

from __future__ import annotations

import json
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
ROW = re.compile(r"^\| (\d+) \| ([\d,]+) \| ([\d.]+)% \| ([\d.]+)% \| ([+-][\d.]+) points \| (\d+)-(\d+) s \|$")


def readme_rows() -> dict[int, tuple]:
    rows = {}
    for line in (ROOT / "README.md").read_text().splitlines():
        match = ROW.match(line)
        if match:
            seed, steps, after_sft, after_rl, gain, low, high = match.groups()
            rows[int(seed)] = (int(steps.replace(",", "")), float(after_sft), float(after_rl), float(gain),
                               int(low), int(high))
    return rows


def test_quickstart_table_equals_the_recorded_results():
    rows = readme_rows()
    results = sorted((ROOT / "benchmarks" / "results").glob("quickstart_cpu_transformers-*.json"))
    assert rows and len(results) >= 2  # the table and two installs (oldest and newest supported)
    for path in results:
        recorded = {entry["seed"]: entry for entry in json.loads(path.read_text())["seeds"]}
        assert sorted(recorded) == sorted(rows), path.name
        for seed, (steps, after_sft, after_rl, gain, low, high) in rows.items():
            entry = recorded[seed]
            assert entry["sft_steps"] == steps, (path.name, seed)
            assert round(100 * entry["after_sft"], 1) == after_sft, (path.name, seed)
            assert round(100 * entry["after_rl"], 1) == after_rl, (path.name, seed)
            assert entry["gain_points"] == gain, (path.name, seed)
            assert low <= round(entry["job_s"]) <= high, (path.name, seed)
            assert entry["hypotheses"]["RL adds >= 20 points"] == (gain >= 20)
