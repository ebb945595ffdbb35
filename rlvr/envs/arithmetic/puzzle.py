"""`ExpressionPuzzleTask`: the scoring Countdown and Game24 share.

A problem gives numbers (`content["numbers"]`, sorted), a target (`content["target"]`) and the
allowed operators (`content["operators"]`); the response is one expression that uses every number
exactly once and equals the target exactly, read and checked by `answer.check_expression`.
Reward 1 when correct, `format_reward` for a well-formed expression that breaks a rule, 0 when
no expression can be read.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.arithmetic.answer import check_expression
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS


class ExpressionPuzzleTask(Task):
    """Scoring shared by Countdown and Game24: one expression over the given numbers that equals
    the target; problems carry `content["numbers"]` (sorted) and `content["target"]`."""

    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)

    def __init__(self, template: PromptTemplate | None = None, *, format_reward: float = 0.0) -> None:
        super().__init__(template)
        if not 0.0 <= format_reward < 1.0:
            raise ValueError(f"format_reward must be in [0, 1), got {format_reward!r}")
        self.format_reward = float(format_reward)

    def score(self, problem: Problem, response: str) -> Score:
        content = problem.content
        check = check_expression(response, content["numbers"], content["target"],
                                 content.get("operators", BINARY_OPERATORS))
        if check.correct:
            reward = 1.0
        else:
            reward = self.format_reward * check.components["format"]
        return Score(reward, check.components, check.parsed, check.error)

    def solve(self, problem: Problem) -> str:
        return f"<answer>{problem.metadata['solution']}</answer>"
