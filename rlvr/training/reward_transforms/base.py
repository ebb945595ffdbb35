"""The reward-transform plug-in protocol and its registry: group-level shaping of a step's rewards
after scoring and before the advantage.

A transform is a small dataclass whose init fields are its settings:

    @register
    @dataclass
    class Overlong(RewardTransformPlugin):
        name: ClassVar[str] = "overlong"
        buffer: int = setting(REQUIRED, "L_cache: tokens before L_max where the penalty ramps", low=1)

        def __call__(self, batch: RewardBatch) -> Tensor: ...  # new rewards [B, G]

- `name`: what a scenario writes in `reward_transforms: [{name: ..., <settings>}]`;
- `source` / `summary`: the method with the algorithms spec's provenance tag, and one line saying
  what it does (`rlvr algorithms` prints both);
- `bind(seed, max_new_tokens)`: the trainer hands over the run's seed and the generation budget
  once; a transform that draws at random seeds a generator from (seed, step), never a global RNG,
  so a resumed run draws what the uninterrupted one drew;
- `__call__(batch)`: the step's rewards [B, G] as the transforms before it left them, with the
  rollouts' lengths and the verifier's components (`correct` among them, never changed here);
- `turn_level`: whether multi-turn episodes are supported (refused at config time otherwise);
- `keeps_binary` / `needs_binary`: whether 0/1 rewards stay 0/1, and whether it needs them (a
  transform that needs them is refused after one that does not keep them);
- `metrics()`: numbers for the step's line, named `<name>_...`; `state_dict()` / `load_state_dict()`:
  plain values saved in the checkpoint (none by default).
"""

from __future__ import annotations

import dataclasses
import math
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.core.hints import did_you_mean

REQUIRED: Any = dataclasses.MISSING
"""The default of a setting that has none: a scenario must give it."""


@dataclass(frozen=True)
class RewardBatch:
    """What a transform sees of a step's rollouts: row b of [B, G] is problem b's group."""

    rewards: Tensor
    """Float [B, G]: the rewards as the transforms before this one left them."""
    lengths: Tensor
    """Long [B, G]: tokens the policy generated per rollout."""
    components: Mapping[str, Tensor]
    """The verifier's named components, each [B, G] (`correct`: 0/1); read-only."""
    step: int
    """RL steps already taken (the metrics line of this step says step + 1)."""


def setting(default: Any, doc: str, *, low: float | None = None, high: float | None = None,
            choices: Sequence[str] = ()) -> Any:
    """A transform setting: its default (`REQUIRED`: none), one line saying what it does, its range
    (numbers) or its choices (text)."""
    metadata = {"doc": doc, "low": low, "high": high, "choices": tuple(choices)}
    if default is REQUIRED:
        return field(metadata=metadata)
    return field(default=default, metadata=metadata)


@dataclass
class RewardTransformPlugin:
    """Base of reward transforms (see the module doc): settings are the init fields."""

    name: ClassVar[str] = ""
    """Registry name, what `reward_transforms: [{name: ...}]` says."""
    source: ClassVar[str] = ""
    """The method and the provenance tag of the algorithms spec: [code], [paper] or [abs]."""
    summary: ClassVar[str] = ""
    """One line: what the transform does to the rewards."""
    turn_level: ClassVar[bool] = False
    """Whether multi-turn episodes are supported."""
    keeps_binary: ClassVar[bool] = True
    """Whether 0/1 rewards stay 0/1 through this transform."""

    def __post_init__(self) -> None:
        hints = typing.get_type_hints(type(self))
        for item in _settings_fields(type(self)):
            value = getattr(self, item.name)
            if _bare(hints[item.name]) is float and type(value) is int:  # YAML's `1` for a float setting
                value = float(value)
                setattr(self, item.name, value)
            _check_setting(self.name, item, hints[item.name], value)
        self.seed = 0
        self.max_new_tokens = 0
        self._metrics: dict[str, float] = {}

    @property
    def needs_binary(self) -> bool:
        """Whether the rewards it receives must be 0/1 (settings may decide)."""
        return False

    def bind(self, seed: int, max_new_tokens: int) -> None:
        """Take the run's seed and generation budget (the trainer calls it once)."""
        self.seed, self.max_new_tokens = int(seed), int(max_new_tokens)

    def check(self, max_new_tokens: int) -> None:
        """Refuse settings that do not fit the run (none by default); called at config time."""

    def __call__(self, batch: RewardBatch) -> Tensor:
        """New rewards [B, G]."""
        raise NotImplementedError

    def metrics(self) -> dict[str, float]:
        """Numbers of the last call for the step's metrics line."""
        return dict(self._metrics)

    def state_dict(self) -> dict[str, Any]:
        """State kept across steps, as plain values; stateless transforms have none."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`'s values."""
        if state:
            raise ValueError(f"reward transform {self.name!r} keeps no state, got a state with {sorted(state)}")

    @classmethod
    def settings(cls) -> dict[str, tuple[Any, str]]:
        """Setting name -> (default, what it does); a required setting's default is `REQUIRED`."""
        return {item.name: (item.default, item.metadata.get("doc", "")) for item in _settings_fields(cls)}


def _settings_fields(cls: type) -> list[dataclasses.Field]:
    return [item for item in dataclasses.fields(cls) if item.init]


def _bare(hint: Any) -> Any:
    """`int | None` -> int; other hints unchanged."""
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        options = [option for option in typing.get_args(hint) if option is not type(None)]
        return options[0] if len(options) == 1 else hint
    return hint


def _check_setting(plugin: str, item: dataclasses.Field, hint: Any, value: Any) -> None:
    """Type, range and choices of one setting; a bool is not a number, floats must be finite."""
    where = f"reward transform {plugin!r} setting {item.name}"
    if value is None and _bare(hint) is not hint:
        return  # an optional setting left unset
    hint = _bare(hint)
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
    if hint is str:
        choices = item.metadata.get("choices") or ()
        if not isinstance(value, str) or (choices and value not in choices):
            expected = f"one of {list(choices)}" if choices else "text"
            hint_text = did_you_mean(value, choices, quoted=True) if isinstance(value, str) else ""
            raise ValueError(f"{where} must be {expected}, got {value!r}{hint_text}")


REWARD_TRANSFORMS: dict[str, type[RewardTransformPlugin]] = {}
"""Name -> transform class: the one registry the trainer uses."""


def register(cls: type[RewardTransformPlugin]) -> type[RewardTransformPlugin]:
    """Class decorator: add a transform to `REWARD_TRANSFORMS` under its `name` (once)."""
    if not cls.name or cls.name in REWARD_TRANSFORMS:
        raise ValueError(f"expected a new reward transform name, got {cls.name!r} "
                         f"(registered: {sorted(REWARD_TRANSFORMS)})")
    REWARD_TRANSFORMS[cls.name] = cls
    return cls


def make_reward_transform(name: str, settings: Mapping[str, Any] | None = None) -> RewardTransformPlugin:
    """Build a registered transform with `settings`, refusing unknown names and settings with close
    matches, missing required settings and bad values with what was expected.

    >>> make_reward_transform("corrupt", {"mode": "inverted"}).mode
    'inverted'
    >>> make_reward_transform("corrupt", {"mode": "invert"})
    Traceback (most recent call last):
    ...
    ValueError: reward transform 'corrupt' setting mode must be one of ['accurate', 'random', 'inverted'], \
got 'invert' (did you mean 'inverted'?)
    """
    if name not in REWARD_TRANSFORMS:
        hint = did_you_mean(str(name), REWARD_TRANSFORMS, quoted=True)
        raise ValueError(f"unknown reward transform {name!r}{hint}; expected one of {', '.join(REWARD_TRANSFORMS)}")
    cls = REWARD_TRANSFORMS[name]
    settings = dict(settings or {})
    fields = _settings_fields(cls)
    allowed = [item.name for item in fields]
    for key in settings:
        if key not in allowed:
            takes = f"takes settings {allowed}" if allowed else "takes no settings"
            raise ValueError(f"reward transform {name!r} {takes}, got {key!r}" + did_you_mean(str(key), allowed))
    missing = [item.name for item in fields if item.default is REQUIRED and item.name not in settings]
    if missing:
        raise ValueError(f"reward transform {name!r} needs setting(s) {missing}, got {sorted(settings) or 'none'}")
    return cls(**settings)


def make_reward_transforms(items: Sequence[Mapping[str, Any]]) -> list[RewardTransformPlugin]:
    """Transforms from a scenario's list `[{name: ..., <settings>}]`, in order; each name at most once
    (its metrics and checkpoint state are keyed by name), and a transform that needs 0/1 rewards
    never after one that does not keep them.

    >>> items = [{"name": "corrupt", "mode": "random"}, {"name": "overlong", "buffer": 4}]
    >>> [t.name for t in make_reward_transforms(items)]
    ['corrupt', 'overlong']
    """
    transforms: list[RewardTransformPlugin] = []
    for position, item in enumerate(items):
        if not isinstance(item, Mapping) or not isinstance(item.get("name"), str):
            raise ValueError(f"reward transform {position} must be a mapping with a name (text), e.g. "
                             f"{{name: corrupt, mode: random}}, got {item!r}")
        settings = {key: value for key, value in item.items() if key != "name"}
        transform = make_reward_transform(item["name"], settings)
        if any(other.name == transform.name for other in transforms):
            raise ValueError(f"reward transform {transform.name!r} is listed twice; give it once")
        changed = [other.name for other in transforms if not other.keeps_binary]
        if transform.needs_binary and changed:
            raise ValueError(f"reward transform {transform.name!r} with these settings needs 0/1 rewards, but "
                             f"{changed} before it make them non-binary; list {transform.name!r} first")
        transforms.append(transform)
    return transforms


def apply_reward_transforms(transforms: Sequence[RewardTransformPlugin], rewards: Tensor, lengths: Tensor,
                            components: Mapping[str, Tensor], step: int) -> Tensor:
    """Run `transforms` in order on the step's rewards [B, G]; the result of each must be finite and
    shaped like the rewards (else the transform's error, named). No transforms: `rewards` itself."""
    for transform in transforms:
        batch = RewardBatch(rewards, lengths, components, step)
        result = torch.as_tensor(transform(batch))
        if result.shape != rewards.shape:
            raise ValueError(f"reward transform {transform.name!r} returned shape {tuple(result.shape)}; "
                             f"expected the rewards' {tuple(rewards.shape)}")
        if not torch.isfinite(result).all():
            raise ValueError(f"reward transform {transform.name!r} returned non-finite rewards; expected finite "
                             f"values (rewards in: min {float(rewards.min())}, max {float(rewards.max())})")
        rewards = result
    return rewards
