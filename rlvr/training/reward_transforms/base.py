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
  plain values saved in the checkpoint (none by default);
- `ragged`: whether it takes ragged groups (`RewardBatch.valid`, a generator such as `rollout_gdro`);
  one that does not is refused them. Padding leaves every transform as 0.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.training.plugins import REQUIRED as REQUIRED  # what transform modules mark required settings with
from rlvr.training.plugins import Registry, check_settings, settings_of
from rlvr.training.plugins import setting as setting  # what transform modules declare settings with
from rlvr.training.ragged import is_ragged


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
    valid: Tensor | None = None
    """Bool [B, G] for ragged groups: the rollouts that exist (each group's first); None when full."""


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
    ragged: ClassVar[bool] = False
    """Whether ragged groups (`RewardBatch.valid`) are supported."""

    def __post_init__(self) -> None:
        check_settings("reward transform", self)
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
        return settings_of(cls)


REWARD_TRANSFORMS = Registry("reward transform")
"""Name -> transform class: the one registry the trainer uses."""

register = REWARD_TRANSFORMS.register
"""Class decorator: add a transform to `REWARD_TRANSFORMS` under its `name` (once)."""


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
    return REWARD_TRANSFORMS.build(name, settings)


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
                            components: Mapping[str, Tensor], step: int, valid: Tensor | None = None) -> Tensor:
    """Run `transforms` in order on the step's rewards [B, G]; the result of each must be finite and
    shaped like the rewards (else the transform's error, named). No transforms: `rewards` itself.
    Ragged groups (`valid`) go only to transforms that take them, and their padding stays 0."""
    ragged = is_ragged(valid)
    refused = [transform.name for transform in transforms if ragged and not transform.ragged]
    if refused:
        takers = [name for name, cls in REWARD_TRANSFORMS.items() if cls.ragged]
        raise ValueError(f"reward transform(s) {refused} take full groups only, got ragged groups (a generator "
                         f"such as 'rollout_gdro'); use some of {takers}")
    for transform in transforms:
        batch = RewardBatch(rewards, lengths, components, step, valid if ragged else None)
        result = torch.as_tensor(transform(batch))
        if result.shape != rewards.shape:
            raise ValueError(f"reward transform {transform.name!r} returned shape {tuple(result.shape)}; "
                             f"expected the rewards' {tuple(rewards.shape)}")
        if not torch.isfinite(result).all():
            raise ValueError(f"reward transform {transform.name!r} returned non-finite rewards; expected finite "
                             f"values (rewards in: min {float(rewards.min())}, max {float(rewards.max())})")
        rewards = result.masked_fill(~valid.to(result.device), 0.0) if ragged else result
    return rewards
