"""Generator plug-ins: how each step's groups of rollouts are produced.

A scenario names one with `generator:` and sets it with `generator_settings:`; without one the
trainer takes `plain` (single responses) or `episodes` (`max_turns > 1`), once, when it is built.
`GENERATORS` is the one registry:

- `plain`: G sampled responses per problem, each scored by the task's verifier;
- `episodes`: G multi-turn episodes per problem through the env's `step`;
- `hbpo` (HBPO [code+paper]): the G rollouts split over length budgets announced in the prompt,
  with its budget reward and subgroup advantage as companions (budgets scaled to max_new_tokens);
- `latr` (LATR [code]): a decaying share of each group grown as lookahead trees that fork the
  policy's KV cache where the next token is undecided, pruning branches that repeat their parent;
- `rollout_gdro` (Rollout-GDRO [abs]): rollouts spent by pass@k difficulty bin at a mean of G per
  problem (n_b ~ sqrt(w_b) sigma_b), so groups are ragged (`rlvr.training.ragged`).

The protocol (`base`): `bind` to a `GenerationContext`, `generate(problems, seed, step)`, `evaluate`,
optional companions (advantage, reward transforms), plain state saved in the checkpoint, `metrics()`.

>>> make_generator("latr").share_at(50)
0.5
"""

from __future__ import annotations

from rlvr.training.generators.base import (
    GENERATORS,
    GenerationContext,
    GeneratorPlugin,
    default_generator,
    make_generator,
    register,
    sample_and_score,
    setting,
)
from rlvr.training.generators.defaults import Episodes, Plain
from rlvr.training.generators.hbpo import HBPO, HBPOAdvantage, HBPOReward, budget_reward, subgroup_budgets
from rlvr.training.generators.latr import LATR, scaled_windows
from rlvr.training.generators.rollout_gdro import RolloutGDRO, allocate_rollouts
from rlvr.training.generators.tree_decode import ForkingDecoder, rouge_l, should_branch, suffix_match

__all__ = ["GENERATORS", "HBPO", "LATR", "Episodes", "ForkingDecoder", "GenerationContext", "GeneratorPlugin",
           "HBPOAdvantage", "HBPOReward", "Plain", "RolloutGDRO", "allocate_rollouts", "budget_reward", "default_generator", "make_generator", "register",
           "rouge_l", "sample_and_score", "scaled_windows", "setting", "should_branch", "subgroup_budgets",
           "suffix_match"]
