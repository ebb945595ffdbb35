"""The Task contract: a problem generator and its verifier, usable with or without an env.

    task.sample(rng, difficulty) -> Problem
    task.score(problem, response) -> Score
    task.solve(problem) -> str | None          (an oracle, where one exists)

Trainers that bring their own loop use tasks directly; envs wrap them. `problem_at(seed, index)`
is the seeded stream every env draws from, restricted to a split when asked.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob, resolve_difficulty
from rlvr.core.problem import Problem, Score, check_split, split_of
from rlvr.core.seeding import MAX_SPLIT_ATTEMPTS, problem_rng
from rlvr.core.templates import PromptTemplate


class Task(ABC):
    """Base class of every task. Subclasses set `name`, `version`, `knobs` and `default_template`
    and implement `generate` and `score` (and `solve` where an oracle exists)."""

    name: ClassVar[str] = "task"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = ()
    default_template: ClassVar[PromptTemplate] = PromptTemplate()

    def __init__(self, template: PromptTemplate | None = None) -> None:
        self.template = template or self.default_template

    # ------------------------------------------------------------------ to implement
    @abstractmethod
    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        """Draw one problem at fully resolved difficulty (all knobs present)."""

    @abstractmethod
    def score(self, problem: Problem, response: str) -> Score:
        """Score any string; never raise on bad input (return `Score.zero(reason)`)."""

    def solve(self, problem: Problem) -> str | None:
        """A response that scores full correctness, or None when the task has no oracle."""
        return None

    def canonical_answer(self, parsed_answer: str | None) -> Any:
        """The form in which two correct answers count as the same solution (for diversity metrics).

        The default is the parsed answer itself; tasks whose answers have many spellings of one
        solution (expressions: '3+4' and '4+3') override it.
        """
        return parsed_answer

    # ------------------------------------------------------------------ provided
    def difficulty(self, *overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """Defaults with `overrides` applied in order, validated."""
        return resolve_difficulty(self.knobs, *overrides)

    def sample(self, rng: np.random.Generator, difficulty: Mapping[str, Any] | None = None) -> Problem:
        """One problem from `rng`; `difficulty` may name only the knobs it changes."""
        return self.generate(rng, self.difficulty(difficulty))

    def problem_at(
        self,
        seed: int,
        index: int,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
    ) -> Problem:
        """Problem `index` of stream `seed`, drawn until it falls in `split` (None: any split).

        Rejection keeps each split's distribution the task's own, restricted to its share of
        problem ids; a problem space too small to hold the split is an error, not a hang.
        """
        check_split(split)
        resolved = self.difficulty(difficulty)
        rng = problem_rng(seed, index)
        for _ in range(MAX_SPLIT_ATTEMPTS):
            problem = self.generate(rng, resolved)
            if split is None or split_of(problem.problem_id) == split:
                return problem
        raise RuntimeError(
            f"{self.name}: no problem of split {split!r} in {MAX_SPLIT_ATTEMPTS} draws at difficulty "
            f"{resolved}; the problem space is too small for this split"
        )

    def make_problem(
        self,
        question: str,
        content: Mapping[str, Any],
        answer: Any,
        difficulty: Mapping[str, Any],
        metadata: Mapping[str, Any] | None = None,
        **template_fields: Any,
    ) -> Problem:
        """Render the prompt with this task's template and build the Problem."""
        prompt, messages = self.template.render(question, **template_fields)
        return Problem(
            task=self.name,
            version=self.version,
            content=dict(content),
            prompt=prompt,
            messages=messages,
            answer=answer,
            difficulty=dict(difficulty),
            metadata={"question": question, **(metadata or {})},
        )
