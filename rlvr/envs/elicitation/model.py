"""The shared shape of an elicitation problem and the bounded parser for text actions.

Every elicitation task turns a `Problem` into a `BeliefModel`: named targets with a prior, named
questions, named answers, and the likelihood table `P(answer | target, question)`. Envs and
baselines work on that model only, so the three families share one env and one oracle.

Text actions are `ask: <question name>` or `guess: <target name>`; names match case-insensitively
with runs of whitespace collapsed, and anything longer than `MAX_ACTION_CHARS` is rejected before
any matching.
"""

from __future__ import annotations

import re
from abc import abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np

from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate

MAX_ACTION_CHARS = 300
MAX_BUDGET = 64
"""Largest question budget any elicitation knob accepts (bounds the discrete observation)."""

_ACTION = re.compile(r"^\s*(ask|guess)\s*:\s*(.*?)\s*$", re.IGNORECASE | re.DOTALL)

ELICITATION_TEMPLATE = PromptTemplate(
    instruction="Each turn write exactly one action: 'ask: <question>' to ask a question, or "
    "'guess: <answer>' to name your final answer (a guess ends the game)."
)


def normalise_name(text: str) -> str:
    """Case-folded with whitespace runs collapsed: how names are compared.

    >>> normalise_name("  Is   It  GLOWING ")
    'is it glowing'
    """
    return " ".join(text.split()).casefold()


@dataclass(frozen=True)
class BeliefModel:
    """Everything the Bayesian machinery needs about one problem."""

    target_names: tuple[str, ...]
    question_names: tuple[str, ...]
    answer_names: tuple[str, ...]
    prior: np.ndarray
    """Shape (N,): prior probability of each target."""
    likelihood: np.ndarray
    """Shape (Q, N, A): P(answer a | target n) for question q."""

    def parse_action(self, text: Any) -> tuple[str, int] | str:
        """("ask", question) or ("guess", target), or the reason the text cannot be read."""
        if not isinstance(text, str):
            return f"an action must be a string, got {type(text).__name__}"
        if len(text) > MAX_ACTION_CHARS:
            return f"an action has at most {MAX_ACTION_CHARS} characters, got {len(text)}"
        match = _ACTION.match(text)
        if match is None:
            return f"expected 'ask: <question>' or 'guess: <answer>', got {text[:80]!r}"
        kind, name = match.group(1).lower(), normalise_name(match.group(2))
        names = self.question_names if kind == "ask" else self.target_names
        for index, candidate in enumerate(names):
            if normalise_name(candidate) == name:
                return kind, index
        shown = ", ".join(names[:12]) + (", ..." if len(names) > 12 else "")
        return f"{kind}: {match.group(2)[:60]!r} names no {'question' if kind == 'ask' else 'answer'}; expected one of {shown}"


class ElicitationTask(Task):
    """Base of the elicitation tasks: a hidden target behind a question-answer model.

    Used alone (without an env) the task scores one final guess: the response `guess: <name>`
    (or the bare name) is correct when it names the hidden target. The questioning itself lives
    in `ElicitationEnv`.
    """

    default_template: ClassVar[PromptTemplate] = ELICITATION_TEMPLATE
    question_word: ClassVar[str] = "question"
    target_word: ClassVar[str] = "answer"

    @abstractmethod
    def model(self, problem: Problem) -> BeliefModel:
        """The belief model of a problem (built from its content alone)."""

    @abstractmethod
    def shape(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int]:
        """(targets N, questions Q, answers A) that problems at this difficulty have."""

    def final_guess(self, difficulty: Mapping[str, Any]) -> bool:
        """Whether the env takes a final guess (else the episode ends when the budget is spent)."""
        return bool(difficulty.get("final_guess", True))

    def target_index(self, problem: Problem) -> int:
        return int(problem.content["target"])

    def score(self, problem: Problem, response: str) -> Score:
        model = self.model(problem)
        text = response if isinstance(response, str) else None
        if text is not None and len(text) <= MAX_ACTION_CHARS and ":" not in text:
            text = f"guess: {text}"
        parsed = model.parse_action(text if text is not None else response)
        if isinstance(parsed, str):
            return Score.zero(parsed)
        kind, index = parsed
        if kind != "guess":
            return Score.zero(f"'ask: ...' is a question, not a final {self.target_word}")
        name = model.target_names[index]
        correct = index == self.target_index(problem)
        return Score.binary(correct, parsed_answer=name,
                            error=None if correct else f"{name!r} is not the hidden {self.target_word}")

    def solve(self, problem: Problem) -> str:
        return f"guess: {problem.answer}"
