"""`MathTreeStepEnv` (`rlvr/MathTreeStep-v0`): countdown one arithmetic step a turn.

Each action is one step `"a op b = c"` that replaces two of the remaining numbers `a` and `b`
by their exact result `c` (operands and results may be negative or fractions written `p/q`; with
spaces around the operator any form works, without spaces integers only; a trailing
"(left: ...)" note is ignored; `info["reply"]` holds that note, which is what a token-level
multi-turn rollout appends after the step). The observation is the prompt plus every step taken so far:
keeping the history makes the MDP a tree (different orders of the same steps stay different
states; without it they would merge into a DAG and ROVER's tree assumption would break).

An invalid step (unparseable, an operator the problem does not allow, a number that is not
available, wrong arithmetic, division by zero) ends the episode with reward 0 and the reason in
`info["error"]`. When one number is left the episode ends: reward 1 if it equals the target.
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.core.formatting import format_number
from rlvr.core.problem import Problem, Score
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.exact import apply_operator
from rlvr.envs.arithmetic.grammar import expression_tree
from rlvr.envs.arithmetic.step_env import ArithmeticStepEnv, parse_step
from rlvr.envs.mathtree.task import MathTreeTask

STEP_TEMPLATE = PromptTemplate(
    instruction="Work one step per turn: write 'a op b = c', combining two of the remaining numbers a and b "
    "into their exact result c. When one number is left it must equal the target."
)


def solution_steps(problem: Problem) -> list[str]:
    """The oracle's steps: the stored solution expression evaluated bottom-up, one step per operator."""
    steps: list[str] = []

    def walk(node: Any) -> Fraction:
        if isinstance(node, int):
            return Fraction(node)
        op, left, right = node
        a, b = walk(left), walk(right)
        c = apply_operator(a, op, b)
        steps.append(f"{format_number(a)} {op} {format_number(b)} = {format_number(c)}")
        return c

    walk(expression_tree(problem.metadata["solution"]))
    return steps


class MathTreeStepEnv(ArithmeticStepEnv):
    """`rlvr/MathTreeStep-v0`: countdown one step a turn over `MathTreeTask` problems (doc card: `card`;
    rules: the module doc). Defaults: countdown mode, 4 numbers, horizon 64 (the token horizon only
    limits the solution's length here)."""

    task_class = MathTreeTask
    card = EnvCard(
        summary="Step-level MathTree: each action is one 'a op b = c' step over the remaining numbers; the "
        "state keeps the step history, so the MDP stays a tree.",
        observation="text: prompt plus the steps taken so far",
        action="text: one step 'a op b = c'",
        reward="1 when the last remaining number equals the target, 0 otherwise; an invalid step ends the "
        "episode with reward 0 and the reason in info",
        task=task_class,
    )

    def __init__(
        self,
        task: MathTreeTask | None = None,
        *,
        render_mode: str | None = None,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: PromptTemplate | None = None,
        **knobs: Any,
    ) -> None:
        defaults = {"mode": "countdown", "number_count": 4, "horizon": 64}
        super().__init__(task, difficulty={**defaults, **(difficulty or {})}, split=split,
                         template=template or (STEP_TEMPLATE if task is None else None), **knobs)
        self._init_steps(render_mode)
        self._check(self.difficulty)

    @staticmethod
    def _check(difficulty: Mapping[str, Any]) -> None:
        if difficulty["mode"] != "countdown" or difficulty["number_count"] < 2:
            raise ValueError(
                "the step env needs mode='countdown' and number_count >= 2, got "
                f"mode={difficulty['mode']!r}, number_count={difficulty['number_count']}"
            )

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        if options and options.get("difficulty"):
            self._check(self.task.difficulty(self.difficulty, options["difficulty"]))
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        if problem.content.get("mode") != "countdown":
            raise ValueError("the step env plays countdown problems only; this problem has mode "
                             f"{problem.content.get('mode')!r}")
        return self._begin(problem)

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        outcome = self._apply(action)
        if isinstance(outcome, str):
            return self._finish(Score.zero(outcome, None, parsed=0.0, uses_numbers=0.0))
        if len(self._remaining) > 1:
            remaining = [format_number(v) for v in self._remaining]
            # the env's words in a token-level transcript: the note the observation puts after the step
            reply = f" (left: {' '.join(remaining)})\n"
            return self._observation(), 0.0, False, False, {**self._problem_info(), "remaining": remaining,
                                                            "reply": reply}
        last = self._remaining[0]
        target = Fraction(self.problem.content["target"])
        correct = last == target
        components = {"correct": float(correct), "parsed": 1.0, "uses_numbers": 1.0}
        error = None if correct else f"the last number is {format_number(last)}, expected {format_number(target)}"
        return self._finish(Score(float(correct), components, format_number(last), error))

    def oracle_action(self) -> str | None:
        """The oracle's next step, or None when the steps so far left the oracle's path."""
        if self._done or self.problem is None:
            return None
        steps = solution_steps(self.problem)
        taken = [line.split(" (left:")[0] for line in self._lines]
        if len(taken) >= len(steps) or [parse_step(t) for t in taken] != [parse_step(s) for s in steps[: len(taken)]]:
            return None
        return steps[len(taken)]

    def _apply(self, action: Any) -> str | None:
        """Apply one step to the state; returns the reason when the step is invalid."""
        step = self._read_step(action)
        if isinstance(step, str):
            return step
        self._record(*step)
        return None
