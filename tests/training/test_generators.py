"""Generator plug-ins: the spec's worked numbers (HBPO's f1/f2, LATR's branching rule), their
properties, and the generators on the tiny model: plain and episodes as the loop had them, HBPO's
budget subgroups, LATR's forked KV cache giving exact log-probs and a plain step at share 0."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.training.advantages import compute_advantages, grpo_advantages, view_of  # noqa: E402
from rlvr.training.builders import build_env, build_policy, build_task  # noqa: E402
from rlvr.training.config import TrainConfig, load_config  # noqa: E402
from rlvr.training.generators import (  # noqa: E402
    GENERATORS,
    GenerationContext,
    HBPOAdvantage,
    HBPOReward,
    budget_reward,
    make_generator,
    rouge_l,
    scaled_windows,
    should_branch,
    subgroup_budgets,
    suffix_match,
)
from rlvr.training.generators.hbpo import scaled  # noqa: E402
from rlvr.training.generators.tree_decode import Branch, ForkingDecoder  # noqa: E402
from rlvr.training.multiturn import run_episodes  # noqa: E402
from rlvr.training.reward_transforms.base import RewardBatch  # noqa: E402
from rlvr.training.rollout import ProblemStream, collect_group_rollouts  # noqa: E402
from tests.training.conftest import MULTITURN  # noqa: E402
from tests.training.test_trainer import SMALL  # noqa: E402


# ---- HBPO: the spec's numbers ----------------------------------------------------------------------
def test_hbpo_rewards_are_the_specs():
    assert round(budget_reward(512, 512), 3) == 3.923  # f2(512)
    assert round(budget_reward(800, 512), 3) == 3.743  # f1(800 | 512)
    assert budget_reward(300, 512) == budget_reward(512, 512)  # within the budget: f2(b), whatever n
    assert budget_reward(4097, 512) == 0.0  # past L_max


@given(st.integers(1, 4096), st.sampled_from([512, 1024, 2048, 2560]), st.sampled_from([8, 64, 256, 1024]))
def test_scaled_budgets_give_the_specs_reward_at_the_scaled_length(length, budget, max_new_tokens):
    budgets, alpha = scaled([budget], 4096, None, max_new_tokens)
    factor = max_new_tokens / 4096
    # at exactly scaled lengths (budgets rounded, so compare where the rounding is exact)
    if budgets[0] == budget * factor:
        assert budget_reward(length * factor, budgets[0], max_len=max_new_tokens, alpha=alpha) == \
            pytest.approx(budget_reward(length, budget), abs=1e-9)


def test_hbpo_reward_and_advantage_by_subgroup():
    budgets = [2, 4]
    rewards = torch.tensor([[1.0, 1.0, 1.0, 0.0]])
    lengths = torch.tensor([[1, 3, 3, 2]])
    reward = HBPOReward(budgets=budgets, max_len=8, beta=4.0, alpha=0.125)
    shaped = reward(RewardBatch(rewards, lengths, {"correct": rewards}, 0))
    f2 = [4 * math.cos(math.pi * b / 16) for b in budgets]
    f1 = 4 * math.cos(math.pi * 3 / 16) - 0.125 * 1  # n = 3 past budget 2
    torch.testing.assert_close(shaped, torch.tensor([[f2[0], f1, f2[1], 0.0]]))
    advantage = compute_advantages(HBPOAdvantage(budgets=budgets, max_len=8), view_of(shaped))
    means = [(f2[0] + f1) / 2, f2[1] / 2]
    expected = grpo_advantages(shaped)[0] + torch.tensor([means[0] - f2[0]] * 2 + [means[1] - f2[1]] * 2)
    torch.testing.assert_close(advantage, expected)
    # a subgroup all correct within its budget earns no subgroup term
    full = torch.tensor([[f2[0], f2[0], f2[1], f2[1]]])
    torch.testing.assert_close(HBPOAdvantage(budgets=budgets, max_len=8)(view_of(full)), grpo_advantages(full))


def test_hbpo_refuses_groups_it_cannot_split_and_bad_settings():
    with pytest.raises(ValueError, match="multiple of 4"):
        subgroup_budgets([512, 1024, 2048, 2560], 6)
    with pytest.raises(ValueError, match="budgets expects a non-empty list"):
        make_generator("hbpo", {"budgets": [0, 8]})
    with pytest.raises(ValueError, match="must contain"):
        make_generator("hbpo", {"hint": "no budget here"})
    with pytest.raises(ValueError, match="takes settings"):
        make_generator("hbpo", {"budget": [8]})
    with pytest.raises(ValueError, match="unknown generator 'lart'.*latr"):
        make_generator("lart")


# ---- LATR: the spec's numbers and the similarity tests -------------------------------------------
def test_latr_branches_where_the_spec_says():
    assert should_branch([0.5, 0.3, 0.2])
    assert not should_branch([0.7, 0.2, 0.1])
    assert should_branch([0.14, 0.4, 0.46])  # the top two wherever they sit
    assert not should_branch([0.5, 0.15, 0.35 - 0.2, 0.2])  # p2 = 0.2 but the gap is 0.3
    assert not should_branch([0.6, 0.15, 0.25])  # p2 = 0.25, gap 0.35
    assert should_branch([0.55, 0.31, 0.14]) and not should_branch([0.56, 0.30, 0.14])  # gap 0.24 vs 0.26


@given(st.lists(st.integers(0, 5), max_size=12), st.lists(st.integers(0, 5), max_size=12))
def test_similarity_measures_are_bounded_and_rouge_is_symmetric(a, b):
    assert 0.0 <= rouge_l(a, b) <= 1.0 and 0.0 <= suffix_match(a, b) <= 1.0
    assert rouge_l(a, b) == pytest.approx(rouge_l(b, a))
    if a:
        assert rouge_l(a, a) == 1.0 and suffix_match(a, a) == 1.0


def test_a_branch_that_repeats_its_parent_is_pruned_at_its_window():
    parent = Branch(0, tokens=[1, 2, 3, 4, 5, 6])
    echo = Branch(0, parent, start=1, tokens=[1, 9, 3, 4, 5])  # after its branching token: 3 4 5 = parent's
    fresh = Branch(0, parent, start=1, tokens=[1, 9, 7, 8, 0])
    assert ForkingDecoder._pruned(echo, [3], 0.2, 0.5)
    assert not ForkingDecoder._pruned(fresh, [3], 0.2, 0.5)
    early = Branch(0, parent, start=1, tokens=[1, 9, 3])  # one token written: not yet at its window
    assert not ForkingDecoder._pruned(early, [3], 0.2, 0.5) and early.checked == 0


def test_windows_and_share_schedule():
    assert scaled_windows([20, 30, 50], 1024, 1024) == [20, 30, 50]
    assert scaled_windows([20, 30, 50], 4, 1024) == [1]
    latr = make_generator("latr", {"share": 0.8, "final_share": 0.2, "decay_steps": 6})
    assert [round(latr.share_at(step), 6) for step in (0, 3, 6, 100)] == [0.8, 0.5, 0.2, 0.2]
    assert make_generator("latr", {"share": 0.3, "decay_steps": 0}).share_at(1000) == 0.3


# ---- on the tiny model -------------------------------------------------------------------------
@pytest.fixture(scope="module")
def tiny():
    config = load_config("scenarios/quickstart.yaml", [*SMALL, "out_dir=unused", "max_new_tokens=8"])
    policy, task = build_policy(config), build_task(config)
    return policy, task, ProblemStream(task, 0, config.difficulty).take(3)


def _bound(name, settings, policy, task, group=4, max_new_tokens=8, **extra):
    generator = make_generator(name, settings)
    generator.bind(GenerationContext(policy, task, group, max_new_tokens, **extra))
    return generator


def test_plain_is_the_loops_sampling_and_scoring(tiny):
    policy, task, problems = tiny
    batch, sampling, scoring = _bound("plain", {}, policy, task).generate(problems, 7, 0)
    direct = collect_group_rollouts(policy, task, problems, 4, max_new_tokens=8, temperature=1.0, top_p=1.0, seed=7)
    assert torch.equal(batch.sample.completion_ids, direct.sample.completion_ids)
    assert torch.equal(batch.sample.logprobs, direct.sample.logprobs) and torch.equal(batch.rewards, direct.rewards)
    assert sampling >= 0 and scoring >= 0


def test_episodes_are_run_episodes(tmp_path):
    config = TrainConfig(**{**MULTITURN, "out_dir": str(tmp_path)}).validate()
    policy = build_policy(config)
    env = build_env(config)
    problems = ProblemStream(env.task, 0, dict(env.difficulty)).take(2)
    generator = make_generator(None, max_turns=3)
    generator.bind(GenerationContext(policy, env.task, 2, 6, max_turns=3, make_env=lambda: build_env(config)))
    batch, *_ = generator.generate(problems, 3, 0)
    direct = run_episodes(policy, lambda: build_env(config), problems, 2, max_turns=3, max_new_tokens=6,
                          temperature=1.0, top_p=1.0, seed=3)
    assert torch.equal(batch.sample.completion_ids, direct.sample.completion_ids)
    assert batch.turn_rewards == direct.turn_rewards
    with pytest.raises(ValueError, match="make_env"):
        make_generator("episodes").bind(GenerationContext(policy, env.task, 2, 6, max_turns=3))


def test_turn_count_must_fit_the_generator():
    make_generator("plain").check(4, 8, 1)
    with pytest.raises(ValueError, match="single responses.*max_turns=3"):
        make_generator("hbpo").check(4, 8, 3)
    make_generator("latr").check(4, 8, 3)  # trees over episodes too (test_tree_episodes)
    with pytest.raises(ValueError, match="multi-turn episodes.*max_turns=1"):
        make_generator("episodes").check(4, 8, 1)


def test_hbpo_samples_each_subgroup_with_its_budget(tiny, monkeypatch):
    policy, task, problems = tiny
    generator = _bound("hbpo", {"budgets": [512, 2048], "max_len": 4096}, policy, task, max_new_tokens=64)
    assert generator.run_budgets == [8, 32]
    asked = []
    real = policy.sample

    def recording(prompts, num_samples=1, **kwargs):
        asked.append((list(prompts), num_samples))
        return real(prompts, num_samples=num_samples, **kwargs)

    monkeypatch.setattr(policy, "sample", recording)
    batch, *_ = generator.generate(problems, 1, 0)
    prompts, per_prompt = asked[0]
    assert per_prompt == 2 and len(prompts) == 6
    assert prompts[0] == problems[0].prompt + " I will answer the question within 8 tokens."
    assert prompts[1].endswith("within 32 tokens.") and prompts[2].startswith(problems[1].prompt)
    assert batch.rewards.shape == (3, 4) and batch.problems == list(problems)
    # rows 0-1 of a group answer its first budget's prompt
    assert batch.sample.prompt_ids[0] == policy.encode([prompts[0]])[0] == batch.sample.prompt_ids[1]
    before = _bound("hbpo", {"budgets": [512, 2048], "hint": "<{budget}>", "at": "start"}, policy, task,
                    max_new_tokens=64).prompts(problems[:1])
    assert before == ["<8>" + problems[0].prompt, "<32>" + problems[0].prompt]
    advantage, transforms = generator.companions()
    assert advantage.budgets == [8, 32] and transforms[0].max_len == 64 and transforms[0].alpha == 1 / 64


def test_latr_rows_carry_the_models_exact_logprobs(tiny):
    policy, task, problems = tiny
    # branch wherever possible: a random model's distributions are too flat for the spec's thresholds
    generator = _bound("latr", {"min_second": 0.0, "max_gap": 1.0, "windows": [2, 4]}, policy, task)
    batch, *_ = generator.generate(problems, 5, 0)
    metrics = generator.metrics()
    assert metrics["latr_branches"] >= 3 and metrics["tree_share"] > 0
    sample = batch.sample
    assert batch.rewards.shape == (3, 4) and len(sample.texts) == 12
    with torch.no_grad():
        scored = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask)["logprobs"]
    torch.testing.assert_close(scored, sample.logprobs, atol=1e-5, rtol=1e-5)
    # a branch shares its parent's tokens up to its branching token, then differs there
    rows = sample.completion_lists()
    shared = [i for i in range(1, 4) if rows[i][0] == rows[0][0]]
    assert all(rows[i] != rows[0] for i in range(1, 4)), rows[:4]
    assert shared or rows[0][0] != rows[1][0]
    assert generator.state_dict() == {"totals": {"branches": int(metrics["latr_branches"]),
                                                 "pruned": int(metrics["latr_pruned"])}}


def test_latr_at_share_zero_is_a_plain_step(tiny):
    policy, task, problems = tiny
    latr, plain = _bound("latr", {"share": 0.0}, policy, task), _bound("plain", {}, policy, task)
    one, *_ = latr.generate(problems, 11, 0)
    two, *_ = plain.generate(problems, 11, 0)
    assert torch.equal(one.sample.completion_ids, two.sample.completion_ids)
    assert torch.equal(one.sample.logprobs, two.sample.logprobs) and one.sample.texts == two.sample.texts


def test_latr_fills_slots_no_branch_took_with_plain_samples(tiny):
    policy, task, problems = tiny
    generator = _bound("latr", {"min_second": 0.99}, policy, task)  # never branches: one tree row each
    batch, *_ = generator.generate(problems, 2, 0)
    assert generator.metrics()["latr_branches"] == 0 and batch.rewards.shape == (3, 4)
    assert generator.metrics()["tree_share"] == pytest.approx(0.25)


def test_latr_state_round_trips_and_refuses_junk():
    latr = make_generator("latr")
    latr.load_state_dict({"totals": {"branches": 5, "pruned": 2}})
    assert latr.state_dict() == {"totals": {"branches": 5, "pruned": 2}}
    with pytest.raises(ValueError, match="expects a state"):
        latr.load_state_dict({"totals": {"branches": 5}})


@settings(max_examples=20, deadline=None)
@given(st.lists(st.floats(0.0, 1.0), min_size=2, max_size=6))
def test_branching_rule_ignores_order(probabilities):
    assert should_branch(probabilities) == should_branch(list(reversed(probabilities)))


def test_every_generator_is_listed():
    assert {"plain", "episodes", "hbpo", "latr"} <= set(GENERATORS)


# ---- Rollout-GDRO's allocation ------------------------------------------------------------------
def test_rollout_gdro_allocation_is_the_specs():
    from rlvr.training.generators.rollout_gdro import allocate_rollouts

    assert allocate_rollouts([0.5, 0.9], [1.0, 1.0], 8) == [10, 6]
    assert allocate_rollouts([0.5, 0.5], [4.0, 1.0], 6) == [8, 4]  # sqrt(4) : sqrt(1)
    with pytest.raises(ValueError, match="cannot give each of 3 bins 5"):
        allocate_rollouts([0.5] * 3, [1.0] * 3, 4, minimum=5)
    with pytest.raises(ValueError, match="pass rates in"):
        allocate_rollouts([1.5], [1.0], 4)


@given(st.lists(st.tuples(st.floats(0.0, 1.0), st.floats(0.0, 10.0)), min_size=1, max_size=6), st.integers(2, 16))
def test_rollout_gdro_allocation_keeps_the_budget(bins, budget):
    from rlvr.training.generators.rollout_gdro import allocate_rollouts

    rates, weights = [p for p, _ in bins], [w for _, w in bins]
    counts = allocate_rollouts(rates, weights, budget, minimum=1)
    assert sum(counts) == budget * len(bins) and min(counts) >= 1
    spread = [math.sqrt(w) * math.sqrt(p * (1 - p)) for p, w in bins]
    for i in range(len(bins)):  # more spread never gets fewer rollouts (up to one for rounding)
        for j in range(len(bins)):
            if spread[i] > spread[j]:
                assert counts[i] >= counts[j] - 1
