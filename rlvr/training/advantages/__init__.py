"""Advantage plug-ins: a step's rollouts in, one advantage per rollout (or per token) out.

A scenario names one with `advantage:` and sets it with `advantage_settings:`; `ADVANTAGES` is the
one registry the trainer uses, for single responses and multi-turn episodes alike:

- `grpo` (GRPO [paper]): (r - mean) / (std + 1e-6); multi-turn: per turn, on rewards-to-go;
- `dr_grpo` (Dr. GRPO [paper]): r - mean; multi-turn: per turn;
- `rloo` (RLOO [paper]): r minus the mean of the other rollouts of the group;
- `dgpo` (DGPO / MathForge [code]): over the mean absolute deviation; `question_weights: true`
  weighs the batch's harder questions more (`temperature`);
- `unlikeliness` ([code]): correct rollouts that pi_old finds likely earn less (`beta_rank`), then
  GRPO's normalisation;
- `ucas` (UCAS [code], response level): GRPO advantages scaled by self-certainty
  (`positive_scale`, `negative_scale`); `ucas_token` adds the token term (`logit_scale`);
- `seed_grpo` (SEED-GRPO [abs]): r - mean damped by the semantic entropy of the group's answers;
- `riskpo` (RiskPO [code]): CVaR / RVaR advantages of bundle scores, quantiles tracked across steps;
- `progrpo` (ProGRPO / ARM [abs]): GRPO shifted by question minus answer confidence;
- `representation_bonus` and `thr` ([abs]): hidden-state exploration bonus; token hidden reward;
- `tw_grpo` ([abs]): token weights from the group's log-prob variance at each position;
- `d3s` (D3S [abs]): max-variance rollout subsets and top |A| * entropy tokens, the rest left out
  of the loss (`Kept`).

The protocol (`base`): a plug-in declares the per-rollout quantities it `needs` (`QUANTITIES`),
whether it takes episodes (`turn_level`), its settings (checked when built, `make_advantage`),
and optionally a state saved in checkpoints. `rollout_view` builds what it reads. One module per
plug-in family; the formulas carry the algorithms spec's provenance tags. Worked numbers:

>>> import torch
>>> make_advantage("grpo")(view_of([[1.0, 0.0, 0.0, 0.0]])).round(decimals=4)
tensor([[ 1.5000, -0.5000, -0.5000, -0.5000]])
"""

from __future__ import annotations

from rlvr.training.advantages.base import (
    ADVANTAGES,
    QUANTITIES,
    TOKEN_QUANTITIES,
    AdvantagePlugin,
    Kept,
    RolloutView,
    compute_advantages,
    make_advantage,
    ragged_names,
    register,
    setting,
    turn_level_names,
    view_of,
    within_groups,
)
from rlvr.training.advantages.baselines import (
    GRPO,
    RLOO,
    DrGRPO,
    dr_grpo_advantages,
    grpo_advantages,
    rloo_advantages,
)
from rlvr.training.advantages.d3s import D3S, max_variance_subset
from rlvr.training.advantages.dgpo import DGPO, dgpo_advantages, dgpo_question_weights
from rlvr.training.advantages.progrpo import ProGRPO, progrpo_advantages
from rlvr.training.advantages.quantities import rollout_view
from rlvr.training.advantages.representation import THR, RepresentationBonus, representation_bonus
from rlvr.training.advantages.riskpo import RiskPO
from rlvr.training.advantages.seed import SeedGRPO, seed_grpo_advantages
from rlvr.training.advantages.token_weighting import TWGRPO, intra_group_token_weights
from rlvr.training.advantages.turns import rewards_to_go, turn_advantages, turn_token_advantages
from rlvr.training.advantages.ucas import (
    UCAS,
    UCASToken,
    self_certainty,
    ucas_advantages,
    ucas_token_advantages,
)
from rlvr.training.advantages.unlikeliness import Unlikeliness, unlikeliness_advantages
from rlvr.training.groups import STD_EPS, as_groups, centre, group_std, zscore_in_group

__all__ = [
    "ADVANTAGES", "D3S", "DGPO", "GRPO", "QUANTITIES", "RLOO", "STD_EPS", "THR", "TOKEN_QUANTITIES", "TWGRPO", "UCAS",
    "AdvantagePlugin", "DrGRPO", "Kept", "ProGRPO", "RepresentationBonus", "RiskPO", "RolloutView", "SeedGRPO",
    "UCASToken", "Unlikeliness", "as_groups", "centre", "compute_advantages", "dgpo_advantages",
    "dgpo_question_weights", "dr_grpo_advantages", "group_std", "grpo_advantages", "intra_group_token_weights",
    "make_advantage", "max_variance_subset", "progrpo_advantages", "register", "representation_bonus",
    "ragged_names", "rewards_to_go", "rloo_advantages", "rollout_view", "seed_grpo_advantages", "self_certainty", "setting",
    "turn_advantages", "turn_level_names", "turn_token_advantages", "ucas_advantages", "ucas_token_advantages",
    "unlikeliness_advantages", "view_of", "within_groups", "zscore_in_group",
]
