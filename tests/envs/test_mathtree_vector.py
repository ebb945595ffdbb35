"""`MathTreeVectorEnv`: step-for-step equivalence with `MathTreeEnv` on the problems it drew,
next-step autoreset, seeding, splits, difficulty through reset options, the vectorised sampler
against the task's own generator (exact per row, and the same target distribution), and the
fast evaluator of id rows against `grammar.evaluate`."""

from __future__ import annotations

import math
import pickle
from collections import Counter
from fractions import Fraction

import gymnasium as gym
import numpy as np
import pytest
from gymnasium.vector import AutoresetMode
from gymnasium.vector.utils import batch_space
from hypothesis import given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the ids)
from rlvr.envs.arithmetic.grammar import evaluate_cached
from rlvr.envs.mathtree.batched import TargetSampler, evaluate_ids, token_kinds
from rlvr.envs.mathtree.env import MathTreeEnv
from rlvr.envs.mathtree.grammar import build_automaton
from rlvr.envs.mathtree.task import MathTreeTask
from rlvr.envs.mathtree.vector import MathTreeVectorEnv

SMALL = {"digits": "123", "operators": "+*", "parentheses": True, "horizon": 6}


def _plain_twins(vec: MathTreeVectorEnv, kwargs: dict) -> list[MathTreeEnv]:
    return [MathTreeEnv(**kwargs) for _ in range(vec.num_envs)]


def _reset_twins(vec, twins, envs, obs):
    problems = vec.current_problems()
    for i in envs:
        twin_obs, _ = twins[i].reset(options={"problem": problems[i]})
        for key, value in twin_obs.items():
            np.testing.assert_array_equal(obs[key][i], value, err_msg=f"reset {key} of env {i}")


@pytest.mark.parametrize(("kwargs", "steps"), [
    ({}, 120),
    (SMALL, 120),
    ({"digits": "12", "operators": "-/", "parentheses": False, "horizon": 5, "target_min": -9}, 120),
    ({"mode": "countdown", "number_count": 2, "horizon": 6}, 40),
])
def test_matches_plain_env_step_for_step(kwargs, steps):
    """Same problems, same actions (random, with some out-of-vocabulary ids): same everything."""
    vec = MathTreeVectorEnv(48, **kwargs)
    twins = _plain_twins(vec, kwargs)
    rng = np.random.default_rng(7)
    obs, _ = vec.reset(seed=3)
    _reset_twins(vec, twins, range(vec.num_envs), obs)
    resetting = np.zeros(vec.num_envs, bool)
    rewarded = finished = 0
    # A third of the episodes follow the problem's solution (so that rewards happen), the rest
    # act at random, with EOS favoured (so that episodes end early) and some out-of-vocabulary ids.
    scripts = [None] * vec.num_envs
    for _ in range(steps):
        actions = rng.integers(vec.num_actions, size=vec.num_envs)
        actions[rng.random(vec.num_envs) < 0.15] = vec.eos_id
        actions[rng.random(vec.num_envs) < 0.01] = rng.choice([-1, vec.num_actions])
        for i, problem in enumerate(vec.current_problems()):
            if resetting[i] or scripts[i] is None:
                solution = vec.template.tokenizer.encode(problem.metadata["solution"]) + [vec.eos_id]
                scripts[i] = solution if rng.random() < 0.3 else []
            if scripts[i] and not resetting[i]:
                actions[i] = scripts[i].pop(0)
        obs, rewards, terminated, truncated, info = vec.step(actions)
        assert vec.observation_space.contains(obs)
        _reset_twins(vec, twins, np.flatnonzero(resetting), obs)
        for i in np.flatnonzero(~resetting):
            twin_obs, reward, done, cut, twin_info = twins[i].step(int(actions[i]))
            assert (rewards[i], terminated[i], truncated[i]) == (reward, done, cut), i
            for key, value in twin_obs.items():
                np.testing.assert_array_equal(obs[key][i], value, err_msg=f"{key} of env {i}")
            if done:
                assert info["_correct"][i] and info["correct"][i] == twin_info["correct"]
                assert info["parsed"][i] == bool(twin_info.get("parsed", 0.0))
                assert vec.problem(info["problem_index"][i]).problem_id == twin_info["problem_id"]
                rewarded, finished = rewarded + int(reward), finished + 1
        assert not info["_correct"][~(terminated | truncated)].any()
        resetting = terminated | truncated
    assert finished > 100 and rewarded > 0  # the comparison covered both outcomes


def test_make_vec_spaces_and_metadata():
    vec = gym.make_vec("rlvr/MathTree-v0", num_envs=5, vectorization_mode="vector_entry_point", **SMALL)
    assert isinstance(vec, MathTreeVectorEnv) and vec.num_envs == 5
    assert vec.metadata["autoreset_mode"] == AutoresetMode.NEXT_STEP
    single = MathTreeEnv(**SMALL)
    assert vec.single_observation_space == single.observation_space
    assert vec.single_action_space == single.action_space
    assert vec.observation_space == batch_space(single.observation_space, 5)
    assert vec.action_space == batch_space(single.action_space, 5)
    obs, info = vec.reset(seed=0)
    assert vec.observation_space.contains(obs) and set(info) == {"problem_index", "_problem_index"}
    vec.action_space.seed(0)
    for _ in range(20):
        obs, rewards, terminated, truncated, info = vec.step(vec.action_space.sample())
        assert vec.observation_space.contains(obs)
        assert rewards.dtype == np.float64 and terminated.dtype == truncated.dtype == np.bool_
    assert gym.make_vec("rlvr/MathTree-v0", num_envs=2).num_envs == 2  # the default mode picks it


def test_unsupported_options_are_clear_errors():
    with pytest.raises(ValueError, match="action_mode='token' only"):
        MathTreeVectorEnv(2, action_mode="chunk")
    with pytest.raises(TypeError, match="unexpected keyword argument 'horizn'.*horizon"):
        MathTreeVectorEnv(2, horizn=5)
    vec = MathTreeVectorEnv(2, **SMALL)
    vec.reset(seed=0)
    with pytest.raises(ValueError, match="shape \\(2,\\)"):
        vec.step(np.zeros(3, np.int64))
    with pytest.raises(KeyError, match="did you mean: difficulty"):
        vec.reset(options={"dificulty": {}})
    with pytest.raises(ValueError, match="vocabulary knobs"):
        vec.reset(options={"difficulty": {"digits": "12"}})
    with pytest.raises(ValueError, match="exceeds the horizon"):
        vec.reset(options={"difficulty": {"horizon": 7}})


def test_autoreset_next_step_and_correct_answers():
    vec = MathTreeVectorEnv(16, **SMALL)
    vec.reset(seed=5)
    tokenizer = vec.template.tokenizer
    solutions = [tokenizer.encode(p.metadata["solution"]) + [vec.eos_id] for p in vec.current_problems()]
    first_index = vec._problem_index.copy()
    ends = np.zeros(vec.num_envs, int)
    for t in range(max(map(len, solutions))):
        actions = np.array([s[t] if t < len(s) else vec.eos_id for s in solutions])
        live = np.array([t < len(s) for s in solutions])
        obs, rewards, terminated, _, info = vec.step(np.where(live, actions, 0))
        for i in np.flatnonzero(live & (np.array([len(s) for s in solutions]) == t + 1)):
            assert terminated[i] and rewards[i] == 1.0 and info["correct"][i] and info["parsed"][i]
            ends[i] = t
    assert (ends > 0).all()
    # Next-step autoreset: all end on EOS; the next step resets all, ignoring even invalid actions.
    vec.reset()
    first_index = vec._problem_index.copy()
    obs, rewards, terminated, _, info = vec.step(np.full(vec.num_envs, vec.eos_id))
    assert terminated.all() and not rewards.any() and info["_correct"].all() and not info["parsed"].any()
    assert (obs["response_length"] == 1).all() and (info["problem_index"] == first_index).all()
    obs, rewards, terminated, truncated, info = vec.step(np.full(vec.num_envs, -5))
    assert not terminated.any() and not truncated.any() and not rewards.any() and not info["_correct"].any()
    assert (obs["response_length"] == 0).all() and (obs["response_ids"] == vec.pad_id).all()
    assert (info["problem_index"] != first_index).any()
    # An out-of-vocabulary id ends the episode with reward 0 and is not appended.
    obs, rewards, terminated, _, info = vec.step(np.full(vec.num_envs, vec.num_actions))
    assert terminated.all() and not rewards.any() and (obs["response_length"] == 0).all()
    assert not info["parsed"].any()
    vec.step(np.zeros(vec.num_envs, np.int64))
    obs, _, terminated, _, _ = vec.step(np.zeros(vec.num_envs, np.float32))  # not integer ids
    assert terminated.all() and (obs["response_length"] == 0).all()


def test_seed_determinism_and_problem_stream():
    def run(seed):
        vec = MathTreeVectorEnv(32)
        obs, _ = vec.reset(seed=seed)
        actions = np.random.default_rng(0).integers(vec.num_actions, size=(60, 32))
        trace = [obs["prompt_ids"]] + [vec.step(a)[0]["prompt_ids"] for a in actions]
        return np.stack(trace), [p.content["target"] for p in vec.current_problems()]

    a, b, c = run(11), run(11), run(12)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1] and not np.array_equal(a[0], c[0])
    # A plain reset() continues the stream; reset(seed=s) restarts it.
    vec = MathTreeVectorEnv(8)
    first = vec.reset(seed=1)[0]["prompt_ids"]
    second = vec.reset()[0]["prompt_ids"]
    assert not np.array_equal(first, second)
    np.testing.assert_array_equal(vec.reset(seed=1)[0]["prompt_ids"], first)
    twin = pickle.loads(pickle.dumps(vec))
    actions = np.random.default_rng(1).integers(vec.num_actions, size=8)
    for x, y in zip(vec.step(actions)[:4], twin.step(actions)[:4], strict=True):
        np.testing.assert_equal(x, y)


@pytest.mark.parametrize("split", ["eval", "test"])
def test_split_filtering(split):
    knobs = {"number_count": 3, "target_max": 300}
    vec = MathTreeVectorEnv(64, split=split, **knobs)
    vec.reset(seed=0)
    seen = set()
    for _ in range(40):  # EOS everywhere: every other step draws 64 new problems
        vec.step(np.full(64, vec.eos_id))
        seen |= {(p.content["target"], p.split) for p in vec.current_problems()}
    assert {s for _, s in seen} == {split}
    task = MathTreeTask()
    d = task.difficulty(knobs)
    reachable = set(TargetSampler(task.check_difficulty(d), d).draw(np.random.default_rng(0), 20000)["targets"].tolist())
    in_split = {t for t in reachable if task._build(d, t, [], "").split == split}
    targets = {t for t, _ in seen}
    assert targets <= in_split and len(targets) >= 0.8 * len(in_split) and len(in_split) > 5


def test_difficulty_through_reset_options_and_reset_mask():
    vec = MathTreeVectorEnv(32)
    vec.reset(seed=0, options={"difficulty": {"horizon": 4, "target_min": 10, "target_max": 20}})
    assert all(10 <= p.content["target"] <= 20 for p in vec.current_problems())
    obs = None
    for _ in range(4):  # a horizon of 4 ends every episode within 4 steps
        obs, _, terminated, _, _ = vec.step(np.zeros(32, np.int64))
    assert terminated.all() and (obs["response_length"] == 4).all() and obs["response_ids"].shape == (32, 8)
    assert all(10 <= p.content["target"] <= 20 for p in vec.current_problems())
    mask = np.zeros(32, bool)
    mask[:5] = True
    before = vec._problem_index.copy()
    obs, info = vec.reset(options={"reset_mask": mask, "difficulty": {"target_min": 50, "target_max": 60}})
    problems = vec.current_problems()
    assert all(50 <= p.content["target"] <= 60 for p in problems[:5])
    assert (info["problem_index"][5:] == before[5:]).all() and (obs["response_length"][:5] == 0).all()


# ---------------------------------------------------------------------- the vectorised sampler
SAMPLER_KNOBS = [
    {},
    {"number_count": 3, "horizon": 6, "target_min": -20, "target_max": 60},
    {"number_count": 4, "number_max": 99, "horizon": 16, "target_min": -1000, "target_max": 1000},
    {"parentheses": False, "number_count": 4, "horizon": 9, "target_min": -50},
    {"number_count": 5, "number_min": 100, "number_max": 9999, "horizon": 40, "target_min": -10**6,
     "target_max": 10**6},  # intermediate values overflow the int64 bound: the exact fallback runs
    {"number_count": 1, "operators": ""},
]


@pytest.mark.parametrize("knobs", SAMPLER_KNOBS)
def test_sampler_rows_match_the_task_rendering_exactly(knobs):
    """Each drawn row, rendered by `random_expression`: its length, and whether and how the
    task would accept it, agree with the vectorised computation."""
    task = MathTreeTask()
    d = task.difficulty(knobs)
    sampler = TargetSampler(task.check_difficulty(d), d)
    batch = sampler.draw(np.random.default_rng(0), 1500)
    accepted = dict(zip(batch["rows"].tolist(), batch["targets"].tolist(), strict=True))
    for row in range(1500):
        text = sampler.text(batch, row)
        assert len(text) == batch["length"][row], text
        value, _, error = evaluate_cached(text)
        ok = len(text) < d["horizon"] and error is None and value.denominator == 1 and \
            d["target_min"] <= value <= d["target_max"]
        assert ok == (row in accepted), text
        if ok:
            assert accepted[row] == value, text


def _chi_square(a: Counter, b: Counter) -> tuple[float, int]:
    """Two-sample chi-square over bins, rare bins pooled; returns (statistic, degrees of freedom)."""
    n, m = sum(a.values()), sum(b.values())
    bins, pooled = [], [0, 0]
    for key in set(a) | set(b):
        if a[key] + b[key] >= 10:
            bins.append((a[key], b[key]))
        else:
            pooled[0], pooled[1] = pooled[0] + a[key], pooled[1] + b[key]
    bins.append(tuple(pooled))
    stat = sum((x * math.sqrt(m / n) - y * math.sqrt(n / m)) ** 2 / (x + y) for x, y in bins if x + y)
    return stat, len(bins) - 1


def _critical(df: int, z: float = 3.72) -> float:
    """Wilson-Hilferty approximation of the chi-square quantile (z = 3.72: p about 1e-4)."""
    return df * (1 - 2 / (9 * df) + z * math.sqrt(2 / (9 * df))) ** 3


@pytest.mark.parametrize(("knobs", "mistake"), [
    (SAMPLER_KNOBS[1], {"horizon": 16}),  # keeping the rows whose parentheses overflow the horizon
    (SAMPLER_KNOBS[3], {"parentheses": True}),  # merging in random order without parentheses
])
def test_sampler_target_distribution_matches_task_generate(knobs, mistake):
    task = MathTreeTask()
    d = task.difficulty(knobs)
    rng = np.random.default_rng(2024)
    plain = Counter(int(task.generate(rng, d).content["target"]) for _ in range(6000))
    vector = Counter()
    sampler = TargetSampler(task.check_difficulty(d), d)
    vec_rng = np.random.default_rng(99)
    while sum(vector.values()) < 60000:
        vector.update(sampler.draw(vec_rng, 4096)["targets"].tolist())
    stat, df = _chi_square(plain, vector)
    assert stat < _critical(df), (stat, df)
    # The test has power: a plausible mistake in the sampler is detected.
    other = {**d, **mistake}
    wrong = Counter(TargetSampler(task.check_difficulty(other), other).draw(vec_rng, 60000)["targets"].tolist())
    stat, df = _chi_square(plain, wrong)
    assert stat > _critical(df), (stat, df)


# ---------------------------------------------------------------------- the id-row evaluator
FULL_TOKENS = tuple("0123456789+-*/()") + ("<eos>",)


@settings(max_examples=400, deadline=None)
@given(st.lists(st.sampled_from(range(len(FULL_TOKENS))), min_size=1, max_size=40))
def test_evaluate_ids_matches_grammar_evaluate(ids):
    automaton = build_automaton(FULL_TOKENS, 20)
    if not automaton.accepting[automaton.run(ids)]:
        return
    text = "".join(FULL_TOKENS[i] for i in ids if FULL_TOKENS[i] != "<eos>")
    value, _, error = evaluate_cached(text)
    exact = evaluate_ids(bytes(ids), token_kinds(FULL_TOKENS))
    assert (exact is None) == (error is not None), text
    if exact is not None:
        assert Fraction(*exact) == value, text


@pytest.mark.parametrize(("text", "expected"), [
    ("7-2-3", Fraction(2)), ("8/(4/2)", Fraction(4)), ("2+3*4-6/4", Fraction(25, 2)),
    ("(1+2)*(3-5)", Fraction(-6)), ("5/(3-3)", None), ("1" * 31, None), ("1" * 30, Fraction(int("1" * 30))),
])
def test_evaluate_ids_worked_examples(text, expected):
    ids = bytes(FULL_TOKENS.index(c) for c in text) + bytes([16])
    exact = evaluate_ids(ids, token_kinds(FULL_TOKENS))
    assert (None if exact is None else Fraction(*exact)) == expected


def test_copy_option_and_truncation():
    vec = MathTreeVectorEnv(4, copy=True, **SMALL)
    obs, _ = vec.reset(seed=0)
    kept = obs["response_ids"].copy()
    vec.step(np.zeros(4, np.int64))
    np.testing.assert_array_equal(obs["response_ids"], kept)  # a returned observation stays as it was
    shared = MathTreeVectorEnv(4, copy=False, **SMALL)
    obs, _ = shared.reset(seed=0)
    assert shared.step(np.zeros(4, np.int64))[0]["response_ids"] is obs["response_ids"]
    # max_episode_steps (what make_vec passes for a TimeLimit) truncates without scoring.
    vec = MathTreeVectorEnv(4, max_episode_steps=3, **SMALL)
    vec.reset(seed=0)
    for _ in range(2):
        assert not any(vec.step(np.zeros(4, np.int64))[2:4][1])
    _, rewards, terminated, truncated, info = vec.step(np.zeros(4, np.int64))
    assert truncated.all() and not terminated.any() and not rewards.any() and info["_correct"].all()
    _, _, terminated, truncated, _ = vec.step(np.zeros(4, np.int64))
    assert not truncated.any() and not terminated.any()
