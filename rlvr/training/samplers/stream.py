"""`stream`: the next problems of the train split's seeded stream (the default, and what the loop
did before samplers were plug-ins: a run with it is the same run, step for step)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from rlvr.core.problem import Problem
from rlvr.training.samplers.base import SamplerPlugin, register


@register
@dataclass
class Stream(SamplerPlugin):
    """Problems i, i + 1, ... of the stream; no memory beyond the stream's position, which the
    checkpoint keeps with the other streams."""

    name: ClassVar[str] = "stream"
    source: ClassVar[str] = "uniform draws from the task's problem stream (GRPO's own sampling)"
    summary: ClassVar[str] = "the next problems of the train split's seeded stream, as the loop always did"

    def select(self, step: int) -> list[Problem]:
        return self._stream().take(self.prompts_per_step)
