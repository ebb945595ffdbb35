"""Knowledge-graph multi-hop questions with path-derived rewards, over generated fictional graphs.

`graph` generates the typed fictional world (reusable: a document corpus can be built from the
same graph with `entity_sentences`); `task` holds `KGPathTask` and `env` its `KGPathEnv`
(`rlvr/KGPath-v0`, hops 1-3; `rlvr/KGPathLong-v0`, hops 4-5); `scoring` the answer reader and
the reward formulas.
"""

from rlvr.envs.kg.env import KGPathEnv
from rlvr.envs.kg.graph import (
    ENTITY_TYPES,
    RELATIONS,
    RELATIONS_BY_NAME,
    Relation,
    describe_triple,
    entity_sentences,
    follow,
    generate_graph,
    triples,
)
from rlvr.envs.kg.scoring import entity_order_coverage, path_alignment, repetition_factor, split_answer
from rlvr.envs.kg.task import REWARD_MODES, KGPathTask, render_question, sample_path

__all__ = [
    "ENTITY_TYPES",
    "RELATIONS",
    "RELATIONS_BY_NAME",
    "REWARD_MODES",
    "KGPathEnv",
    "KGPathTask",
    "Relation",
    "describe_triple",
    "entity_order_coverage",
    "entity_sentences",
    "follow",
    "generate_graph",
    "path_alignment",
    "render_question",
    "repetition_factor",
    "sample_path",
    "split_answer",
    "triples",
]
