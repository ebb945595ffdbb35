"""`overlong_buffer` runs, and the same penalty written as a reward transform, repeat the runs
recorded on the commit before reward transforms were plug-ins (step lines, every recorded key)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.interrupt import recorded_here  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402

BEFORE = json.loads((Path(__file__).parent / "data" / "overlong_buffer_before.json").read_text())
ADDED = {"raw_reward_mean", "overlong_penalty_mean", "entropy"}
"""The keys a step line gained since: the two when the overlong penalty became a transform, and the
policy's sampled-token entropy, logged on every RL step line later."""


def _untimed(line):
    return {key: value for key, value in line.items() if not (key.startswith("time") or key.endswith("per_s"))}


@pytest.mark.parametrize("form", ["overlong_buffer", "reward_transforms"])
@pytest.mark.parametrize("run", sorted(BEFORE["runs"]))
def test_overlong_runs_repeat_the_runs_made_before_transforms(tmp_path, run, form):
    versions = (torch.__version__, transformers.__version__, platform.machine())
    if versions != (BEFORE["torch"], BEFORE["transformers"], BEFORE["machine"]):
        pytest.skip(f"recorded on torch {BEFORE['torch']}, transformers {BEFORE['transformers']}, "
                    f"{BEFORE['machine']}; here {versions}: floats may round differently")
    expected = recorded_here(BEFORE, run)
    overrides = list(expected["overrides"])
    if form == "reward_transforms":  # the long form of the same penalty
        overrides = [item for item in overrides if not item.startswith("overlong_buffer=")]
        overrides.append("reward_transforms=[{name: overlong, buffer: 2}]")
    Trainer(small_config(tmp_path, *overrides)).train()
    lines = [_untimed(line) for line in step_lines(tmp_path)]
    assert len(lines) == len(expected["lines"])
    for got, want in zip(lines, expected["lines"], strict=True):
        assert set(got) - set(want) == ADDED
        assert {key: got[key] for key in want} == want
    assert any(line["reward_mean"] < line["accuracy"] for line in lines)  # the penalty was on
