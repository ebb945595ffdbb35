"""Generators and objectives in the trainer, on the tiny model: chosen once by name from the config
(plain / episodes by default), refused with what is wrong before any work, a 20-step run per kind
(lookahead trees; trajectory balance) with the others under `slow`, and exact resume of the stateful
ones (the replay buffer and log Z; the tree counters)."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.config import TrainConfig  # noqa: E402
from rlvr.training.generators import HBPOAdvantage  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.conftest import MULTITURN  # noqa: E402
from tests.training.test_algorithm_runs import COMPARED, RESUME, _resumed_lines, _run  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402


def test_the_trainer_takes_its_generator_once(tmp_path):
    assert Trainer(small_config(tmp_path / "one")).generator.name == "plain"
    trainer = Trainer(TrainConfig(**{**MULTITURN, "out_dir": str(tmp_path / "multi")}))
    assert trainer.generator.name == "episodes" and trainer.objective is None
    hbpo = Trainer(small_config(tmp_path / "hbpo", "generator=hbpo", "generator_settings={budgets: [1024, 2048]}"))
    assert isinstance(hbpo.advantage, HBPOAdvantage) and [t.name for t in hbpo.reward_transforms] == ["hbpo_reward"]
    assert hbpo.generator.run_budgets == [1, 2]  # stated for max_len 4096; the run generates at most 4 tokens


@pytest.mark.parametrize(("extra", "message"), [
    (["generator=lart"], "unknown generator 'lart'.*latr"),
    (["generator=latr", "generator_settings={shar: 0.5}"], "takes settings.*did you mean: share"),
    (["generator=hbpo", "group_size=6"], "multiple of 4"),
    (["generator=hbpo", "advantage=rloo"], "brings its own reward and advantage"),
    (["generator=hbpo", "overlong_buffer=2"], "brings its own reward and advantage"),
    (["generator=episodes"], "multi-turn episodes; it does not fit max_turns=1"),
    (["objective=flow_of_reasonin"], "unknown objective.*flow_of_reasoning"),
    (["objective=robust_dpo", "objective_settings={epsilon: 0.5}"], r"epsilon must be in \[0.0, 0.49\]"),
    (["objective=robust_dpo", "kl_beta=0.1"], "in place of the advantage and the loss.*kl_beta=0.1"),
    (["objective=robust_dpo", "advantage=rloo"], "advantage='rloo'"),
    (["objective=flow_of_reasoning", "generator=hbpo"], "generator='hbpo'"),
])
def test_bad_generator_and_objective_configs_are_refused_before_any_work(tmp_path, extra, message):
    with pytest.raises(ValueError, match=message):
        small_config(tmp_path, *extra)


def test_a_multi_turn_config_refuses_a_single_turn_generator(tmp_path):
    with pytest.raises(ValueError, match="generator 'hbpo' produces single responses"):
        TrainConfig(**{**MULTITURN, "out_dir": str(tmp_path), "generator": "hbpo"}).validate()


def test_lookahead_trees_train_on_multi_turn_episodes(tmp_path):
    settings = {"min_second": 0.0, "max_gap": 1.0}
    config = TrainConfig(**{**MULTITURN, "out_dir": str(tmp_path), "generator": "latr", "generator_settings": settings,
                            "rl_steps": 2, "group_size": 4})
    summary = Trainer(config).train()
    lines = step_lines(tmp_path)
    assert summary["steps"] == 2 and [line["tree_share"] for line in lines] == [1.0, 1.0]
    assert all(line["latr_branches"] > 0 and math.isfinite(line["loss"]) for line in lines)


# ---- a 20-step run per kind -------------------------------------------------------------------------------


def test_a_short_run_with_lookahead_trees(tmp_path):
    lines, trainer = _run(tmp_path, "generator=latr",
                          "generator_settings={share: 1.0, decay_steps: 16, min_second: 0.05, max_gap: 0.5}")
    shares = [line["tree_share"] for line in lines]
    assert shares[0] >= 0.25 and shares[-1] == 0.0  # at least each problem's root, then plain steps
    assert lines[-1]["latr_branches_total"] == sum(line["latr_branches"] for line in lines) > 0
    assert trainer.generator.state_dict()["totals"]["branches"] == lines[-1]["latr_branches_total"]


def test_a_short_run_with_flow_of_reasoning(tmp_path):
    lines, trainer = _run(tmp_path, "objective=flow_of_reasoning", "objective_settings={replay_size: 16}")
    log_z = [line["flow_of_reasoning_log_z"] for line in lines]
    assert log_z[0] == 0.0 and log_z[-1] != 0.0 and all(math.isfinite(value) for value in log_z)
    assert 0 < lines[-1]["flow_of_reasoning_replay_buffer"] <= 16 and lines[-1]["flow_of_reasoning_replayed"] == 4
    # log Z is trained by the run's optimizer and at its own rate
    assert trainer.optimizer.param_groups[-1]["params"][0] is trainer.objective.log_z_value
    assert trainer.optimizer.param_groups[-1]["lr"] == 0.1


@pytest.mark.slow
def test_a_short_run_with_budget_subgroups(tmp_path):
    # the tiny model's prompts end with '=': the budget goes before them
    lines, _ = _run(tmp_path, "generator=hbpo",
                    "generator_settings={budgets: [1024, 2048], max_len: 4096, hint: '{budget}|', at: start}")
    assert all(0.0 <= line["hbpo_within_budget"] <= 1.0 for line in lines)
    assert max(line["reward_mean"] for line in lines) > 1.0  # f1/f2 rewards, not 0/1


@pytest.mark.slow
def test_a_short_run_with_robust_dpo(tmp_path):
    lines, trainer = _run(tmp_path, "objective=robust_dpo", "objective_settings={beta: 0.5, epsilon: 0.1}")
    assert trainer.reference is not None and sum(line["robust_dpo_pairs"] for line in lines) > 0


# ---- exact resume ---------------------------------------------------------------------------------------


def _straight(path, extra):
    Trainer(small_config(path, *RESUME, *extra)).train()
    return [{key: line[key] for key in COMPARED} for line in step_lines(path)]


@pytest.mark.parametrize("keep_state", [True, False])
def test_flow_of_reasoning_resumes_exactly_with_log_z_and_its_buffer(tmp_path, monkeypatch, keep_state):
    from rlvr.training.objectives import FlowOfReasoning

    extra = ["objective=flow_of_reasoning", "objective_settings={replay_size: 8, replay_batch: 2}"]
    straight = _straight(tmp_path / "straight", extra)
    if not keep_state:  # the control: a resume that forgets log Z and the buffer
        monkeypatch.setattr(FlowOfReasoning, "load_state_dict", lambda self, state: None)
    lines = _resumed_lines(tmp_path / "resumed", monkeypatch, extra)
    assert len(lines) == 5 and lines[:2] == straight[:2]
    assert (lines == straight) == keep_state


@pytest.mark.slow
def test_lookahead_trees_resume_exactly(tmp_path, monkeypatch):
    extra = ["generator=latr", "generator_settings={decay_steps: 4, min_second: 0.05, max_gap: 0.5}"]
    Trainer(small_config(tmp_path / "straight", *RESUME, *extra)).train()
    straight = step_lines(tmp_path / "straight")
    _resumed_lines(tmp_path / "resumed", monkeypatch, extra)
    resumed = step_lines(tmp_path / "resumed")
    keys = (*COMPARED, "tree_share", "latr_branches", "latr_branches_total")
    assert [{k: line[k] for k in keys} for line in resumed] == [{k: line[k] for k in keys} for line in straight]
