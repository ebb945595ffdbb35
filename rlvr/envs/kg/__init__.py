"""Knowledge-graph multi-hop questions with path-derived rewards, over generated fictional graphs.

`task` holds `KGPathTask` and `env` its `KGPathEnv` (`rlvr/KGPath-v0`, hops 1-3;
`rlvr/KGPathLong-v0`, hops 4-5); `scoring` the answer reader and the reward formulas. The graphs,
the question paths and mention matching come from the knowledge kit, `rlvr.envs.knowledge`,
which SearchQA shares.
"""

from rlvr.envs.kg.env import KGPathEnv
from rlvr.envs.kg.scoring import entity_order_coverage, path_alignment, repetition_factor, split_answer
from rlvr.envs.kg.task import REWARD_MODES, KGPathTask

__all__ = [
    "REWARD_MODES",
    "KGPathEnv",
    "KGPathTask",
    "entity_order_coverage",
    "path_alignment",
    "repetition_factor",
    "split_answer",
]
