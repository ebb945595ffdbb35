"""`ProntoQAEnv` (`rlvr/ProntoQA-v0`): one question per episode, proof and answer in one response.

The task (theory generation, proof reading, scoring, the oracle) is `ProntoQATask` in `task.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.prontoqa.task import ProntoQATask


class ProntoQAEnv(TextEnv):
    """`rlvr/ProntoQA-v0`: one question per episode, proof and answer in one response."""

    task_class: ClassVar[type[Task]] = ProntoQATask
    task_options = ("proof_weight",)
