"""What every answer reader returns (`Extraction`) and the bounds they share."""

from __future__ import annotations

from dataclasses import dataclass, field

MAX_RESPONSE_CHARS = 100_000
"""Responses longer than this are refused outright (about 25k tokens)."""
MAX_ANSWER_CHARS = 1_000
"""An extracted answer longer than this is refused."""
MAX_BRACE_DEPTH = 50
MAX_BOXES = 64

NO_ANSWER = "no answer found"
SEVERAL_BOXED = "several boxed answers with different values"
HEDGED = "hedged answer"
UNCLOSED_THINK = "the reasoning (<think>) never ended, so there is no final answer"
UNCLOSED_TAG = "an <answer> tag is never closed"


@dataclass(frozen=True)
class Extraction:
    """What a reader found: the answer text, or the reason there is none to score."""

    answer: str | None
    error: str | None = None
    mode: str | None = None
    """The convention that produced the answer ("tags", "boxed", "answer_line", ...)."""
    end: int | None = field(default=None, repr=False, compare=False)
    """Where the answer's source ends in the text read (boxes: past the last box)."""
