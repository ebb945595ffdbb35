"""The sampler plug-in protocol and its registry: which problems each RL step trains on.

A sampler is a small dataclass whose init fields are its settings:

    @register
    @dataclass
    class Variance(SamplerPlugin):
        name: ClassVar[str] = "variance"
        share: float = setting(0.5, "fraction of each batch re-drawn from the pool", low=0.0, high=1.0)

        def select(self, step: int) -> list[Problem]: ...
        def observe(self, problems, rewards, correct) -> None: ...

- `name`: what a scenario writes after `sampler:`; its settings go in `sampler_settings`;
- `bind(stream, prompts_per_step, seed)`: the trainer hands over the train split's problem stream
  (whose position the checkpoint already keeps), the batch size B and the run's seed;
- `select(step)`: B problems for the step being assembled (`step` = RL steps already taken, so the
  metrics line of that step says `step + 1`); DAPO's dynamic sampling calls it again within a step
  for more problems;
- `observe(problems, rewards, correct, valid=None)`: once per step, after scoring, every group scored
  that step (groups dynamic sampling dropped included): rewards [B', G] before any shaping and the
  verifier's 0/1 `correct` [B', G]; for ragged groups (`rlvr.training.ragged`) `valid` [B', G] marks
  the rollouts that exist and pass rates are over those (the trainer passes `valid` only then);
- `state_dict()` / `load_state_dict()`: plain values (numbers, text, lists, dicts) saved in the
  checkpoint, so a sampler with memory resumes exactly; stateless samplers keep the defaults;
- `metrics()`: numbers added to the step's metrics line (none by default);
- `check_knobs(knobs)`: a sampler that sets difficulty knobs checks them against the task's, before
  any work.
Randomness: a sampler that draws at random seeds a generator from (seed, step, call), never from a
global RNG, so a resumed run draws what the uninterrupted one drew.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rlvr.training.plugins import Registry, check_settings, settings_of
from rlvr.training.plugins import setting as setting  # what sampler modules declare settings with

if TYPE_CHECKING:
    import torch

    from rlvr.core.difficulty import Knob
    from rlvr.core.problem import Problem
    from rlvr.training.rollout import ProblemStream


class Sampler(Protocol):
    """What the trainer uses of a sampler (see the module doc)."""

    name: str

    def bind(self, stream: ProblemStream, prompts_per_step: int, seed: int) -> None: ...
    def select(self, step: int) -> list[Problem]: ...
    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor,
                valid: torch.Tensor | None = None) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...
    def metrics(self) -> dict[str, float]: ...


@dataclass
class SamplerPlugin:
    """Base of sampler plug-ins (see the module doc): settings are the init fields; state lives in
    attributes set by `bind` or `__post_init__`."""

    name: ClassVar[str] = ""
    """Registry name, what `sampler:` says."""
    source: ClassVar[str] = ""
    """The method and the provenance tag of the algorithms spec: [code], [paper] or [abs]."""
    summary: ClassVar[str] = ""
    """One line: what it does (`rlvr algorithms` prints it with `source`)."""

    def __post_init__(self) -> None:
        check_settings("sampler", self)
        self.stream: ProblemStream | None = None
        self.prompts_per_step = 0
        self.seed = 0

    def bind(self, stream: ProblemStream, prompts_per_step: int, seed: int) -> None:
        """Take the train stream, the batch size and the run's seed (the trainer calls it once)."""
        if prompts_per_step < 1:
            raise ValueError(f"sampler {self.name!r} needs prompts_per_step >= 1, got {prompts_per_step}")
        self.stream, self.prompts_per_step, self.seed = stream, int(prompts_per_step), int(seed)

    def _stream(self) -> ProblemStream:
        if self.stream is None:
            raise RuntimeError(f"sampler {self.name!r} has no problem stream yet: call bind(stream, ...) first")
        return self.stream

    def select(self, step: int) -> list[Problem]:
        """`prompts_per_step` problems for the step being assembled."""
        raise NotImplementedError

    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor,
                valid: torch.Tensor | None = None) -> None:
        """The step's scored groups (`valid`: ragged groups' rollouts); samplers without memory ignore them."""

    def check_knobs(self, knobs: Sequence[Knob]) -> None:
        """Refuse settings that name knobs the task lacks or values they refuse (none by default)."""

    def metrics(self) -> dict[str, float]:
        """Numbers for the step's metrics line (none by default, so the line stays as it was)."""
        return {}

    def state_dict(self) -> dict[str, Any]:
        """State kept across steps, as plain values; stateless samplers have none."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`'s values."""
        if state:
            raise ValueError(f"sampler {self.name!r} keeps no state, got a state with {sorted(state)}")

    @classmethod
    def settings(cls) -> dict[str, tuple[Any, str]]:
        """Setting name -> (default, what it does), for listings and docs."""
        return settings_of(cls)


SAMPLERS = Registry("sampler")
"""Name -> sampler class: the one registry the trainer uses."""

register = SAMPLERS.register
"""Class decorator: add a sampler to `SAMPLERS` under its `name` (once)."""


def make_sampler(name: str, settings: Mapping[str, Any] | None = None) -> SamplerPlugin:
    """Build a registered sampler with `settings` (not yet bound to a stream), refusing unknown
    names and settings with close matches and bad values with what was expected.

    >>> make_sampler("variance", {"share": 0.25}).share
    0.25
    >>> make_sampler("variance", {"shar": 0.25})
    Traceback (most recent call last):
    ...
    ValueError: sampler 'variance' takes settings ['share', 'pool_size'], got 'shar' (did you mean: share?)
    """
    return SAMPLERS.build(name, settings)
