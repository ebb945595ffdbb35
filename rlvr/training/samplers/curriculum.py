"""`curriculum`: a difficulty schedule, knob values by RL step, applied through the task's difficulty.

    sampler: curriculum
    sampler_settings: {schedule: {num_ops: [[0, 1], [200, 2]], max_operand: [[0, 9], [100, 99]]}}

Each knob lists [step, value] pairs with strictly increasing steps: from that step on (RL steps
already taken, so the pair [200, 2] first shapes the step logged as 201) the knob takes the value.
Before a knob's first pair, and for every knob the schedule does not name, the run's `difficulty`
holds; so the usual shape is `difficulty` at the target and the schedule starting easier. The
SFT warm-up and the held-out evaluations keep `difficulty`: only the RL problems follow the
schedule. Problems are the train stream's, at the difficulty of their step (problem i of the
stream is a pure function of seed, i and the knobs), so a resume needs no state of its own.

Every knob name and value is checked against the task's knobs before any work (unknown names get
close matches), and every stage's full difficulty once more when the stream is bound.
"""

from __future__ import annotations

from bisect import bisect_right
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

from rlvr.core.difficulty import Knob, resolve_difficulty
from rlvr.core.problem import Problem
from rlvr.training.samplers.base import SamplerPlugin, register, setting


@register
@dataclass
class Curriculum(SamplerPlugin):
    """Problems of the train stream at the difficulty the schedule gives their step."""

    name: ClassVar[str] = "curriculum"
    source: ClassVar[str] = "difficulty schedule over training (curricula of DGPO / GDRO need pass rates; this one is by step)"
    summary: ClassVar[str] = "difficulty knob values by step from a schedule, checked against the task's knobs"
    schedule: dict = setting({}, "knob -> [[step, value], ...]: from each step on the knob takes the value")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.starts, self.stages = _stages(self.schedule)
        self.resolved: list[dict[str, Any]] = []
        self._stage = 0

    def check_knobs(self, knobs: Sequence[Knob]) -> None:
        for stage, values in zip(self.starts, self.stages, strict=True):
            _resolve(knobs, {}, values, stage)

    def bind(self, stream: Any, prompts_per_step: int, seed: int) -> None:
        super().bind(stream, prompts_per_step, seed)
        base = stream.difficulty  # the run's difficulty, resolved (env defaults included)
        self.resolved = [_resolve(stream.task.knobs, base, values, stage)
                         for stage, values in zip(self.starts, self.stages, strict=True)]

    def stage_at(self, step: int) -> int:
        """Index of the stage in force at `step`; -1 before the first pair (the run's difficulty)."""
        return bisect_right(self.starts, step) - 1

    def difficulty_at(self, step: int) -> dict[str, Any]:
        """The full difficulty of the problems of `step`."""
        stream = self._stream()
        stage = self.stage_at(step)
        return dict(stream.difficulty) if stage < 0 else dict(self.resolved[stage])

    def select(self, step: int) -> list[Problem]:
        self._stage = self.stage_at(step)
        return self._stream().take(self.prompts_per_step, difficulty=self.difficulty_at(step))

    def metrics(self) -> dict[str, float]:
        """The stage, and each scheduled knob's value where it is a number."""
        record = {"curriculum_stage": float(self._stage)}
        current = self._stream().difficulty if self._stage < 0 else self.resolved[self._stage]
        for knob in self.schedule:
            value = current.get(knob)
            if isinstance(value, (int, float)) and not isinstance(value, bool):
                record[f"curriculum_{knob}"] = float(value)
        return record


def _stages(schedule: Any) -> tuple[list[int], list[dict[str, Any]]]:
    """Change steps in order and, for each, every scheduled knob's value from then on (a knob whose
    first pair comes later is absent until then). Refuses a malformed schedule, saying what came."""
    where = "sampler 'curriculum' setting schedule"
    shape = "{knob: [[step, value], ...]} with steps >= 0 in increasing order"
    if not isinstance(schedule, dict) or not schedule:
        raise ValueError(f"{where} expects {shape}, got {schedule!r}")
    points: dict[int, dict[str, Any]] = {}
    for knob, pairs in schedule.items():
        if not isinstance(knob, str) or not isinstance(pairs, (list, tuple)) or not pairs:
            raise ValueError(f"{where} expects {shape}; knob {knob!r} has {pairs!r}")
        last = -1
        for pair in pairs:
            if not (isinstance(pair, (list, tuple)) and len(pair) == 2 and isinstance(pair[0], int)
                    and not isinstance(pair[0], bool)):
                raise ValueError(f"{where} expects [step, value] pairs; knob {knob!r} has {pair!r}")
            if pair[0] <= last:
                raise ValueError(f"{where}: knob {knob!r} needs steps >= 0 in increasing order, got {pair[0]} "
                                 f"after {last if last >= 0 else 'the start'}")
            last = pair[0]
            points.setdefault(pair[0], {})[knob] = pair[1]
    starts = sorted(points)
    stages, current = [], {}
    for start in starts:
        current = {**current, **points[start]}
        stages.append(current)
    return starts, stages


def _resolve(knobs: Sequence[Knob], base: dict[str, Any], values: dict[str, Any], stage: int) -> dict[str, Any]:
    try:
        return resolve_difficulty(knobs, base, values)
    except (KeyError, TypeError, ValueError) as error:
        message = error.args[0] if error.args else str(error)
        raise ValueError(f"sampler 'curriculum' schedule at step {stage}: {message}") from None
