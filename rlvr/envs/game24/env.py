"""`Game24Env` (`rlvr/Game24-v0`): one Game24 problem per episode, the whole expression in one response."""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.game24.task import Game24Task


class Game24Env(TextEnv):
    """`rlvr/Game24-v0`: one Game24 problem per episode, the whole expression in one response."""

    task_class: ClassVar[type[Task]] = Game24Task
    task_options = ("format_reward",)
