"""The advantage plug-in protocol: the registry, settings checked before any work, the rollout view
(only declared quantities), the spec's worked numbers reached by name, and the result checks."""

from __future__ import annotations

import dataclasses
from typing import ClassVar

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")

from rlvr.training.advantages import (  # noqa: E402
    ADVANTAGES,
    QUANTITIES,
    AdvantagePlugin,
    RolloutView,
    compute_advantages,
    dgpo_advantages,
    grpo_advantages,
    make_advantage,
    turn_level_names,
    view_of,
)
from rlvr.training.config import load_config  # noqa: E402


def close(actual, expected, atol=1e-3):
    torch.testing.assert_close(actual, torch.as_tensor(expected, dtype=actual.dtype), atol=atol, rtol=0)


# ---- the registry ------------------------------------------------------------------------------


def test_every_plugin_declares_known_quantities_documented_settings_and_a_source():
    for name, cls in ADVANTAGES.items():
        plugin = make_advantage(name)
        assert plugin.name == name and cls.source, name
        assert set(plugin.needs) <= set(QUANTITIES), name
        for setting, (default, doc) in cls.settings().items():
            assert doc and getattr(plugin, setting) == default, (name, setting)
    assert set(turn_level_names()) == {"grpo", "dr_grpo"}


# ---- worked numbers of the spec, reached by name ---------------------------------------------------


def test_unlikeliness_by_name_gives_the_spec_numbers():
    plugin = make_advantage("unlikeliness")
    view = view_of([[1.0, 1.0, 0.0, 0.0]], mean_logprob=[[-0.1, -0.5, -0.3, -0.9]])
    close(plugin(view), [[0.739, 0.985, -0.862, -0.862]])


def test_unlikeliness_beta_rank_zero_is_grpo():
    view = view_of([[1.0, 1.0, 0.0, 1.0]], mean_logprob=[[-0.1, -0.5, -0.3, -0.9]])
    close(make_advantage("unlikeliness", {"beta_rank": 0.0})(view), grpo_advantages(view.rewards), atol=1e-6)


def test_ucas_by_name_gives_the_spec_numbers():
    view = view_of([[1.0, 1.0, 0.0, 0.0]], self_certainty=[[10.0, 20.0, 10.0, 20.0]])
    close(make_advantage("ucas")(view), [[1.075, 0.697, -0.640, -1.173]])
    # without the scales, plain GRPO
    flat = make_advantage("ucas", {"positive_scale": 0.0, "negative_scale": 0.0})(view)
    close(flat, grpo_advantages(view.rewards), atol=1e-6)


def test_dgpo_question_weights_multiply_each_questions_advantages():
    # accuracies .25 and .75 -> lambda [1.124, .876] (spec); the all-equal third question gets 0 and
    # does not count in N_valid
    rewards = torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 1, 0], [1.0, 1, 1, 1]])
    plugin = make_advantage("dgpo", {"question_weights": True})
    assert plugin.needs == ("correct",) and make_advantage("dgpo").needs == ()
    weighted = plugin(view_of(rewards, correct=rewards))
    plain = dgpo_advantages(rewards)
    close(weighted[0], plain[0] * 1.124)
    close(weighted[1], plain[1] * 0.876)
    assert torch.equal(weighted[2], torch.zeros(4))
    close(make_advantage("dgpo")(view_of(rewards)), plain, atol=0)


def test_dgpo_question_weights_read_accuracy_from_the_verifier_not_the_shaped_reward():
    correct = torch.tensor([[1.0, 0, 0, 0], [1.0, 1, 1, 0]])
    shaped = correct - torch.tensor([[0.0, 0, 0, 0], [0.5, 0.5, 0.5, 0.0]])  # e.g. an overlong penalty
    plugin = make_advantage("dgpo", {"question_weights": True})
    weighted = plugin(view_of(shaped, correct=correct))
    close(weighted[0], dgpo_advantages(shaped)[0] * 1.124)


@given(accuracy=st.lists(st.sampled_from([0.0, 1.0]), min_size=8, max_size=8),
       temperature=st.floats(0.1, 10.0))
@settings(max_examples=30, deadline=None)
def test_dgpo_weights_keep_the_loss_scale(accuracy, temperature):
    rewards = torch.tensor(accuracy).view(2, 4)
    plugin = make_advantage("dgpo", {"question_weights": True, "temperature": temperature})
    weighted = plugin(view_of(rewards, correct=rewards))
    valid = (rewards != rewards[:, :1]).any(dim=1)
    # the weights sum to N_valid: each valid group's |A| mass is scaled, the total stays comparable
    ratio = weighted.abs().sum(dim=1) / dgpo_advantages(rewards).abs().sum(dim=1).clamp_min(1e-12)
    assert float(ratio[valid].sum()) == pytest.approx(float(valid.sum()), rel=1e-4)


# ---- settings: refused with what was expected, before any work --------------------------------------


@pytest.mark.parametrize(("settings_", "message"), [
    ({"beta_rnk": 0.5}, r"takes settings \['beta_rank'\], got 'beta_rnk' \(did you mean: beta_rank\?\)"),
    ({"beta_rank": 1.5}, r"beta_rank must be in \[0.0, 1.0\], got 1.5"),
    ({"beta_rank": -0.1}, r"beta_rank must be in \[0.0, 1.0\], got -0.1"),
    ({"beta_rank": True}, r"beta_rank expects float, got True \(bool\)"),
    ({"beta_rank": "0.5"}, r"beta_rank expects float, got '0.5' \(str\)"),
    ({"beta_rank": float("nan")}, r"beta_rank expects a finite number, got nan"),
])
def test_bad_unlikeliness_settings_are_refused(settings_, message):
    with pytest.raises(ValueError, match=message):
        make_advantage("unlikeliness", settings_)


def test_settings_of_other_plugins_are_checked_too():
    with pytest.raises(ValueError, match=r"temperature must be in \(0.0, inf\], got 0"):
        make_advantage("dgpo", {"question_weights": True, "temperature": 0})
    with pytest.raises(ValueError, match=r"question_weights expects true or false, got 1"):
        make_advantage("dgpo", {"question_weights": 1})
    with pytest.raises(ValueError, match=r"'grpo' takes no settings, got 'beta_rank'"):
        make_advantage("grpo", {"beta_rank": 0.1})
    with pytest.raises(ValueError, match=r"negative_scale must be in \[0.0, inf\], got -1"):
        make_advantage("ucas", {"negative_scale": -1})


def test_config_validates_the_advantage_and_its_settings(tmp_path):
    config = load_config({"out_dir": str(tmp_path)}, ["advantage=unlikeliness", "advantage_settings={beta_rank: 0.5}"])
    assert config.advantage_settings == {"beta_rank": 0.5}
    with pytest.raises(ValueError, match=r"config advantage must be one of .* got 'unlikelyness' "
                                         r"\(did you mean: unlikeliness\?\)"):
        load_config({"advantage": "unlikelyness"})
    with pytest.raises(ValueError, match=r"^config advantage 'ucas' takes settings \['positive_scale', "
                                         r"'negative_scale'\], got 'positive' \(did you mean: positive_scale\?\)"):
        load_config({"advantage": "ucas", "advantage_settings": {"positive": 0.1}})
    with pytest.raises(ValueError, match=r"config advantage_settings expects dict, got 3"):
        load_config({"advantage_settings": 3})
    with pytest.raises(ValueError, match=r"config advantage 'rloo' needs group_size >= 2, got 1"):
        load_config({"advantage": "rloo", "group_size": 1})


def test_multi_turn_takes_only_turn_level_plugins():
    with pytest.raises(ValueError, match=r"advantage 'ucas' works on single responses; with max_turns > 1 "
                                         r"use one of \['grpo', 'dr_grpo'\]"):
        load_config({"env_id": "rlvr/MathTreeStep-v0", "max_turns": 2, "advantage": "ucas"})
    assert load_config({"env_id": "rlvr/MathTreeStep-v0", "max_turns": 2, "advantage": "dr_grpo"}).max_turns == 2


# ---- the view and the result ---------------------------------------------------------------------------


def test_the_view_holds_only_declared_quantities():
    view = view_of([[1.0, 0.0]], mean_logprob=[[-1.0, -2.0]])
    with pytest.raises(KeyError, match=r"quantities \['mean_logprob'\], got a request for 'self_certainty'; "
                                       r"it is one of .*declare it in the plug-in's `needs`"):
        view["self_certainty"]
    with pytest.raises(KeyError, match=r"did you mean 'mean_logprob'"):
        view["mean_logprobs"]
    with pytest.raises(ValueError, match=r"expected mean_logprob shaped like rewards \(1, 2\), got \(1, 3\)"):
        view_of([[1.0, 0.0]], mean_logprob=[[-1.0, -2.0, -3.0]])
    with pytest.raises(ValueError, match=r"unknown quantity 'entropy'"):
        view_of([[1.0, 0.0]], entropy=[[1.0, 1.0]])


@dataclasses.dataclass(frozen=True)
class _Returns(AdvantagePlugin):
    """Returns whatever the test sets: a probe of `compute_advantages`'s checks."""

    name: ClassVar[str] = "returns"
    value: object = None

    def __call__(self, view: RolloutView):
        return self.value


def test_compute_advantages_flattens_per_rollout_and_refuses_bad_results():
    view = view_of(torch.tensor([[1.0, 0.0, 0.0], [0.0, 1.0, 1.0]]))
    flat = compute_advantages(make_advantage("grpo"), view)
    assert flat.shape == (6,) and flat.dtype == torch.float32
    per_token = torch.ones(6, 5)
    assert torch.equal(compute_advantages(_Returns(value=per_token), view), per_token)
    with pytest.raises(ValueError, match=r"advantage 'returns' returned shape \(3, 2\); expected \(2, 3\) "
                                         r"\(per rollout\) or \(6, T\) \(per token\)"):
        compute_advantages(_Returns(value=torch.zeros(3, 2)), view)
    with pytest.raises(ValueError, match=r"returned 1 non-finite value\(s\)"):
        compute_advantages(_Returns(value=torch.tensor([[0.0, float("nan"), 0.0], [0.0, 0.0, 0.0]])), view)


def test_stateless_plugins_refuse_a_state_they_do_not_keep():
    plugin = make_advantage("grpo")
    assert plugin.state_dict() == {}
    plugin.load_state_dict({})
    with pytest.raises(ValueError, match=r"advantage 'grpo' keeps no state, got a state with \['calls'\]"):
        plugin.load_state_dict({"calls": 3})


def test_turn_level_plugins_give_each_turns_tokens_its_advantage():
    # two episodes of one problem: rewards per turn [0, 1] and [0, 0]; tokens of turns 0, 1, env (-1)
    turn_rewards = [[0.0, 1.0], [0.0, 0.0]]
    token_turns = torch.tensor([[0, 0, -1, 1], [0, -1, 1, -1]])
    view = RolloutView(torch.tensor([[1.0, 0.0]]), torch.tensor([[3, 2]]), torch.zeros(1, 2, dtype=torch.long),
                       turn_rewards=turn_rewards, token_turns=token_turns)
    # Dr. GRPO per turn: returns-to-go [1, 1] and [0, 0], baselines 0.5 at both turns
    tokens = compute_advantages(make_advantage("dr_grpo"), view)
    close(tokens, [[0.5, 0.5, 0.0, 0.5], [-0.5, 0.0, -0.5, 0.0]], atol=1e-6)
    # GRPO divides by the std of the group's four returns-to-go (0.5774)
    close(compute_advantages(make_advantage("grpo"), view), tokens / 0.57735, atol=1e-4)
    with pytest.raises(ValueError, match=r"returned shape \(2, 3\); expected \(1, 2\) \(per rollout\) or \(2, 4\)"):
        compute_advantages(_Returns(value=torch.zeros(2, 3)), view)
