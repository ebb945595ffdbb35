"""The shared shape of an elicitation problem and the bounded parser for text actions.

Every elicitation task (`task.py`) turns a `Problem` into a `BeliefModel`: named targets with a
prior, named questions, named answers, and the likelihood table `P(answer | target, question)`.
Envs and scripted questioners work on that model only, so the three tasks share one env and one
oracle.

Text actions are `ask: <question name>` or `guess: <target name>`; names match case-insensitively
with runs of whitespace collapsed, and anything longer than `MAX_ACTION_CHARS` is rejected before
any matching.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

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
