"""The two generators the loop always had: `plain` (G sampled responses per problem, each scored by
the task's verifier) and `episodes` (G multi-turn episodes per problem through the env's `step`).

A config without `generator:` gets one of them by `max_turns`, chosen once when the trainer is
built, so the loop itself no longer asks whether it is single- or multi-turn.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rlvr.training.generators.base import GenerationContext, GeneratorPlugin, register, sample_and_score


@register
@dataclass
class Plain(GeneratorPlugin):
    """G completions per problem from one batched `Policy.sample` call, scored by the task."""

    name: ClassVar[str] = "plain"
    source: ClassVar[str] = "GRPO [paper]"
    summary: ClassVar[str] = "G sampled responses per problem, each scored by the task's verifier (single turn)"

    def generate(self, problems: Sequence[Any], seed: int, step: int):
        context = self._context()
        return sample_and_score(context, [problem.prompt for problem in problems], problems, context.group_size, seed)


@register
@dataclass
class Episodes(GeneratorPlugin):
    """G multi-turn episodes per problem (`rlvr.training.multiturn.run_episodes`)."""

    name: ClassVar[str] = "episodes"
    source: ClassVar[str] = "multi-turn rollouts [paper]"
    summary: ClassVar[str] = ("G multi-turn episodes per problem through the env's step; the env's tokens are "
                              "context only")
    multi_turn: ClassVar[bool] = True

    def bind(self, context: GenerationContext) -> None:
        if context.make_env is None:
            raise ValueError("generator 'episodes' plays the training env: the context needs make_env")
        super().bind(context)

    def generate(self, problems: Sequence[Any], seed: int, step: int):
        return play_episodes(self._context(), problems, seed)


def play_episodes(context: GenerationContext, problems: Sequence[Any], seed: int) -> tuple[Any, float, float]:
    """G episodes per problem through `run_episodes` (on the rollout workers when the run has them),
    with the seconds they took (the env scores inside the episode loop: counted as sampling)."""
    from rlvr.training.multiturn import run_episodes

    start = time.perf_counter()
    batch = run_episodes(context.policy, context.make_env, problems, context.group_size, max_turns=context.max_turns,
                         envs=context.workers() or context.env_pool, **context.sampling(seed))
    return batch, time.perf_counter() - start, 0.0
