"""`CountdownEnv` (`rlvr/Countdown-v0`): one Countdown problem per episode, one response per episode."""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.countdown.task import CountdownTask


class CountdownEnv(TextEnv):
    """`rlvr/Countdown-v0`: one Countdown problem per episode, one response per episode."""

    task_class: ClassVar[type[Task]] = CountdownTask
    task_options = ("format_reward",)
