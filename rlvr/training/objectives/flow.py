"""Flow of Reasoning (GFlowNet) [code]: trajectory balance with a learned log Z and a replay buffer.

On a token tree every trajectory has one parent path, so log P_B = 0 and trajectory balance is

    L(tau) = (log Z + log P_F(tau) - beta_R * log R(tau))^2

with log P_F(tau) the policy's summed log-prob of the trajectory's own tokens. At its optimum
P_F(tau) = R(tau)^beta_R / Z: the policy samples trajectories in proportion to their reward instead
of maximising it, which keeps every rewarding way of solving a problem in play. Rewards are floored
at `reward_floor` (log 0 is -inf: a wrong answer gets the floor's small probability).

log Z is one learned scalar (`log_z: learned`, the spec's form) with a learning rate of its own,
in the optimizer and the checkpoint. `log_z: group` is the shipped code's centring instead: d =
log P_F - beta_R log R centred over each problem's group (our reading of "over the batch", since a
batch here mixes problems whose Z differ), which needs no log Z.

Off-policy replay: trajectories with reward >= `replay_min_reward` enter a buffer of at most
`replay_size` (oldest out, duplicates kept once); each step `replay_batch` of them, drawn with a
generator seeded from (seed, step), join the step's trajectories in the loss. The buffer is plain
lists in the checkpoint, so a resumed run draws what the uninterrupted one drew.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import torch
from torch import Tensor

from rlvr.training.objectives.base import (
    ObjectivePlugin,
    pad_rows,
    register,
    rows_of,
    sequence_logprobs,
    setting,
)


def trajectory_balance(log_pf: Tensor, log_reward: Tensor, log_z: Tensor) -> Tensor:
    """Mean over trajectories of (log Z + log P_F - log R)^2 (log P_B = 0 on a token tree).

    >>> trajectory_balance(torch.tensor([-1.0, -2.0]), torch.tensor([0.5, -0.5]), torch.tensor(1.5))
    tensor(0.)
    """
    return ((log_z + log_pf - log_reward) ** 2).mean()


def centred_balance(log_pf: Tensor, log_reward: Tensor, groups: Tensor) -> Tensor:
    """Mean over trajectories of (d - mean of d in its group)^2, d = log P_F - log R: trajectory
    balance with each group's log Z at its optimum, -mean d.

    >>> centred_balance(torch.tensor([-1.0, -2.0]), torch.tensor([0.5, -0.5]), torch.tensor([0, 0]))
    tensor(0.)
    """
    d = log_pf - log_reward
    count = torch.zeros(int(groups.max()) + 1, dtype=d.dtype).index_add_(0, groups, torch.ones_like(d))
    means = torch.zeros_like(count).index_add_(0, groups, d) / count
    return ((d - means[groups]) ** 2).mean()


@register
@dataclass
class FlowOfReasoning(ObjectivePlugin):
    """Trajectory balance over the step's trajectories and replayed ones (module doc)."""

    name: ClassVar[str] = "flow_of_reasoning"
    source: ClassVar[str] = "Flow of Reasoning (GFlowNet) [code]"
    summary: ClassVar[str] = ("trajectory balance (log Z + log P_F - beta_R log R)^2 with a learned log Z and an "
                              "off-policy replay buffer")
    log_z: str = setting("learned", "learned: one log Z parameter; group: centre d per problem (shipped code)",
                         choices=("learned", "group"))
    log_z_init: float = setting(0.0, "initial log Z")
    log_z_lr: float = setting(0.1, "learning rate of log Z (the policy keeps the run's lr)", low=0.0, low_open=True)
    reward_exponent: float = setting(1.0, "beta_R: the target is R^beta_R", low=0.0, low_open=True)
    reward_floor: float = setting(1e-3, "rewards below this count as it (log 0 is -inf)", low=0.0, low_open=True)
    replay_size: int = setting(64, "trajectories the replay buffer holds (0: no replay)", low=0)
    replay_batch: int = setting(4, "replayed trajectories added to each step's loss", low=0)
    replay_min_reward: float = setting(0.5, "trajectories with at least this reward enter the buffer")

    def __post_init__(self) -> None:
        super().__post_init__()
        self.log_z_value = torch.nn.Parameter(torch.tensor(float(self.log_z_init)))
        self.buffer: list[dict[str, Any]] = []
        self._rows: tuple | None = None

    def bind(self, seed: int, device: Any = "cpu") -> None:
        super().bind(seed, device)
        with torch.no_grad():  # keep the Parameter object: the optimizer will hold this one
            self.log_z_value.data = self.log_z_value.data.to(device)

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        if self.log_z != "learned":
            return []
        return [{"params": [self.log_z_value], "lr": self.log_z_lr, "weight_decay": 0.0}]

    def _replayed(self, step: int) -> list[dict[str, Any]]:
        if not self.buffer or not self.replay_batch:
            return []
        rng = np.random.default_rng([self.seed, step, 11])
        count = min(self.replay_batch, len(self.buffer))
        return [self.buffer[int(i)] for i in rng.choice(len(self.buffer), size=count, replace=False)]

    def prepare(self, batch: Any, policy: Any, reference: Any, step: int) -> dict[str, float]:
        prompts, ids, attention, mask = rows_of(batch)
        rewards = batch.rewards.detach().float().cpu().reshape(-1).tolist()
        groups = [row // batch.group_size for row in range(len(rewards))]
        replayed = self._replayed(step)
        if replayed:  # replayed rows: their own groups, after the step's
            extra_ids, extra_mask = pad_rows([item["completion"] for item in replayed],
                                             [item["mask"] for item in replayed], policy.pad_token_id)
            lengths = torch.tensor([len(item["completion"]) for item in replayed])
            extra_attention = torch.arange(extra_ids.shape[1]).unsqueeze(0) < lengths.unsqueeze(1)
            width = max(ids.shape[1], extra_ids.shape[1])
            ids = torch.cat([_widen(ids, width, policy.pad_token_id), _widen(extra_ids, width, policy.pad_token_id)])
            attention = torch.cat([_widen(attention, width, False), _widen(extra_attention, width, False)])
            mask = torch.cat([_widen(mask, width, False), _widen(extra_mask, width, False)])
            prompts += [list(item["prompt"]) for item in replayed]
            rewards += [float(item["reward"]) for item in replayed]
            first = len(batch.problems)
            groups += [first + index for index in range(len(replayed))]
        log_reward = self.reward_exponent * torch.log(torch.tensor(rewards).clamp_min(self.reward_floor))
        self._rows = (prompts, ids, attention, mask, log_reward, torch.tensor(groups))
        return {"log_z": float(self.log_z_value.detach()), "replayed": float(len(replayed)),
                "replay_buffer": float(len(self.buffer))}

    def loss(self, policy: Any) -> Tensor | None:
        if self._rows is None:
            raise RuntimeError("objective 'flow_of_reasoning': call prepare(batch, ...) before loss()")
        prompts, ids, attention, mask, log_reward, groups = self._rows
        log_pf = sequence_logprobs(policy, prompts, ids, attention, mask)
        log_reward = log_reward.to(log_pf.device)
        if self.log_z == "group":
            return centred_balance(log_pf, log_reward, groups.to(log_pf.device))
        return trajectory_balance(log_pf, log_reward, self.log_z_value.to(log_pf.device))

    def observe(self, batch: Any) -> None:
        if not self.replay_size:
            return
        prompts, ids, _, mask = rows_of(batch)
        rewards = batch.rewards.detach().float().cpu().reshape(-1).tolist()
        seen = {(tuple(item["prompt"]), tuple(item["completion"])) for item in self.buffer}
        for row, reward in enumerate(rewards):
            if not reward >= self.replay_min_reward or not math.isfinite(reward):
                continue
            length = int(mask[row].nonzero().max()) + 1 if mask[row].any() else 0
            item = {"prompt": prompts[row], "completion": ids[row, :length].tolist(),
                    "mask": mask[row, :length].tolist(), "reward": float(reward)}
            key = (tuple(item["prompt"]), tuple(item["completion"]))
            if length and key not in seen:
                seen.add(key)
                self.buffer.append(item)
        del self.buffer[: max(0, len(self.buffer) - self.replay_size)]  # oldest out

    def state_dict(self) -> dict[str, Any]:
        return {"log_z": self.log_z_value.detach().cpu().clone(), "buffer": [dict(item) for item in self.buffer]}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        if set(state) != {"log_z", "buffer"}:
            raise ValueError(f"objective 'flow_of_reasoning' expects a state with log_z and buffer, got {sorted(state)}")
        buffer = state["buffer"]
        if not isinstance(buffer, list) or len(buffer) > max(self.replay_size, 0) or not all(
                _valid_item(item) for item in buffer):
            raise ValueError(f"objective 'flow_of_reasoning' expects a buffer of at most {self.replay_size} items "
                             "{prompt, completion, mask, reward}, got one that is not")
        with torch.no_grad():
            self.log_z_value.copy_(torch.as_tensor(state["log_z"], dtype=self.log_z_value.dtype))
        self.buffer = [dict(item) for item in buffer]


def _valid_item(item: Any) -> bool:
    """A replay item as `observe` writes it: id lists, a mask as long as the completion, a finite reward."""
    return (isinstance(item, Mapping) and set(item) == {"prompt", "completion", "mask", "reward"}
            and all(isinstance(token, int) for token in item["prompt"] + item["completion"])
            and len(item["mask"]) == len(item["completion"]) and isinstance(item["reward"], float)
            and math.isfinite(item["reward"]))


def _widen(tensor: Tensor, width: int, fill: Any) -> Tensor:
    """Right-pad [N, T] to [N, width] with `fill`."""
    if tensor.shape[1] == width:
        return tensor
    pad = torch.full((tensor.shape[0], width - tensor.shape[1]), fill, dtype=tensor.dtype)
    return torch.cat([tensor, pad], dim=1)
