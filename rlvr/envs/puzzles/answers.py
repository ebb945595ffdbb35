"""What the logic puzzles and Star Battle share: finding the answer text in a response, and a
yes/no reader.

Where the answer is found (the one answer reader, `rlvr.rewards.answers`), after a reasoning
trace `<think>...</think>` if there is one, first rule that applies:
1. the last `<answer>...</answer>` block (case-insensitive; an `<answer>` never closed is an error);
2. the last `\\boxed{...}` (braces balanced, nesting bounded; boxes with different contents are an error);
3. the last non-empty line of the response.

Every scan is linear and bounded (`rlvr.rewards.answers.MAX_RESPONSE_CHARS`), so any string is scored quickly.

>>> answer_text("work...\\n<answer> True </answer>")
('True', None)
>>> answer_text("so \\\\boxed{{a}b}")
('{a}b', None)
>>> answer_text("")
(None, 'empty response')
>>> read_truth_value("Answer: no.")[0], read_truth_value("maybe")[0]
(False, None)
"""

from __future__ import annotations

import re

from rlvr.rewards.answers import find_answer, strip_decoration

MAX_ANSWER_CHARS = 5_000
"""An extracted answer longer than this is refused."""

_LABEL = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?(?:answer|solution)\s*(?:is\b)?\s*:?\s*", re.IGNORECASE)
_TEXT_WRAPPER = re.compile(r"^\\(?:text|mathrm|textbf)\{(.*)\}$")
_TRUE_WORDS = frozenset({"true", "yes", "t", "y"})
_FALSE_WORDS = frozenset({"false", "no", "f", "n"})


def answer_text(response: object) -> tuple[str | None, str | None]:
    """(answer text stripped, None) or (None, reason), by the rules of the module doc (the one
    answer reader, `rlvr.rewards.answers.find_answer`)."""
    found = find_answer(response, max_chars=MAX_ANSWER_CHARS)
    if found.answer is None or found.error is not None:
        return None, found.error or "no answer found"
    return found.answer.strip(), None


def strip_label(text: str) -> str:
    """Drop a leading "Answer:" label, markdown/LaTeX decoration and a `\\text{}` wrapper."""
    text = _undecorated(_LABEL.sub("", text, count=1))
    wrapped = _TEXT_WRAPPER.match(text)
    return _undecorated(wrapped.group(1)) if wrapped else text


def _undecorated(text: str) -> str:
    return strip_decoration(text, leading="$", trailing="$!")


def read_truth_value(text: str) -> tuple[bool | None, str | None]:
    """True/False (also yes/no) from an answer text, or (None, reason)."""
    word = strip_label(text).lower()
    if word in _TRUE_WORDS:
        return True, None
    if word in _FALSE_WORDS:
        return False, None
    return None, f"expected True or False (or yes/no), got {text[:60]!r}"
