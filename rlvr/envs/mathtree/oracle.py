"""Exact Q of the uniform random policy on finite tree MDPs, and the MathTree adapter.

For a finite-horizon, deterministic, tree-shaped MDP with terminal rewards,

    Q^u(s, a) = r(s, a) + (1/|A(s')|) * sum_a' Q^u(s', a')      (0 after a terminal transition)

With binary rewards Q^u(s, a) is the probability that uniform play after `a` reaches a rewarding
leaf, so it is positive exactly when a rewarding leaf lies below `a`; acting greedily on it
therefore always reaches one (ROVER's theorem). With non-binary rewards that fails: a subtree
whose leaves are all worth 0.6 beats one holding a single leaf worth 1 among four.

`UniformQ(mdp)` computes Q^u by memoised recursion for any object with `num_actions(state)` and
`transition(state, action) -> (next_state, reward, terminal)`; `ExplicitTree` is such an MDP
given by its branching and leaf rewards; `MathTreeOracle` adapts a MathTree problem, treating a
prefix the grammar proves can never be completed within the horizon as a leaf worth 0.
"""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from typing import Any, Protocol

import numpy as np

from rlvr.core.problem import Problem
from rlvr.envs.mathtree.grammar import build_automaton
from rlvr.envs.mathtree.vocab import Vocabulary

DEFAULT_MAX_LEAVES = 2_000_000
"""Largest |V|^H the MathTree oracle accepts by default (pruning keeps the real work far smaller)."""


class TreeMDP(Protocol):
    def num_actions(self, state: Any) -> int: ...

    def transition(self, state: Any, action: int) -> tuple[Hashable, float, bool]: ...


class UniformQ:
    """Memoised Q^u and V^u of one MDP (values are cached across queries)."""

    def __init__(self, mdp: TreeMDP) -> None:
        self.mdp = mdp
        self._values: dict[Hashable, float] = {}

    def q(self, state: Hashable) -> np.ndarray:
        """Q^u(state, a) for every action a."""
        count = self.mdp.num_actions(state)
        out = np.empty(count)
        for action in range(count):
            nxt, reward, terminal = self.mdp.transition(state, action)
            out[action] = reward if terminal else reward + self.value(nxt)
        return out

    def value(self, state: Hashable) -> float:
        """V^u(state): the mean of Q^u(state, .)."""
        value = self._values.get(state)
        if value is None:
            value = float(self.q(state).mean())
            self._values[state] = value
        return value

    def greedy(self, state: Hashable) -> tuple[list[int], float]:
        """Follow argmax Q^u from `state` to a leaf; returns (actions, final reward)."""
        actions: list[int] = []
        while True:
            action = int(np.argmax(self.q(state)))
            actions.append(action)
            state, reward, terminal = self.mdp.transition(state, action)
            if terminal:
                return actions, reward


def q_uniform(mdp: TreeMDP, state: Hashable) -> np.ndarray:
    """Q^u(state, .) of any finite tree MDP (a fresh memo; keep a `UniformQ` to reuse one)."""
    return UniformQ(mdp).q(state)


def softmax_policy(q_values: np.ndarray, rho: float = 1.0) -> np.ndarray:
    """pi(a) proportional to exp(Q(a) / rho), ROVER's sampling policy.

    >>> softmax_policy(np.array([0.0, 0.25])).round(3).tolist()
    [0.438, 0.562]
    """
    logits = np.asarray(q_values, dtype=float) / rho
    weights = np.exp(logits - logits.max())
    return weights / weights.sum()


@dataclass
class ExplicitTree:
    """A finite tree given explicitly: states are paths (tuples of actions) from the root `()`.

    `branching[path]` is the number of children of each internal node; any other path reached is
    a leaf, worth `rewards.get(leaf, 0.0)` (paid on the transition into it).
    """

    branching: dict[tuple[int, ...], int]
    rewards: dict[tuple[int, ...], float] = field(default_factory=dict)

    def num_actions(self, state: tuple[int, ...]) -> int:
        return self.branching[state]

    def transition(self, state: tuple[int, ...], action: int) -> tuple[tuple[int, ...], float, bool]:
        child = (*state, action)
        if child in self.branching:
            return child, 0.0, False
        return child, self.rewards.get(child, 0.0), True

    def leaves(self) -> list[tuple[int, ...]]:
        return [(*node, a) for node, count in self.branching.items() for a in range(count)
                if (*node, a) not in self.branching]

    @classmethod
    def full(cls, branching: int, depth: int, rewards: dict[tuple[int, ...], float] | None = None) -> ExplicitTree:
        """Every internal node has `branching` children; leaves at `depth`."""
        nodes: dict[tuple[int, ...], int] = {}
        frontier: list[tuple[int, ...]] = [()]
        for _ in range(depth):
            for node in frontier:
                nodes[node] = branching
            frontier = [(*node, a) for node in frontier for a in range(branching)]
        return cls(nodes, dict(rewards or {}))

    @classmethod
    def random(cls, rng: np.random.Generator, branching: tuple[int, int] = (2, 4), depth: tuple[int, int] = (2, 5),
               rewarding: tuple[int, int] = (1, 3)) -> ExplicitTree:
        """Leaves at a random depth, each node with its own random branching, and a few leaves
        worth 1 (bounds inclusive)."""
        tree_depth = int(rng.integers(depth[0], depth[1] + 1))
        nodes: dict[tuple[int, ...], int] = {}
        frontier: list[tuple[int, ...]] = [()]
        for _ in range(tree_depth):
            nxt = []
            for node in frontier:
                count = int(rng.integers(branching[0], branching[1] + 1))
                nodes[node] = count
                nxt += [(*node, a) for a in range(count)]
            frontier = nxt
        chosen = rng.choice(len(frontier), size=min(len(frontier), int(rng.integers(rewarding[0], rewarding[1] + 1))),
                            replace=False)
        return cls(nodes, {frontier[int(i)]: 1.0 for i in chosen})


class MathTreeMDP:
    """A MathTree problem as a tree MDP over response-id prefixes (see the module doc)."""

    def __init__(self, task: Any, problem: Problem, vocabulary: Vocabulary, horizon: int) -> None:
        self.task, self.problem, self.vocabulary, self.horizon = task, problem, vocabulary, int(horizon)
        self.automaton = build_automaton(vocabulary.tokens, max(1, self.horizon // 2))
        self.eos_id = vocabulary.eos_id
        self._symbols = tuple("" if i == self.eos_id else t for i, t in enumerate(vocabulary.tokens))
        self._states: dict[tuple[int, ...], int] = {(): self.automaton.start}

    def num_actions(self, state: tuple[int, ...]) -> int:
        return self.vocabulary.size

    def viable(self, automaton_state: int, length: int) -> bool:
        """Can a prefix in this automaton state still become a complete expression in time?"""
        return bool(self.automaton.min_to_complete[automaton_state] <= self.horizon - length)

    def transition(self, state: tuple[int, ...], action: int) -> tuple[tuple[int, ...], float, bool]:
        child = (*state, action)
        nxt = int(self.automaton.transitions[self._states[state], action])
        if action == self.eos_id or len(child) >= self.horizon:
            # Only a grammatical leaf can be correct; score just those (the costly part of the DP).
            return child, (self.leaf_reward(child) if self.automaton.accepting[nxt] else 0.0), True
        if not self.viable(nxt, len(child)):
            return child, 0.0, True  # pruned: no rewarding leaf below
        self._states[child] = nxt
        return child, 0.0, False

    def leaf_reward(self, ids: tuple[int, ...]) -> float:
        text = "".join(self._symbols[i] for i in ids)
        return float(self.task.score(self.problem, text).reward)

    def text(self, ids: tuple[int, ...]) -> str:
        return "".join(self._symbols[i] for i in ids)


class MathTreeOracle:
    """Exact Q^u, success probability and correct leaves of one MathTree problem."""

    def __init__(self, task: Any, problem: Problem, vocabulary: Vocabulary, horizon: int,
                 max_leaves: int = DEFAULT_MAX_LEAVES) -> None:
        nominal = vocabulary.size ** int(horizon)
        if nominal > max_leaves:
            raise ValueError(
                f"|V|^H = {vocabulary.size}^{horizon} = {nominal} exceeds max_leaves={max_leaves}; use a "
                "smaller vocabulary or horizon, or pass a larger max_leaves"
            )
        self.mdp = MathTreeMDP(task, problem, vocabulary, horizon)
        self.uniform = UniformQ(self.mdp)

    def q_uniform(self, prefix: tuple[int, ...] = ()) -> np.ndarray:
        """Q^u(prefix, a) for every token a; zeros when the prefix can no longer earn a reward."""
        prefix = tuple(int(i) for i in prefix)
        mdp = self.mdp
        if len(prefix) >= mdp.horizon or mdp.eos_id in prefix:
            raise ValueError(f"prefix {prefix} is a finished response; a terminal state has no actions")
        if prefix not in mdp._states:
            state = mdp.automaton.run(prefix)
            if not mdp.viable(state, len(prefix)):
                return np.zeros(mdp.vocabulary.size)
            mdp._states[prefix] = state
        return self.uniform.q(prefix)

    def value(self, prefix: tuple[int, ...] = ()) -> float:
        """V^u(prefix): chance that uniform random tokens from here earn the reward."""
        return float(self.q_uniform(prefix).mean())

    def greedy_response(self) -> tuple[tuple[int, ...], float]:
        actions, reward = self.uniform.greedy(())
        return tuple(actions), reward

    def correct_leaves(self) -> set[tuple[int, ...]]:
        """Every rewarding response (ids, ending with EOS unless cut at the horizon)."""
        found: set[tuple[int, ...]] = set()
        stack: list[tuple[int, ...]] = [()]
        while stack:
            prefix = stack.pop()
            for action, q in enumerate(self.q_uniform(prefix)):
                if q <= 0:
                    continue
                child, reward, terminal = self.mdp.transition(prefix, action)
                if terminal:
                    found.add(child)
                else:
                    stack.append(child)
        return found

    def correct_strings(self) -> set[str]:
        return {self.mdp.text(ids) for ids in self.correct_leaves()}
