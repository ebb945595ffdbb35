"""The recorded comparisons in benchmarks/results/ are what the runner wrote: each summary.md is
the table of its results.json, every arm there has the three seeds a claim needs, and each
claims.md is what the scenario's stated claims give on those results today."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from rlvr.training.compare import recorded_claims
from rlvr.training.compare_tables import paired_table, report_claims, summary_table

RESULTS = Path(__file__).resolve().parents[2] / "benchmarks" / "results"
COMPARISONS = sorted(path.parent for path in RESULTS.glob("*/results.json") if (path.parent / "summary.md").is_file())


@pytest.mark.parametrize("folder", COMPARISONS, ids=[folder.name for folder in COMPARISONS])
def test_the_summary_is_the_table_of_the_results(folder):
    report = json.loads((folder / "results.json").read_text())
    if "paired" not in report:
        pytest.skip("written before the runner paired arms by seed")
    assert (folder / "summary.md").read_text() == summary_table(report) + paired_table(report) + report_claims(report)
    assert (folder / "README.md").is_file(), "the command that made the results"
    for arm, per_seed in report["per_seed"].items():
        assert len(per_seed) >= 3, (arm, sorted(per_seed))


CLAIMED = sorted(path.parent for path in RESULTS.glob("*/claims.md"))
ROOT = RESULTS.parents[1]


@pytest.mark.parametrize("folder", CLAIMED, ids=[folder.name for folder in CLAIMED])
def test_the_recorded_claims_are_what_the_scenario_decides_on_its_results(folder):
    report = json.loads((folder / "results.json").read_text())
    scenario = ROOT / report["scenario"]  # the scenario that made them, as `rlvr run` recorded it
    assert (folder / "claims.md").read_text() == recorded_claims(scenario, folder / "results.json")
    assert "hypothesis" in (folder / "claims.md").read_text()


def test_the_claims_are_decided_not_copied(tmp_path):
    """Moving one seed's figure moves the verdict: the claims are computed from the numbers."""
    folder = RESULTS / "reward_corruption"
    report = json.loads((folder / "results.json").read_text())
    before = recorded_claims(ROOT / report["scenario"], folder / "results.json")
    assert "hypothesis INCONCLUSIVE: accurate rewards raise" in before
    for seed in report["per_seed"]["accurate"].values():  # every seed gains alike: a tight interval
        seed["final"]["greedy_accuracy"] = seed["after_sft"]["greedy_accuracy"] + 0.2
    (tmp_path / "results.json").write_text(json.dumps(report))
    after = recorded_claims(ROOT / report["scenario"], tmp_path / "results.json")
    assert "hypothesis HELD: accurate rewards raise" in after


@pytest.mark.parametrize("damage", [lambda r: r.pop("per_seed"), lambda r: r["per_seed"]["random"].update({"0": 3}),
                                    lambda r: r["per_seed"]["random"]["0"].pop("final"),
                                    lambda r: r["per_seed"].update({"extra": {}})])
def test_damaged_results_are_refused_by_name(tmp_path, damage):
    folder = RESULTS / "reward_corruption"
    report = json.loads((folder / "results.json").read_text())
    damage(report)
    (tmp_path / "results.json").write_text(json.dumps(report))
    with pytest.raises(ValueError, match="results.json"):
        recorded_claims(ROOT / report.get("scenario", "scenarios/reward_corruption.yaml"), tmp_path / "results.json")
