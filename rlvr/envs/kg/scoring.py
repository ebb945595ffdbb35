"""Reading a knowledge-graph answer and the path-derived reward formulas.

Mentions are matched on normalised text (`rlvr.envs.knowledge.mentions`): casefolded, every run
of characters that are not letters or digits replaced by one space. A phrase is mentioned when it
occurs between word boundaries ("Kobo" in "kobo's mayor", never in "Kobode").

The answer is, first rule that applies: the last `<answer>...</answer>` block (an `<answer>` left
open is an error), the last `\\boxed{...}`, the last line that starts with "Answer:" or "Final
answer:". The reasoning is the response with that answer span cut out, so restating the answer
earns no path credit.

Path alignment (formula from the spec): R = min(1.5, (1.2 * cov + 0.3 * [hits >= 2]) * rep)
- path items: the distinct entity names E0..EL of the gold path and its distinct relations;
- a relation is mentioned by its name (underscores read as spaces: "born in") or an alias;
- hits = how many path items the reasoning mentions, cov = hits / number of path items;
- rep = distinct sentences / sentences of the reasoning (sentences split at . ! ? and line
  breaks, compared after normalisation); 1.0 for reasoning with no sentence. Saying the same
  sentence again lowers rep; saying new things does not.

Entity coverage (ours, order-aware): list the gold entities the reasoning mentions, by position
of each mention, as path indices; the longest strictly increasing subsequence of that list is the
longest part of the path mentioned in path order; entity coverage = its length / (L + 1).

>>> path_alignment(coverage=0.5, hits=3, repetition=1.0)
0.9
>>> entity_order_coverage("C then A then B then D", ["A", "B", "C", "D"])
0.75
"""

from __future__ import annotations

import re
from bisect import bisect_left
from collections.abc import Sequence
from dataclasses import dataclass

from rlvr.envs.knowledge.mentions import mention_positions, mentions, normalise
from rlvr.rewards.answers import box_content

MAX_RESPONSE_CHARS = 100_000
"""Longer responses are refused before any scan."""
PATH_ALIGNMENT_CAP = 1.5
COVERAGE_WEIGHT = 1.2
HITS_BONUS = 0.3
HITS_FOR_BONUS = 2

_SENTENCE_BREAK = re.compile(r"[.!?\n]+")
_ANSWER_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_ANSWER_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_BOXED = "\\boxed{"
_ANSWER_LINE = re.compile(r"^[ \t]*(?:final[ \t]+)?answer[ \t]*[:：][ \t]*(.*)$", re.IGNORECASE | re.MULTILINE)


@dataclass(frozen=True)
class AnswerSplit:
    """The answer text (None when there is none), the reasoning around it, and why it failed."""

    answer: str | None
    reasoning: str
    error: str | None = None


def split_answer(response: str) -> AnswerSplit:
    """Find the final answer and cut it out of the reasoning. Never raises on a string.

    >>> split_answer("Kobo is in Vel.\\n<answer>Vel</answer>")
    AnswerSplit(answer='Vel', reasoning='Kobo is in Vel.\\n', error=None)
    >>> split_answer("so <answer>Vel").error
    'an <answer> tag is never closed'
    """
    opens = list(_ANSWER_OPEN.finditer(response))
    if opens:
        last = opens[-1]
        close = _ANSWER_CLOSE.search(response, last.end())
        if close is None:
            return AnswerSplit(None, response[: last.start()], "an <answer> tag is never closed")
        return AnswerSplit(response[last.end(): close.start()].strip(),
                           response[: last.start()] + response[close.end():])
    start = response.rfind(_BOXED)
    if start >= 0:
        brace = start + len(_BOXED) - 1
        content, error = box_content(response, brace)
        if content is None:
            return AnswerSplit(None, response[:start], error or "a \\boxed{ is never closed")
        end = brace + len(content) + 2
        return AnswerSplit(content.strip(), response[:start] + response[end:])
    lines = list(_ANSWER_LINE.finditer(response))
    if lines:
        line = lines[-1]
        return AnswerSplit(line.group(1).strip(), response[: line.start()] + response[line.end():])
    return AnswerSplit(None, response, "no final answer found: expected <answer>...</answer>, \\boxed{...} "
                                       "or a line starting with 'Answer:'")


def repetition_factor(text: str) -> float:
    """Distinct sentences / sentences (after normalisation); 1.0 when there is no sentence.

    >>> repetition_factor("A is B. A is B. C is D. E.")
    0.75
    """
    sentences = [normalise(s) for s in _SENTENCE_BREAK.split(text)]
    sentences = [s for s in sentences if s != " "]
    return len(set(sentences)) / len(sentences) if sentences else 1.0


def path_hits(normalised_text: str, entities: Sequence[str], relations: Sequence[tuple[str, ...]]) -> tuple[int, int]:
    """(hits, number of path items): distinct entities, and distinct relations each given as
    (name, alias, ...) forms of which any one counts."""
    items: list[tuple[str, ...]] = []
    for forms in [(e,) for e in entities] + [tuple(r) for r in relations]:
        if forms not in items:
            items.append(forms)
    hits = sum(1 for forms in items if any(mentions(normalised_text, form) for form in forms))
    return hits, len(items)


def path_alignment(coverage: float, hits: int, repetition: float) -> float:
    """R = min(1.5, (1.2 * coverage + 0.3 * [hits >= 2]) * repetition), rounded to 12 places.

    >>> path_alignment(1.0, 7, 1.0), path_alignment(1.0, 1, 0.5), path_alignment(0.0, 0, 1.0)
    (1.5, 0.6, 0.0)
    """
    raw = (COVERAGE_WEIGHT * coverage + HITS_BONUS * (hits >= HITS_FOR_BONUS)) * repetition
    return round(min(PATH_ALIGNMENT_CAP, raw), 12)


def longest_increasing_run(values: Sequence[int]) -> int:
    """Length of the longest strictly increasing subsequence (patience sorting).

    >>> longest_increasing_run([2, 0, 1, 1, 3])
    3
    """
    tails: list[int] = []
    for value in values:
        index = bisect_left(tails, value)
        if index == len(tails):
            tails.append(value)
        else:
            tails[index] = value
    return len(tails)


def entity_order_coverage(text: str, entities: Sequence[str], normalised_text: str | None = None) -> float:
    """Longest run of gold entities mentioned in path order / number of gold entities."""
    if not entities:
        return 0.0
    text = normalise(text) if normalised_text is None else normalised_text
    found = sorted((pos, index) for index, entity in enumerate(entities) for pos in mention_positions(text, entity))
    return longest_increasing_run([index for _, index in found]) / len(entities)
