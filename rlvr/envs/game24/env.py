"""`Game24Env` (`rlvr/Game24-v0`): one Game24 problem per episode, the whole expression in one response."""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.game24.task import Game24Task


class Game24Env(TextEnv):
    """`rlvr/Game24-v0`: one Game24 problem per episode, the whole expression in one response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = Game24Task
    task_options = ("format_reward",)
    card = EnvCard(
        summary="Game of 24: one expression using four numbers (1..13) exactly once that equals 24, exactly "
        "(8/(3-8/3) counts); problems drawn uniformly from the 1,362 solvable multisets, difficulty by "
        "number of distinct solutions.",
        observation="text prompt",
        action="text response: the expression in <answer></answer> tags, a \\boxed{}, or the last line",
        reward="1 if the expression uses each number once and equals the target, else 0 with the reason; "
        "components: correct, format, uses_numbers",
        task=task_class,
    )
