"""Reading `\\boxed{...}` / `\\fbox{...}` answers: balanced braces, nesting and length bounded.

Part of the one answer reader (`rlvr.rewards.answers`, which re-exports these): nested boxes are
one box, the same value boxed twice is a restatement, two different values are an error.
"""

from __future__ import annotations

import re
from collections.abc import Callable

from rlvr.rewards.answer_types import MAX_ANSWER_CHARS, MAX_BOXES, MAX_BRACE_DEPTH, SEVERAL_BOXED, Extraction

BOX_START = re.compile(r"\\(?:boxed|fbox)\s*")


def box_content(text: str, pos: int) -> tuple[str | None, str | None]:
    """The braced group starting at `pos` (or one bare token, as in `\\boxed 5`), or why it cannot
    be read (unclosed, nested too deep, too long). Bounded: it reads at most MAX_ANSWER_CHARS.

    >>> box_content("x{a{b}c}y", 1), box_content("x{a", 1)[0]
    (('a{b}c', None), None)
    """
    content, _, error = _box_span(text, pos)
    return content, error


def _box_span(text: str, pos: int) -> tuple[str | None, int, str | None]:
    """(content, index just past the group, error) for the group starting at `pos`."""
    if pos >= len(text):
        return None, pos, None
    if text[pos] != "{":
        token = re.match(r"[^\s$]{1,64}", text[pos:])
        return (token.group(0), pos + token.end(), None) if token else (None, pos, None)
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
                return None, index, f"\\boxed{{}} is nested deeper than {MAX_BRACE_DEPTH} braces"
        elif char == "}":
            depth -= 1
            if depth == 0:
                return text[pos + 1 : index], index + 1, None
        index += 1
    if limit < len(text):
        return None, index, f"\\boxed{{}} content is longer than {MAX_ANSWER_CHARS} characters"
    return None, index, "\\boxed{ is never closed"


def unbox(content: str) -> str:
    """`\\boxed{\\boxed{4}}` is one box around 4: remove boxes that wrap the whole content.

    >>> unbox("\\\\boxed{\\\\fbox{4}}"), unbox("\\\\boxed{1} + \\\\boxed{2}")
    ('4', '\\\\boxed{1} + \\\\boxed{2}')
    """
    for _ in range(MAX_BRACE_DEPTH):
        start = BOX_START.match(content.strip())
        if start is None:
            break
        stripped = content.strip()
        inner, end, error = _box_span(stripped, start.end())
        if error is not None or inner is None or end != len(stripped):
            break
        content = inner
    return content.strip()


def boxed_answer(text: str, same_value: Callable[[str, str], bool] | None = None) -> Extraction | None:
    """The last box's content, None when there is no box, or an error: an unreadable box, or
    boxes with different values (`same_value` decides; by default the same text).

    >>> boxed_answer("\\\\boxed{\\\\boxed{4}}").answer, boxed_answer("\\\\boxed{3} or \\\\boxed{4}").error
    ('4', 'several boxed answers with different values')
    """
    boxes: list[str] = []
    pos = 0
    while len(boxes) < MAX_BOXES:
        start = BOX_START.search(text, pos)
        if start is None:
            break
        content, end, error = _box_span(text, start.end())
        if error is not None:
            return Extraction(None, error, "boxed")
        pos = max(end, start.end())  # boxes inside this one belong to it
        if content is not None and unbox(content):
            boxes.append(unbox(content))
    if not boxes:
        return None
    same = same_value or (lambda a, b: a == b)
    if any(not same(box, boxes[-1]) for box in boxes[:-1]):
        return Extraction(boxes[-1], SEVERAL_BOXED, "boxed", pos)
    return Extraction(boxes[-1], None, "boxed", pos)
