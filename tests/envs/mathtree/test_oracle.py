"""Exact Q of the uniform policy: worked numbers, ROVER's theorem on random trees and on MathTree,
the non-binary negative control, Monte-Carlo agreement and brute-force leaf enumeration."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from rlvr.envs.mathtree.env import MathTreeEnv
from rlvr.envs.mathtree.oracle import (
    ExplicitTree,
    MathTreeOracle,
    UniformQ,
    q_uniform,
    softmax_policy,
)
from rlvr.envs.mathtree.task import MathTreeTask
from rlvr.envs.mathtree.vocab import Vocabulary
from tests.envs.mathtree.reference import CharTokenizer

SMALL_CONFIGS = [
    {"digits": "123", "operators": "+*", "parentheses": False, "horizon": 5, "target_max": 30},
    {"digits": "12", "operators": "+-*", "parentheses": True, "horizon": 5, "target_min": -5, "target_max": 20},
    {"digits": "234", "operators": "+*", "parentheses": False, "horizon": 5, "mode": "countdown",
     "target_max": 50},
    {"digits": "13", "operators": "*/", "parentheses": True, "horizon": 5, "target_max": 9},
]


def test_worked_binary_tree():
    tree = ExplicitTree.full(2, 3, {(1, 0, 1): 1.0})
    uniform = UniformQ(tree)
    assert uniform.q(()).tolist() == [0.0, 0.25]
    assert uniform.q((1,)).tolist() == [0.5, 0.0]
    assert uniform.q((1, 0)).tolist() == [0.0, 1.0]
    assert uniform.greedy(()) == ([1, 0, 1], 1.0)
    assert np.allclose(softmax_policy(q_uniform(tree, ())), [0.438, 0.562], atol=5e-4)


def test_negative_control_non_binary_rewards():
    """One leaf worth 1 among four vs four leaves worth 0.6: greedy on Q^u takes the 0.6 subtree."""
    rewards = {(0, 1, 1): 1.0, **{(1, a, b): 0.6 for a in (0, 1) for b in (0, 1)}}
    tree = ExplicitTree.full(2, 3, rewards)
    uniform = UniformQ(tree)
    assert np.allclose(uniform.q(()), [0.25, 0.6])
    actions, reward = uniform.greedy(())
    assert actions[0] == 1 and reward == pytest.approx(0.6)
    assert max(tree.rewards.values()) == 1.0  # so greedy on Q^u is not optimal here


def test_rover_theorem_on_random_trees():
    rng = np.random.default_rng(2024)
    for _ in range(2000):
        tree = ExplicitTree.random(rng)
        actions, reward = UniformQ(tree).greedy(())
        assert reward == 1.0, (tree, actions)


def _uniform_leaf_reward(tree: ExplicitTree, state, rng) -> float:
    while True:
        state, reward, terminal = tree.transition(state, int(rng.integers(tree.num_actions(state))))
        if terminal:
            return reward


def test_monte_carlo_matches_dp_on_random_trees():
    rng = np.random.default_rng(7)
    for _ in range(5):
        tree = ExplicitTree.random(rng, depth=(3, 4), rewarding=(2, 6))
        exact = q_uniform(tree, ())
        for action, q in enumerate(exact):
            child, reward, terminal = tree.transition((), action)
            samples = 4000
            estimate = reward if terminal else np.mean([_uniform_leaf_reward(tree, child, rng) for _ in range(samples)])
            bound = 5 * np.sqrt(max(q * (1 - q), 1e-4) / samples)
            assert abs(estimate - q) <= bound


def _uniform_rollout(env: MathTreeEnv, state, rng) -> float:
    env.set_state(state)
    while True:
        _, reward, terminated, _, _ = env.step(int(rng.integers(env.num_actions)))
        if terminated:
            return reward


@pytest.mark.parametrize("config", SMALL_CONFIGS[:2])
def test_monte_carlo_matches_dp_on_mathtree(config):
    env = MathTreeEnv(**config)
    env.reset(seed=3)
    rng = np.random.default_rng(11)
    checked = 0
    for _ in range(2):  # the root and the state after the oracle's first token
        exact = env.q_uniform()
        state = env.get_state()
        for action in range(env.num_actions):
            env.set_state(state)
            _, reward, terminated, _, _ = env.step(action)
            if terminated:
                assert reward == exact[action]
                continue
            after = env.get_state()
            samples = 3000
            estimate = np.mean([_uniform_rollout(env, after, rng) for _ in range(samples)])
            bound = 5 * np.sqrt(max(exact[action] * (1 - exact[action]), 1e-4) / samples)
            assert abs(estimate - exact[action]) <= bound, (action, estimate, exact[action])
            checked += 1
        env.set_state(state)
        env.step(int(np.argmax(exact)))
    assert checked >= 4


def test_correct_leaves_match_brute_force_enumeration():
    """Every token sequence (up to EOS or the horizon) played through the env: the rewarding
    ones are exactly the oracle's leaves, and V^u(root) is their total probability."""
    config = {"digits": "12", "operators": "+", "parentheses": True, "horizon": 5, "target_max": 6}
    env = MathTreeEnv(**config)
    env.reset(seed=5)
    root = env.get_state()
    size = env.num_actions
    rewarding, probability = set(), 0.0
    for length in range(1, env.horizon + 1):
        for ids in itertools.product(range(size), repeat=length):
            if env.eos_id in ids[:-1] or (length < env.horizon and ids[-1] != env.eos_id):
                continue  # not a leaf
            env.set_state(root)
            for token in ids:
                _, reward, terminated, _, _ = env.step(token)
            assert terminated
            if reward == 1.0:
                rewarding.add(ids)
                probability += size ** -length
    oracle = env.oracle()
    assert rewarding and oracle.correct_leaves() == rewarding
    assert oracle.value() == pytest.approx(probability)


def test_greedy_on_q_uniform_solves_mathtree_instances():
    """ROVER's theorem on >= 100 generated instances with |V| <= 8, H <= 5."""
    solved = 0
    for index, config in enumerate(SMALL_CONFIGS):
        env = MathTreeEnv(**config)
        assert env.num_actions <= 8 and env.horizon <= 5
        for episode in range(30):
            env.reset(seed=1000 * index + episode)
            assert env.oracle().value() > 0  # generated instances are solvable within H
            terminated = False
            while not terminated:
                q = env.q_uniform()
                assert q.max() > 0
                _, reward, terminated, _, info = env.step(int(np.argmax(q)))
            assert reward == 1.0, info
            solved += 1
    assert solved >= 100


@pytest.mark.slow
def test_greedy_on_q_uniform_solves_larger_mathtree_instances():
    config = {"digits": "123456789", "operators": "+-*/", "parentheses": True, "horizon": 5, "target_max": 60}
    env = MathTreeEnv(**config)
    for episode in range(8):  # about 5 s each: |V|^H is a million here
        env.reset(seed=episode)
        terminated = False
        while not terminated:
            _, reward, terminated, _, _ = env.step(int(np.argmax(env.q_uniform())))
        assert reward == 1.0


def test_oracle_refuses_huge_trees():
    task = MathTreeTask()
    problem = task.problem_at(0, 0, {"horizon": 12})
    with pytest.raises(ValueError, match=r"\|V\|\^H = 17\^12"):
        MathTreeOracle(task, problem, Vocabulary(), 12)
    with pytest.raises(ValueError, match="synthetic vocabulary"):
        env = MathTreeEnv(tokenizer=CharTokenizer())
        env.reset(seed=0)
        env.q_uniform()


def test_q_uniform_of_dead_prefix_is_zero():
    env = MathTreeEnv(digits="12", operators="+", parentheses=False, horizon=5)
    env.reset(seed=0)
    oracle = env.oracle()
    plus = env.tokenizer.encode("+")[0]
    assert not oracle.q_uniform((plus,)).any()
    with pytest.raises(ValueError, match="finished response"):
        oracle.q_uniform((0, env.eos_id))
