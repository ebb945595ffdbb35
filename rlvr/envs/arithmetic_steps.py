"""The shared base of step-level arithmetic envs (`MathTreeStep`, `Game24Step`).

Such an env keeps the numbers still to combine and the steps written so far; an action combines
two of them ("a op b = c"). Keeping the step history in the state is what keeps the MDP a tree
(two orders of the same steps are different states). This module owns what those envs share: the
saved state, the observation (the prompt plus the steps so far), finishing an episode and
state access for tree search. Subclasses own the rules (reset, `_apply`, the oracle).
"""

from __future__ import annotations

import copy
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

from rlvr.core.problem import Problem, Score
from rlvr.core.task_env import TaskEnv

MAX_OBSERVATION_CHARS = 1 << 16
"""The observation keeps the end of a longer transcript (the newest steps matter most)."""


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

    _remaining: tuple[Fraction, ...] = ()
    _lines: tuple[str, ...] = ()
    _done: bool = True
    _score: Score | None = None

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
