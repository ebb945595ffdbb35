"""`MathEnv` (`rlvr/Math-v0`): one free-form math question per episode, one response per episode.

The task (the built-in generator or your file, answer extraction and verification) is `MathTask`
in `task.py`; the env passes its file and extraction options through to it (`task_options`).
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.math_text.task import MathTask


class MathEnv(TextEnv):
    """`rlvr/Math-v0`: one free-form math question per episode, one response per episode."""

    task_class: ClassVar[type[Task]] = MathTask
    task_options = ("data_path", "question_column", "answer_column", "extraction", "timeout", "max_rows", "max_bytes")
