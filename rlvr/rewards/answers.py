"""The one reader of a model's final answer: reasoning traces, answer tags, boxes, answer lines.

Every family, the math reward and the integrations find the answer through these functions, so
one response means the same answer everywhere. The conventions real models emit, in the order
they are tried (the first that applies decides):

1. `final_segment`: a reasoning trace `<think>...</think>` is skipped (only the text after the
   last `</think>` counts; a `<think>` never closed is a trace cut short: no answer);
2. `tagged_answer`: the last `<answer>...</answer>` (never closed: no answer);
3. `boxed_answer`: `\\boxed{...}` / `\\fbox{...}`; nested boxes are one box, the same value boxed
   twice is a restatement, two different values are answer hacking (an error);
4. `answer_line`: the last "Answer: X", "The (final) answer is X", `**Answer:** X`, Minerva's
   "Final Answer: The final answer is $X$. I hope it is correct." (X, not the sentence) and
   GSM8K's "#### X";
5. `closing_math`: a displayed formula `\\[X\\]` / `$$X$$` that ends the response, else the last
   inline `$X$` of its last line.
Math delimiters (`$`, `\\(`, `\\[`), markdown bold, quotes and a final full stop are not part of
an answer. Every scan is linear and bounded: any string is read in time, never raised on.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rlvr.rewards.answer_types import (
    HEDGED,
    MAX_ANSWER_CHARS,
    MAX_BOXES,
    MAX_BRACE_DEPTH,
    MAX_RESPONSE_CHARS,
    NO_ANSWER,
    SEVERAL_BOXED,
    UNCLOSED_TAG,
    UNCLOSED_THINK,
    Extraction,
)
from rlvr.rewards.boxes import box_content, boxed_answer, unbox

__all__ = [
    "HEDGED",
    "MAX_ANSWER_CHARS",
    "MAX_BOXES",
    "MAX_BRACE_DEPTH",
    "MAX_RESPONSE_CHARS",
    "NO_ANSWER",
    "SEVERAL_BOXED",
    "UNCLOSED_TAG",
    "UNCLOSED_THINK",
    "Extraction",
    "answer_line",
    "answer_segment",
    "box_content",
    "boxed_answer",
    "check_response",
    "clean_text",
    "closing_math",
    "final_segment",
    "find_answer",
    "is_hedged",
    "last_line",
    "strip_decoration",
    "tagged_answer",
    "unbox",
    "unwrap_math",
]

_SURROGATES = re.compile("[\ud800-\udfff]")
_THINK_OPEN = re.compile(r"<think>", re.IGNORECASE)
_THINK_CLOSE = re.compile(r"</think>", re.IGNORECASE)
_TAG_OPEN = re.compile(r"<answer>", re.IGNORECASE)
_TAG_CLOSE = re.compile(r"</answer>", re.IGNORECASE)
_HEDGE = re.compile(r"\b(?:or|either)\b|\\(?:lor|vee)(?![a-zA-Z])", re.IGNORECASE)
_ANSWER_LINE = re.compile(
    # `\**` lets markdown bold sit between the label and its colon ("**Final answer**: 12");
    # [ \t] rather than \s where a line start is anchored: `^\s*` would run across every
    # following blank line at each of them (quadratic on a long run of newlines)
    r"(?:final\s+answer|answer)\**[ \t]*(?:is\b[ \t]*:?|:|=)[ \t]*\**[ \t]*(?P<a>[^\n]+)"
    r"|^[ \t]*####[ \t]*(?P<g>[^\n]+)",
    re.IGNORECASE | re.MULTILINE,
)
_LABEL = re.compile(
    r"^(?:the\s+)?(?:final\s+)?answer\s*(?:is\b\s*:?|:)\s*|^(?:therefore|thus|so|hence),?\s+", re.IGNORECASE
)
_BLANK_LINE = re.compile(r"\n[ \t]*\n")
_SENTENCE_END = re.compile(r"\.\s+(?=[A-Z])|\.\s*$")
_HOPE = re.compile(r"\bI\s+hope\s+it\s+is\s+correct\.?$", re.IGNORECASE)
"""Minerva's courtesy sentence; no leading whitespace pattern, which would be quadratic on a run of spaces."""
_MATH_SPAN = re.compile(r"\$\$(?P<d>[^$]{1,2000})\$\$|\$(?P<i>[^$]{1,2000})\$|\\\((?P<p>.{1,1000}?)\\\)")
_DISPLAY_OPEN = "\\["
_DISPLAY_CLOSE = "\\]"
_LEADING_DECORATION = frozenset("*_`\"'")
_TRAILING_DECORATION = frozenset("*_`\"'.")


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


def strip_decoration(text: str, leading: str = "", trailing: str = "") -> str:
    """`text` without the markdown and quotes around it (`**12**.` -> `12`), and without the
    characters in `leading` / `trailing` at those ends. A plain scan from
    both ends: the regex `[\\\\s*]+$` it replaces is quadratic on a long run of spaces that does not
    end the text (99,000 spaces then "/" took 46 s).

    >>> strip_decoration(' **"12"**. ')
    '12'
    """
    lead, trail = _LEADING_DECORATION.union(leading), _TRAILING_DECORATION.union(trailing)
    start, end = 0, len(text)
    while start < end and (text[start].isspace() or text[start] in lead):
        start += 1
    while end > start and (text[end - 1].isspace() or text[end - 1] in trail):
        end -= 1
    return text[start:end]


def check_response(response: object) -> tuple[str | None, str | None]:
    """(the response, cleaned, None) or (None, why it cannot be read at all)."""
    if not isinstance(response, str):
        return None, f"response must be a string, got {type(response).__name__}"
    if len(response) > MAX_RESPONSE_CHARS:
        return None, f"response has {len(response)} characters, more than the limit {MAX_RESPONSE_CHARS}"
    response = clean_text(response)
    if not response.strip():
        return None, "empty response"
    return response, None


def final_segment(response: str) -> tuple[str | None, str | None]:
    """The part of `response` that may hold the final answer: after the last `</think>`.

    >>> final_segment("<think>maybe \\\\boxed{3}</think> It is \\\\boxed{4}.")
    (' It is \\\\boxed{4}.', None)
    >>> final_segment("<think>so far 3")[1]
    'the reasoning (<think>) never ended, so there is no final answer'
    """
    close = None
    for close in _THINK_CLOSE.finditer(response):  # noqa: B007 - only the last one is wanted
        pass
    if close is not None:
        return response[close.end() :], None
    if _THINK_OPEN.search(response):
        return None, UNCLOSED_THINK
    return response, None


def tagged_answer(text: str) -> Extraction | None:
    """The content of the last `<answer>...</answer>`, None without tags, an error when the last
    `<answer>` is never closed.

    >>> tagged_answer("<answer> 12 </answer>"), tagged_answer("<answer>12").error
    (Extraction(answer='12', error=None, mode='tags'), 'an <answer> tag is never closed')
    """
    opening = None
    for opening in _TAG_OPEN.finditer(text):  # noqa: B007 - only the last one is wanted
        pass
    if opening is None:
        return None
    close = _TAG_CLOSE.search(text, opening.end())
    if close is None:
        return Extraction(None, UNCLOSED_TAG, "tags")
    return Extraction(text[opening.end() : close.start()].strip(), None, "tags")


def unwrap_math(text: str) -> str:
    """The formula of a stated answer: Minerva's courtesy sentence, labels, `$...$`, `\\(...\\)`,
    `\\[...\\]` and markdown removed; the first formula of a sentence that holds one.

    >>> unwrap_math("The final answer is $\\\\frac{1}{2}$. I hope it is correct.")
    '\\\\frac{1}{2}'
    >>> unwrap_math("\\\\[12\\\\]"), unwrap_math("**42**."), unwrap_math("12 apples. We are done.")
    ('12', '42', '12 apples')
    """
    if len(text) > 2 * MAX_ANSWER_CHARS:
        return text  # refused for its length by the caller; no scan below sees it
    text = strip_decoration(text.replace("\\$", "\x00"))
    text = strip_decoration(_HOPE.sub("", text))
    for _ in range(3):  # "Final Answer: The final answer is ..." carries two labels
        labelled = _LABEL.sub("", text, count=1)
        if labelled == text:
            break
        text = strip_decoration(labelled)
    text = text.strip()
    if text.startswith(_DISPLAY_OPEN):
        close = text.find(_DISPLAY_CLOSE, 2)
        if close > 0:
            return _restore_dollars(strip_decoration(text[2:close]))
    sentence = _SENTENCE_END.search(text)
    first_sentence = text[: sentence.start()] if sentence is not None else text
    spans = list(_MATH_SPAN.finditer(first_sentence))
    if len(spans) > 1 and is_hedged(_MATH_SPAN.sub(" ", first_sentence)):
        # "$3$ or $4$": keep the alternatives together so the hedge is refused, not half read
        return _restore_dollars(strip_decoration(_MATH_SPAN.sub(_span_text, first_sentence)))
    span = _MATH_SPAN.search(text)
    if span is not None and (span.start() == 0 or "$" in text or "\\(" in text):
        return _restore_dollars(strip_decoration(next(g for g in span.groups() if g is not None)))
    sentence = _SENTENCE_END.search(text)
    if sentence is not None:
        text = text[: sentence.start()]
    return _restore_dollars(strip_decoration(text))


def _span_text(span: re.Match) -> str:
    return next(group for group in span.groups() if group is not None)


def _restore_dollars(text: str) -> str:
    return text.replace("\x00", "\\$").strip()


def answer_line(text: str) -> Extraction | None:
    """The answer stated on the last "Answer: X" / "The answer is X" / "#### X" line.

    >>> answer_line("Final Answer: The final answer is $62,\\\\!980$. I hope it is correct.").answer
    '62,\\\\!980'
    >>> answer_line("**Final answer**: $x=3$").answer, answer_line("#### 18").answer
    ('x=3', '18')
    """
    last = None
    for last in _ANSWER_LINE.finditer(text):  # noqa: B007 - only the last match is wanted
        pass
    if last is None:
        return None
    group = "a" if last.group("a") is not None else "g"
    stated = _whole_formula(text, last.start(group), last.group(group))
    return Extraction(unwrap_math(stated), None, "answer_line")


def _whole_formula(text: str, start: int, first_line: str) -> str:
    """The stated answer, continued over the next lines while a formula it opens is still open
    (a matrix written over several lines), up to a blank line; bounded."""
    if _balanced(first_line):
        return first_line
    block = text[start : start + 2 * MAX_ANSWER_CHARS]
    blank = _BLANK_LINE.search(block)
    if blank is not None:
        block = block[: blank.start()]
    lines = block.split("\n")
    for count in range(2, len(lines) + 1):
        candidate = "\n".join(lines[:count])
        if _balanced(candidate):
            return candidate
    return block


def _balanced(text: str) -> bool:
    """Is every formula opened in `text` also closed (environments, `\\(`, `\\[`, `$`)?"""
    return (
        text.count("\\begin{") <= text.count("\\end{")
        and text.count("\\(") <= text.count("\\)")
        and text.count("\\[") <= text.count("\\]")
        and text.replace("\\$", "").count("$") % 2 == 0
    )


def closing_math(text: str) -> Extraction | None:
    """A displayed formula that ends the text, else the last inline formula of its last line.
    A last line offering two different formulas with "or" is a hedge.

    >>> closing_math("Therefore the sum is\\n\\\\[ 12 \\\\]").answer, closing_math("So the area is $24$.").answer
    ('12', '24')
    >>> closing_math("It is $3$ or $4$.").error
    'hedged answer'
    """
    tail = strip_decoration(text[-(MAX_ANSWER_CHARS + 8) :])
    if tail.endswith(_DISPLAY_CLOSE):
        opening = tail.rfind(_DISPLAY_OPEN)
        if opening >= 0:
            return Extraction(strip_decoration(tail[opening + 2 : -2]), None, "closing_math")
    if tail.endswith("$$"):
        opening = tail.rfind("$$", 0, len(tail) - 2)
        if opening >= 0:
            return Extraction(strip_decoration(tail[opening + 2 : -2]), None, "closing_math")
    lines = [line for line in tail.splitlines() if line.strip()]
    if not lines:
        return None
    if lines[-1].replace("\\$", "").count("$") % 2:
        return None  # a formula opened and never closed: the output was cut short
    spans = [_span_text(m).strip() for m in _MATH_SPAN.finditer(lines[-1])]
    spans = [span for span in spans if span]
    if not spans:
        return None
    if len(set(spans)) > 1 and is_hedged(_MATH_SPAN.sub(" ", lines[-1])):
        return Extraction(lines[-1].strip(), HEDGED, "closing_math")
    return Extraction(strip_decoration(spans[-1]), None, "closing_math")


def answer_segment(response: object) -> tuple[str | None, Extraction | None]:
    """(the text that may hold the final answer, None), or (None, why there is none): the checks
    of `check_response`, then `final_segment`. Every reader starts here."""
    text, error = check_response(response)
    if error is not None:
        return None, Extraction(None, error)
    assert text is not None
    text, error = final_segment(text)
    if error is not None:
        return None, Extraction(None, error, "think")
    return text, None


def last_line(text: str) -> Extraction | None:
    """The last non-empty line: the answer of families whose answer is a whole line (a plan, a
    grid row, an expression) when no tag or box marks it."""
    stripped = text.rstrip()
    if not stripped:
        return None
    return Extraction(stripped[stripped.rfind("\n") + 1 :].strip(), None, "last_line")


def find_answer(
    response: object,
    *,
    fallbacks: tuple[Callable[[str], Extraction | None], ...] = (last_line,),
    same_value: Callable[[str, str], bool] | None = None,
    max_chars: int = MAX_ANSWER_CHARS,
) -> Extraction:
    """The final answer by the conventions of the module doc: after a reasoning trace, the last
    `<answer>` tag, else the boxes, else each of `fallbacks` in turn (by default the last line).

    >>> find_answer("<think>3?</think>\\nSo: \\\\boxed{4}").answer, find_answer("steps\\n(1+2)*3").answer
    ('4', '(1+2)*3')
    >>> find_answer("<answer>7").error, find_answer("  ").error
    ('an <answer> tag is never closed', 'empty response')
    """
    text, refused = answer_segment(response)
    if refused is not None:
        return refused
    assert text is not None
    found = tagged_answer(text) or boxed_answer(text, same_value)
    for fallback in fallbacks:
        if found is not None:
            break
        found = fallback(text)
    if found is None:
        return Extraction(None, NO_ANSWER)
    if found.error is None and found.answer is not None:
        if not found.answer.strip():
            return Extraction(None, "empty answer", found.mode)
        if len(found.answer) > max_chars:
            return Extraction(None, f"answer has {len(found.answer)} characters, more than {max_chars}", found.mode)
    return found
