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
- `observe(problems, rewards, correct)`: once per step, after scoring, every group scored that step
  (groups dynamic sampling dropped included): rewards [B', G] before any shaping and the verifier's
  0/1 `correct` [B', G];
- `state_dict()` / `load_state_dict()`: plain values (numbers, text, lists, dicts) saved in the
  checkpoint, so a sampler with memory resumes exactly; stateless samplers keep the defaults;
- `metrics()`: numbers added to the step's metrics line (none by default);
- `check_knobs(knobs)`: a sampler that sets difficulty knobs checks them against the task's, before
  any work.
Randomness: a sampler that draws at random seeds a generator from (seed, step, call), never from a
global RNG, so a resumed run draws what the uninterrupted one drew.
"""

from __future__ import annotations

import dataclasses
import math
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

from rlvr.core.hints import did_you_mean

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
    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor) -> None: ...
    def state_dict(self) -> dict[str, Any]: ...
    def load_state_dict(self, state: Mapping[str, Any]) -> None: ...
    def metrics(self) -> dict[str, float]: ...


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None) -> Any:
    """A sampler setting: its default (a mutable one is copied per instance), one line saying what
    it does, and its range (numbers)."""
    metadata = {"doc": doc, "low": low, "high": high}
    if isinstance(default, (dict, list)):
        return field(default_factory=lambda: type(default)(default), metadata=metadata)
    return field(default=default, metadata=metadata)


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
        hints = typing.get_type_hints(type(self))
        for item in _settings_fields(type(self)):
            value = getattr(self, item.name)
            if hints[item.name] is float and type(value) is int:  # YAML's `1` for a float setting
                value = float(value)
                setattr(self, item.name, value)
            _check_setting(self.name, item, hints[item.name], value)
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

    def observe(self, problems: Sequence[Problem], rewards: torch.Tensor, correct: torch.Tensor) -> None:
        """The step's scored groups; samplers without memory ignore them."""

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
        return {item.name: (item.default_factory() if item.default is dataclasses.MISSING else item.default,
                            item.metadata.get("doc", "")) for item in _settings_fields(cls)}


def _settings_fields(cls: type) -> list[dataclasses.Field]:
    return [item for item in dataclasses.fields(cls) if item.init]


def _check_setting(plugin: str, item: dataclasses.Field, hint: Any, value: Any) -> None:
    """Type and range of one setting; a bool is not a number, floats must be finite."""
    where = f"sampler {plugin!r} setting {item.name}"
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} expects true or false, got {value!r} ({type(value).__name__})")
        return
    if hint in (int, float):
        number_types = (int,) if hint is int else (int, float)
        if isinstance(value, bool) or not isinstance(value, number_types):
            raise ValueError(f"{where} expects {hint.__name__}, got {value!r} ({type(value).__name__})")
        if not math.isfinite(value):
            raise ValueError(f"{where} expects a finite number, got {value!r}")
        low, high = item.metadata.get("low"), item.metadata.get("high")
        if (low is not None and value < low) or (high is not None and value > high):
            span = f"[{'-inf' if low is None else low}, {'inf' if high is None else high}]"
            raise ValueError(f"{where} must be in {span}, got {value!r}")
        return
    origin = typing.get_origin(hint) or hint
    if isinstance(origin, type) and not isinstance(value, origin):
        raise ValueError(f"{where} expects {origin.__name__}, got {value!r} ({type(value).__name__})")


SAMPLERS: dict[str, type[SamplerPlugin]] = {}
"""Name -> sampler class: the one registry the trainer uses."""


def register(cls: type[SamplerPlugin]) -> type[SamplerPlugin]:
    """Class decorator: add a sampler to `SAMPLERS` under its `name` (once)."""
    if not cls.name or cls.name in SAMPLERS:
        raise ValueError(f"expected a new sampler name, got {cls.name!r} (registered: {sorted(SAMPLERS)})")
    SAMPLERS[cls.name] = cls
    return cls


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
    if name not in SAMPLERS:
        raise ValueError(f"unknown sampler {name!r}{did_you_mean(name, SAMPLERS, quoted=True)}; "
                         f"expected one of {', '.join(SAMPLERS)}")
    cls = SAMPLERS[name]
    settings = dict(settings or {})
    allowed = [item.name for item in _settings_fields(cls)]
    for key in settings:
        if key not in allowed:
            takes = f"takes settings {allowed}" if allowed else "takes no settings"
            raise ValueError(f"sampler {name!r} {takes}, got {key!r}" + did_you_mean(str(key), allowed))
    return cls(**settings)
