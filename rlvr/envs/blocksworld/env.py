"""`BlocksWorldEnv` (`rlvr/BlocksWorld-v0`): the whole plan in one response, scored by `BlocksWorldTask`.

The task (generation, plan reading, scoring, the optimal-plan oracle) is in `task.py`; the
one-action-a-turn env `BlocksWorldStepEnv` (`rlvr/BlocksWorldStep-v0`) is in `step_env.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.blocksworld.task import BlocksWorldTask


class BlocksWorldEnv(TextEnv):
    """`rlvr/BlocksWorld-v0`: one BlocksWorld problem per episode, the whole plan in one response."""

    task_class: ClassVar[type[Task]] = BlocksWorldTask
    task_options = ("overlength_penalty",)
