"""Policy losses over per-token log-probs, and the `Loss` objects the trainer plugs in.

Conventions: N rows (rollouts), T completion positions; `mask` [N, T] is true on generated
tokens; every per-token tensor holds 0 at padding. `logp` is log pi_theta of the sampled token
(with gradients), `old_logp` that of pi_old (the sampler, no gradients).

- `ppo_clip_loss`: the clipped surrogate of GRPO, DAPO and Dr. GRPO, which differ only in the
  clip range and how token terms are averaged (`aggregate_tokens`);
- `kl_penalty`: the k3 estimator of KL(pi || pi_ref) used by GRPO;
- `rover_loss`: ROVER's regression of Q = rho * log(pi_theta/pi_old) onto r~ + Vbar(next state).

A `Loss` declares `needs`, the names of the per-token quantities it wants from `Policy.score`
(`rlvr.agents.policy.SCORE_QUANTITIES`), so the trainer computes the costly vocabulary-wide ones
only for losses that use them. `LOSSES` maps a name to a factory of configured losses.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

import torch
from torch import Tensor

from rlvr.core.hints import did_you_mean
from rlvr.training.token_aggregation import AGGREGATIONS, aggregate_tokens, token_advantages


def ppo_clip_loss(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
    aggregation: str = "seq_mean_token_mean",
    max_len: int | None = None,
    ref_logp: Tensor | None = None,
    kl_coef: float = 0.0,
    entropy: Tensor | None = None,
    entropy_coef: float = 0.0,
) -> Tensor:
    """PPO clipped surrogate [paper], aggregated as GRPO, DAPO or Dr. GRPO do.

    l_t = -min(ratio_t * A_t, clip(ratio_t, 1 - eps_low, 1 + eps_high) * A_t),
    ratio_t = exp(logp_t - old_logp_t). Outside the trust region, in the direction the advantage
    pushes, the clipped branch is the minimum and is constant in theta, so that token stops
    contributing gradient. DAPO's clip-higher is eps_high = 0.28 > eps_low: it leaves unlikely
    tokens more room to grow, which keeps entropy from collapsing.

    With `kl_coef` > 0 and `ref_logp` given, adds kl_coef * k3 KL(pi || pi_ref) per token
    (GRPO [paper]), aggregated the same way. With `entropy_coef` > 0, subtracts entropy_coef * H_t
    (`entropy` [N, T], pi_theta's, with gradients): the entropy bonus of the policy-stability
    analysis, which keeps the policy from collapsing onto one answer. Returns a scalar.
    """
    if not (logp.shape == old_logp.shape == mask.shape):
        raise ValueError(
            f"expected logp, old_logp and mask of one shape, got {tuple(logp.shape)}, "
            f"{tuple(old_logp.shape)} and {tuple(mask.shape)}"
        )
    if eps_low < 0 or eps_high < 0:
        raise ValueError(f"expected non-negative clip ranges, got eps_low={eps_low}, eps_high={eps_high}")
    token_adv = token_advantages(advantages, logp).to(logp.dtype)
    ratio = torch.exp(logp - old_logp)
    unclipped = ratio * token_adv
    clipped = ratio.clamp(1.0 - eps_low, 1.0 + eps_high) * token_adv
    per_token = -torch.minimum(unclipped, clipped)
    if kl_coef:
        if ref_logp is None:
            raise ValueError(
                f"kl_coef={kl_coef} needs ref_logp (log-probs of the reference policy), got None"
            )
        per_token = per_token + kl_coef * kl_penalty(logp, ref_logp, mask)
    if entropy_coef:
        if entropy is None or entropy.shape != logp.shape:
            raise ValueError(f"entropy_coef={entropy_coef} needs the per-token entropy shaped like logp "
                             f"{tuple(logp.shape)}, got {None if entropy is None else tuple(entropy.shape)}")
        per_token = per_token - entropy_coef * entropy
    return aggregate_tokens(per_token, mask, aggregation, max_len)


def clip_fraction(
    logp: Tensor,
    old_logp: Tensor,
    advantages: Tensor,
    mask: Tensor,
    eps_low: float = 0.2,
    eps_high: float = 0.2,
) -> Tensor:
    """Share of tokens whose gradient the clip switched off (a health metric to log)."""
    token_adv = token_advantages(advantages, logp)
    ratio = torch.exp(logp - old_logp)
    clipped = ((ratio > 1.0 + eps_high) & (token_adv > 0)) | ((ratio < 1.0 - eps_low) & (token_adv < 0))
    weights = mask.to(torch.bool)
    return (clipped & weights).sum().to(torch.float32) / weights.sum().clamp_min(1)


def kl_penalty(logp: Tensor, ref_logp: Tensor, mask: Tensor) -> Tensor:
    """k3 estimator of KL(pi || pi_ref) per token [paper]: pi_ref/pi - log(pi_ref/pi) - 1.

    Unbiased for the KL when tokens are sampled from pi, and never negative (x - log x - 1 >= 0),
    unlike the plain log-ratio. Returns [N, T], 0 at padding.

    >>> kl_penalty(torch.tensor([[-1.0, -2.0]]), torch.tensor([[-1.0, -1.0]]), torch.tensor([[True, False]]))
    tensor([[0., 0.]])
    """
    log_ratio = ref_logp - logp
    # expm1 keeps tiny log-ratios exact (exp(x) - 1 cancels to -1e-16 there); the clamp removes
    # what rounding is left, since the true value is never negative.
    per_token = (torch.expm1(log_ratio) - log_ratio).clamp_min(0.0)
    return per_token * mask.to(per_token.dtype)


def next_state_values(values: Tensor, mask: Tensor) -> Tensor:
    """Shift per-position values one step left: out[:, t] = values[:, t + 1], 0 after a row's end.

    Position t of `Policy.score` describes the state *before* token t, so the state reached by
    taking token t is position t + 1; past the last generated token there is no next state.
    """
    weights = mask.to(values.dtype)
    shifted = torch.zeros_like(values)
    shifted[:, :-1] = values[:, 1:] * weights[:, 1:]
    return shifted


def rover_loss(
    logp: Tensor,
    old_logp: Tensor,
    vocab_mean_logp_new: Tensor,
    vocab_mean_logp_old: Tensor,
    rewards_centred: Tensor,
    mask: Tensor,
    rho: float = 1.0,
    aggregation: str = "token_mean",
) -> Tensor:
    """ROVER [code: yuxiaooye/ROVER]: regress the policy's implied Q onto the uniform-policy target.

    Q_t = rho * (logp_t - old_logp_t) is the Q-value the policy represents relative to pi_old;
    Vbar(s_{t+1}) = rho * mean over the vocabulary v of [log pi_theta(v|s_{t+1}) - log pi_old(v|s_{t+1})]
    is the value of the next state under the uniform random policy (0 after the last token);
    target_t = r~ + Vbar(s_{t+1}), held fixed (stop-gradient); loss = token mean of (Q_t - target_t)^2.
    `rewards_centred` [N] is r~ (reward minus group mean, or the GRPO advantage); the vocabulary
    means [N, T] are `Policy.score(..., need=("vocab_mean_logprob",))` at each position.

    Sampling from pi_theta = pi_old * exp(Q / rho) is then the softmax over uniform-policy Q-values,
    so no separate sampler is needed. No KL and no clipping. At theta = theta_old, Q = 0 and the
    gradient is 2 * rho times the mean-centred REINFORCE gradient (tested).
    """
    if not (
        logp.shape == old_logp.shape == vocab_mean_logp_new.shape == vocab_mean_logp_old.shape == mask.shape
    ):
        raise ValueError(
            "expected logp, old_logp, both vocabulary means and mask of one shape [rows, tokens], got "
            f"{[tuple(t.shape) for t in (logp, old_logp, vocab_mean_logp_new, vocab_mean_logp_old, mask)]}"
        )
    q_values = rho * (logp - old_logp)
    uniform_values = rho * (vocab_mean_logp_new - vocab_mean_logp_old)
    target = token_advantages(rewards_centred.to(logp.dtype), logp) + next_state_values(uniform_values, mask)
    per_token = (q_values - target.detach()) ** 2
    return aggregate_tokens(per_token, mask, aggregation)


@runtime_checkable
class Loss(Protocol):
    """A policy loss the trainer can plug in.

    `needs`: the `Policy.score` quantities (names from `rlvr.agents.policy.SCORE_QUANTITIES`) the
    loss reads from both `new` (pi_theta, with gradients) and `old` (pi_old, without);
    `needs_reference`: whether `ref` must hold a frozen reference policy's quantities.
    `advantages` is [N] or [N, T] for PPO-style losses and the centred reward r~ [N] for ROVER.
    """

    needs: tuple[str, ...]
    needs_reference: bool

    def __call__(
        self,
        new: Mapping[str, Tensor],
        old: Mapping[str, Tensor],
        advantages: Tensor,
        mask: Tensor,
        ref: Mapping[str, Tensor] | None = None,
    ) -> Tensor: ...


def _require(quantities: Mapping[str, Tensor] | None, names: tuple[str, ...], which: str) -> list[Tensor]:
    if quantities is None:
        raise ValueError(f"expected {which} quantities {list(names)}, got None")
    missing = [name for name in names if name not in quantities]
    if missing:
        raise ValueError(
            f"expected {which} quantities {list(names)}, missing {missing} (have {sorted(quantities)})"
        )
    return [quantities[name] for name in names]


@dataclass(frozen=True)
class PPOClipLoss:
    """`ppo_clip_loss` with its settings fixed; GRPO, DAPO and Dr. GRPO are presets in `LOSSES`."""

    eps_low: float = 0.2
    """Lower clip range: ratio below 1 - eps_low stops pushing a negative-advantage token down."""
    eps_high: float = 0.2
    """Upper clip range: ratio above 1 + eps_high stops pushing a positive-advantage token up."""
    aggregation: str = "seq_mean_token_mean"
    """How token terms are averaged; one of `AGGREGATIONS`."""
    max_len: int | None = None
    """L_max for `seq_mean_token_sum_norm` (the generation budget); None uses the batch width."""
    kl_coef: float = 0.0
    """Weight of the k3 KL to a frozen reference policy; 0 needs no reference model."""
    entropy_coef: float = 0.0
    """Weight of the entropy bonus (subtracted per token); 0 asks the policy for no entropy."""

    def __post_init__(self) -> None:
        if self.aggregation not in AGGREGATIONS:
            aggregate_tokens(torch.zeros(1, 1), torch.ones(1, 1), self.aggregation)  # raises with a hint

    @property
    def needs(self) -> tuple[str, ...]:
        return ("logprobs", "entropy") if self.entropy_coef else ("logprobs",)

    @property
    def needs_reference(self) -> bool:
        return self.kl_coef != 0.0

    def __call__(self, new, old, advantages, mask, ref=None) -> Tensor:
        logp, *entropy = _require(new, self.needs, "new-policy")
        old_logp = _require(old, ("logprobs",), "old-policy")[0]
        ref_logp = _require(ref, ("logprobs",), "reference")[0] if self.needs_reference else None
        return ppo_clip_loss(
            logp,
            old_logp,
            advantages,
            mask,
            self.eps_low,
            self.eps_high,
            self.aggregation,
            self.max_len,
            ref_logp=ref_logp,
            kl_coef=self.kl_coef,
            entropy=entropy[0] if entropy else None,
            entropy_coef=self.entropy_coef,
        )


@dataclass(frozen=True)
class RoverLoss:
    """`rover_loss` with its settings fixed."""

    rho: float = 1.0
    """Temperature linking Q-values and log-ratios: Q = rho * log(pi_theta / pi_old)."""
    aggregation: str = "token_mean"
    """How token terms are averaged; one of `AGGREGATIONS`."""

    needs: tuple[str, ...] = ("logprobs", "vocab_mean_logprob")
    needs_reference: bool = False

    def __call__(self, new, old, advantages, mask, ref=None) -> Tensor:
        logp, vocab_mean_new = _require(new, self.needs, "new-policy")
        old_logp, vocab_mean_old = _require(old, self.needs, "old-policy")
        return rover_loss(
            logp, old_logp, vocab_mean_new, vocab_mean_old, advantages, mask, self.rho, self.aggregation
        )


PPO_SETTINGS = ("eps_low", "eps_high", "aggregation", "max_len", "kl_coef", "entropy_coef")
"""The settings of `PPOClipLoss`, the ones every PPO-clip preset takes."""
PPO_PRESETS: dict[str, tuple[dict[str, object], dict[str, object]]] = {
    "ppo_clip": ({}, {}),
    "grpo": ({"aggregation": "seq_mean_token_mean"}, {}),
    "dapo": ({"aggregation": "token_mean"}, {"eps_high": 0.28}),
    "dr_grpo": ({"aggregation": "seq_mean_token_sum_norm"}, {}),
    "dgpo": ({"aggregation": "token_mean"}, {}),
}
"""Name -> (fixed, defaults). A fixed setting is what makes the preset itself (DAPO's token mean,
Dr. GRPO's constant normaliser): another value is refused, since the result would no longer be that
algorithm. A default (DAPO's clip-higher eps_high = 0.28) is the paper's value, which a setting may
change."""


def ppo_preset(name: str = "ppo_clip", **settings: object) -> PPOClipLoss:
    """The one constructor of PPO-clip losses: `name`'s preset with every setting honoured or refused.

    >>> loss = ppo_preset("dapo", eps_low=0.1, max_len=64)
    >>> loss.eps_low, loss.eps_high, loss.aggregation, loss.max_len
    (0.1, 0.28, 'token_mean', 64)
    >>> ppo_preset("dr_grpo", aggregation="token_mean")  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: loss 'dr_grpo' uses aggregation='seq_mean_token_sum_norm', got aggregation='token_mean'; ...
    """
    if name not in PPO_PRESETS:
        hint = did_you_mean(str(name), PPO_PRESETS, most=1, cutoff=0.6, quoted=True)
        raise ValueError(f"unknown PPO-clip preset {name!r}{hint}; expected one of {', '.join(PPO_PRESETS)}")
    unknown = sorted(set(settings) - set(PPO_SETTINGS))
    if unknown:
        raise ValueError(f"loss {name!r} takes settings {list(PPO_SETTINGS)}, got unknown {unknown}")
    fixed, defaults = PPO_PRESETS[name]
    for key, value in fixed.items():
        if key in settings and settings[key] != value:
            raise ValueError(f"loss {name!r} uses {key}={value!r}, got {key}={settings[key]!r}; "
                             "use loss 'ppo_clip' for another combination")
    values = {**defaults, **settings, **fixed}
    for key in ("eps_low", "eps_high", "kl_coef", "entropy_coef"):
        number = values.get(key, 0.0)
        if isinstance(number, bool) or not isinstance(number, (int, float)) or not 0 <= number < float("inf"):
            raise ValueError(f"loss {name!r} expects {key} to be a finite number >= 0, got {number!r}")
    max_len = values.get("max_len")
    if max_len is not None and (isinstance(max_len, bool) or not isinstance(max_len, int) or max_len < 1):
        raise ValueError(f"loss {name!r} expects max_len to be None or an int >= 1, got {max_len!r}")
    return PPOClipLoss(**values)


LOSSES: dict[str, Callable[..., Loss]] = {
    **{name: functools.partial(ppo_preset, name) for name in PPO_PRESETS},
    "rover": RoverLoss,
}
"""Name -> factory; keyword arguments set the loss's settings, e.g. `LOSSES["dapo"](max_len=512)`
(a PPO-clip preset refuses a setting that contradicts it: see `ppo_preset`)."""


def make_loss(name: str, **settings) -> Loss:
    """Build a configured loss by name, with a close-match hint for typos."""
    if name not in LOSSES:
        hint = did_you_mean(name, LOSSES, most=1, cutoff=0.6, quoted=True)
        raise ValueError(f"unknown loss {name!r}{hint}; expected one of {', '.join(LOSSES)}")
    return LOSSES[name](**settings)
