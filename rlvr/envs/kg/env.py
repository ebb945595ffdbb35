"""`KGPathEnv` (`rlvr/KGPath-v0`, `rlvr/KGPathLong-v0`): one multi-hop question an episode, one response.

The task (graph and path sampling, the question, the rewards) is `KGPathTask` in `task.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.kg.task import KGPathTask


class KGPathEnv(TextEnv):
    """`rlvr/KGPath-v0`: one multi-hop question per episode, one response per episode."""

    task_class: ClassVar[type[Task]] = KGPathTask
    task_options = ("reward_mode",)
