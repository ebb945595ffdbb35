"""The final answer of a math response, through the one answer reader (`rlvr.rewards.answers`).

A reasoning trace is skipped and `<answer>` tags win first (see `rlvr.rewards.answers`); then the
modes, tried in the order given:
- "boxed": the last `\\boxed{...}` (or `\\fbox{...}`), nested boxes read as one. Several boxes
  with different values are answer hacking and earn an error.
- "answer_line": the last "Answer: X", "The (final) answer is X", `**Answer:** X`, Minerva's
  "Final Answer: The final answer is $X$. I hope it is correct." or GSM8K-style "#### X".
- "last_number": a displayed formula ending the response or the last inline `$X$` of its last
  line; else, when the last line ends in numbers joined by commas/"or"/"and", those are taken
  together (so "3 or 4" and "3, 4" are seen as the hedge/list they are); a last line that is a
  number on its own ("twelve", "\\frac{1}{2}") is taken whole; otherwise the last number.

An extracted answer that hedges ("3 or 4", "either 3 or 4") gets the error "hedged answer";
the answer text is kept so that logs show what was refused. Every scan is linear and bounded.
"""

from __future__ import annotations

import re

from rlvr.rewards.answers import (
    HEDGED,
    MAX_ANSWER_CHARS,
    MAX_BOXES,
    MAX_BRACE_DEPTH,
    MAX_RESPONSE_CHARS,
    NO_ANSWER,
    SEVERAL_BOXED,
    Extraction,
    answer_line,
    answer_segment,
    box_content,
    boxed_answer,
    clean_text,
    closing_math,
    is_hedged,
    strip_decoration,
    tagged_answer,
    unwrap_math,
)
from rlvr.rewards.math.numbers import parse_number
from rlvr.rewards.math.structure import normalize, strip_units

__all__ = [
    "HEDGED",
    "MAX_ANSWER_CHARS",
    "MAX_BOXES",
    "MAX_BRACE_DEPTH",
    "MAX_RESPONSE_CHARS",
    "MODES",
    "NO_ANSWER",
    "SEVERAL_BOXED",
    "Extraction",
    "box_content",
    "clean_text",
    "extract_answer",
    "is_hedged",
    "strip_decoration",
]

MODES = ("boxed", "answer_line", "last_number")

_NUMBER = r"[-+]?(?:\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?(?:\s*/\s*\d+)?|\.\d+)"
_LAST_NUMBER = re.compile(_NUMBER)
_LIST_GAP = re.compile(r"\s*(?:,\s*(?:(?:or|and)\s+)?|(?:or|and)\s+)\s*", re.IGNORECASE)
"""What may stand between two numbers of a listed or hedged answer: ", ", " or ", ", and "."""
_EITHER = re.compile(r"\beither\s+$", re.IGNORECASE)
SEVERAL_NUMBERS_TAIL = 160
"""Characters at the end of the last line searched for "3 or 4" / "3, 4" answers."""
MAX_LIST_GAP = 16
_MATH_WORDS = frozenset({"pi", "ln", "dx", "dy", "dt"})
"""Two-letter words that may stand in a bare mathematical answer ("2pi"); any other word is prose."""
_ASSIGNED = re.compile(r"^\s*[a-zA-Z]\s*=\s*")
_SPACES = re.compile(r"\s+")
SEVERAL_STATED = "a boxed answer and a later stated answer differ"


def extract_answer(response: str, modes: tuple[str, ...] = MODES) -> Extraction:
    """The final answer in `response`, or the reason there is none. Never raises on any string.

    >>> extract_answer("so x = 2.\\n\\nThe answer is $\\\\boxed{\\\\frac{1}{2}}$.")
    Extraction(answer='\\\\frac{1}{2}', error=None, mode='boxed')
    >>> extract_answer("Answer: 3 or 4").error
    'hedged answer'
    >>> extract_answer("$\\\\boxed{3}$ or maybe $\\\\boxed{4}$").error
    'several boxed answers with different values'
    >>> extract_answer("<think>maybe 3</think>\\nFinal Answer: The final answer is $4$. I hope it is correct.").answer
    '4'
    """
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        raise ValueError(f"unknown extraction mode(s) {unknown}; expected a subset of {MODES}")
    text, refused = answer_segment(response)
    if refused is not None:
        return refused
    assert text is not None
    tagged = tagged_answer(text)
    if tagged is not None:
        if tagged.error is not None or not tagged.answer:
            return _checked(tagged)
        # a tag may wrap a box or an answer sentence: read its content by the same modes
        inner = _by_modes(tagged.answer, modes)
        return _checked(inner if inner is not None else Extraction(unwrap_math(tagged.answer), None, "tags"))
    found = _by_modes(text, modes)
    return _checked(found) if found is not None else Extraction(None, NO_ANSWER)


def _by_modes(text: str, modes: tuple[str, ...]) -> Extraction | None:
    for mode in modes:
        found = _EXTRACTORS[mode](text)
        if found is not None:
            return found
    return None


def _checked(found: Extraction) -> Extraction:
    """Refuse an empty, overlong or hedged answer, keeping its text for the logs."""
    if found.error is not None or found.answer is None:
        return found
    if not found.answer:
        return Extraction(found.answer, "empty answer", found.mode)
    if len(found.answer) > MAX_ANSWER_CHARS:
        return Extraction(
            None, f"answer has {len(found.answer)} characters, more than {MAX_ANSWER_CHARS}", found.mode
        )
    if is_hedged(found.answer):
        return Extraction(found.answer, HEDGED, found.mode)
    return found


def _same_value(first: str, second: str) -> bool:
    """Do two stated answers agree? The same exact value or the same normalised text ("x = 3"
    restates "3", "5 cm" restates "5"); other forms (`\\frac{\\pi}{3}` and `\\pi/3`) are asked
    of the verifier, so a restatement in another spelling is not taken for a second answer."""
    if _value_key(first) == _value_key(second):
        return True
    from rlvr.rewards.math.verify import verify_answer  # the verifier reads answers through here

    return verify_answer(first, second).correct


def _value_key(answer: str) -> object:
    answer = strip_units(_ASSIGNED.sub("", answer, count=1))
    value = parse_number(answer)
    return value if value is not None else _SPACES.sub("", normalize(answer))


def _boxed(text: str) -> Extraction | None:
    found = boxed_answer(text, _same_value)
    if found is None or found.error is not None or found.answer is None or found.end is None:
        return found
    later = answer_line(text[found.end :])
    if later is not None and later.answer and not _same_value(found.answer, later.answer):
        return Extraction(found.answer, SEVERAL_STATED, "boxed")
    return found


def _last_number(response: str) -> Extraction | None:
    closing = closing_math(response)
    if closing is not None:
        return closing
    lines = [line for line in response[-4_000:].splitlines() if line.strip()]
    last_line = strip_decoration(lines[-1].replace("$", "")).strip() if lines else ""
    several = _trailing_number_list(last_line)
    if several is not None:
        return Extraction(several, None, "last_number")  # "3 or 4", "3, 4": refused later
    whole = len(response.strip().splitlines()) == 1
    if whole and _looks_like_math(last_line) or parse_number(last_line[:64]) is not None:
        return Extraction(last_line, None, "last_number")  # a bare answer: "twelve", "9^9^9^9"
    # only the tail can hold the last number; bounding the scan keeps huge inputs cheap
    numbers = _LAST_NUMBER.findall(response[-4_000:])
    return Extraction(numbers[-1].strip(), None, "last_number") if numbers else None


def _trailing_number_list(line: str) -> str | None:
    """'3 or 4', '3, 4' or 'either 3 or 4' ending `line`, else None.

    Numbers are found left to right (one linear scan, thousands groups read as one number), then
    chained backwards from the end of the line through short separators. A single regex for the
    whole list backtracks exponentially on inputs like '1, 1, 1, ..., 1,'.
    """
    tail = line[-SEVERAL_NUMBERS_TAIL:]
    spans = [m.span() for m in _LAST_NUMBER.finditer(tail)]
    if len(spans) < 2 or spans[-1][1] != len(tail):
        return None
    first = len(spans) - 1
    while first > 0:
        gap = tail[spans[first - 1][1] : spans[first][0]]
        if len(gap) > MAX_LIST_GAP or not _LIST_GAP.fullmatch(gap):
            break
        first -= 1
    if first == len(spans) - 1:
        return None
    start = spans[first][0]
    either = _EITHER.search(tail[:start])
    return tail[either.start() if either else start :]


def _looks_like_math(line: str) -> bool:
    """A short line of symbols, digits and LaTeX commands, with no words of prose in it."""
    if len(line) > 200 or not re.search(r"[\d\\^+*/=()-]", line):
        return False
    words = re.findall(r"[a-zA-Z]{2,}", re.sub(r"\\[a-zA-Z]+", "", line))
    return all(word.lower() in _MATH_WORDS for word in words)


_EXTRACTORS = {"boxed": _boxed, "answer_line": answer_line, "last_number": _last_number}
