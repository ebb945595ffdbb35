"""Finding the final answer in a model's response, and refusing answers that game the grader.

Modes, tried in the order given:
- "boxed": the last `\\boxed{...}` (or `\\fbox{...}`), braces balanced, depth and length bounded.
  Several boxes with different values are answer hacking and earn an error.
- "answer_line": the last "Answer: X", "The final answer is X" or GSM8K-style "#### X".
- "last_number": when the last line ends in numbers joined by commas/"or"/"and", those are
  taken together (so "3 or 4" and "3, 4" are seen as the hedge/list they are); a last line that
  is a number on its own ("twelve", "\\frac{1}{2}") is taken whole; otherwise the last number.

An extracted answer that hedges ("3 or 4", "either 3 or 4") gets the error "hedged answer";
the answer text is kept so that logs show what was refused. Every scan is linear and bounded.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from rlvr.rewards.math.numbers import parse_number
from rlvr.rewards.math.structure import normalize

MAX_RESPONSE_CHARS = 100_000
"""Responses longer than this are refused outright (about 25k tokens)."""
MAX_ANSWER_CHARS = 1_000
"""An extracted answer longer than this is refused."""
MAX_BRACE_DEPTH = 50
MAX_BOXES = 64
MODES = ("boxed", "answer_line", "last_number")

NO_ANSWER = "no answer found"
SEVERAL_BOXED = "several boxed answers with different values"
HEDGED = "hedged answer"


@dataclass(frozen=True)
class Extraction:
    """What `extract_answer` found: the answer text, or the reason there is none to score."""

    answer: str | None
    error: str | None = None
    mode: str | None = None
    """The mode that produced the answer ("boxed", "answer_line", "last_number")."""


_BOX_START = re.compile(r"\\(?:boxed|fbox)\s*")
_ANSWER_LINE = re.compile(
    # [ \t] rather than \s where a line start is anchored: `^\s*` would run across every
    # following blank line at each of them (quadratic on a long run of newlines)
    r"(?:final\s+answer|answer)\s*(?:is\s*:?|:|=)\s*(?P<a>[^\n]+)|^[ \t]*####[ \t]*(?P<g>[^\n]+)",
    re.IGNORECASE | re.MULTILINE,
)
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
_HEDGE = re.compile(r"\b(?:or|either)\b|\\(?:lor|vee)(?![a-zA-Z])", re.IGNORECASE)
_SURROGATES = re.compile("[\ud800-\udfff]")
_LEADING_DECORATION = frozenset("*_`\"'")
_TRAILING_DECORATION = frozenset("*_`\"'.")


def strip_decoration(text: str) -> str:
    """`text` without the markdown and quotes around it (`**12**.` -> `12`). A plain scan from
    both ends: the regex `[\\s*]+$` it replaces is quadratic on a long run of spaces that does not
    end the text (99,000 spaces then "/" took 46 s).

    >>> strip_decoration(' **"12"**. ')
    '12'
    """
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in _LEADING_DECORATION):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in _TRAILING_DECORATION):
        end -= 1
    return text[start:end]


def clean_text(text: str) -> str:
    """Lone surrogates (unencodable halves of UTF-16 pairs) become U+FFFD, so no later step
    trips over text that cannot be encoded."""
    return _SURROGATES.sub("\ufffd", text)


def is_hedged(answer: str) -> bool:
    """Does the answer offer alternatives ("3 or 4", "either 3 or 4")?

    >>> is_hedged("3 or 4"), is_hedged("\\\\text{either } 3 \\\\text{ or } 4"), is_hedged("\\\\frac{3}{4}")
    (True, True, False)
    """
    return _HEDGE.search(answer) is not None


def extract_answer(response: str, modes: tuple[str, ...] = MODES) -> Extraction:
    """The final answer in `response`, or the reason there is none. Never raises on any string.

    >>> extract_answer("so x = 2.\\n\\nThe answer is $\\\\boxed{\\\\frac{1}{2}}$.")
    Extraction(answer='\\\\frac{1}{2}', error=None, mode='boxed')
    >>> extract_answer("Answer: 3 or 4").error
    'hedged answer'
    >>> extract_answer("$\\\\boxed{3}$ or maybe $\\\\boxed{4}$").error
    'several boxed answers with different values'
    """
    unknown = [mode for mode in modes if mode not in MODES]
    if unknown:
        raise ValueError(f"unknown extraction mode(s) {unknown}; expected a subset of {MODES}")
    if not isinstance(response, str):
        return Extraction(None, f"response must be a string, got {type(response).__name__}")
    if len(response) > MAX_RESPONSE_CHARS:
        return Extraction(
            None, f"response has {len(response)} characters, more than the limit {MAX_RESPONSE_CHARS}"
        )
    response = clean_text(response)
    if not response.strip():
        return Extraction(None, "empty response")
    for mode in modes:
        found = _EXTRACTORS[mode](response)
        if found is None:
            continue
        if found.error is None and found.answer is not None:
            if not found.answer:
                return Extraction(found.answer, "empty answer", mode)
            if len(found.answer) > MAX_ANSWER_CHARS:
                return Extraction(
                    None, f"answer has {len(found.answer)} characters, more than {MAX_ANSWER_CHARS}", mode
                )
            if is_hedged(found.answer):
                return Extraction(found.answer, HEDGED, mode)
        return Extraction(found.answer, found.error, mode)
    return Extraction(None, NO_ANSWER)


def _boxed(response: str) -> Extraction | None:
    boxes: list[str] = []
    for start in _BOX_START.finditer(response):
        if len(boxes) >= MAX_BOXES:
            break
        content, error = box_content(response, start.end())
        if error is not None:
            return Extraction(None, error)
        if content is not None:
            boxes.append(content.strip())
    if not boxes:
        return None
    distinct = {_value_key(box) for box in boxes}
    if len(distinct) > 1:
        return Extraction(boxes[-1], SEVERAL_BOXED)
    return Extraction(boxes[-1])


def box_content(text: str, pos: int) -> tuple[str | None, str | None]:
    """The braced group starting at `pos` (or one bare token, as in `\\boxed 5`), or why it cannot
    be read (unclosed, nested too deep, too long). Bounded: it reads at most MAX_ANSWER_CHARS.

    >>> box_content("x{a{b}c}y", 1), box_content("x{a", 1)[0]
    (('a{b}c', None), None)
    """
    if pos >= len(text):
        return None, None
    if text[pos] != "{":
        token = re.match(r"[^\s$]{1,64}", text[pos:])
        return (token.group(0) if token else None), None
    depth = 0
    limit = min(len(text), pos + MAX_ANSWER_CHARS + 2)
    index = pos
    while index < limit:
        char = text[index]
        if char == "\\":
            index += 2  # an escaped brace (\{ or \}) does not count
            continue
        if char == "{":
            depth += 1
            if depth > MAX_BRACE_DEPTH:
                return None, f"\\boxed{{}} is nested deeper than {MAX_BRACE_DEPTH} braces"
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1 : index], None
        index += 1
    if limit < len(text):
        return None, f"\\boxed{{}} content is longer than {MAX_ANSWER_CHARS} characters"
    return None, "\\boxed{ is never closed"


def _value_key(answer: str) -> object:
    """Two boxes agree when they have the same exact value, or else the same normalised text."""
    value = parse_number(answer)
    return value if value is not None else normalize(answer)


def _answer_line(response: str) -> Extraction | None:
    last = None
    for last in _ANSWER_LINE.finditer(response):  # noqa: B007 - only the last match is wanted
        pass
    if last is None:
        return None
    text = last.group("a") if last.group("a") is not None else last.group("g")
    text = strip_decoration(text.replace("\\$", "")).strip()  # "\$12" is a price, not math mode
    if text.startswith("$") and text.count("$") >= 2:
        text = text[1 : text.index("$", 1)]  # the math of "$x = 3$ because ..."
    return Extraction(strip_decoration(text.replace("$", "")).strip())


def _last_number(response: str) -> Extraction | None:
    lines = [line for line in response.splitlines() if line.strip()]
    last_line = strip_decoration(lines[-1].replace("$", "")).strip() if lines else ""
    several = _trailing_number_list(last_line)
    if several is not None:
        return Extraction(several)  # "3 or 4", "3, 4": a hedge or a list, refused later
    if len(lines) == 1 and _looks_like_math(last_line) or parse_number(last_line[:64]) is not None:
        return Extraction(last_line)  # a bare answer: "twelve", "\\frac{1}{0}", "9^9^9^9"
    # only the tail can hold the last number; bounding the scan keeps huge inputs cheap
    numbers = _LAST_NUMBER.findall(response[-4_000:])
    return Extraction(numbers[-1].strip()) if numbers else None


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


_EXTRACTORS = {"boxed": _boxed, "answer_line": _answer_line, "last_number": _last_number}
