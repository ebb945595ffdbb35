"""Fictional ontologies for PrOntoQA-style questions: made-up names, rules, forward chaining, sentences.

A theory is one fact about an entity ("Rex is a wumpus."), rules "Every X is a Y." / "Every X is
not a Y." and a query literal. Literals are `(entity, concept, positive)`, rules
`(source, target, positive)`. `forward_chain` applies every rule to every known positive literal
until nothing new appears, recording for each new literal the premise and rule that first gave
it, in rounds, so that the recorded derivation of each literal is a shortest one.

The generator builds a chain C0 -> C1 -> ... -> Ch of `hops` rules from the entity's fact (only
the last rule may be negative), then adds distractor rules of two kinds that cannot shorten or
contradict the chain: branches from a derivable concept to a fresh concept (a dead end) and rules
out of fresh concepts the entity never belongs to (which would give a misleading conclusion if
misapplied). Concept names are drawn from syllables with the problem's generator.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

import numpy as np

Literal = tuple[str, str, bool]
Rule = tuple[str, str, bool]
Step = tuple[Literal, Rule, Literal]
"""(premise, rule, conclusion) of one modus ponens step."""

ENTITY_NAMES = ("Rex", "Sally", "Max", "Fae", "Wren", "Polly", "Sam", "Stella", "Alex", "Nora", "Otto", "Lena")
_ONSETS = ("w", "y", "z", "d", "r", "n", "t", "v", "j", "g", "sh", "l", "st", "gr", "br", "b", "k", "m", "f",
           "sn", "bl", "tr", "kr", "h", "p", "dr")
_VOWELS = ("u", "o", "i", "a", "e")
_CODAS = ("m", "mp", "rp", "n", "nd", "rk", "lp", "x", "st", "mb", "rt", "ng")
_SUFFIXES = ("pus", "us", "er", "ix", "on", "el", "ox", "ump")
MAX_STEP_CHARS = 400
_WORD = r"([a-z]{1,40})"
_FACT = re.compile(rf"^(?:(?:so|thus|therefore|hence),?\s+)?{_WORD} is (not )?an? {_WORD}$")
_RULE = re.compile(rf"^(?:every|each) {_WORD} is (not )?an? {_WORD}$")


def concept_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct made-up names such as 'wumpus' or 'grelox'."""
    names: list[str] = []
    while len(names) < count:
        parts = [pool[int(rng.integers(len(pool)))] for pool in (_ONSETS, _VOWELS, _CODAS, _SUFFIXES)]
        name = "".join(parts)
        if name not in names:
            names.append(name)
    return names


def article(concept: str) -> str:
    return "an" if concept[0] in "aeiou" else "a"


def literal_text(literal: Literal) -> str:
    entity, concept, positive = literal
    return f"{entity} is {'' if positive else 'not '}{article(concept)} {concept}"


def rule_text(rule: Rule) -> str:
    source, target, positive = rule
    return f"Every {source} is {'' if positive else 'not '}{article(target)} {target}"


def step_text(step: Step) -> str:
    """One proof line: 'Rex is a wumpus. Every wumpus is a yumpus. So Rex is a yumpus.'"""
    premise, rule, conclusion = step
    return f"{literal_text(premise)}. {rule_text(rule)}. So {literal_text(conclusion)}."


def parse_step(line: str) -> Step | None:
    """The (premise, rule, conclusion) one proof line states, or None when it is not a step.

    Case, extra spaces and the connective of the conclusion (so / thus / therefore / hence)
    are free; the three sentences must come in that order, separated by periods.

    >>> parse_step("Rex is a wumpus. Each wumpus is not an impus. Therefore, Rex is not an impus.")
    (('rex', 'wumpus', True), ('wumpus', 'impus', False), ('rex', 'impus', False))
    """
    if not isinstance(line, str) or len(line) > MAX_STEP_CHARS:
        return None
    sentences = [re.sub(r"\s+", " ", s).strip() for s in line.lower().split(".")]
    sentences = [s for s in sentences if s]
    if len(sentences) != 3:
        return None
    premise, rule, conclusion = _FACT.match(sentences[0]), _RULE.match(sentences[1]), _FACT.match(sentences[2])
    if premise is None or rule is None or conclusion is None:
        return None
    return ((premise[1], premise[3], premise[2] is None), (rule[1], rule[3], rule[2] is None),
            (conclusion[1], conclusion[3], conclusion[2] is None))


def normal_step(step: Step) -> Step:
    """A step with names lower-cased, the form `parse_step` returns."""
    return tuple((part[0].lower(), part[1].lower(), part[2]) for part in step)  # type: ignore[return-value]


def forward_chain(facts: Sequence[Literal], rules: Sequence[Rule]) -> dict[Literal, Step | None]:
    """Every derivable literal with the step that first derived it (None for given facts).

    Rounds of modus ponens: round k adds the literals whose shortest derivation has k steps.
    """
    derived: dict[Literal, Step | None] = {tuple(fact): None for fact in facts}
    frontier = list(derived)
    while frontier:
        new: list[Literal] = []
        for premise in frontier:
            entity, concept, positive = premise
            if not positive:
                continue
            for rule in rules:
                if rule[0] == concept:
                    conclusion = (entity, rule[1], rule[2])
                    if conclusion not in derived:
                        derived[conclusion] = (premise, tuple(rule), conclusion)
                        new.append(conclusion)
        frontier = new
    return derived


def proof_of(literal: Literal, derived: dict[Literal, Step | None]) -> list[Step]:
    """The recorded derivation of `literal`, first step first."""
    steps: list[Step] = []
    while derived.get(literal) is not None:
        step = derived[literal]
        steps.append(step)
        literal = step[0]
    return steps[::-1]


def generate_theory(
    rng: np.random.Generator, hops: int, distractors: int, negation: bool
) -> tuple[list[Literal], list[Rule], Literal, bool]:
    """(facts, rules in presentation order, query, label) for one question (see the module doc)."""
    names = concept_names(rng, hops + 1 + distractors)
    chain, fresh = names[: hops + 1], names[hops + 1:]
    entity = ENTITY_NAMES[int(rng.integers(len(ENTITY_NAMES)))]
    last_positive = True if not negation else bool(rng.random() < 0.5)
    rules: list[Rule] = [(chain[i], chain[i + 1], True) for i in range(hops - 1)]
    rules.append((chain[hops - 1], chain[hops], last_positive))
    derivable = list(chain[:hops] if last_positive is False else chain)
    for name in fresh:
        polarity = True if not negation else bool(rng.random() < 0.7)
        if rng.random() < 0.5:
            # A dead-end branch: the entity becomes (or is known not to be) a concept nobody asks about.
            source = derivable[int(rng.integers(len(derivable)))]
            rules.append((source, name, polarity))
            if polarity:
                derivable.append(name)
        else:
            # A rule out of a concept the entity never belongs to, aimed at the chain.
            target = chain[1 + int(rng.integers(hops))]
            rules.append((name, target, polarity if negation else True))
    order = rng.permutation(len(rules)).tolist()
    rules = [rules[i] for i in order]
    query_positive = True if not negation else bool(rng.random() < 0.5)
    query = (entity, chain[hops], query_positive)
    return [(entity, chain[0], True)], rules, query, last_positive == query_positive
