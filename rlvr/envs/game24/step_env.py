"""`Game24StepEnv` (`rlvr/Game24Step-v0`): Game24 one step a turn, "a op b = c (left: ...)".

Multi-turn: each action is one step that combines two of the remaining numbers `a` and `b` into
their exact result `c` (write fractions as `p/q`, negatives as `-n`; with spaces around the
operator any number form works, without them integers only). The step may end with a
"(left: ...)" note listing the numbers that remain after it, in any order, separated by spaces
or commas; when present it must be right. Four numbers take three steps; after the third the
episode ends with reward 1 if the last number equals the target (24), else 0.

An invalid step (unreadable, an operator the problem does not allow, a number that is not
available, wrong arithmetic, division by zero, a wrong "(left: ...)" note) ends the episode with
reward 0 and the reason in `info["error"]`. The observation is the prompt plus the steps taken so
far, each with its "(left: ...)" note, so different orders of the same steps stay different
states (the MDP is a tree). `oracle_action()` gives a step that keeps the target reachable from
any state where it still is, found by exhaustive search over the (at most four) remaining values.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.core.formatting import format_number
from rlvr.core.problem import Score
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.exact import apply_operator
from rlvr.envs.arithmetic.step_env import MAX_STEP_CHARS, ArithmeticStepEnv, step_line
from rlvr.envs.game24.task import Game24Task

_LEFT_NOTE = re.compile(r"\(\s*left\s*:([^()]*)\)\s*$", re.IGNORECASE)
_NOTE_NUMBER = re.compile(r"-?[0-9]{1,30}(?:/[0-9]{1,30})?")

STEP_TEMPLATE = PromptTemplate(
    instruction="Work one step per turn: write 'a op b = c (left: ...)', combining two of the remaining "
    "numbers a and b into their exact result c, then listing the numbers left. After three steps the "
    "last number must equal the target. Example step: 8 / 4 = 2 (left: 2 5 7)"
)


def read_left_note(text: str) -> tuple[Fraction, ...] | str | None:
    """The numbers of a trailing "(left: ...)" note, None when there is none, or why it is unreadable.

    >>> read_left_note("3 * 4 = 12 (left: 12, 1/2)")
    (Fraction(12, 1), Fraction(1, 2))
    """
    match = _LEFT_NOTE.search(text[-MAX_STEP_CHARS:])
    if match is None:
        return None
    parts = [part for part in re.split(r"[\s,]+", match.group(1)) if part]
    if not all(_NOTE_NUMBER.fullmatch(part) for part in parts):
        return f"cannot read the numbers of the note {match.group(0)[:80]!r}"
    try:
        return tuple(Fraction(part) for part in parts)
    except ZeroDivisionError:
        return f"a number in the note {match.group(0)[:80]!r} has a zero denominator"


def next_step(remaining: tuple[Fraction, ...], target: Fraction, operators: str) -> tuple | None:
    """(a, op, b, c) of a step after which `target` is still reachable, or None; deterministic."""
    if len(remaining) == 1:
        return None
    # Steps with whole non-negative results first: they read like a person's solution.
    for plain_only in (True, False):
        for i in range(len(remaining)):
            for j in range(len(remaining)):
                if i == j:
                    continue
                rest = [v for k, v in enumerate(remaining) if k not in (i, j)]
                for op in operators:
                    c = apply_operator(remaining[i], op, remaining[j])
                    if c is None or (plain_only and (c < 0 or c.denominator != 1)):
                        continue
                    if _reachable((*rest, c), target, operators):
                        return remaining[i], op, remaining[j], c
    return None


def _reachable(values: tuple[Fraction, ...], target: Fraction, operators: str) -> bool:
    if len(values) == 1:
        return values[0] == target
    return next_step(values, target, operators) is not None


class Game24StepEnv(ArithmeticStepEnv):
    """`rlvr/Game24Step-v0`: Game24 one step a turn over `Game24Task` problems (doc card: `card`;
    rules: the module doc)."""

    task_class = Game24Task
    remaining_format = (" ", "({})")
    card = EnvCard(
        summary="Step-level Game of 24: each action is one 'a op b = c (left: ...)' step over the remaining "
        "numbers; three steps; the state keeps the step history, so the MDP is a tree.",
        observation="text: prompt plus the steps taken so far",
        action="text: one step 'a op b = c', optionally followed by a correct '(left: ...)' note",
        reward="1 when the last number equals the target, else 0; an invalid step ends the episode with "
        "reward 0 and the reason in info",
        task=task_class,
    )

    def __init__(
        self,
        task: Game24Task | None = None,
        *,
        render_mode: str | None = None,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: PromptTemplate | None = None,
        **knobs: Any,
    ) -> None:
        super().__init__(task, difficulty=difficulty, split=split,
                         template=template or (STEP_TEMPLATE if task is None else None), **knobs)
        self._init_steps(render_mode)

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        return self._begin(problem)

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        reason = self._apply(action)
        if reason is not None:
            return self._finish(Score.zero(reason, None, format=0.0))
        if len(self._remaining) > 1:
            info = {**self._problem_info(), "remaining": [format_number(v) for v in self._remaining]}
            return self._observation(), 0.0, False, False, info
        last, target = self._remaining[0], Fraction(self.problem.content["target"])
        correct = last == target
        error = None if correct else f"the last number is {format_number(last)}, not the target {format_number(target)}"
        return self._finish(Score(float(correct), {"correct": float(correct), "format": 1.0},
                                  format_number(last), error))

    def _apply(self, action: Any) -> str | None:
        """Apply one step to the state; returns the reason when the step is invalid."""
        step = self._read_step(action)
        if isinstance(step, str):
            return step
        remaining = step[-1]
        note = read_left_note(action)
        if isinstance(note, str):
            return note
        if note is not None and sorted(note) != sorted(remaining):
            left = " ".join(format_number(v) for v in remaining)
            return f"the note lists {' '.join(format_number(v) for v in note)} but the numbers left are {left}"
        self._record(*step)
        return None

    def oracle_action(self) -> str | None:
        """A step that keeps the target reachable, or None when it no longer is."""
        if self._done or self.problem is None:
            return None
        found = next_step(self._remaining, Fraction(self.problem.content["target"]), self.problem.content["operators"])
        if found is None:
            return None
        a, op, b, c = found
        rest = list(self._remaining)
        rest.remove(a)
        rest.remove(b)
        return step_line(a, op, b, c, (*rest, c))
