"""Multi-hop question paths over a knowledge graph from `graph.py`, and their questions.

A path of L hops starts at a random head E0; each step takes a relation that leads from the
current entity to exactly one entity not yet on the path, so following the relation sequence from
E0 reaches exactly one tail and every intermediate entity is determined too. `render_question`
nests each relation's phrase ("What is the country where the birthplace of Ana Vel is located?").
KGPath asks these questions over facts in the prompt; SearchQA asks them over a document corpus.
"""

from __future__ import annotations

from typing import Any

import networkx as nx
import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.envs.knowledge.graph import RELATIONS_BY_NAME

MAX_HOPS = 8


class HopsKnob(Knob):
    """Path lengths to draw from: an int or a non-empty tuple of ints in [1, MAX_HOPS], sorted."""

    def check(self, value: Any) -> Any:
        if isinstance(value, int) and not isinstance(value, bool):
            value = (value,)
        value = super().check(value)
        if not value or any(not isinstance(h, int) or isinstance(h, bool) or not 1 <= h <= MAX_HOPS for h in value):
            raise ValueError(f"difficulty knob {self.name!r} expects an int or a non-empty tuple of ints in "
                             f"[1, {MAX_HOPS}], got {value!r}")
        return tuple(sorted(set(value)))


Path = list[tuple[str, str, str]]


def sample_path(rng: np.random.Generator, graph: nx.MultiDiGraph, hops: int) -> Path | None:
    """An L-hop path whose every step leads to exactly one entity not yet on the path, or None."""
    heads = [node for node in graph.nodes if graph.out_degree(node)]
    if not heads:
        return None
    current = heads[int(rng.integers(len(heads)))]
    visited, path = {current}, []
    for _ in range(hops):
        tails_by_relation: dict[str, set[str]] = {}
        for _, tail, relation in graph.out_edges(current, keys=True):
            tails_by_relation.setdefault(relation, set()).add(tail)
        steps = sorted((r, next(iter(t))) for r, t in tails_by_relation.items()
                       if len(t) == 1 and not t & visited)
        if not steps:
            return None
        relation, tail = steps[int(rng.integers(len(steps)))]
        path.append((current, relation, tail))
        visited.add(tail)
        current = tail
    return path


def render_question(head: str, relations: list[str]) -> str:
    """'What is the r_L of ... the r_1 of E0?', each relation in its own phrasing.

    >>> render_question("Ana Vel", ["born_in", "located_in"])
    'What is the country where the birthplace of Ana Vel is located?'
    """
    phrase = head
    for relation in relations:
        phrase = RELATIONS_BY_NAME[relation].question.format(x=phrase)
    return f"What is {phrase}?"


def relation_forms(relation: str) -> tuple[str, ...]:
    """The phrases that count as mentioning a relation: its name, then its aliases."""
    return (relation, *RELATIONS_BY_NAME[relation].aliases)
