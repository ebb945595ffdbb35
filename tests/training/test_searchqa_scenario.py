"""The built-in `searchqa_rewards` comparison (meant for a GPU), shrunk to a few steps: each arm
trains on its own reward mode through multi-turn search episodes, every table counts exact
matches, and the run decides its stated claims."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import BUILTIN_SCENARIOS, main  # noqa: E402
from tests.training.test_kgpath_scenario import SHRUNK as KGPATH_SHRUNK  # noqa: E402

SHRUNK = {**KGPATH_SHRUNK, "eval_problems": 2}  # the KGPath comparison's shrinking, fewer problems


@pytest.mark.slow  # five arms of multi-turn search episodes: minutes on 2 cores
def test_shrunk_searchqa_comparison_trains_each_reward_mode_and_decides_its_claims(tmp_path, capsys):
    scenario = yaml.safe_load((BUILTIN_SCENARIOS / "searchqa_rewards.yaml").read_text())
    scenario["seeds"] = [0]
    scenario["base"].update(SHRUNK)
    path = tmp_path / "searchqa.yaml"
    path.write_text(yaml.safe_dump(scenario))
    out = tmp_path / "out"
    assert main(["run", str(path), "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    assert set(report["per_seed"]) == {"em", "entity", "rubric", "cgrpo"}
    for arm in report["per_seed"]:
        config = yaml.safe_load((out / "seed0" / arm / "config.yaml").read_text())
        assert config["task_options"]["reward_mode"] == arm and config["max_turns"] == 5
        final = report["per_seed"][arm]["0"]["final"]
        assert 0.0 <= final["greedy_accuracy"] <= 1.0 and "pass@2" in final
    # a random model under the bar: every hypothesis is left undecided, and the run says why
    printed = capsys.readouterr().out
    assert "seed 0: 0.000 (NOT cleared)" in printed
    assert [entry["outcome"] for entry in report["hypotheses"]] == ["inconclusive"] * 3
