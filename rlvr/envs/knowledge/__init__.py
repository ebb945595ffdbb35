"""The knowledge-graph kit: the fictional world KGPath and SearchQA are built on, so neither
imports the other.

- `graph`: a seeded generator of small typed fictional knowledge graphs, and their facts and
  sentences as text (for prompts and for document corpora).
- `paths`: multi-hop question paths with a unique answer, the `hops` knob, the question text.
- `mentions`: whole-word mention matching on normalised text, which the rewards of both build on.
"""

from rlvr.envs.knowledge.graph import (
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
from rlvr.envs.knowledge.mentions import mention_positions, mentions, normalise
from rlvr.envs.knowledge.paths import HopsKnob, render_question, sample_path

__all__ = [
    "ENTITY_TYPES",
    "RELATIONS",
    "RELATIONS_BY_NAME",
    "HopsKnob",
    "Relation",
    "describe_triple",
    "entity_sentences",
    "follow",
    "generate_graph",
    "mention_positions",
    "mentions",
    "normalise",
    "render_question",
    "sample_path",
    "triples",
]
