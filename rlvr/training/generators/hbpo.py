"""HBPO [code+paper]: hierarchical budget subgroups, each group's rollouts split over length budgets
announced in the prompt, with a budget-aware reward and advantage.

The generator splits the G rollouts of a problem into one subgroup per budget b (G / k each, in
budget order) and appends "I will answer the question within b tokens." to those prompts (where
the response starts; `at: start` puts a hint before the prompt instead, for prompt formats that
must end the prompt, such as "{expression}="). Its
companions replace the configured reward shaping and advantage:

- reward (`HBPOReward`), for a correct answer of n <= L_max tokens:
  f2(b) = beta * cos(pi * b / (2 L_max)) when n <= b, and
  f1(n | b) = beta * cos(pi * n / (2 L_max)) - alpha * |n - b| when n > b; 0 otherwise;
- advantage (`HBPOAdvantage`): the group-normalised reward (GRPO over all G rollouts of the problem,
  our reading of "global-normalised") plus (subgroup mean reward - f2(b)).

Budgets scaled to the run (our reading): the spec's budgets {512, 1024, 2048, 2560} and L_max = 4096
describe long reasoning. A run generating at most `max_new_tokens` tokens scales every length by
s = max_new_tokens / max_len: budgets round(b * s) (at least 1), L_max = max_new_tokens and
alpha / s, so f1 and f2 of a scaled length equal the spec's values at the unscaled one. With
max_new_tokens = 4096 the spec's numbers hold as written:

>>> round(budget_reward(512, 512), 3), round(budget_reward(800, 512), 3)
(3.923, 3.743)
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.training.advantages.base import AdvantagePlugin, RolloutView
from rlvr.training.advantages.baselines import grpo_advantages
from rlvr.training.generators.base import (
    GenerationContext,
    GeneratorPlugin,
    register,
    sample_and_score,
    setting,
)
from rlvr.training.reward_transforms.base import RewardBatch, RewardTransformPlugin

SPEC_BUDGETS = [512, 1024, 2048, 2560]
"""The spec's budgets, in tokens of a run whose L_max is `SPEC_MAX_LEN`."""
SPEC_MAX_LEN = 4096
HINT = " I will answer the question within {budget} tokens."
"""The budget announcement appended to the prompt of each subgroup."""


def budget_reward(length: float, budget: float, beta: float = 4.0, max_len: float = SPEC_MAX_LEN,
                  alpha: float | None = None) -> float:
    """HBPO's reward of a correct answer of `length` tokens under `budget` (f2(b) within it, f1 past
    it); 0 past `max_len`. `alpha` defaults to 1 / max_len.

    >>> round(budget_reward(100, 512), 3) == round(budget_reward(512, 512), 3)  # f2 does not depend on n
    True
    """
    alpha = 1.0 / max_len if alpha is None else alpha
    if length > max_len:
        return 0.0
    if length <= budget:
        return beta * math.cos(math.pi * budget / (2 * max_len))
    return beta * math.cos(math.pi * length / (2 * max_len)) - alpha * abs(length - budget)


def subgroup_budgets(budgets: Sequence[int], group_size: int) -> list[int]:
    """The budget of each of the G rollouts of a group: G / k consecutive rollouts per budget.

    >>> subgroup_budgets([4, 8], 4)
    [4, 4, 8, 8]
    """
    if not budgets or group_size % len(budgets):
        raise ValueError(f"HBPO splits each group evenly over its {len(budgets)} budgets: group_size must be a "
                         f"multiple of {len(budgets)}, got {group_size}")
    return [int(budget) for budget in budgets for _ in range(group_size // len(budgets))]


def scaled(budgets: Sequence[int], max_len: int, alpha: float | None, max_new_tokens: int) -> tuple[list[int], float]:
    """(budgets, alpha) in tokens of a run generating at most `max_new_tokens` (module doc).

    >>> scaled([512, 1024, 2048, 2560], 4096, None, 64)
    ([8, 16, 32, 40], 0.015625)
    """
    factor = max_new_tokens / max_len
    alpha = 1.0 / max_len if alpha is None else alpha
    return [max(1, round(budget * factor)) for budget in budgets], alpha / factor


@dataclass
class HBPOReward(RewardTransformPlugin):
    """f1 / f2 for correct answers by their subgroup's budget, 0 for the others (a companion of the
    `hbpo` generator: budgets and L_max already in the run's tokens)."""

    name: ClassVar[str] = "hbpo_reward"
    source: ClassVar[str] = "HBPO [code+paper]"
    summary: ClassVar[str] = "budget-aware reward: f2(b) within the budget, f1(n|b) past it, 0 if wrong"
    keeps_binary: ClassVar[bool] = False
    budgets: list = setting(list(SPEC_BUDGETS), "the subgroups' budgets in the run's tokens")
    max_len: int = setting(SPEC_MAX_LEN, "L_max in the run's tokens", low=1)
    beta: float = setting(4.0, "reward scale", low=0.0, low_open=True)
    alpha: float = setting(1.0 / SPEC_MAX_LEN, "penalty per token past the budget", low=0.0)

    def __call__(self, batch: RewardBatch) -> Tensor:
        per_rollout = subgroup_budgets(self.budgets, batch.rewards.shape[1])
        correct, lengths = batch.components["correct"].tolist(), batch.lengths.tolist()
        rewards = [[budget_reward(n, b, self.beta, self.max_len, self.alpha) if ok > 0 else 0.0
                    for ok, n, b in zip(row_ok, row_n, per_rollout, strict=True)]
                   for row_ok, row_n in zip(correct, lengths, strict=True)]
        result = torch.tensor(rewards, dtype=batch.rewards.dtype)
        self._metrics = {"hbpo_within_budget": float((batch.lengths <= torch.tensor(per_rollout)).float().mean())}
        return result


@dataclass(frozen=True)
class HBPOAdvantage(AdvantagePlugin):
    """GRPO over the whole group plus (subgroup mean - f2(b)) (a companion of the `hbpo` generator)."""

    name: ClassVar[str] = "hbpo"
    source: ClassVar[str] = "HBPO [code+paper]"
    summary: ClassVar[str] = "group-normalised reward + (subgroup mean - f2(b)) per budget subgroup"
    budgets: list = setting(list(SPEC_BUDGETS), "the subgroups' budgets in the run's tokens")
    max_len: int = setting(SPEC_MAX_LEN, "L_max in the run's tokens", low=1)
    beta: float = setting(4.0, "reward scale", low=0.0, low_open=True)

    def __call__(self, view: RolloutView) -> Tensor:
        rewards = view.rewards
        per_rollout = subgroup_budgets(self.budgets, rewards.shape[1])
        width = rewards.shape[1] // len(self.budgets)
        # subgroup means: [B, k] -> each rollout's, [B, G]
        means = rewards.reshape(rewards.shape[0], len(self.budgets), width).mean(-1).repeat_interleave(width, dim=1)
        ceiling = torch.tensor([self.beta * math.cos(math.pi * b / (2 * self.max_len)) for b in per_rollout],
                               dtype=rewards.dtype)
        return grpo_advantages(rewards) + (means - ceiling)


@register
@dataclass
class HBPO(GeneratorPlugin):
    """Budget subgroups: G / k rollouts per budget, the budget announced in the prompt; brings its
    reward and advantage (module doc)."""

    name: ClassVar[str] = "hbpo"
    brings_companions: ClassVar[bool] = True
    source: ClassVar[str] = "HBPO [code+paper]; budgets scaled to max_new_tokens (our reading)"
    summary: ClassVar[str] = ("k budget subgroups per group, 'I will answer the question within b tokens' in the "
                              "prompt; f1/f2 budget reward and subgroup advantage")
    budgets: list = setting(list(SPEC_BUDGETS), "budgets in tokens of a run whose L_max is max_len")
    max_len: int = setting(SPEC_MAX_LEN, "the L_max the budgets are stated for; lengths scale by "
                                         "max_new_tokens / max_len", low=1)
    beta: float = setting(4.0, "reward scale", low=0.0, low_open=True)
    alpha: float | None = setting(None, "penalty per token past the budget at max_len (none: 1 / max_len)", low=0.0)
    hint: str = setting(HINT, "added to each subgroup's prompt; {budget} is its budget in the run's tokens")
    at: str = setting("end", "where the hint goes: after the prompt (where the response starts) or before it",
                      choices=("end", "start"))

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.budgets or not all(isinstance(b, int) and not isinstance(b, bool) and b >= 1
                                       for b in self.budgets):
            raise ValueError(f"generator 'hbpo' setting budgets expects a non-empty list of ints >= 1, got "
                             f"{self.budgets!r}")
        if "{budget}" not in self.hint:
            raise ValueError(f"generator 'hbpo' setting hint must contain {{budget}}, got {self.hint!r}")
        self.run_budgets, self.run_alpha, self.run_max_len = list(self.budgets), 0.0, self.max_len

    def check(self, group_size: int, max_new_tokens: int, max_turns: int) -> None:
        super().check(group_size, max_new_tokens, max_turns)
        subgroup_budgets(self.budgets, group_size)

    def bind(self, context: GenerationContext) -> None:
        self.check(context.group_size, context.max_new_tokens, context.max_turns)
        super().bind(context)
        self.run_budgets, self.run_alpha = scaled(self.budgets, self.max_len, self.alpha, context.max_new_tokens)
        self.run_max_len = context.max_new_tokens

    def prompts(self, problems: Sequence[Any]) -> list[str]:
        """One prompt per (problem, budget), problem by problem: its subgroups in budget order."""
        hints = [self.hint.format(budget=budget) for budget in self.run_budgets]
        if self.at == "start":
            return [hint + problem.prompt for problem in problems for hint in hints]
        return [problem.prompt + hint for problem in problems for hint in hints]

    def generate(self, problems: Sequence[Any], seed: int, step: int):
        context = self._context()
        return sample_and_score(context, self.prompts(problems), problems, context.group_size // len(self.budgets),
                                seed)

    def companions(self) -> tuple[Any, list[Any]]:
        self._context()  # budgets in the run's tokens are known once bound
        reward = HBPOReward(budgets=list(self.run_budgets), max_len=self.run_max_len, beta=self.beta,
                            alpha=self.run_alpha)
        advantage = HBPOAdvantage(budgets=list(self.run_budgets), max_len=self.run_max_len, beta=self.beta)
        return advantage, [reward]
