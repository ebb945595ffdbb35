"""A seeded generator of small fictional knowledge graphs, and ways to read them as text.

`generate_graph(rng, entities_per_type)` returns a `networkx.MultiDiGraph` whose nodes are
entity names (unique, made from syllables) with a `type` attribute (person, city, country,
company, university) and whose edges carry the relation name as both key and `relation`
attribute. Every relation in `RELATIONS` has a domain (head type), a range (tail type), and is
functional (exactly one tail per head it covers) or not (one or two tails). A few rules keep the
world consistent: a country's capital is one of its own cities, and `capital_of` is exactly the
inverse of `has_capital`.

Names are built so that no entity's name occurs, as whole words, inside another's: every name
holds at least one made-up word (a "stem") that no other entity uses. Matching mentions in a
response by whole words is therefore unambiguous.

The same rng gives the same graph (node and edge insertion order included). `triples`,
`describe_triple` and `entity_sentences` turn the graph into facts and sentences, for prompts and
for a document corpus built from the graph.

>>> import numpy as np
>>> graph = generate_graph(np.random.default_rng(0), 3)
>>> sorted({data["type"] for _, data in graph.nodes(data=True)})
['city', 'company', 'country', 'person', 'university']
>>> graph.number_of_nodes()
15
>>> all(graph.nodes[h]["type"] == RELATIONS_BY_NAME[r].head_type for h, r, _ in triples(graph))
True
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import networkx as nx
import numpy as np

ENTITY_TYPES: tuple[str, ...] = ("person", "city", "country", "company", "university")


@dataclass(frozen=True)
class Relation:
    """A typed relation: how it reads as a fact, as a question and as a mention in reasoning."""

    name: str
    head_type: str
    tail_type: str
    functional: bool
    """True: a covered head has exactly one tail; False: one or two tails."""
    sentence: str
    """The fact as a sentence, with {head} and {tail}."""
    question: str
    """A noun phrase naming the tail, with {x} for the head: "the birthplace of {x}"."""
    aliases: tuple[str, ...]
    """Phrases that count as mentioning the relation in reasoning (besides its name)."""
    coverage: float = 1.0
    """Probability that an entity of the head type has this relation at all."""


RELATIONS: tuple[Relation, ...] = (
    Relation("born_in", "person", "city", True, "{head} was born in {tail}.",
             "the birthplace of {x}", ("born in", "birthplace")),
    Relation("lives_in", "person", "city", True, "{head} lives in {tail}.",
             "the city where {x} lives", ("lives in", "resides in")),
    Relation("works_for", "person", "company", False, "{head} works for {tail}.",
             "the employer of {x}", ("works for", "employer", "employed by")),
    Relation("studied_at", "person", "university", False, "{head} studied at {tail}.",
             "the alma mater of {x}", ("studied at", "alma mater")),
    Relation("located_in", "city", "country", True, "{head} is located in {tail}.",
             "the country where {x} is located", ("located in",)),
    Relation("capital_of", "city", "country", True, "{head} is the capital of {tail}.",
             "the country whose capital is {x}", ("capital of",)),
    Relation("has_capital", "country", "city", True, "The capital of {head} is {tail}.",
             "the capital of {x}", ("has capital", "capital")),
    Relation("mayor", "city", "person", True, "The mayor of {head} is {tail}.",
             "the mayor of {x}", ("mayor",), coverage=0.7),
    Relation("headquartered_in", "company", "city", True, "{head} is headquartered in {tail}.",
             "the headquarters city of {x}", ("headquartered in", "headquarters")),
    Relation("founded_by", "company", "person", False, "{head} was founded by {tail}.",
             "the founder of {x}", ("founded by", "founder")),
    Relation("led_by", "company", "person", True, "{head} is led by {tail}.",
             "the chief executive of {x}", ("led by", "chief executive")),
    Relation("based_in", "university", "city", True, "{head} is based in {tail}.",
             "the city where {x} is based", ("based in",)),
    Relation("headed_by", "university", "person", True, "{head} is headed by {tail}.",
             "the president of {x}", ("headed by", "president")),
)
RELATIONS_BY_NAME: Mapping[str, Relation] = {r.name: r for r in RELATIONS}

SYLLABLES: tuple[str, ...] = tuple(
    consonant + vowel for consonant in "bdfgklmnprstvz" for vowel in ("a", "e", "i", "o", "u", "ai", "or")
)
"""Stems are 2-3 of these; none is an English word that a relation alias uses."""
_CITY_ENDINGS = ("", "holm", "ford", "mere", "dell", "wick")
_COUNTRY_ENDINGS = ("ia", "land", "ora", "eth")
_COMPANY_WORDS = ("Labs", "Industries", "Systems", "Foods", "Motors", "Works")
_UNIVERSITY_FORMS = ("University of {}", "{} Institute", "{} College")
FIXED_WORDS = frozenset(
    word.casefold() for text in (*_COMPANY_WORDS, *_UNIVERSITY_FORMS) for word in text.replace("{}", " ").split()
)
"""Words shared by many names; every name also has a word of its own."""
MAX_NAME_ATTEMPTS = 1000
MULTI_TAIL_PROBABILITY = 0.35
"""Chance that a non-functional relation gives a head two tails instead of one."""


def _stem(rng: np.random.Generator) -> str:
    """Two or three syllables, from one draw of four uniforms (numpy calls dominate the cost)."""
    draws = rng.random(4).tolist()
    count = 2 + int(draws[0] * 2)
    return "".join(SYLLABLES[int(u * len(SYLLABLES))] for u in draws[1: 1 + count]).capitalize()


def _candidate_name(rng: np.random.Generator, entity_type: str) -> str:
    if entity_type == "person":
        return f"{_stem(rng)} {_stem(rng)}"
    if entity_type == "city":
        return _stem(rng) + _CITY_ENDINGS[int(rng.integers(len(_CITY_ENDINGS)))]
    if entity_type == "country":
        return _stem(rng) + _COUNTRY_ENDINGS[int(rng.integers(len(_COUNTRY_ENDINGS)))]
    if entity_type == "company":
        return f"{_stem(rng)} {_COMPANY_WORDS[int(rng.integers(len(_COMPANY_WORDS)))]}"
    if entity_type == "university":
        return _UNIVERSITY_FORMS[int(rng.integers(len(_UNIVERSITY_FORMS)))].format(_stem(rng))
    raise ValueError(f"unknown entity type {entity_type!r}; expected one of {ENTITY_TYPES}")


def make_name(rng: np.random.Generator, entity_type: str, used_words: set[str]) -> str:
    """A new name of `entity_type` none of whose own words is in `used_words` (which it extends)."""
    for _ in range(MAX_NAME_ATTEMPTS):
        name = _candidate_name(rng, entity_type)
        own = [w for w in name.casefold().split() if w not in FIXED_WORDS]
        # distinct own words inside one name too, so "Kabo Kabo" cannot appear
        if own and len(set(own)) == len(own) and not used_words.intersection(own):
            used_words.update(own)
            return name
    raise RuntimeError(f"no new {entity_type} name in {MAX_NAME_ATTEMPTS} draws; {len(used_words)} words in use")


def _sizes(entities_per_type: int | Mapping[str, int]) -> dict[str, int]:
    if isinstance(entities_per_type, Mapping):
        unknown = sorted(set(entities_per_type) - set(ENTITY_TYPES))
        if unknown:
            raise ValueError(f"unknown entity types {unknown}; expected some of {ENTITY_TYPES}")
        sizes = {t: int(entities_per_type.get(t, 0)) for t in ENTITY_TYPES}
    else:
        sizes = dict.fromkeys(ENTITY_TYPES, int(entities_per_type))
    if any(n < 1 for n in sizes.values()):
        raise ValueError(f"every entity type needs at least one entity, got {sizes}")
    return sizes


def generate_graph(
    rng: np.random.Generator,
    entities_per_type: int | Mapping[str, int] = 6,
    relations: Iterable[Relation] = RELATIONS,
    multi_tail_probability: float = MULTI_TAIL_PROBABILITY,
) -> nx.MultiDiGraph:
    """A fictional world: `entities_per_type` entities of each type (an int, or a count per type)
    linked by `relations`. Deterministic under `rng`."""
    sizes = _sizes(entities_per_type)
    graph = nx.MultiDiGraph()
    used_words: set[str] = set()
    by_type: dict[str, list[str]] = {}
    for entity_type in ENTITY_TYPES:
        names = [make_name(rng, entity_type, used_words) for _ in range(sizes[entity_type])]
        by_type[entity_type] = names
        graph.add_nodes_from(names, type=entity_type)
    relations = tuple(relations)
    names = {r.name for r in relations}
    for relation in relations:
        if relation.name in ("capital_of", "has_capital"):
            continue  # drawn below from located_in, so capitals lie in their own country
        heads, tails = by_type[relation.head_type], by_type[relation.tail_type]
        # one draw per relation: (has it at all, two tails or one, first tail, second tail) per head
        for head, (has, multi, first, second) in zip(heads, rng.random((len(heads), 4)).tolist(), strict=True):
            if has >= relation.coverage:
                continue
            picks = [int(first * len(tails))]
            if not relation.functional and multi < multi_tail_probability and len(tails) > 1:
                other = int(second * (len(tails) - 1))
                picks.append(other + (other >= picks[0]))  # a second, different tail
            for index in sorted(picks):
                add_fact(graph, head, relation.name, tails[index])
    if names & {"capital_of", "has_capital"}:
        _add_capitals(rng, graph, by_type, names)
    return graph


def _add_capitals(rng: np.random.Generator, graph: nx.MultiDiGraph, by_type: dict[str, list[str]],
                  names: set[str]) -> None:
    cities_of: dict[str, list[str]] = {country: [] for country in by_type["country"]}
    for city in by_type["city"]:
        for country in follow(graph, [city], "located_in"):
            cities_of[country].append(city)
    for country, cities in cities_of.items():
        if not cities:
            continue
        capital = cities[int(rng.integers(len(cities)))]
        if "has_capital" in names:
            add_fact(graph, country, "has_capital", capital)
        if "capital_of" in names:
            add_fact(graph, capital, "capital_of", country)


def add_fact(graph: nx.MultiDiGraph, head: str, relation: str, tail: str) -> None:
    """Add the triple (head, relation, tail), checking the relation's types."""
    spec = RELATIONS_BY_NAME.get(relation)
    if spec is None:
        raise KeyError(f"unknown relation {relation!r}; expected one of {sorted(RELATIONS_BY_NAME)}")
    types = (graph.nodes[head].get("type"), graph.nodes[tail].get("type"))
    if types != (spec.head_type, spec.tail_type):
        raise ValueError(f"{relation} links {spec.head_type} -> {spec.tail_type}, got {types[0]} -> {types[1]}")
    graph.add_edge(head, tail, key=relation, relation=relation)


def entity_type(graph: nx.MultiDiGraph, entity: str) -> str:
    return graph.nodes[entity]["type"]


def entities_of_type(graph: nx.MultiDiGraph, wanted: str) -> list[str]:
    """Entities of one type, in insertion order (deterministic under the generator's rng)."""
    return [node for node, data in graph.nodes(data=True) if data["type"] == wanted]


def triples(graph: nx.MultiDiGraph) -> list[tuple[str, str, str]]:
    """Every fact as (head, relation, tail), in edge insertion order."""
    return [(head, relation, tail) for head, tail, relation in graph.edges(keys=True)]


def follow(graph: nx.MultiDiGraph, heads: Iterable[str], relation: str) -> set[str]:
    """Every tail reached from any of `heads` by one `relation` edge."""
    return {tail for head in heads for _, tail, key in graph.out_edges(head, keys=True) if key == relation}


def describe_triple(head: str, relation: str, tail: str) -> str:
    """The fact as an English sentence.

    >>> describe_triple("Ana Vel", "born_in", "Kobo")
    'Ana Vel was born in Kobo.'
    """
    return RELATIONS_BY_NAME[relation].sentence.format(head=head, tail=tail)


def entity_sentences(graph: nx.MultiDiGraph, entity: str) -> list[str]:
    """Every fact that involves `entity`, as sentences: its facts first, then facts about others
    that name it (one entity's document in a corpus)."""
    own = [describe_triple(entity, key, tail) for _, tail, key in graph.out_edges(entity, keys=True)]
    mentioned = [describe_triple(head, key, entity) for head, _, key in graph.in_edges(entity, keys=True)]
    return own + mentioned
