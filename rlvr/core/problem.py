"""Problems, scores and the stable problem id that makes train/eval splits disjoint.

A `Problem` is one generated instance of a task: the rendered prompt (text and chat messages),
the gold answer, the difficulty it was drawn at, and a `problem_id` that is a hash of the task
name, its version and the problem's canonical content. Two identical problems therefore share an
id, whichever seed produced them, and the split a problem belongs to is a pure function of its id.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any

SPLITS: Mapping[str, tuple[float, float]] = MappingProxyType(
    {"train": (0.0, 0.8), "eval": (0.8, 0.9), "test": (0.9, 1.0)}
)
"""Each split owns a fixed slice of the unit interval; a problem's id picks the point."""


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no spaces: the same content always gives the same text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=True, default=str)


def make_problem_id(task_name: str, version: int, content: Any) -> str:
    """Stable 16-hex-digit id of (task name, version, canonical content).

    >>> make_problem_id("demo", 0, {"a": 1, "b": 2}) == make_problem_id("demo", 0, {"b": 2, "a": 1})
    True
    >>> make_problem_id("demo", 0, {"a": 1}) == make_problem_id("demo", 1, {"a": 1})
    False
    """
    payload = canonical_json([task_name, int(version), content]).encode()
    return hashlib.blake2b(payload, digest_size=8).hexdigest()


def split_of(problem_id: str) -> str:
    """The split ("train", "eval" or "test") that owns a problem id.

    >>> split_of("0000000000000000"), split_of("e000000000000000"), split_of("ffffffffffffffff")
    ('train', 'eval', 'test')
    """
    point = int(problem_id[:8], 16) / 2**32
    for name, (low, high) in SPLITS.items():
        if low <= point < high:
            return name
    return "test"


def check_split(split: str | None) -> str | None:
    """Validate a `split=` option; None means every problem."""
    if split is not None and split not in SPLITS:
        raise ValueError(f"split must be one of {sorted(SPLITS)} or None, got {split!r}")
    return split


@dataclass(frozen=True)
class Problem:
    """One task instance, as an env presents it and a verifier scores it."""

    task: str
    """Name of the task that generated it."""
    version: int
    """Task version; part of the id, so a behaviour change gives new ids."""
    content: Mapping[str, Any]
    """Canonical, JSON-able content that defines the problem (what the id hashes)."""
    prompt: str
    """Rendered prompt text, answer-format instruction included."""
    messages: tuple[Mapping[str, str], ...]
    """The same prompt as chat messages ({"role", "content"})."""
    answer: Any
    """Gold answer, JSON-able (a string for text tasks)."""
    difficulty: Mapping[str, Any] = field(default_factory=dict)
    """The knob values the problem was drawn at."""
    metadata: Mapping[str, Any] = field(default_factory=dict)
    """Anything else a verifier or a researcher needs (question text, solution, ...)."""
    problem_id: str = ""
    """Hash of (task, version, content); filled in automatically when left empty."""

    def __post_init__(self) -> None:
        if not self.problem_id:
            object.__setattr__(self, "problem_id", make_problem_id(self.task, self.version, self.content))

    @property
    def split(self) -> str:
        return split_of(self.problem_id)

    def to_record(self) -> dict[str, Any]:
        """A flat, JSON-able record (for export and golden tests)."""
        return {
            "task": self.task,
            "version": self.version,
            "problem_id": self.problem_id,
            "prompt": self.prompt,
            "messages": [dict(m) for m in self.messages],
            "answer": self.answer,
            "difficulty": dict(self.difficulty),
            "content": dict(self.content),
            "metadata": dict(self.metadata),
        }


_RECORD_FIELDS = ("task", "version", "content", "prompt", "messages", "answer", "difficulty", "metadata",
                  "problem_id")


def problem_to_json(problem: Problem) -> str:
    """A problem's full record as JSON text: what a dataset's `problem` column holds, so a verifier
    can score a row without regenerating it (`problem_from_json` reads it back)."""
    return json.dumps(problem.to_record(), sort_keys=True, ensure_ascii=False, default=str)


def problem_from_json(text: str) -> Problem:
    """Rebuild the `Problem` that `problem_to_json` wrote; ValueError names what is wrong.

    Tuples come back as lists (JSON has no tuples); verifiers read content either way.

    >>> problem = Problem("demo", 0, {"n": 1}, "1?", ({"role": "user", "content": "1?"},), "1")
    >>> problem_from_json(problem_to_json(problem)) == problem
    True
    >>> problem_from_json('{"task": "demo"}')
    Traceback (most recent call last):
    ...
    ValueError: a problem record needs the fields ['task', 'version', 'content', 'prompt', 'messages', \
'answer', 'difficulty', 'metadata', 'problem_id']; missing ['version', 'content', 'prompt', 'messages', \
'answer', 'difficulty', 'metadata', 'problem_id']
    """
    if not isinstance(text, (str, bytes, bytearray)):
        raise ValueError(f"a problem record is JSON text, got {type(text).__name__}")
    try:
        record = json.loads(text)
    except (ValueError, RecursionError) as error:
        raise ValueError(f"a problem record must be JSON text (a `problem` column), got {str(text)[:80]!r}: "
                         f"{type(error).__name__}") from None
    if not isinstance(record, dict):
        raise ValueError(f"a problem record is a JSON object, got {type(record).__name__}")
    missing = [name for name in _RECORD_FIELDS if name not in record]
    if missing:
        raise ValueError(f"a problem record needs the fields {list(_RECORD_FIELDS)}; missing {missing}")
    kinds = {"task": str, "version": int, "content": dict, "prompt": str, "messages": list, "difficulty": dict,
             "metadata": dict, "problem_id": str}
    wrong = [f"{name} ({type(record[name]).__name__})" for name, kind in kinds.items()
             if not isinstance(record[name], kind)]
    if wrong:
        raise ValueError(f"a problem record has fields of the wrong type: {', '.join(wrong)}")
    fields = {name: record[name] for name in _RECORD_FIELDS}
    return Problem(**{**fields, "messages": tuple(record["messages"])})


@dataclass(frozen=True)
class Score:
    """The verdict on one response: reward, its named components and why.

    `components` always holds "correct" (1.0 or 0.0) so that shaped rewards never hide whether
    the answer was right; `error` says why a response earned nothing (unparseable, hedged, ...).
    """

    reward: float
    components: Mapping[str, float] = field(default_factory=dict)
    parsed_answer: str | None = None
    error: str | None = None

    @property
    def correct(self) -> bool:
        return self.components.get("correct", 0.0) >= 1.0

    @classmethod
    def zero(cls, reason: str, parsed_answer: str | None = None, **components: float) -> Score:
        """A zero reward with the reason recorded (bad input is scored, never fatal)."""
        return cls(0.0, {"correct": 0.0, **components}, parsed_answer, reason)

    @classmethod
    def binary(cls, correct: bool, parsed_answer: str | None = None, error: str | None = None) -> Score:
        value = 1.0 if correct else 0.0
        return cls(value, {"correct": value}, parsed_answer, error)

    def info(self) -> dict[str, Any]:
        """The entries a step's `info` carries for this score."""
        return {
            "parsed_answer": self.parsed_answer,
            "error": self.error,
            "components": dict(self.components),
            "correct": self.correct,
        }
