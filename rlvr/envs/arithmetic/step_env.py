"""The shared base of step-level arithmetic envs (`MathTreeStep`, `Game24Step`).

Such an env keeps the numbers still to combine and the steps written so far; an action is one
step "a op b = c" that replaces two of the remaining numbers `a` and `b` by their exact result
`c` (operands and results may be negative or fractions written `p/q`; with spaces around the
operator any form works, without spaces integers only; `x`, `×` and `÷` are read as `*` and `/`;
a trailing "(left: ...)" note is not part of the step). Keeping the step history in the state is
what keeps the MDP a tree (two orders of the same steps are different states).

This module owns what those envs share: reading a step (`parse_step`) and checking it against
the state, the saved state, the observation (the prompt plus the steps so far), finishing an
episode and state access for tree search. Subclasses own the rules (reset, `_apply`, the oracle).
"""

from __future__ import annotations

import copy
import re
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

from rlvr.core.formatting import format_number
from rlvr.core.problem import Problem, Score
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import TaskEnv
from rlvr.envs.arithmetic.exact import apply_operator

MAX_OBSERVATION_CHARS = 1 << 16
"""The observation keeps the end of a longer transcript (the newest steps matter most)."""
MAX_STEP_CHARS = 1000
_NUMBER = r"-?[0-9]{1,30}(?:/[0-9]{1,30})?"
_INTEGER = r"-?[0-9]{1,30}"
_TAIL = r"\s*(?:\(left:[^()]*\))?\s*$"
SPACED_STEP = re.compile(rf"^\s*({_NUMBER})\s+([-+*/x×÷])\s+({_NUMBER})\s*=\s*({_NUMBER}){_TAIL}")
COMPACT_STEP = re.compile(rf"^\s*({_INTEGER})\s*([-+*/×÷])\s*({_INTEGER})\s*=\s*({_NUMBER}){_TAIL}")
OPERATOR_ALIASES = {"x": "*", "×": "*", "÷": "/"}


def parse_step(text: Any) -> tuple[Fraction, str, Fraction, Fraction] | str:
    """(a, op, b, c) of a step, or the reason it cannot be read.

    >>> parse_step("3 * 4 = 12")
    (Fraction(3, 1), '*', Fraction(4, 1), Fraction(12, 1))
    >>> parse_step("3 +")
    "cannot read a step 'a op b = c' from '3 +'"
    """
    if not isinstance(text, str):
        return f"a step must be a string, got {type(text).__name__}"
    if len(text) > MAX_STEP_CHARS:
        return f"a step has at most {MAX_STEP_CHARS} characters, got {len(text)}"
    match = SPACED_STEP.match(text) or COMPACT_STEP.match(text)
    if match is None:
        return f"cannot read a step 'a op b = c' from {text[:80]!r}"
    a, op, b, c = match.groups()
    try:
        return Fraction(a), OPERATOR_ALIASES.get(op, op), Fraction(b), Fraction(c)
    except ZeroDivisionError:
        return f"a number in {text[:80]!r} has a zero denominator"


def step_line(a: Fraction, op: str, b: Fraction, c: Fraction, left: tuple[Fraction, ...]) -> str:
    """The canonical text of a step with its note: '8 / 4 = 2 (left: 2 5 7)'."""
    shown = " ".join(format_number(v) for v in left)
    return f"{format_number(a)} {op} {format_number(b)} = {format_number(c)} (left: {shown})"


@dataclass(frozen=True)
class StepState:
    """Everything `set_state` needs to resume an episode."""

    problem: Problem | None
    remaining: tuple[Fraction, ...]
    lines: tuple[str, ...]
    done: bool
    score: Score | None


class ArithmeticStepEnv(TaskEnv):
    """A `TaskEnv` whose state is (remaining numbers, step lines); see the module doc."""

    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    remaining_format: ClassVar[tuple[str, str]] = (", ", "[{}]")
    """(separator, frame) of the remaining numbers in the reason a step names an unavailable one."""

    _remaining: tuple[Fraction, ...] = ()
    _lines: tuple[str, ...] = ()
    _done: bool = True
    _score: Score | None = None

    def _init_steps(self, render_mode: str | None) -> None:
        """Spaces and an empty state; subclasses call it after `TaskEnv.__init__`."""
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(MAX_STEP_CHARS)
        self._remaining, self._lines = (), ()
        self._done, self._score = True, None

    def _begin(self, problem: Problem) -> tuple[str, dict[str, Any]]:
        """Start an episode on `problem`: every given number remains, no step taken yet."""
        self._remaining = tuple(Fraction(n) for n in problem.content["numbers"])
        self._lines, self._done, self._score = (), False, None
        return self._observation(), self._problem_info()

    def _read_step(self, action: Any) -> tuple[Fraction, str, Fraction, Fraction, list[Fraction]] | str:
        """(a, op, b, c, numbers left after the step) for a valid step, else the reason it is not
        (unreadable, an operator the problem does not allow, a number that is not available,
        division by zero, wrong arithmetic). The state is not changed."""
        parsed = parse_step(action)
        if isinstance(parsed, str):
            return parsed
        a, op, b, c = parsed
        allowed = self.problem.content["operators"]
        if op not in allowed:
            return f"operator {op!r} is not allowed; allowed: {allowed!r}"
        remaining = list(self._remaining)
        for operand in (a, b):
            if operand not in remaining:
                separator, frame = self.remaining_format
                shown = frame.format(separator.join(format_number(v) for v in remaining))
                return f"{format_number(operand)} is not among the remaining numbers {shown}"
            remaining.remove(operand)
        result = apply_operator(a, op, b)
        if result is None:
            return "division by zero"
        if result != c:
            return (f"wrong arithmetic: {format_number(a)} {op} {format_number(b)} = {format_number(result)}, "
                    f"not {format_number(c)}")
        return a, op, b, c, [*remaining, result]

    def _record(self, a: Fraction, op: str, b: Fraction, c: Fraction, left: list[Fraction]) -> None:
        """Take a checked step: `left` remains and the step's line joins the transcript."""
        self._remaining = tuple(left)
        self._lines = (*self._lines, step_line(a, op, b, c, self._remaining))

    def _finish(self, score: Score) -> tuple[str, float, bool, bool, dict[str, Any]]:
        """End the episode with `score`; the step's info carries the score and every step."""
        self._done, self._score = True, score
        info = {**self._problem_info(), "gold": self.problem.answer, **score.info(), **score.components,
                "steps": list(self._lines)}
        return self._observation(), float(score.reward), True, False, info

    def _observation(self) -> str:
        text = self.problem.prompt
        if self._lines:
            text += "\n\nSteps so far:\n" + "\n".join(self._lines)
        return text[-MAX_OBSERVATION_CHARS:]

    def render(self) -> str | None:
        if getattr(self, "render_mode", None) != "ansi" or self.problem is None:
            return None
        return self._observation()

    # ------------------------------------------------------------------ tree search
    def get_state(self) -> StepState:
        return StepState(self.problem, self._remaining, self._lines, self._done, self._score)

    def set_state(self, state: StepState) -> None:
        """Restore a state from `get_state()`; stepping from it repeats what followed it."""
        if not isinstance(state, StepState):
            raise TypeError(f"set_state expects a StepState from get_state(), got {type(state).__name__}")
        self.problem, self._remaining, self._lines = state.problem, state.remaining, state.lines
        self._done, self._score = state.done, state.score

    def clone(self) -> ArithmeticStepEnv:
        """An independent env in the same state (the task is shared: it is read-only)."""
        twin = copy.copy(self)
        twin._np_random = copy.deepcopy(self._np_random)
        return twin
