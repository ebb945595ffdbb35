"""The advantage plug-in protocol, the rollout view a plug-in reads, and the one registry.

A plug-in is a small frozen dataclass whose fields are its settings:

    @register
    @dataclass(frozen=True)
    class Unlikeliness(AdvantagePlugin):
        name: ClassVar[str] = "unlikeliness"
        needs: ClassVar[tuple[str, ...]] = ("mean_logprob",)
        beta_rank: float = setting(0.25, "how much likelier correct rollouts lose", low=0.0, high=1.0)

        def __call__(self, view: RolloutView) -> Tensor:
            ...  # [B, G] per rollout, or [B * G, T] per token

- `name`: what a scenario writes after `advantage:`; its settings go in `advantage_settings`;
- `needs`: the per-rollout quantities it reads, from `QUANTITIES`; the trainer computes exactly
  those, once per step, and the view holds nothing else;
- `turn_level`: whether it takes multi-turn episodes (then the view has each episode's turn
  rewards and each token's turn, and the plug-in returns one advantage per token);
- settings: every field, typed and range-checked when the plug-in is built (`make_advantage`), an
  unknown one refused with close matches;
- `state_dict()` / `load_state_dict()`: plain values (numbers, text, lists, dicts, tensors) the
  trainer saves in its checkpoint, so a plug-in that keeps state across steps resumes exactly.
  Stateless plug-ins keep the defaults (an empty state);
- `ragged`: whether it takes ragged groups (`view.valid`, a generator such as `rollout_gdro` gives
  problems different numbers of rollouts): each group's statistics over its valid rollouts only.
  A plug-in whose statistics all stay within a group gets that from `within_groups` on its
  `__call__` (each group computed alone); one that reads across groups (DGPO's question weights,
  RiskPO's bundles, D3S's token share) masks with `valid` itself. Plug-ins that do not take them
  are refused such a view, with the ones that do named.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.core.hints import did_you_mean
from rlvr.training.groups import as_groups
from rlvr.training.plugins import Registry, check_settings, settings_of
from rlvr.training.plugins import (
    setting as setting,  # what plug-in modules of this kind declare settings with
)
from rlvr.training.ragged import check_valid, is_ragged

QUANTITIES: dict[str, str] = {
    "mean_logprob": "pi_old's mean token log-prob of each rollout, [B, G], from the sampler's log-probs "
                    "(no extra forward pass)",
    "self_certainty": "each rollout's summed token self-certainty sum_t (logsumexp(z_t) - mean_v z_t), "
                      "[B, G], from one no-grad scoring pass under pi_old (`vocab_mean_logprob`)",
    "correct": "the verifier's 0/1 `correct` component of each rollout, [B, G] (the reward may be shaped)",
    "answer_class": "each rollout's answer class in its group, [B, G]: 0, 1, ... in order of first appearance, "
                    "answers equal in the task's canonical form (verifier equivalence) share one; all unreadable "
                    "answers are one class",
    "low_token_logprob": "pi_old's mean log-prob over the lowest-probability 20% of each rollout's tokens (at "
                         "least one), [B, G], from the sampler's log-probs (no extra pass)",
    "prompt_logprob": "pi_old's mean token log-prob of each rollout's prompt (log of 1 / perplexity), [B, G], "
                      "from one no-grad pass over the distinct prompts",
    "token_logprob": "pi_old's log-prob of each generated token, [B * G, T], the sampler's (no extra pass)",
    "chosen_logit": "the raw logit of each generated token, [B * G, T], from the scoring pass under pi_old",
    "token_entropy": "pi_old's entropy at each generated token, [B * G, T], from the scoring pass",
    "hidden_mean": "each rollout's mean last-layer hidden state over its tokens, [B, G, H], from the scoring pass",
    "hidden_state": "the last-layer hidden state at each generated token, [B * G, T, H], from the scoring pass",
}
"""The quantities a plug-in may declare in `needs`, and where each comes from. Every quantity that
needs the policy's scoring pass shares one no-grad pass per step (`quantities.rollout_view`)."""

TOKEN_QUANTITIES = ("token_logprob", "chosen_logit", "token_entropy", "hidden_state")
"""The per-token quantities: [B * G, T] (hidden states [B * G, T, H]), 0 where `RolloutView.mask` is false."""
VECTOR_QUANTITIES = ("hidden_mean", "hidden_state")
"""The quantities with a trailing feature dimension H."""


@dataclass(frozen=True)
class RolloutView:
    """What an advantage plug-in sees of a step's rollouts: row b of [B, G] is problem b's group.

    Only the quantities the plug-in declared are present; reading another one is an error that
    names what to declare.
    """

    rewards: Tensor
    """Float [B, G]: each rollout's reward after shaping (DAPO's overlong penalty included)."""
    lengths: Tensor
    """Long [B, G]: tokens the policy generated per rollout (env tokens of episodes not counted)."""
    group_ids: Tensor
    """Long [B, G]: the problem (group) each rollout answers; row b is group b today."""
    quantities: Mapping[str, Tensor] = field(default_factory=dict)
    """The declared quantities of `QUANTITIES`: [B, G] per rollout, [B * G, T] per token
    (`TOKEN_QUANTITIES`), with a trailing H for hidden states."""
    turn_rewards: Sequence[Sequence[float]] | None = None
    """Multi-turn episodes only: per episode (flat, B * G), the reward of each turn in order."""
    token_turns: Tensor | None = None
    """Multi-turn episodes only: long [B * G, T], the turn of each action token, -1 elsewhere."""
    mask: Tensor | None = None
    """Bool [B * G, T]: the tokens the loss trains on (None in views of bare rewards)."""
    drop: Callable[[Tensor], None] | None = field(default=None, repr=False, compare=False)
    """Takes a bool keep mask [B * G, T] and removes the other tokens from the step's loss mask (set
    by `rollout_view`; `compute_advantages` calls it for plug-ins that return `Kept`)."""
    valid: Tensor | None = None
    """Bool [B, G] for ragged groups: the rollouts that exist, each group's first (padding holds 0
    everywhere and gets advantage 0); None when every group is full."""

    def __getitem__(self, name: str) -> Tensor:
        if name not in self.quantities:
            known = f"; it is one of {list(QUANTITIES)}: declare it in the plug-in's `needs`" \
                if name in QUANTITIES else did_you_mean(name, QUANTITIES, quoted=True)
            raise KeyError(f"rollout view has quantities {sorted(self.quantities)}, got a request for {name!r}{known}")
        return self.quantities[name]

    @property
    def episodes(self) -> bool:
        """True for multi-turn episodes (turn rewards and token turns present)."""
        return self.token_turns is not None


def group_alone(view: RolloutView, row: int, count: int) -> RolloutView:
    """The view of group `row`'s first `count` rollouts as a batch of that one full group: per-rollout
    values [1, count], per-token rows `row * G .. row * G + count - 1` (G the view's group width).
    It cannot drop tokens (`drop` None): a plug-in that leaves rollouts out sees the whole step."""
    width = view.rewards.shape[1]
    first, rows = row * width, slice(row * width, row * width + count)

    def cut(name: str, value: Tensor) -> Tensor:
        return value[rows] if name in TOKEN_QUANTITIES else value[row : row + 1, :count]

    return RolloutView(
        view.rewards[row : row + 1, :count], view.lengths[row : row + 1, :count],
        torch.zeros(1, count, dtype=torch.long), {name: cut(name, value) for name, value in view.quantities.items()},
        turn_rewards=None if view.turn_rewards is None else list(view.turn_rewards[first : first + count]),
        token_turns=None if view.token_turns is None else view.token_turns[rows],
        mask=None if view.mask is None else view.mask[rows])


def within_groups(call: Callable[[Any, RolloutView], Tensor]) -> Callable[[Any, RolloutView], Tensor]:
    """Decorator of a plug-in's `__call__` whose every statistic is taken within a group (means, stds,
    ranks, classes, token variances across the group): on ragged groups it runs on each group's valid
    rollouts alone (`group_alone`), exactly as that group in a batch of its own, and the results are
    put back in the [B, G] (or [B * G, T]) layout with 0 in the padding; a dense view goes straight
    through, so full groups keep their numbers bit for bit."""

    @functools.wraps(call)
    def each_group(self: Any, view: RolloutView) -> Tensor:
        if not is_ragged(view.valid):
            return call(self, view)
        width, counts = view.rewards.shape[1], view.valid.sum(dim=1).tolist()
        parts = [torch.as_tensor(call(self, group_alone(view, row, count))) for row, count in enumerate(counts)]
        # [1, n] per rollout or [n, T] per token (only n = T = 1 looks like both: either layout holds it)
        per_token = any(tuple(part.shape) != (1, count) for part, count in zip(parts, counts, strict=True))
        if per_token:
            out = torch.zeros(view.rewards.numel(), *parts[0].shape[1:], dtype=parts[0].dtype)
            for row, (part, count) in enumerate(zip(parts, counts, strict=True)):
                out[row * width : row * width + count] = part
            return out
        out = torch.zeros(view.rewards.shape, dtype=parts[0].dtype)
        for row, (part, count) in enumerate(zip(parts, counts, strict=True)):
            out[row, :count] = part.reshape(count)
        return out

    return each_group


def view_of(rewards: Tensor | list, lengths: Tensor | None = None, mask: Tensor | list | None = None,
            valid: Tensor | list | None = None, **quantities: Tensor | list) -> RolloutView:
    """A view of bare rewards [B, G] (and any quantities: per rollout shaped like them, per token
    [B * G, T] like `mask`, hidden states with a trailing H) and, for ragged groups, `valid` [B, G]:
    for tests and for using a plug-in outside the trainer. Without `mask`, every position of a
    per-token quantity is a token.

    >>> view_of([[1.0, 0.0]], mean_logprob=[[-0.5, -1.0]])["mean_logprob"]
    tensor([[-0.5000, -1.0000]])
    """
    rewards = as_groups(rewards)
    rows = rewards.numel()
    checked = {}
    for name, value in quantities.items():
        if name not in QUANTITIES:
            raise ValueError(f"unknown quantity {name!r}{did_you_mean(name, QUANTITIES, quoted=True)}; "
                             f"expected some of {list(QUANTITIES)}")
        value = torch.as_tensor(value, dtype=rewards.dtype)
        base = value.shape[:-1] if name in VECTOR_QUANTITIES else value.shape
        if name in TOKEN_QUANTITIES:
            width = base[1] if len(base) == 2 else -1
            if len(base) != 2 or base[0] != rows or (mask is not None and tuple(torch.as_tensor(mask).shape) !=
                                                     (rows, width)):
                raise ValueError(f"expected {name} shaped [{rows}, T{', H' if name in VECTOR_QUANTITIES else ''}] "
                                 f"(one row per rollout, like the mask), got {tuple(value.shape)}")
            if mask is None:
                mask = torch.ones(rows, width, dtype=torch.bool)
        elif base != rewards.shape or value.dim() != rewards.dim() + (name in VECTOR_QUANTITIES):
            raise ValueError(f"expected {name} shaped like rewards {tuple(rewards.shape)}"
                             f"{' plus H' if name in VECTOR_QUANTITIES else ''}, got {tuple(value.shape)}")
        checked[name] = value
    lengths = torch.ones(rewards.shape, dtype=torch.long) if lengths is None else torch.as_tensor(lengths)
    groups = torch.arange(rewards.shape[0]).unsqueeze(1).expand(rewards.shape).contiguous()
    mask = None if mask is None else torch.as_tensor(mask, dtype=torch.bool)
    return RolloutView(rewards, lengths, groups, checked, mask=mask, valid=check_valid(valid, rewards.shape))


@dataclass(frozen=True)
class Kept:
    """What a plug-in that leaves rollouts or tokens out of the step returns (D3S).

    The left-out ones get advantage 0 and leave the loss: `compute_advantages` removes them from the
    step's loss mask through `RolloutView.drop`, so no loss normaliser counts them (`token_mean`
    divides by the kept tokens, `seq_mean_token_mean` averages over the rows that keep a token;
    Dr. GRPO's constant G * L_max stays constant by design).
    """

    advantages: Tensor
    """[B, G] per rollout or [B * G, T] per token."""
    keep: Tensor
    """Bool [B, G] (rollouts kept) or [B * G, T] (tokens kept)."""


@dataclass(frozen=True)
class AdvantagePlugin:
    """Base of advantage plug-ins (see the module doc). Subclasses set the class attributes, add
    their settings as fields (`setting`) and define `__call__`."""

    name: ClassVar[str] = ""
    """Registry name, what `advantage:` says."""
    needs: ClassVar[tuple[str, ...]] = ()
    """Quantities of `QUANTITIES` the plug-in reads (a property where settings decide)."""
    turn_level: ClassVar[bool] = False
    """Whether multi-turn episodes are supported (per-token advantages from turn rewards)."""
    source: ClassVar[str] = ""
    """The method and the provenance tag of the algorithms spec: [code], [paper] or [abs]."""
    summary: ClassVar[str] = ""
    """One line: what it does (`rlvr algorithms` prints it with `source`)."""
    min_group_size: ClassVar[int] = 1
    """Fewest rollouts per problem the estimator is defined for (RLOO's leave-one-out needs 2)."""
    ragged: ClassVar[bool] = False
    """Whether it takes ragged groups (`RolloutView.valid`), each group over its valid rollouts."""
    drops: ClassVar[bool] = False
    """Whether it may leave rollouts or tokens out of the loss (returns `Kept`): the step line then
    says what share of the sampled tokens the loss kept (`kept_token_fraction`)."""

    def __post_init__(self) -> None:
        check_settings("advantage", self)

    def __call__(self, view: RolloutView) -> Tensor:
        """Advantages: [B, G] (one per rollout) or [B * G, T] (one per token)."""
        raise NotImplementedError

    def state_dict(self) -> dict[str, Any]:
        """State kept across steps, as plain values; stateless plug-ins have none."""
        return {}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        """Restore `state_dict()`'s values."""
        if state:
            raise ValueError(f"advantage {self.name!r} keeps no state, got a state with {sorted(state)}")

    @classmethod
    def settings(cls) -> dict[str, tuple[Any, str]]:
        """Setting name -> (default, what it does), for listings and docs."""
        return settings_of(cls)


ADVANTAGES = Registry("advantage")
"""Name -> plug-in class: the one registry the trainer uses, single- and multi-turn alike."""

register = ADVANTAGES.register
"""Class decorator: add a plug-in to `ADVANTAGES` under its `name` (once)."""


def make_advantage(name: str, settings: Mapping[str, Any] | None = None) -> AdvantagePlugin:
    """Build a registered plug-in with `settings`, refusing unknown names and settings with close
    matches and bad values with what was expected.

    >>> make_advantage("unlikeliness", {"beta_rank": 0.5}).beta_rank
    0.5
    >>> make_advantage("unlikeliness", {"beta_rnk": 0.5})
    Traceback (most recent call last):
    ...
    ValueError: advantage 'unlikeliness' takes settings ['beta_rank'], got 'beta_rnk' (did you mean: beta_rank?)
    """
    plugin = ADVANTAGES.build(name, settings)
    unknown = [need for need in plugin.needs if need not in QUANTITIES]
    if unknown:  # a plug-in's own mistake, caught when it is first built
        raise ValueError(f"advantage {name!r} needs {unknown}, which are not quantities; expected some of "
                         f"{list(QUANTITIES)}")
    return plugin


def turn_level_names() -> list[str]:
    """The registered plug-ins that take multi-turn episodes."""
    return [name for name, cls in ADVANTAGES.items() if cls.turn_level]


def ragged_names() -> list[str]:
    """The registered plug-ins that take ragged groups."""
    return [name for name, cls in ADVANTAGES.items() if cls.ragged]


def compute_advantages(plugin: Callable[[RolloutView], Tensor | Kept], view: RolloutView) -> Tensor:
    """Run `plugin` on `view`; the result as the loss takes it: [B * G] per rollout or [B * G, T] per
    token, float32. Any other shape, or a non-finite value, is the plug-in's error, named. A `Kept`
    result has its left-out rollouts or tokens zeroed and dropped from the loss (`view.drop`). Ragged
    groups go only to plug-ins that take them (`ragged`); their padding gets advantage 0."""
    name = getattr(plugin, "name", type(plugin).__name__)
    if is_ragged(view.valid) and not getattr(plugin, "ragged", False):
        raise ValueError(f"advantage {name!r} takes full groups only, got ragged groups (a generator such as "
                         f"'rollout_gdro' gives problems different numbers of rollouts); use one of {ragged_names()}")
    result = plugin(view)
    keep = None
    if isinstance(result, Kept):
        result, keep = result.advantages, torch.as_tensor(result.keep, dtype=torch.bool)
    result = torch.as_tensor(result)
    rows = view.rewards.numel()
    if tuple(result.shape) == tuple(view.rewards.shape):
        result = result.reshape(-1)
    elif not (result.dim() == 2 and result.shape[0] == rows and
              (view.token_turns is None or result.shape == view.token_turns.shape)):
        width = "T" if view.token_turns is None else view.token_turns.shape[1]
        raise ValueError(f"advantage {name!r} returned shape {tuple(result.shape)}; expected "
                         f"{tuple(view.rewards.shape)} (per rollout) or ({rows}, {width}) (per token)")
    if not torch.isfinite(result).all():
        bad = int((~torch.isfinite(result)).sum())
        raise ValueError(f"advantage {name!r} returned {bad} non-finite value(s); expected finite advantages "
                         f"(rewards of the step: min {float(view.rewards.min())}, max {float(view.rewards.max())})")
    if keep is not None:
        result = _apply_keep(name, result, keep, view)
    if is_ragged(view.valid):  # padding teaches nothing, whatever the plug-in wrote there
        result = result * view.valid.reshape(-1, *([1] * (result.dim() - 1))).to(result.dtype)
    return result.to(torch.float32)


def _apply_keep(name: str, result: Tensor, keep: Tensor, view: RolloutView) -> Tensor:
    """Zero the advantages of what `keep` leaves out and drop it from the loss mask."""
    if view.drop is None or view.mask is None:
        raise ValueError(f"advantage {name!r} leaves rollouts out of the loss, which needs a view of the step's "
                         "batch (`rollout_view`), got a view without a loss mask")
    if tuple(keep.shape) == tuple(view.rewards.shape):
        keep = keep.reshape(-1, 1).expand(view.mask.shape)
    if tuple(keep.shape) != tuple(view.mask.shape):
        raise ValueError(f"advantage {name!r} returned a keep mask shaped {tuple(keep.shape)}; expected "
                         f"{tuple(view.rewards.shape)} (rollouts) or {tuple(view.mask.shape)} (tokens)")
    keep = keep & view.mask
    view.drop(keep)
    if result.dim() == 1:  # per rollout: a rollout is out when none of its tokens stays
        return torch.where(keep.any(dim=1), result, torch.zeros_like(result))
    return torch.where(keep, result, torch.zeros_like(result))
