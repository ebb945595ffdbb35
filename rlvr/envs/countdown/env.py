"""`CountdownEnv` (`rlvr/Countdown-v0`): one Countdown problem per episode, one response per episode."""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.countdown.task import CountdownTask


class CountdownEnv(TextEnv):
    """`rlvr/Countdown-v0`: one Countdown problem per episode, one response per episode (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = CountdownTask
    task_options = ("format_reward",)
    card = EnvCard(
        summary="Countdown: use each given number exactly once with + - * / and parentheses to write an "
        "expression equal to the target (exact Fractions); solvable by construction.",
        observation="text prompt",
        action="text response: the expression in <answer></answer> tags, a \\boxed{}, or the last line (a "
        "trailing '= N' is allowed when N is its value)",
        reward="1 correct, 0.1 well-formed but wrong, 0 unreadable; components: correct, format, "
        "uses_numbers",
        task=task_class,
    )
