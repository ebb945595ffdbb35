"""Turn-level advantages of multi-turn episodes: each turn's reward reaches that turn's tokens.

With G_t the reward-to-go of turn t, A_t = (G_t - b_t) / (std + eps), where b_t is the mean G_t over
the group's episodes that reached turn t (same problem, same turn: a baseline that does not depend
on the action) and std is the standard deviation of all G_t values in the group. With one turn this
is GRPO's advantage exactly; without `normalise` (Dr. GRPO) the division is left out. The `grpo`
and `dr_grpo` plug-ins use it for episodes (`rlvr.training.multiturn` plays them).
"""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import Tensor

from rlvr.training.groups import STD_EPS


def rewards_to_go(rewards: Sequence[float]) -> list[float]:
    """G_t = r_t + r_{t+1} + ... (undiscounted).

    >>> rewards_to_go([0.0, 1.0, 0.5])
    [1.5, 1.5, 0.5]
    """
    total, out = 0.0, []
    for reward in reversed(rewards):
        total += reward
        out.append(total)
    return out[::-1]


def turn_advantages(turn_rewards: Sequence[Sequence[float]], group_size: int, normalise: bool = True) -> list[list[float]]:
    """Per episode (rows grouped by problem, `group_size` each), one advantage per turn.

    See the module doc. With one turn per episode it equals GRPO's (r - mean) / (std + eps):

    >>> [round(a[0], 4) for a in turn_advantages([[1.0], [0.0], [0.0], [1.0]], 4)]
    [0.866, -0.866, -0.866, 0.866]
    >>> turn_advantages([[0.0, 1.0], [0.0, 0.0]], 2, normalise=False)
    [[0.5, 0.5], [-0.5, -0.5]]
    """
    if group_size < 1 or len(turn_rewards) % group_size:
        raise ValueError(f"expected a multiple of group_size={group_size} episodes, got {len(turn_rewards)}")
    out: list[list[float]] = []
    for start in range(0, len(turn_rewards), group_size):
        group = [rewards_to_go(rewards) for rewards in turn_rewards[start : start + group_size]]
        longest = max((len(returns) for returns in group), default=0)
        baselines = []
        for turn in range(longest):
            reached = [returns[turn] for returns in group if len(returns) > turn]
            baselines.append(sum(reached) / len(reached))
        scale = 1.0
        if normalise:
            pooled = torch.tensor([value for returns in group for value in returns], dtype=torch.float64)
            spread = float(pooled.std()) if pooled.numel() > 1 else 0.0
            scale = 1.0 / (spread + STD_EPS)
        out.extend([(value - baselines[turn]) * scale for turn, value in enumerate(returns)] for returns in group)
    return out


def turn_token_advantages(turn_rewards: Sequence[Sequence[float]], token_turns: Tensor, group_size: int,
                          normalise: bool = True) -> Tensor:
    """Float32 [B * G, T]: each action token gets its turn's advantage; 0 where `token_turns` is -1
    (env tokens, padding).

    >>> turn_token_advantages([[1.0], [0.0]], torch.tensor([[0, 0, -1], [0, -1, -1]]), 2, normalise=False)
    tensor([[ 0.5000,  0.5000,  0.0000],
            [-0.5000,  0.0000,  0.0000]])
    """
    if len(turn_rewards) != token_turns.shape[0]:
        raise ValueError(f"expected one row of token turns per episode ({len(turn_rewards)}), "
                         f"got {token_turns.shape[0]}")
    per_turn = turn_advantages(turn_rewards, group_size, normalise)
    table = torch.zeros(token_turns.shape, dtype=torch.float32)
    token_turns = token_turns.cpu()
    for row, values in enumerate(per_turn):
        turns = token_turns[row]
        for turn, value in enumerate(values):
            table[row][turns == turn] = value
    return table
