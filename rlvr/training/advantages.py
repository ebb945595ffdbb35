"""Group advantage estimators: rewards of G rollouts per prompt in, one advantage per rollout out.

Every estimator takes `rewards` shaped [B, G] (B prompts, G rollouts each) and returns [B, G].
The trainer broadcasts a rollout's advantage to all of its tokens (UCAS adds a token-level term).
Each formula carries the provenance tag of the algorithms spec: [code] checked against the
authors' public code, [paper] against the paper.

`ADVANTAGES` maps a name to an estimator that needs nothing but the rewards. Estimators that need
more (the unlikeliness shaping needs pi_old's mean token log-prob, UCAS a self-certainty score)
are separate functions with keyword arguments.
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch import Tensor

STD_EPS = 1e-6
"""GRPO's eps_std: keeps the division finite when the group's std is tiny."""


def as_groups(rewards: Tensor | list, name: str = "rewards") -> Tensor:
    """Return `rewards` as a float tensor [B, G]; reject any other shape with a clear message."""
    groups = torch.as_tensor(rewards)
    if not torch.is_floating_point(groups):
        groups = groups.to(torch.float32)
    if groups.dim() != 2 or groups.shape[1] == 0:
        raise ValueError(
            f"expected {name} shaped [prompts, rollouts per prompt] with at least one rollout, "
            f"got shape {tuple(groups.shape)}"
        )
    return groups


def group_std(rewards: Tensor) -> Tensor:
    """Unbiased (n - 1) standard deviation of each group, [B, 1]; 0 for groups of one.

    The unbiased estimator is torch's default and the one GRPO implementations use: pinned here
    because [1, 0, 0, 0] gives std 0.5 (unbiased) but 0.433 (biased).
    """
    if rewards.shape[1] < 2:
        return torch.zeros_like(rewards[:, :1])
    return rewards.std(dim=1, keepdim=True, unbiased=True)


def centre(rewards: Tensor) -> Tensor:
    """r - group mean, exactly 0 for a group whose rewards are all equal.

    Floating-point means of equal values can miss them by an ulp (7 x 1.4029 averages to
    1.4029 + 1e-7); divided by GRPO's std + 1e-6 that rounding error would become an advantage of
    0.1, so all-equal groups are zeroed explicitly.
    """
    centred = rewards - rewards.mean(dim=1, keepdim=True)
    all_equal = (rewards == rewards[:, :1]).all(dim=1, keepdim=True)
    return centred.masked_fill(all_equal, 0.0)


def grpo_advantages(rewards: Tensor, eps: float = STD_EPS) -> Tensor:
    """GRPO [paper]: A_i = (r_i - mean r) / (std r + eps), unbiased std within the group.

    A group whose rewards are all equal gets A = 0 (the numerator is exactly 0), so it teaches
    nothing rather than dividing noise by eps.

    >>> grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=4)
    tensor([[ 1.5000, -0.5000, -0.5000, -0.5000]])
    """
    rewards = as_groups(rewards)
    return centre(rewards) / (group_std(rewards) + eps)


def dr_grpo_advantages(rewards: Tensor) -> Tensor:
    """Dr. GRPO [paper]: A_i = r_i - mean r.

    Subtract the mean only: dividing by the std up-weights groups that are nearly all right or
    all wrong, a question-difficulty bias the Dr. GRPO paper removes.

    >>> dr_grpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]]))
    tensor([[ 0.7500, -0.2500, -0.2500, -0.2500]])
    """
    return centre(as_groups(rewards))


def rloo_advantages(rewards: Tensor) -> Tensor:
    """RLOO [paper]: A_i = r_i - mean_{j != i} r_j (leave-one-out baseline).

    Computed as G / (G - 1) * (r_i - mean r), which is the same number without a G x G loop.
    The baseline of a rollout must not depend on the rollout itself, so G >= 2 is required.

    >>> rloo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=4)
    tensor([[ 1.0000, -0.3333, -0.3333, -0.3333]])
    """
    rewards = as_groups(rewards)
    group_size = rewards.shape[1]
    if group_size < 2:
        raise ValueError(
            f"RLOO needs at least 2 rollouts per prompt for a leave-one-out baseline, got {group_size}"
        )
    return group_size / (group_size - 1) * centre(rewards)


def dgpo_advantages(rewards: Tensor, eps: float = 1e-4) -> Tensor:
    """DGPO / MathForge [code]: A_i = G * (r_i - mean r) / (sum_j |r_j - mean r| + eps).

    Normalising by the mean absolute deviation instead of the std keeps the total advantage mass
    of a group (sum |A_i| ~= G) the same for easy and hard questions.

    >>> dgpo_advantages(torch.tensor([[1.0, 0.0, 0.0, 0.0]])).round(decimals=3)
    tensor([[ 2.0000, -0.6670, -0.6670, -0.6670]])
    """
    rewards = as_groups(rewards)
    centred = centre(rewards)
    return rewards.shape[1] * centred / (centred.abs().sum(dim=1, keepdim=True) + eps)


def dgpo_question_weights(
    accuracies: Tensor, valid: Tensor | None = None, temperature: float = 2.0
) -> Tensor:
    """DGPO / MathForge [code]: lambda_q = N_valid * softmax(-acc_q / T) over the valid questions.

    `accuracies` [B] is each question's group accuracy; `valid` [B] marks the questions whose
    rewards are not all equal (default: all). Harder questions (lower accuracy) weigh more, and
    the weights sum to N_valid so the loss scale does not change. Invalid questions get 0.

    >>> dgpo_question_weights(torch.tensor([0.25, 0.75])).round(decimals=3)
    tensor([1.1240, 0.8760])
    """
    accuracies = torch.as_tensor(accuracies, dtype=torch.float32)
    if accuracies.dim() != 1:
        raise ValueError(f"expected accuracies shaped [questions], got shape {tuple(accuracies.shape)}")
    valid = (
        torch.ones_like(accuracies, dtype=torch.bool)
        if valid is None
        else torch.as_tensor(valid, dtype=torch.bool)
    )
    if valid.shape != accuracies.shape:
        raise ValueError(
            f"expected valid shaped like accuracies {tuple(accuracies.shape)}, got {tuple(valid.shape)}"
        )
    if temperature <= 0:
        raise ValueError(f"expected a positive temperature, got {temperature}")
    num_valid = int(valid.sum())
    if num_valid == 0:
        return torch.zeros_like(accuracies)
    # -inf logits give invalid questions exactly zero softmax mass.
    logits = torch.where(valid, -accuracies / temperature, torch.full_like(accuracies, float("-inf")))
    return num_valid * torch.softmax(logits, dim=0)


def unlikeliness_advantages(
    rewards: Tensor, *, mean_logprobs: Tensor, beta_rank: float = 0.25, eps: float = STD_EPS
) -> Tensor:
    """Unlikeliness reward [code], then GRPO normalisation.

    r~_i = r_i * (1 - beta_rank * rank_i / G), rank by ascending mean token log-prob under
    pi_old (least likely rollout rank 0); see `rlvr.training.shaping.unlikeliness_rewards`.
    """
    from rlvr.training.shaping import unlikeliness_rewards

    return grpo_advantages(unlikeliness_rewards(rewards, mean_logprobs, beta_rank=beta_rank), eps=eps)


def zscore_in_group(values: Tensor, eps: float = STD_EPS) -> Tensor:
    """(v - group mean) / (unbiased group std + eps), [B, G]."""
    values = as_groups(values, "values")
    return centre(values) / (group_std(values) + eps)


def ucas_advantages(
    rewards: Tensor,
    *,
    certainty: Tensor,
    positive_scale: float = 0.25,
    negative_scale: float = 0.35,
    eps: float = STD_EPS,
) -> Tensor:
    """UCAS [code], response level: A' = A * exp(-0.25 * C^) if A > 0 else A * exp(0.35 * C^).

    A is the GRPO advantage; `certainty` [B, G] is each rollout's summed token self-certainty
    C_i = sum_t (logsumexp(z_t) - mean(z_t)), that is minus the sum of `vocab_mean_logprob`
    (see `self_certainty`); C^ is C z-scored in the group. A confident correct answer gains less,
    a confident wrong one is pushed down harder.

    >>> ucas_advantages(torch.tensor([[1.0, 1, 0, 0]]), certainty=torch.tensor([[10.0, 20, 10, 20]])).round(decimals=3)
    tensor([[ 1.0750,  0.6970, -0.6400, -1.1730]])
    """
    advantages = grpo_advantages(rewards, eps=eps)
    certainty = as_groups(certainty, "certainty")
    if certainty.shape != advantages.shape:
        raise ValueError(
            f"expected certainty shaped like rewards {tuple(advantages.shape)}, got {tuple(certainty.shape)}"
        )
    certainty_z = zscore_in_group(certainty, eps=eps)
    scale = torch.where(
        advantages > 0, torch.exp(-positive_scale * certainty_z), torch.exp(negative_scale * certainty_z)
    )
    return advantages * scale


def self_certainty(vocab_mean_logprob: Tensor, mask: Tensor) -> Tensor:
    """Summed token self-certainty of each row, [N]: sum_t (logsumexp(z_t) - mean_v z_t).

    logsumexp(z) - mean(z) = -mean_v log softmax(z)_v, so it comes from `Policy.score`'s
    `vocab_mean_logprob` without the logits.
    """
    return -(vocab_mean_logprob * mask.to(vocab_mean_logprob.dtype)).sum(dim=-1)


def ucas_token_advantages(
    response_advantages: Tensor, chosen_logits: Tensor, mask: Tensor, logit_scale: float = 0.05
) -> Tensor:
    """UCAS [code], token level: A_t = A' - 0.05 * z^_t, floored at 0 where A' > 0.

    z^_t is the chosen token's logit min-max normalised over the response's own tokens (our
    reading of where the normalisation runs). Lowering the advantage of high-logit tokens moves
    credit towards the tokens the model was less sure of; the floor keeps a correct response from
    pushing any of its tokens down. `response_advantages` [N], `chosen_logits` and `mask` [N, T].
    """
    mask = mask.to(torch.bool)
    big = torch.finfo(chosen_logits.dtype).max
    low = torch.where(mask, chosen_logits, torch.full_like(chosen_logits, big)).amin(dim=-1, keepdim=True)
    high = torch.where(mask, chosen_logits, torch.full_like(chosen_logits, -big)).amax(dim=-1, keepdim=True)
    # A row whose tokens all share one logit has no spread to normalise: treat it as 0.
    spread = (high - low).clamp_min(torch.finfo(chosen_logits.dtype).tiny)
    normalised = torch.where(mask, (chosen_logits - low) / spread, torch.zeros_like(chosen_logits))
    response = response_advantages.unsqueeze(-1)
    token_advantages = response - logit_scale * normalised
    token_advantages = torch.where(response > 0, token_advantages.clamp_min(0.0), token_advantages)
    return token_advantages * mask.to(token_advantages.dtype)


ADVANTAGES: dict[str, Callable[[Tensor], Tensor]] = {
    "grpo": grpo_advantages,
    "dr_grpo": dr_grpo_advantages,
    "rloo": rloo_advantages,
    "dgpo": dgpo_advantages,
}
"""Estimators that need only the rewards [B, G]; each returns advantages [B, G]."""


def get_advantage_fn(name: str) -> Callable[[Tensor], Tensor]:
    """Look an estimator up by name, with a close-match hint for typos."""
    if name in ADVANTAGES:
        return ADVANTAGES[name]
    import difflib

    close = difflib.get_close_matches(name, ADVANTAGES, n=1)
    hint = f" (did you mean {close[0]!r}?)" if close else ""
    raise ValueError(f"unknown advantage estimator {name!r}{hint}; expected one of {', '.join(ADVANTAGES)}")
