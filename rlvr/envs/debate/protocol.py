"""The debate protocol's pure parts: reading a message, the vote, diverse selection, the reward.

A message is either a dict `{"answer": str, "confidence": float, "rationale": str}` (the last two
optional) or any string. A string may use the structured form

    answer: 414
    confidence: 0.8
    rationale: nine plus eighteen ...

in which case only the text after `answer:` is handed to the question's task for scoring;
without an `answer:` line the whole string (less any `confidence:` line) is scored, so a plain
task response such as "... \\boxed{414}" works too. A confidence may be written 0.8 or 80%.

Votes are counted on an answer key: the task's parsed answer, read as an exact number where it is
one (so "0.5", "1/2" and "2/4" are one vote), else with spaces removed and lower-cased.

>>> parse_message("answer: 7\\nconfidence: 80%\\nrationale: 3 + 4").confidence
0.8
>>> majority_vote(["7", "8", "7", None], [0.2, 0.9, 0.3, 0.5], np.random.default_rng(0))
('7', 'majority')
>>> round(debate_reward(True, False, 0.8).total, 2)  # 1 + 0 - (0.8 - 1)^2
0.96
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr.core.task_env import action_repr
from rlvr.rewards.math import read_value

DEFAULT_CONFIDENCE = 0.5
"""Confidence assumed for a message that states none (the uninformative midpoint)."""
MAX_MESSAGE_CHARS = 20_000
"""Longer messages are cut before parsing and display (the task scores the cut text)."""

_ANSWER_LINE = re.compile(r"^[ \t*_#>]*answer[ \t*_]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_CONFIDENCE_LINE = re.compile(r"^[ \t*_#>]*confidence[ \t*_]*:[ \t]*(.*?)[ \t]*$", re.IGNORECASE | re.MULTILINE)
_RATIONALE = re.compile(r"^[ \t*_#>]*rationale[ \t*_]*:[ \t]*(.*)\Z", re.IGNORECASE | re.MULTILINE | re.DOTALL)
_CONFIDENCE_VALUE = re.compile(r"([0-9]*\.?[0-9]+)\s*(%?)")


@dataclass(frozen=True)
class Message:
    """One debater's message after reading: what the task scores and what peers are shown."""

    response: str | None
    """Text handed to the task's `score` (None when the message is unusable)."""
    confidence: float | None
    """Stated confidence in [0, 1], or None when none was stated."""
    rationale: str
    error: str | None = None
    """Why the message is unusable (its answer then counts as none)."""


def read_confidence(value: Any) -> tuple[float | None, str | None]:
    """(confidence, None), (None, None) when absent, or (None, reason) when unreadable.

    >>> read_confidence("75%"), read_confidence(0.3), read_confidence("high")[1]
    ((0.75, None), (0.3, None), "confidence must be a number in [0, 1] or a percentage, got 'high'")
    """
    if value is None or (isinstance(value, str) and not value.strip()):
        return None, None
    if isinstance(value, bool):
        return None, f"confidence must be a number in [0, 1], got {value!r}"
    if isinstance(value, (int, float, np.integer, np.floating)):
        try:
            number = float(value)
        except OverflowError:  # an int beyond float range (10**400) is no probability either
            return None, f"confidence must be in [0, 1], got an integer of {int(value).bit_length()} bits"
    elif isinstance(value, str):
        match = _CONFIDENCE_VALUE.fullmatch(value.strip())
        if match is None:
            return None, f"confidence must be a number in [0, 1] or a percentage, got {value[:50]!r}"
        number = float(match.group(1)) / (100.0 if match.group(2) else 1.0)
    else:
        return None, f"confidence must be a number in [0, 1], got {type(value).__name__}"
    if not math.isfinite(number) or not 0.0 <= number <= 1.0:
        return None, f"confidence must be in [0, 1], got {number!r}"
    return number, None


def parse_message(action: Any) -> Message:
    """Read a dict or string action; anything else is an unusable message with the reason."""
    if isinstance(action, Mapping):
        unknown = sorted(action_repr(k, 40) for k in action if k not in ("answer", "confidence", "rationale"))
        if unknown:
            return Message(None, None, "", f"a dict action takes keys answer, confidence, rationale; got {unknown}")
        answer, rationale = action.get("answer"), action.get("rationale", "")
        if not isinstance(answer, str) or not answer.strip():
            return Message(None, None, "", f"a dict action needs a non-empty string 'answer', got {action_repr(answer, 80)}")
        if not isinstance(rationale, str):
            return Message(None, None, "", f"'rationale' must be a string, got {type(rationale).__name__}")
        confidence, error = read_confidence(action.get("confidence"))
        if error is not None:
            return Message(None, None, rationale[:MAX_MESSAGE_CHARS], error)
        return Message(answer[:MAX_MESSAGE_CHARS], confidence, rationale[:MAX_MESSAGE_CHARS])
    if not isinstance(action, str):
        return Message(None, None, "", f"an action must be a string or a dict, got {type(action).__name__}")
    text = action[:MAX_MESSAGE_CHARS]
    confidence_match = _CONFIDENCE_LINE.search(text)
    confidence, error = read_confidence(confidence_match.group(1) if confidence_match else None)
    if error is not None:
        return Message(None, None, "", error)
    rationale_match = _RATIONALE.search(text)
    rationale = rationale_match.group(1).strip() if rationale_match else ""
    answer_match = _ANSWER_LINE.search(text)
    if answer_match is not None:
        return Message(answer_match.group(1), confidence, rationale)
    # A free-form response: the task's own extraction reads it, minus the confidence line.
    body = _CONFIDENCE_LINE.sub("", text) if confidence_match else text
    return Message(body, confidence, rationale)


def answer_key(parsed_answer: str | None) -> str | None:
    """The key votes are counted on: an exact number where the answer is one, else compact text.

    >>> answer_key("2/4"), answer_key(" 0.5 "), answer_key("X + 1"), answer_key(None)
    ('1/2', '1/2', 'x+1', None)
    """
    if parsed_answer is None or not parsed_answer.strip():
        return None
    value, _ = read_value(parsed_answer)
    if value is not None:
        return str(value)
    return "".join(parsed_answer.split()).lower()


def majority_vote(
    keys: Sequence[str | None],
    confidences: Sequence[float],
    rng: np.random.Generator,
) -> tuple[str | None, str]:
    """The winning answer key and how it won: 'majority', 'confidence' (tie broken by summed
    confidence) or 'random' (still tied: uniform draw from `rng`); (None, 'no answers') when
    no debater gave a usable answer.

    >>> rng = np.random.default_rng(0)
    >>> majority_vote(["a", "b"], [0.4, 0.9], rng), majority_vote([None], [0.5], rng)
    (('b', 'confidence'), (None, 'no answers'))
    """
    counts: dict[str, int] = {}
    mass: dict[str, float] = {}
    for key, confidence in zip(keys, confidences, strict=True):
        if key is not None:
            counts[key] = counts.get(key, 0) + 1
            mass[key] = mass.get(key, 0.0) + float(confidence)
    if not counts:
        return None, "no answers"
    # Candidates in first-mention order, so the random draw depends only on the transcript and rng.
    top = max(counts.values())
    leaders = [k for k in counts if counts[k] == top]
    if len(leaders) == 1:
        return leaders[0], "majority"
    best_mass = max(mass[k] for k in leaders)
    # Sums of confidences equal up to rounding count as tied (0.1 + 0.2 vs 0.3).
    leaders = [k for k in leaders if math.isclose(mass[k], best_mass, rel_tol=1e-9, abs_tol=1e-12)]
    if len(leaders) == 1:
        return leaders[0], "confidence"
    return leaders[int(rng.integers(len(leaders)))], "random"


def select_diverse(keys: Sequence[str | None], n: int, rng: np.random.Generator) -> list[int]:
    """Indices of `n` of the samples that hold as many distinct answers as possible.

    Samples are visited in a random order; the first of each distinct usable answer is taken,
    then the rest fill up (usable answers before unusable ones), so the count of distinct
    answers is min(n, number of distinct answers) and which duplicate is kept is left to `rng`.

    >>> sorted(select_diverse(["a", "a", "a", "b", "c"], 3, np.random.default_rng(0)))[1:]
    [3, 4]
    """
    if not 0 < n <= len(keys):
        raise ValueError(f"select_diverse needs 0 < n <= {len(keys)} samples, got n={n}")
    order = [int(i) for i in rng.permutation(len(keys))]
    chosen: list[int] = []
    seen: set[str] = set()
    for i in order:
        if keys[i] is not None and keys[i] not in seen:
            seen.add(keys[i])
            chosen.append(i)
    rest = [i for i in order if i not in chosen]
    rest.sort(key=lambda i: keys[i] is None)  # stable: keeps the random order within each group
    return sorted((chosen + rest)[:n])


@dataclass(frozen=True)
class RewardWeights:
    """Weights of the per-agent reward l1*[a_i = y] + l2*[vote = y] - l3*(c_i - [a_i = y])^2."""

    own: float = 1.0
    """l1: the agent's own answer is right."""
    vote: float = 1.0
    """l2: the group's majority vote is right (shared by every debater)."""
    brier: float = 1.0
    """l3: squared error of the stated confidence against the agent's own correctness."""


@dataclass(frozen=True)
class DebateReward:
    own: float
    vote: float
    brier: float
    total: float

    def components(self) -> dict[str, float]:
        return {"own_correct": self.own, "vote_correct": self.vote, "brier_penalty": self.brier}


def debate_reward(
    own_correct: bool, vote_correct: bool, confidence: float, weights: RewardWeights = RewardWeights()
) -> DebateReward:
    """One agent's reward and its named parts (the Brier part is reported as a penalty >= 0).

    >>> r = debate_reward(False, True, 0.7, RewardWeights(own=1.0, vote=0.5, brier=2.0))
    >>> r.own, r.vote, round(r.brier, 2), round(r.total, 2)  # 0 + 0.5 - 2 * 0.49
    (0.0, 0.5, 0.98, -0.48)
    """
    own = weights.own * float(own_correct)
    vote = weights.vote * float(vote_correct)
    brier = weights.brier * (float(confidence) - float(own_correct)) ** 2
    return DebateReward(own, vote, brier, own + vote - brier)


def format_transcript(prompt: str, transcript: list[list[Mapping[str, Any]]]) -> str:
    """A readable transcript: the question, then every round's messages and verdicts."""
    lines = [f"[question] {prompt}"]
    for number, records in enumerate(transcript):
        lines.append(f"--- round {number + 1}")
        for r in records:
            verdict = "right" if r["correct"] else ("no answer" if not r["valid"] else "wrong")
            lines.append(
                f"{r['agent']}: answer={r['answer'] if r['valid'] else '(none)'} "
                f"confidence={r['confidence']:.2f} [{verdict}]" + (f" ({r['error']})" if r["error"] and not r["valid"] else "")
            )
    return "\n".join(lines)
