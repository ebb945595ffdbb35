"""The `rollout_gdro` generator: the allocation from its state (bins, prior, weights), a 20-step run on
the tiny model with ragged groups, exact resume with a control that forgets the state, and the
configurations it refuses before any work (under a launcher: `test_ddp_ragged.py`, `test_ddp.py`)."""

from __future__ import annotations

import json
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.generators import GenerationContext, RolloutGDRO, allocate_rollouts, make_generator  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.test_advantage_training import RUN  # noqa: E402
from tests.training.test_algorithm_runs import COMPARED, RESUME, _resumed_lines  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402

GDRO = ["generator=rollout_gdro"]


class _Problem:
    def __init__(self, problem_id):
        self.problem_id, self.prompt = problem_id, problem_id


def _bound(group_size=8, **settings):
    generator = make_generator("rollout_gdro", settings)
    generator.bind(GenerationContext(None, None, group_size, 4))
    return generator


def test_the_allocation_follows_bins_weights_and_spread_with_fresh_problems_at_the_prior():
    generator = _bound(k=1, bins=2)
    generator.rates = {"half": 0.5, "easy": 0.9}
    # pass@1 = p: half in bin 1 (p >= .5), easy in bin 1 too: one bin, mean rate .7, equal shares
    assert generator.allocation([_Problem("half"), _Problem("easy")]) == ([8, 8], [1, 1])
    generator = _bound(k=1, bins=10, minimum=1)
    generator.rates = {"half": 0.5, "easy": 0.9}
    # bins 5 and 9, equal weights, at least one each: the spec's worked number
    assert generator.allocation([_Problem("half"), _Problem("easy")])[0] == allocate_rollouts([0.5, 0.9], [1, 1], 8) \
        == [10, 6]
    # a fresh problem takes the prior (0.5 before any group: as hard as `half`)
    counts, bins = generator.allocation([_Problem("half"), _Problem("new"), _Problem("easy")])
    assert bins == [5, 5, 9] and counts[0] == counts[1] > counts[2] and sum(counts) == 24
    generator.prior = 0.9
    assert generator.allocation([_Problem("new")])[1] == [9]
    # a heavier bin gets more: w = (.8, .2) over bins 1 and 8 whose spreads are equal (p = .15 and .85)
    generator.mw.log_weights = [math.log(0.01)] * 10
    generator.mw.log_weights[1], generator.mw.log_weights[8] = math.log(0.8), math.log(0.2)
    generator.rates = {"hard": 0.15, "easy": 0.85}
    counts, bins = generator.allocation([_Problem("hard"), _Problem("easy")])
    assert bins == [1, 8] and counts == allocate_rollouts([0.15, 0.85], [0.8, 0.2], 8, 1) == [10, 6]


def test_the_state_is_plain_and_round_trips():
    generator = _bound(bins=3)
    generator.rates, generator.prior = {"a": 0.25, "b": 1.0}, 0.4
    generator.mw.update({0: [1.0], 2: [0.0]})
    state = json.loads(json.dumps(generator.state_dict()))  # plain values only
    fresh = _bound(bins=3)
    fresh.load_state_dict(state)
    assert fresh.state_dict() == generator.state_dict() and list(fresh.rates) == ["a", "b"]
    with pytest.raises(ValueError, match=r"state needs \['rates', 'prior', 'ema', 'updates', 'log_weights'\]"):
        fresh.load_state_dict({"rates": {}})


def test_a_short_run_with_ragged_groups(tmp_path):
    Trainer(small_config(tmp_path, *RUN, "tensorboard=false", *GDRO)).train()
    lines = step_lines(tmp_path)
    assert [line["step"] for line in lines] == list(range(1, 21))
    for line in lines:
        assert line["skipped_updates"] == 0 and all(math.isfinite(line[key]) for key in (
            "loss", "grad_norm", "reward_mean", "accuracy", "mean_length")), line
        assert sum(line[f"rollout_gdro_rollouts_{b}"] for b in range(4)) == 8 * 4  # the budget: B * G
    assert any(line["rollout_gdro_min_n"] < line["rollout_gdro_max_n"] for line in lines)  # ragged steps
    # rollouts went to more than one bin over the run, and the weights moved
    assert sum(1 for b in range(4) if any(line[f"rollout_gdro_rollouts_{b}"] for line in lines)) >= 2
    assert lines[-1]["rollout_gdro_weight_0"] != lines[0]["rollout_gdro_weight_0"]
    assert sum(line["groups_with_signal"] for line in lines) > 0


def test_ragged_groups_under_dynamic_sampling_and_reward_transforms(tmp_path):
    extra = ["sft_steps=30", "rl_steps=3", "checkpoint_every=0", "loss=dapo", "loss_aggregation=token_mean",
             "dynamic_sampling=true", "reward_transforms=[{name: corrupt, mode: random}]", "overlong_buffer=1"]
    Trainer(small_config(tmp_path, *RESUME, *GDRO, *extra)).train()
    lines = step_lines(tmp_path)
    assert len(lines) == 3 and all(math.isfinite(line["loss"]) and line["skipped_updates"] == 0 for line in lines)
    assert all(line["dynamic_draws"] >= 1 and line["groups"] <= 4 for line in lines)


@pytest.mark.slow
@pytest.mark.parametrize("keep_state", [True, False])
def test_rollout_gdro_resumes_exactly_with_its_pass_rates_and_weights(tmp_path, monkeypatch, keep_state):
    keys = (*COMPARED, "rollout_gdro_min_n", "rollout_gdro_max_n", "rollout_gdro_weight_0")
    Trainer(small_config(tmp_path / "straight", *RESUME, *GDRO)).train()
    straight = [{key: line[key] for key in keys} for line in step_lines(tmp_path / "straight")]
    if not keep_state:  # the control: a resume that forgets the pass rates and the weights
        monkeypatch.setattr(RolloutGDRO, "load_state_dict", lambda self, state: None)
    _resumed_lines(tmp_path / "resumed", monkeypatch, GDRO)
    resumed = [{key: line[key] for key in keys} for line in step_lines(tmp_path / "resumed")]
    assert len(resumed) == 5 and resumed[:2] == straight[:2]
    assert (resumed == straight) == keep_state


def test_an_advantage_that_takes_full_groups_only_is_refused_before_any_work(tmp_path, monkeypatch):
    from rlvr.training.advantages import UCAS

    monkeypatch.setattr(UCAS, "ragged", False)  # every registered plug-in takes ragged groups today
    with pytest.raises(ValueError, match=r"ragged groups.*advantage 'ucas' takes full groups only.*'grpo', "
                                         r"'dr_grpo', 'rloo', 'd3s', 'dgpo', 'progrpo', 'representation_bonus'"):
        small_config(tmp_path, *GDRO, "advantage=ucas")


@pytest.mark.parametrize(("extra", "message"), [
    (["advantage=rloo", "generator_settings={minimum: 1}"], "needs 2 rollouts per problem.*minimum >= 2"),
    (["objective=flow_of_reasoning"], "ragged groups, which objective 'flow_of_reasoning' does not take"),
    (["group_size=1"], r"expected group_size >= 2, got 1"),
    (["generator_settings={bins: 0}"], "bins"),
])
def test_what_cannot_take_ragged_groups_is_refused_before_any_work(tmp_path, extra, message):
    with pytest.raises(ValueError, match=message):
        small_config(tmp_path, *GDRO, *extra)


def test_rlvr_algorithms_lists_it(capsys):
    assert main(["algorithms", "rollout_gdro"]) == 0
    out = capsys.readouterr().out
    assert "Rollout-GDRO [abs]" in out and "minimum" in out
