"""The objective plug-in protocol and its registry: training that is not policy gradient.

An objective replaces the advantage and the PPO loss of an RL step; sampling, scoring and reward
transforms stay as they are. It is a small dataclass whose init fields are its settings:

    @register
    @dataclass
    class FlowOfReasoning(ObjectivePlugin):
        name: ClassVar[str] = "flow_of_reasoning"
        replay_size: int = setting(64, "trajectories the replay buffer holds", low=0)

        def prepare(self, batch, policy, reference, step) -> dict[str, float]: ...
        def loss(self, policy) -> Tensor: ...

- `name`: what a scenario writes after `objective:`; its settings go in `objective_settings`;
- `bind(seed, device)`: once, before the optimizer is built; an objective with trainable values of
  its own (a learned log Z) creates them here and returns them from `parameter_groups()`, which the
  trainer adds to its optimizer (so they are in the optimizer's state and the checkpoint);
- `needs_reference`: whether it reads a frozen reference policy (the policy at the start of RL);
- `prepare(batch, policy, reference, step)`: once per step, before the updates: what the loss
  reads that does not change across updates (pairs, replayed trajectories, reference log-probs);
  returns numbers for the step's line;
- `loss(policy)`: the objective under the current weights, with gradients; None when the step has
  nothing to train on (no pair), which skips the optimizer step;
- `observe(batch)`: after the updates (a replay buffer keeps trajectories here);
- `state_dict()` / `load_state_dict()`: tensors and plain values, loadable with `weights_only=True`.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar

import torch
from torch import Tensor

from rlvr.training.plugins import Registry, Stateless, check_settings
from rlvr.training.plugins import setting as setting  # what objective modules declare settings with


@dataclass
class ObjectivePlugin(Stateless):
    """Base of objective plug-ins (see the module doc): settings are the init fields."""

    kind: ClassVar[str] = "objective"
    name: ClassVar[str] = ""
    """Registry name, what `objective:` says."""
    source: ClassVar[str] = ""
    """The method and the provenance tag of the algorithms spec: [code], [paper] or [abs]."""
    summary: ClassVar[str] = ""
    """One line: what it trains (`rlvr algorithms` prints it with `source`)."""
    needs_reference: ClassVar[bool] = False
    """Whether `prepare` reads a frozen reference policy."""

    def __post_init__(self) -> None:
        check_settings("objective", self)
        self.seed, self.device = 0, "cpu"

    def bind(self, seed: int, device: Any = "cpu") -> None:
        """Take the run's seed and the policy's device (once, before the optimizer is built)."""
        self.seed, self.device = int(seed), device

    def parameter_groups(self, lr: float) -> list[dict[str, Any]]:
        """Optimizer parameter groups of the objective's own trainable values (none by default)."""
        return []

    def prepare(self, batch: Any, policy: Any, reference: Any, step: int) -> dict[str, float]:
        """What the step's updates share; numbers for the step's line."""
        raise NotImplementedError

    def loss(self, policy: Any) -> Tensor | None:
        """The objective of the prepared step under the current weights (None: nothing to train on)."""
        raise NotImplementedError

    def observe(self, batch: Any) -> None:
        """The step's rollouts, after its updates (stateless objectives ignore them)."""


def sequence_logprobs(policy: Any, prompt_ids: list[list[int]], completion_ids: Tensor, completion_mask: Tensor,
                      loss_mask: Tensor) -> Tensor:
    """Sum of the policy's log-probs of each row's trained tokens, [N] (under the caller's grad mode):
    log P_F of a trajectory on a token tree, the policy's own tokens only (an env's are context)."""
    device = getattr(policy, "device", "cpu")
    logprobs = policy.score(prompt_ids, completion_ids.to(device), completion_mask.to(device),
                            need=("logprobs",))["logprobs"]
    return (logprobs * loss_mask.to(logprobs.device).to(logprobs.dtype)).sum(-1)


def rows_of(batch: Any) -> tuple[list[list[int]], Tensor, Tensor, Tensor]:
    """(prompt ids, completion ids, attention mask, loss mask) of a batch's rows."""
    sample = batch.sample
    return ([list(row) for row in sample.prompt_ids], sample.completion_ids.cpu(), sample.completion_mask.cpu(),
            batch.loss_mask.cpu())


def pad_rows(rows: list[list[int]], masks: list[list[bool]], pad: int) -> tuple[Tensor, Tensor]:
    """Right-pad id lists (and their loss masks) into [N, T] tensors."""
    width = max(1, max((len(row) for row in rows), default=1))
    ids = torch.full((len(rows), width), int(pad), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    for index, (row, keep) in enumerate(zip(rows, masks, strict=True)):
        ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
        mask[index, : len(keep)] = torch.tensor(keep, dtype=torch.bool)
    return ids, mask


OBJECTIVES = Registry("objective")
"""Name -> objective class: the one registry the trainer uses."""

register = OBJECTIVES.register
"""Class decorator: add an objective to `OBJECTIVES` under its `name` (once)."""


def make_objective(name: str, settings: Mapping[str, Any] | None = None) -> ObjectivePlugin:
    """Build a registered objective with `settings` (not yet bound), refusing unknown names and
    settings with close matches and bad values with what was expected.

    >>> make_objective("robust_dpo", {"epsilon": 0.1}).epsilon
    0.1
    >>> make_objective("robust_dpo", {"epsilom": 0.1})
    Traceback (most recent call last):
    ...
    ValueError: objective 'robust_dpo' takes settings ['beta', 'epsilon'], got 'epsilom' (did you mean: epsilon?)
    """
    return OBJECTIVES.build(name, settings)
