"""Exact resume of the stateful plug-ins whose state lives outside the model: D3S's relaxing keep ratio
(an advantage), Prompt-GDRO's pool and bin weights (a sampler), LATR's branch totals (a generator).

One small harness, a run killed inside its fourth step and resumed from the checkpoint of step 2, is run
twice per plug-in: restoring the state, it must repeat the uninterrupted run's step lines (every figure
but the timings); with the plug-in's `load_state_dict` made a no-op (the control) it must not, which
proves the comparison can fail. Forgetting D3S's or Prompt-GDRO's state changes what trains (the kept
rollouts; the problems re-drawn from the pool); LATR's state is its running totals, so only they
differ (`latr` runs under `slow`). A short warm-up on sums of 0..2 and the overlong penalty make
rewards vary, so every update carries a gradient; each run takes a few seconds."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.advantages import D3S  # noqa: E402
from rlvr.training.generators.latr import LATR  # noqa: E402
from rlvr.training.samplers.gdro import PromptGDRO  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.interrupt import run_until_killed  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402

TINY = ["difficulty={num_ops: 1, operators: ['+'], min_operand: 0, max_operand: 2}", "max_new_tokens=3",
        "sft_steps=60", "sft_batch_size=16", "sft_lr=3e-3", "overlong_buffer=2", "prompts_per_step=2", "group_size=4",
        "rl_steps=4", "checkpoint_every=2", "eval_every=0", "tensorboard=false", "lr=1e-3"]
"""4 steps of 2 problems x 4 rollouts of up to 3 tokens, after a short warm-up on sums of 0..2 (some right,
some wrong: Prompt-GDRO's pool fills and is drawn from); checkpoints at steps 2 and 4."""
PLUGINS = {
    "d3s": (D3S, ["advantage=d3s", "advantage_settings={keep: 0.25, relax_steps: 4}"]),
    "prompt_gdro": (PromptGDRO, ["sampler=prompt_gdro", "sampler_settings={share: 1.0, pool_size: 16}"]),
    "latr": (LATR, ["generator=latr", "generator_settings={decay_steps: 4, min_second: 0.05, max_gap: 0.5}"]),
}
"""Name -> (the class whose `load_state_dict` the control disables, the run's settings)."""
AT_WORK = {
    "d3s": lambda line: line["kept_token_fraction"] < 1,  # the keep ratio has not reached 1
    "prompt_gdro": lambda line: line["sampler_reused"] > 0,  # problems re-drawn from the pool
    "latr": lambda line: line["latr_branches_total"] > 0,
}
"""What shows, in the uninterrupted run's steps after the checkpoint, that the state is in use."""
TIMINGS = ("samples_per_s",)


def _figures(path):
    """Every step line's figures but the clock's."""
    return [{key: value for key, value in line.items() if not key.startswith("time_") and key not in TIMINGS}
            for line in step_lines(path)]


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    """Each plug-in's uninterrupted run, made once for both the resume and its control."""
    runs = {}

    def run(name):
        if name not in runs:
            path = tmp_path_factory.mktemp(name)
            Trainer(small_config(path, *TINY, *PLUGINS[name][1])).train()
            runs[name] = _figures(path)
        return runs[name]

    return run


def _killed_and_resumed(path, monkeypatch, extra):
    run_until_killed(small_config(path, *TINY, *extra), monkeypatch, steps_done=3)
    Trainer(small_config(path, *TINY, *extra, "resume=true")).train()
    return _figures(path)


@pytest.mark.parametrize("keep_state", [True, False], ids=["restored", "control-forgotten"])
@pytest.mark.parametrize("name", ["d3s", "prompt_gdro", pytest.param("latr", marks=pytest.mark.slow)])
def test_a_killed_run_resumes_exactly_only_with_the_plugins_state(tmp_path, monkeypatch, straight, name, keep_state):
    cls, extra = PLUGINS[name]
    expected = straight(name)
    assert len(expected) == 4 and all(line["grad_norm"] > 0 for line in expected)  # every update moved the model
    assert any(AT_WORK[name](line) for line in expected[2:])
    if not keep_state:  # the control: the checkpoint holds the state, the resume ignores it
        monkeypatch.setattr(cls, "load_state_dict", lambda self, state: None)
    resumed = _killed_and_resumed(tmp_path, monkeypatch, extra)
    assert [line["step"] for line in resumed] == [1, 2, 3, 4]
    assert resumed[:2] == expected[:2]  # before the checkpoint: the killed run's own lines
    if keep_state:
        assert resumed == expected
    else:
        assert resumed[2:] != expected[2:]
