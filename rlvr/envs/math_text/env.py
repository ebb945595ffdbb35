"""`MathEnv` (`rlvr/Math-v0`): one free-form math question per episode, one response per episode.

The task (the built-in generator or your file, answer extraction and verification) is `MathTask`
in `task.py`; the env passes its file and extraction options through to it (`task_options`).
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.math_text.task import MathTask


class MathEnv(TextEnv):
    """`rlvr/Math-v0`: one free-form math question per episode, one response per episode
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = MathTask
    task_options = ("data_path", "question_column", "answer_column", "extraction", "timeout", "max_rows", "max_bytes")
    card = EnvCard(
        summary="Free-form math answers, from a built-in generator or a local JSONL/Parquet file with "
        "question/answer columns, verified by the exact fast path then math-verify.",
        observation="text prompt",
        action="text response",
        reward="1 if the extracted answer is equivalent to the gold answer, else 0 with the reason",
        task=task_class,
    )
