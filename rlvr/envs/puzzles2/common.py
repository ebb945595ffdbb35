"""What the logic puzzles share: finding the answer text in a response, and a yes/no reader.

Where the answer is found, first rule that applies:
1. the last `<answer>...</answer>` block (case-insensitive; an `<answer>` never closed is an error);
2. the last `\\boxed{...}` (braces balanced, nesting bounded);
3. the last non-empty line of the response.

Every scan is linear and bounded by `MAX_RESPONSE_CHARS`, so any string is scored quickly.

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

from rlvr.rewards.math.extract import box_content, clean_text

MAX_RESPONSE_CHARS = 100_000
"""Longer responses are refused before any scan (about 25k tokens)."""
MAX_ANSWER_CHARS = 5_000
"""An extracted answer longer than this is refused."""

_OPEN_TAG = re.compile(r"<answer>", re.IGNORECASE)
_CLOSE_TAG = re.compile(r"</answer>", re.IGNORECASE)
_BOXED = "\\boxed{"
_LABEL = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?(?:answer|solution)\s*(?:is\b)?\s*:?\s*", re.IGNORECASE)
_DECORATION = re.compile(r"^[\s*_`\"'$]+|[\s*_`\"'$.!]+$")
_TEXT_WRAPPER = re.compile(r"^\\(?:text|mathrm|textbf)\{(.*)\}$")
_TRUE_WORDS = frozenset({"true", "yes", "t", "y"})
_FALSE_WORDS = frozenset({"false", "no", "f", "n"})


def answer_text(response: object) -> tuple[str | None, str | None]:
    """(answer text stripped, None) or (None, reason), by the rules of the module doc."""
    if not isinstance(response, str):
        return None, f"response must be a string, got {type(response).__name__}"
    if len(response) > MAX_RESPONSE_CHARS:
        return None, f"response has {len(response)} characters, more than {MAX_RESPONSE_CHARS}"
    response = clean_text(response)
    opens = list(_OPEN_TAG.finditer(response))
    if opens:
        start = opens[-1].end()
        close = _CLOSE_TAG.search(response, start)
        if close is None:
            return None, "an <answer> tag is never closed"
        text = response[start : close.start()]
    elif _BOXED in response:
        text, error = _last_boxed(response)
        if error is not None:
            return None, error
    else:
        lines = [line for line in response.splitlines() if line.strip()]
        if not lines:
            return None, "empty response"
        text = lines[-1]
    text = text.strip()
    if not text:
        return None, "empty answer"
    if len(text) > MAX_ANSWER_CHARS:
        return None, f"answer has {len(text)} characters, more than {MAX_ANSWER_CHARS}"
    return text, None


def _last_boxed(response: str) -> tuple[str | None, str | None]:
    """Content of the last `\\boxed{...}`, or why it cannot be read."""
    return box_content(response, response.rfind(_BOXED) + len(_BOXED) - 1)


def strip_label(text: str) -> str:
    """Drop a leading "Answer:" label, markdown/LaTeX decoration and a `\\text{}` wrapper."""
    text = _DECORATION.sub("", _LABEL.sub("", text, count=1))
    wrapped = _TEXT_WRAPPER.match(text)
    return _DECORATION.sub("", wrapped.group(1)) if wrapped else text


def read_truth_value(text: str) -> tuple[bool | None, str | None]:
    """True/False (also yes/no) from an answer text, or (None, reason)."""
    word = strip_label(text).lower()
    if word in _TRUE_WORDS:
        return True, None
    if word in _FALSE_WORDS:
        return False, None
    return None, f"expected True or False (or yes/no), got {text[:60]!r}"
