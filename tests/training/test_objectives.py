"""Objective plug-ins: trajectory balance (zero on a balanced flow, the reward-proportional optimum of
a tabular policy, the centred form), robust DPO (DPO at e = 0, log 2 at h = 0, unbiased under flipped
labels, gradients that prefer the chosen answer), and both on real batches of the tiny model with
their state (log Z, the replay buffer) through `weights_only` loading."""

from __future__ import annotations

import io
import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from hypothesis import given  # noqa: E402
from hypothesis import strategies as st  # noqa: E402
from torch.nn.functional import logsigmoid  # noqa: E402

from rlvr.training.builders import build_policy, build_task  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.objectives import (  # noqa: E402
    OBJECTIVES,
    centred_balance,
    group_pairs,
    make_objective,
    robust_dpo_loss,
    trajectory_balance,
)
from rlvr.training.rollout import ProblemStream, collect_group_rollouts  # noqa: E402
from tests.training.test_trainer import SMALL  # noqa: E402


# ---- trajectory balance ----------------------------------------------------------------------------
@given(st.lists(st.floats(-5, 5), min_size=1, max_size=6), st.floats(-4, 4))
def test_a_balanced_flow_has_zero_loss(log_rewards, c):
    log_r = torch.tensor(log_rewards, dtype=torch.float64)
    log_pf = log_r + c  # log P_F = log R + c for every trajectory
    assert float(trajectory_balance(log_pf, log_r, torch.tensor(-c, dtype=torch.float64))) == pytest.approx(0, abs=1e-18)
    assert float(centred_balance(log_pf, log_r, torch.zeros(len(log_rewards), dtype=torch.long))) < 1e-20


def test_learned_log_z_finds_the_constant():
    log_r = torch.tensor([0.0, math.log(3.0), -1.0])
    log_pf = log_r + 1.7
    log_z = torch.nn.Parameter(torch.tensor(0.0))
    optimizer = torch.optim.Adam([log_z], lr=0.05)
    for _ in range(400):
        optimizer.zero_grad()
        trajectory_balance(log_pf, log_r, log_z).backward()
        optimizer.step()
    assert float(log_z.detach()) == pytest.approx(-1.7, abs=1e-3)
    assert float(trajectory_balance(log_pf, log_r, log_z).detach()) < 1e-6


def test_a_tabular_policy_learns_the_reward_proportional_flow():
    # two leaves under one root, rewards 1 and 3: trajectory balance's optimum is P_F = R / Z = [.25, .75]
    logits = torch.nn.Parameter(torch.zeros(2))
    log_z = torch.nn.Parameter(torch.tensor(0.0))
    log_r = torch.log(torch.tensor([1.0, 3.0]))
    optimizer = torch.optim.Adam([logits, log_z], lr=0.05)
    for _ in range(1500):
        optimizer.zero_grad()
        trajectory_balance(torch.log_softmax(logits, -1), log_r, log_z).backward()
        optimizer.step()
    torch.testing.assert_close(torch.softmax(logits, -1), torch.tensor([0.25, 0.75]), atol=1e-3, rtol=0)
    assert float(log_z.detach()) == pytest.approx(math.log(4.0), abs=1e-3)


def test_centring_is_per_group():
    # two groups, each balanced with its own constant: zero; mixing them in one group is not
    log_r = torch.tensor([0.0, 1.0, 0.0, 1.0])
    log_pf = log_r + torch.tensor([1.0, 1.0, -2.0, -2.0])
    assert float(centred_balance(log_pf, log_r, torch.tensor([0, 0, 1, 1]))) == 0.0
    assert float(centred_balance(log_pf, log_r, torch.tensor([0, 0, 0, 0]))) == pytest.approx(2.25)


# ---- robust DPO --------------------------------------------------------------------------------------
@given(st.lists(st.floats(-20, 20), min_size=1, max_size=5), st.floats(0.01, 5.0))
def test_robust_dpo_at_zero_flip_rate_is_dpo(margins, beta):
    h = torch.tensor(margins, dtype=torch.float64)
    torch.testing.assert_close(robust_dpo_loss(h, beta, 0.0), (-logsigmoid(beta * h)).mean())


@given(st.floats(0.0, 0.49), st.floats(0.01, 5.0))
def test_robust_dpo_at_zero_margin_is_log_two(epsilon, beta):
    assert float(robust_dpo_loss(torch.zeros(4, dtype=torch.float64), beta, epsilon)) == pytest.approx(math.log(2))


@given(st.floats(-10, 10), st.floats(0.0, 0.45), st.floats(0.05, 3.0))
def test_robust_dpo_is_unbiased_under_flipped_labels_and_prefers_the_chosen(margin, epsilon, beta):
    h = torch.tensor([margin], dtype=torch.float64, requires_grad=True)
    # labels flipped with probability e: the expected robust loss is the clean DPO loss
    expected = (1 - epsilon) * robust_dpo_loss(h, beta, epsilon) + epsilon * robust_dpo_loss(-h, beta, epsilon)
    torch.testing.assert_close(expected, (-logsigmoid(beta * h)).mean())
    robust_dpo_loss(h, beta, epsilon).backward()
    if epsilon < 0.5 and abs(margin) < 1.0:  # near h = 0 descent raises the chosen answer's margin
        assert float(h.grad) < 0


def test_robust_dpo_refuses_a_flip_rate_of_one_half():
    with pytest.raises(ValueError, match=r"\[0, 0.5\)"):
        robust_dpo_loss(torch.zeros(1), 0.1, 0.5)
    with pytest.raises(ValueError, match="epsilon must be in"):
        make_objective("robust_dpo", {"epsilon": 0.5})


def test_pairs_come_from_groups_with_both_verdicts():
    assert group_pairs(torch.tensor([[1.0, 1.0], [0.0, 0.0]])) == []
    assert group_pairs(torch.tensor([[0.0, 1.0, 1.0, 0.0, 0.0]])) == [(1, 0), (2, 3)]


# ---- on the tiny model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def rollouts():
    config = load_config("scenarios/quickstart.yaml", [*SMALL, "out_dir=unused", "max_new_tokens=4"])
    policy, task = build_policy(config), build_task(config)
    batch = collect_group_rollouts(policy, task, ProblemStream(task, 0, config.difficulty).take(3), 4,
                                   max_new_tokens=4, seed=3)
    return policy, batch


def _round_trip(state):
    buffer = io.BytesIO()
    torch.save(state, buffer)
    buffer.seek(0)
    return torch.load(buffer, weights_only=True)


def test_flow_of_reasoning_on_a_real_batch(rollouts):
    policy, batch = rollouts
    batch.rewards = torch.tensor([[1.0, 0.0, 2.0, 0.0], [0.0, 0.0, 0.0, 1.0], [3.0, 0.0, 0.0, 0.0]])
    flow = make_objective("flow_of_reasoning", {"replay_size": 3, "replay_batch": 2, "log_z_init": 0.5})
    flow.bind(seed=0)
    numbers = flow.prepare(batch, policy, None, step=0)
    assert numbers == {"log_z": 0.5, "replayed": 0.0, "replay_buffer": 0.0}
    loss = flow.loss(policy)
    # the loss by hand: summed log-probs of each row, rewards floored at 1e-3
    with torch.no_grad():
        logprobs = policy.score(batch.sample.prompt_ids, batch.sample.completion_ids,
                                batch.sample.completion_mask)["logprobs"].sum(-1)
    log_r = torch.log(batch.rewards.reshape(-1).clamp_min(1e-3))
    assert float(loss.detach()) == pytest.approx(float(((0.5 + logprobs - log_r) ** 2).mean()), rel=1e-5)
    policy.model.zero_grad(set_to_none=True)
    loss.backward()
    policy.model.zero_grad(set_to_none=True)  # the fixture's policy is shared: leave no gradient behind
    assert flow.log_z_value.grad is not None and flow.parameter_groups(1e-4)[0]["lr"] == 0.1
    flow.observe(batch)  # four rows reach 0.5; the buffer keeps the newest three
    assert len(flow.buffer) == 3 and [item["reward"] for item in flow.buffer] == [2.0, 1.0, 3.0]
    numbers = flow.prepare(batch, policy, None, step=1)
    assert numbers["replayed"] == 2.0 and flow._rows[1].shape[0] == 14
    state = _round_trip(flow.state_dict())
    twin = make_objective("flow_of_reasoning", {"replay_size": 3, "replay_batch": 2})
    twin.bind(seed=0)
    twin.load_state_dict(state)
    assert twin.buffer == flow.buffer and float(twin.log_z_value.detach()) == float(flow.log_z_value.detach())
    assert twin._replayed(7) == flow._replayed(7)  # the same draws from the same (seed, step)
    with pytest.raises(ValueError, match="at most 3 items"):
        twin.load_state_dict({"log_z": torch.tensor(0.0), "buffer": flow.buffer + flow.buffer})
    with pytest.raises(ValueError, match="at most 3 items"):
        twin.load_state_dict({"log_z": torch.tensor(0.0), "buffer": [{"prompt": ["x"], "completion": [],
                                                                       "mask": [], "reward": 1.0}]})


def test_robust_dpo_on_a_real_batch(rollouts):
    policy, batch = rollouts
    import copy

    batch.components = {**batch.components, "correct": torch.tensor([[1.0, 0.0, 0.0, 0.0], [0.0] * 4, [0.0, 1.0, 1.0, 0.0]])}
    dpo = make_objective("robust_dpo", {"beta": 1.0, "epsilon": 0.1})
    reference = copy.copy(policy)
    reference.model = copy.deepcopy(policy.model)
    assert dpo.prepare(batch, policy, reference, 0) == {"pairs": 3.0}
    loss = dpo.loss(policy)
    assert float(loss.detach()) == pytest.approx(math.log(2), abs=1e-5)  # the policy is still the reference
    optimizer = torch.optim.SGD(policy.model.parameters(), lr=0.05)
    optimizer.zero_grad()
    loss.backward()
    optimizer.step()
    assert float(dpo.loss(policy).detach()) < math.log(2) - 0.1  # one step prefers the correct answers
    policy.model.load_state_dict(reference.model.state_dict())
    batch.components["correct"] = torch.zeros(3, 4)
    assert dpo.prepare(batch, policy, reference, 0) == {"pairs": 0.0} and dpo.loss(policy) is None


def test_every_objective_is_listed():
    assert set(OBJECTIVES) == {"flow_of_reasoning", "robust_dpo"}
