"""The recorded comparisons in benchmarks/results/ are what the runner wrote: each summary.md is
the table of its results.json, and every arm there has the three seeds a claim needs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvr.training.compare_tables import paired_table, summary_table

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
COMPARISONS = sorted(path.parent for path in RESULTS.glob("*/results.json") if (path.parent / "summary.md").is_file())


@pytest.mark.parametrize("folder", COMPARISONS, ids=[folder.name for folder in COMPARISONS])
def test_the_summary_is_the_table_of_the_results(folder):
    report = json.loads((folder / "results.json").read_text())
    if "paired" not in report:
        pytest.skip("written before the runner paired arms by seed")
    assert (folder / "summary.md").read_text() == summary_table(report) + paired_table(report)
    assert (folder / "README.md").is_file(), "the command that made the results"
    for arm, per_seed in report["per_seed"].items():
        assert len(per_seed) >= 3, (arm, sorted(per_seed))
