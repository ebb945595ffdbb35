"""Sampler plug-ins: which problems each RL step trains on, with memory across steps.

A scenario names one with `sampler:` and sets it with `sampler_settings:`; `SAMPLERS` is the one
registry the trainer uses:

- `stream` (default): the next problems of the train split's seeded stream, as the loop always did;
- `variance` (variance-aware sampling, MMR1 [code]): a share `share` (0.5) of each batch re-drawn
  from a pool of `pool_size` (256) seen problems in proportion to p(1 - p) of their latest group,
  the rest fresh from the stream;
- `prompt_gdro` (Prompt-GDRO [abs]): like `variance`, but the re-drawn share follows multiplicative
  weights over pass@k difficulty bins (EMA-debiased failure rates);
- `curriculum`: knob values by step (`schedule: {num_ops: [[0, 1], [200, 2]]}`), applied through
  the task's difficulty and checked against its knobs.

The protocol (`base`): `bind` to the train stream, `select(step)` B problems, `observe` the step's
scored groups once, optional plain state saved in the checkpoint, optional `metrics()` for the
step's line.

>>> make_sampler("curriculum", {"schedule": {"num_ops": [[0, 1], [200, 2]]}}).stage_at(199)
0
"""

from __future__ import annotations

from rlvr.training.samplers.base import SAMPLERS, Sampler, SamplerPlugin, make_sampler, register, setting
from rlvr.training.samplers.curriculum import Curriculum
from rlvr.training.samplers.gdro import PromptGDRO, pass_at_k
from rlvr.training.samplers.stream import Stream
from rlvr.training.samplers.variance import Variance, vps

__all__ = ["SAMPLERS", "Curriculum", "PromptGDRO", "Sampler", "SamplerPlugin", "Stream", "Variance", "make_sampler",
           "pass_at_k", "register", "setting", "vps"]
