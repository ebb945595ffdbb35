"""Objective plug-ins: training that is not policy gradient, in place of the advantage and the loss.

A scenario names one with `objective:` and sets it with `objective_settings:`; without one the step
is the policy-gradient update it always was. `OBJECTIVES` is the one registry:

- `flow_of_reasoning` (Flow of Reasoning, GFlowNet [code]): trajectory balance with a learned log Z
  (in the optimizer and the checkpoint) and an off-policy replay buffer (in the checkpoint);
- `robust_dpo` (Robust DPO [paper]): DPO robust to flipped labels on the correct-vs-wrong pairs of
  each group, against the policy at the start of RL.

The protocol (`base`): `bind`, optional parameter groups for the optimizer, `prepare` once per step,
`loss` per update, `observe` after it, state as tensors and plain values; `update.objective_update`
is the step's update.

>>> from rlvr.training.objectives.flow import trajectory_balance
>>> import torch
>>> float(trajectory_balance(torch.tensor([-3.0]), torch.tensor([0.0]), torch.tensor(3.0)))
0.0
"""

from __future__ import annotations

from rlvr.training.objectives.base import OBJECTIVES, ObjectivePlugin, make_objective, register, setting
from rlvr.training.objectives.flow import FlowOfReasoning, centred_balance, trajectory_balance
from rlvr.training.objectives.robust_dpo import RobustDPO, group_pairs, robust_dpo_loss

__all__ = ["OBJECTIVES", "FlowOfReasoning", "ObjectivePlugin", "RobustDPO", "centred_balance", "group_pairs",
           "make_objective", "register", "robust_dpo_loss", "setting", "trajectory_balance"]
