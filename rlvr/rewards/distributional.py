"""Rewards and metrics that look past "right or wrong": abstention and diversity.

- Distributional Correctness Score, DCS = (l_c p_c - l_w p_w)(1 - p_IDK), from the probabilities
  (or log-probs) a model gives the correct option, the wrong options and "I don't know". It is a
  metric of the answer distribution, not of one sampled answer: a model sure of a wrong answer
  scores -l_w; one that always abstains scores 0.
- Ternary abstention reward: l_c for the correct option, -l_w for a wrong one, 0 for "I don't
  know". A response with no readable choice is scored as wrong (-l_w by default), with the
  reason: were it 0, garbage would pay exactly as well as an honest abstention.
- Diversity-gated reward for multi-perspective answers (the formula is ours):
  R = c (1 + l min(r, K)/K + m d2), with c in {0, 1} the correctness, r the number of distinct
  roles of `ROLE_LEXICON` the response names, K = 4, d2 the distinct-2 ratio of its words,
  l = 0.2, m = 0.1. A wrong answer earns 0 however diverse; naming a role again adds nothing.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from rlvr.core import Score
from rlvr.rewards.answers import answer_line, find_answer
from rlvr.rewards.judge import normalise_logprobs
from rlvr.rewards.math.reward import completion_text, math_scores

MAX_RESPONSE_CHARS = 100_000

# ---------------------------------------------------------------------------------------- DCS


def distributional_correctness(
    p_correct: float, p_wrong: float, p_abstain: float, *, reward_correct: float = 1.0, penalty_wrong: float = 1.0
) -> float:
    """DCS = (l_c p_c - l_w p_w)(1 - p_IDK) for probabilities in [0, 1] summing to at most 1.

    >>> distributional_correctness(0.6, 0.2, 0.2)
    0.32
    >>> distributional_correctness(0.0, 0.0, 1.0), distributional_correctness(0.0, 1.0, 0.0)
    (0.0, -1.0)
    """
    probabilities = (p_correct, p_wrong, p_abstain)
    if any(not (0.0 <= p <= 1.0) for p in probabilities) or sum(probabilities) > 1.0 + 1e-9:
        raise ValueError(f"expected probabilities in [0, 1] with sum <= 1, got {probabilities}")
    return round((reward_correct * p_correct - penalty_wrong * p_wrong) * (1.0 - p_abstain), 15)


def dcs_from_logprobs(
    logprobs: Mapping[str, float],
    correct: str,
    abstain: str,
    options: Sequence[str],
    *,
    reward_correct: float = 1.0,
    penalty_wrong: float = 1.0,
) -> tuple[float | None, str | None]:
    """(DCS, None) from log-probs over option labels, renormalised over `options` (which hold
    `correct` and `abstain`); (None, reason) when no option has a finite log-prob.

    >>> import math
    >>> table = {"A": math.log(0.5), "B": math.log(0.25), "C": math.log(0.25)}  # C: "I don't know"
    >>> dcs_from_logprobs(table, correct="A", abstain="C", options="ABC")
    (0.1875, None)
    """
    options = list(options)
    if correct not in options or abstain not in options or correct == abstain:
        raise ValueError(f"correct {correct!r} and abstain {abstain!r} must be two of the options {options}")
    probabilities, _, error = normalise_logprobs(logprobs, options)
    if error is not None:
        return None, error
    p_correct, p_abstain = probabilities[correct], probabilities[abstain]
    p_wrong = max(0.0, 1.0 - p_correct - p_abstain)
    value = distributional_correctness(p_correct, p_wrong, p_abstain,
                                       reward_correct=reward_correct, penalty_wrong=penalty_wrong)
    return value, None


# ----------------------------------------------------------------------------- reading a choice

_LABEL = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?(?:answer|choice|option)\s*(?:is\b)?\s*:?\s*", re.IGNORECASE)
_LETTER = re.compile(r"^\(?([A-Za-z])\)?(?:[.):]|\s|$)")


def final_answer_text(response: Any) -> tuple[str | None, str | None]:
    """(answer text, None) or (None, reason): the last `<answer>...</answer>`, else the last
    `\\boxed{}` or "Answer:" line, with a leading "the answer is" label and a final "." removed.

    >>> final_answer_text("I think... <answer>The answer is: clarifying question.</answer>")
    ('clarifying question', None)
    """
    found = find_answer(response, fallbacks=(answer_line,))
    if found.answer is None or found.error is not None:
        return None, found.error or "no answer found: expected <answer> </answer> tags"
    text = found.answer
    return _LABEL.sub("", text.strip(), count=1).strip().rstrip("."), None


def read_choice(response: Any, options: Mapping[str, str]) -> tuple[str | None, str | None]:
    """(option letter, None) or (None, reason). The answer is the last `<answer>...</answer>`, else
    the last `\\boxed{}` or "Answer:" line; it is an option letter ("B", "(B)", "B. text") or an
    option's full text (case-insensitive). `options` maps letters to option texts.

    >>> options = {"A": "12", "B": "15", "C": "I don't know"}
    >>> read_choice("Thinking... <answer>(B)</answer>", options), read_choice("Answer: i don't know", options)
    (('B', None), ('C', None))
    >>> read_choice("<answer>A or B</answer>", options)[1]
    "expected one option letter (A, B, C) or an option's text, got 'A or B'"
    """
    text, error = final_answer_text(response)
    if text is None:
        return None, error
    by_text = {value.strip().lower(): letter for letter, value in options.items()}
    if text.lower() in by_text:
        return by_text[text.lower()], None
    match = _LETTER.match(text)
    rest = text[match.end():].strip().lower() if match else ""
    if match and match[1].upper() in options and (not rest or rest == options[match[1].upper()].strip().lower()):
        return match[1].upper(), None
    return None, (f"expected one option letter ({', '.join(options)}) or an option's text, got {text[:60]!r}")


def abstention_score(
    response: Any,
    answer: str,
    options: Mapping[str, str],
    abstain: str,
    *,
    reward_correct: float = 1.0,
    penalty_wrong: float = 1.0,
    unreadable: float | None = None,
) -> Score:
    """Ternary reward of one response: l_c correct, -l_w wrong, 0 abstained; `unreadable`
    (default -l_w) when no choice can be read. Components: correct, abstained, wrong, format.

    >>> options = {"A": "7", "B": "9", "C": "I don't know"}
    >>> [abstention_score(r, "A", options, "C").reward for r in ("<answer>A</answer>", "<answer>B</answer>", "<answer>C</answer>")]
    [1.0, -1.0, 0.0]
    """
    choice, error = read_choice(completion_text(response), options)
    if choice is None:
        value = -penalty_wrong if unreadable is None else unreadable
        return Score(value, {"correct": 0.0, "abstained": 0.0, "wrong": 0.0, "format": 0.0}, None, error)
    correct, abstained = choice == answer, choice == abstain
    reward = reward_correct if correct else 0.0 if abstained else -penalty_wrong
    components = {"correct": float(correct), "abstained": float(abstained),
                  "wrong": float(not correct and not abstained), "format": 1.0}
    return Score(float(reward), components, choice, None if correct or abstained else f"chose {choice}, not {answer}")


def abstention_reward(
    completions: Sequence[Any],
    answer: Sequence[str],
    options: Sequence[Mapping[str, str]],
    abstain: Sequence[str],
    *,
    reward_correct: float = 1.0,
    penalty_wrong: float = 1.0,
    **kwargs: Any,
) -> list[float]:
    """TRL-shaped ternary reward; `answer`, `options` and `abstain` come one per completion.

    >>> options = {"A": "7", "B": "9", "C": "I don't know"}
    >>> abstention_reward(["<answer>B</answer>", "Answer: I don't know"], answer=["A", "A"],
    ...                   options=[options] * 2, abstain=["C", "C"], penalty_wrong=2.0)
    [-2.0, 0.0]
    """
    return [abstention_score(c, a, o, x, reward_correct=reward_correct, penalty_wrong=penalty_wrong).reward
            for c, a, o, x in zip(completions, answer, options, abstain, strict=True)]


# ---------------------------------------------------------------------------------- diversity

ROLE_LEXICON: tuple[str, ...] = (
    "economist", "engineer", "ethicist", "historian", "lawyer", "doctor", "teacher", "scientist",
    "parent", "student", "artist", "policymaker", "environmentalist", "entrepreneur", "psychologist",
    "journalist",
)
"""The fixed roles whose distinct mentions count as perspectives (singular or plural)."""
DIVERSITY_K, DIVERSITY_ROLE_WEIGHT, DIVERSITY_DISTINCT_WEIGHT = 4, 0.2, 0.1
_WORD = re.compile(r"[a-z0-9]+(?:'[a-z]+)?")
_ROLE = re.compile(r"\b(" + "|".join(ROLE_LEXICON) + r")s?\b")


def roles_mentioned(text: str) -> set[str]:
    """The distinct roles of `ROLE_LEXICON` named in `text`.

    >>> sorted(roles_mentioned("An economist and two Doctors disagree; the economist insists."))
    ['doctor', 'economist']
    """
    return set(_ROLE.findall(text.lower()))


def distinct_2(text: str) -> float:
    """Distinct word bigrams / all word bigrams (0 with fewer than two words).

    >>> distinct_2("a b a b"), distinct_2("one")
    (0.6666666666666666, 0.0)
    """
    words = _WORD.findall(text.lower())
    bigrams = list(zip(words, words[1:], strict=False))
    return len(set(bigrams)) / len(bigrams) if bigrams else 0.0


def diversity_score(response: Any, correct: float) -> Score:
    """R = c (1 + l min(r, K)/K + m d2) for one response (module doc); components roles, distinct_2."""
    text = completion_text(response)
    if not isinstance(text, str):
        return Score.zero(f"response must be a string, got {type(text).__name__}", roles=0.0, distinct_2=0.0)
    text = text[:MAX_RESPONSE_CHARS]
    c = 1.0 if correct is not None and float(correct) >= 1.0 else 0.0
    roles = len(roles_mentioned(text))
    d2 = distinct_2(text)
    reward = c * (1.0 + DIVERSITY_ROLE_WEIGHT * min(roles, DIVERSITY_K) / DIVERSITY_K + DIVERSITY_DISTINCT_WEIGHT * d2)
    return Score(reward, {"correct": c, "roles": float(roles), "distinct_2": d2}, None,
                 None if c else "the answer is wrong, so diversity earns nothing")


def diversity_reward(
    completions: Sequence[Any],
    correct: Sequence[float] | None = None,
    answer: Sequence[Any] | None = None,
    **kwargs: Any,
) -> list[float]:
    """TRL-shaped diversity-gated reward; correctness from `correct` (1/0 per completion) or, when
    only `answer` is given, from `rlvr.rewards.math.math_scores`.

    >>> text = "An economist, an engineer and a teacher agree: 42."  # 3 roles, every bigram distinct
    >>> [round(r, 12) for r in diversity_reward([text, text], correct=[1, 0])]  # 1 + 0.2 * 3/4 + 0.1 * 1
    [1.25, 0.0]
    """
    if correct is None:
        if answer is None:
            raise ValueError("diversity_reward needs `correct` (1/0 per completion) or `answer` (gold answers)")
        correct = [s.components["correct"] for s in math_scores(completions, answer)]
    if len(correct) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(correct)} correctness values")
    return [diversity_score(c, ok).reward for c, ok in zip(completions, correct, strict=True)]
