"""Normalising answers and comparing sets, intervals, tuples and lists of exact numbers.

`normalize` rewrites notation that means the same thing into one spelling (`\\left(`/`\\right)`
dropped, `\\dfrac` -> `\\frac`, `\\varnothing` -> `\\emptyset`, a one-variable inequality such
as `x < 3` -> the interval `(-\\infty, 3)`), which also helps math-verify: it misses some of
these equivalences on its own. `parse_structure` reads an answer whose every element is an exact
number into a small canonical value, and `compare_structures` decides equality where that
canonical form is unique; where it is not (unions of intervals, a pair that may be a point or an
interval), it answers None and leaves the decision to math-verify.
"""

from __future__ import annotations

import re
from collections import Counter
from fractions import Fraction
from typing import Union

from rlvr.rewards.math.numbers import exact_value

INF = float("inf")
Endpoint = Union[Fraction, float]
Structure = tuple  # (kind, payload...): see parse_structure

_SPACING = re.compile(
    # a matrix row break `\\` is matched first and kept: read as `\` + space it flattened a
    # matrix, so a matrix and its transpose compared equal
    r"(?P<row>\\\\)|\\(?:left|right|displaystyle|,|;|:|quad|qquad)(?![a-zA-Z])|\\?\$|\\ "
)
_THOUSANDS = re.compile(r"(?<=\d)(?:,\s*\\!|,?\{,\}|\\,|\\ |,\\,)(?=\d{3}(?!\d))")
"""`62,\\!980`, `1{,}000`, `1\\,000`: a thousands separator, written as the plain `62,980`."""
_NEGATIVE_SPACE = re.compile(r"\\!")
_REWRITES = (
    (re.compile(r"\\[dt]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\varnothing(?![a-zA-Z])|∅|\\\{\s*\\\}"), r"\\emptyset"),
    (re.compile(r"\\(?:le|leqslant)(?![a-zA-Z])|≤"), r"\\leq"),
    (re.compile(r"\\(?:ge|geqslant)(?![a-zA-Z])|≥"), r"\\geq"),
    (re.compile(r"\\lt(?![a-zA-Z])"), "<"),
    (re.compile(r"\\gt(?![a-zA-Z])"), ">"),
    (re.compile(r"\\(?:infty|inf)(?![a-zA-Z])|∞"), r"\\infty"),
    (re.compile(r"\s+"), " "),
    (re.compile(r"(?<=[(\[{]) | (?=[)\]}])"), ""),
)
_TRAILING_UNIT = re.compile(
    r"(?:\s*\\(?:text|mbox|mathrm|textrm|textnormal)\s*\{\s*[a-zA-Z][a-zA-Z.\s/^0-9]*\}"
    r"|\s*\^\s*\{?\\circ\}?|\s*°|\s+(?!pi\b)[a-zA-Z]{2,12}(?:\s*/\s*[a-zA-Z]{1,6}|\^[23])?\.?)\s*$"
)
_CURRENCY = re.compile(r"^\s*\\?\$\s*|^\s*(?:USD|EUR)\s+")
_TEXT_QUANTITY = re.compile(r"^\s*\\(?:text|mbox|mathrm|textrm)\s*\{\s*([-+]?[\d.,]{1,40}\s*[a-zA-Z][a-zA-Z.\s/^0-9]{0,30})\}\s*$")
"""A whole quantity set as text, `\\text{12 cm}`: read as `12 cm`."""
_RELATION = r"(<|>|\\leq|\\geq)"
_ONE_SIDED = re.compile(r"^\s*([a-zA-Z])\s*" + _RELATION + r"\s*([^<>=]+?)\s*$")
_ONE_SIDED_FLIPPED = re.compile(r"^\s*([^<>=a-zA-Z][^<>=]*?)\s*" + _RELATION + r"\s*([a-zA-Z])\s*$")
_TWO_SIDED = re.compile(
    r"^\s*([^<>=]+?)\s*" + _RELATION + r"\s*([a-zA-Z])\s*" + _RELATION + r"\s*([^<>=]+?)\s*$"
)
_FLIP = {"<": ">", ">": "<", "\\leq": "\\geq", "\\geq": "\\leq"}
_OPEN = {"(": ")", "[": "]", "{": "}"}


def normalize(text: str) -> str:
    """One spelling for notation that means the same thing (used for the cache key too).

    >>> normalize("\\\\left( \\\\dfrac12, 3 \\\\right)")
    '(\\\\frac12, 3)'
    >>> normalize("x \\\\le 3"), normalize("\\\\varnothing")
    ('(-\\\\infty, 3]', '\\\\emptyset')
    >>> normalize("62,\\\\!980"), normalize("1{,}000"), normalize("\\\\begin{pmatrix}1\\\\\\\\2\\\\end{pmatrix}")
    ('62,980', '1,000', '\\\\begin{pmatrix}1\\\\\\\\2\\\\end{pmatrix}')
    """
    text = _NEGATIVE_SPACE.sub("", _THOUSANDS.sub(",", text))
    text = _SPACING.sub(lambda m: m.group("row") or " ", text)
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = text.strip().rstrip(".").strip()
    return _inequality_as_interval(text) or text


def _inequality_as_interval(text: str) -> str | None:
    """`x < 3` -> `(-\\infty, 3)`, `3 \\geq x` -> `(-\\infty, 3]`, `1 < x \\leq 2` -> `(1, 2]`."""
    if "<" not in text and ">" not in text and "\\leq" not in text and "\\geq" not in text:
        return None
    two = _TWO_SIDED.match(text)
    if two is not None:
        low, first, _, second, high = two.groups()
        if first in ("<", "\\leq") and second in ("<", "\\leq"):
            return f"{'(' if first == '<' else '['}{low}, {high}{')' if second == '<' else ']'}"
        if first in (">", "\\geq") and second in (">", "\\geq"):
            return f"{'(' if second == '>' else '['}{high}, {low}{')' if first == '>' else ']'}"
        return None
    one = _ONE_SIDED.match(text)
    if one is None:
        flipped = _ONE_SIDED_FLIPPED.match(text)
        if flipped is None:
            return None
        bound, relation, _ = flipped.groups()
        relation = _FLIP[relation]
    else:
        _, relation, bound = one.groups()
        if re.search(r"[a-zA-Z]", bound.replace("\\infty", "").replace("\\frac", "").replace("\\sqrt", "")):
            return None  # `x < y` relates two unknowns: not an interval
    if relation in ("<", "\\leq"):
        return f"(-\\infty, {bound}{')' if relation == '<' else ']'}"
    return f"{'(' if relation == '>' else '['}{bound}, \\infty)"


def strip_units(text: str) -> str:
    """`5 cm` -> `5`, `5\\text{ m}` -> `5`, `30^\\circ` -> `30`, `\\$12` -> `12` (exact path only:
    the stripped text is used only when what remains is a number).

    >>> strip_units("\\\\text{12 cm}"), strip_units("\\\\$18.90")
    ('12', '18.90')
    """
    text = _CURRENCY.sub("", _TEXT_QUANTITY.sub(r"\1", text))
    for _ in range(3):
        stripped = _TRAILING_UNIT.sub("", text)
        if stripped == text or not stripped.strip():
            break
        text = stripped
    return text.strip()


def split_top_level(text: str, separator: str = ",") -> list[str]:
    """Split at separators outside any brackets; thousands groups ("1,234") stay whole."""
    parts, depth, start = [], 0, 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
        elif char == separator and depth == 0:
            following = text[index + 1 : index + 5]
            if re.match(r"\d{3}(?!\d)", following) and re.search(r"\d$", text[start:index]):
                continue  # a thousands separator, not a list separator
            parts.append(text[start:index])
            start = index + 1
    parts.append(text[start:])
    return [part.strip() for part in parts]


def _endpoint(text: str) -> Endpoint | None:
    text = text.strip()
    if text in ("\\infty", "+\\infty"):
        return INF
    if text == "-\\infty":
        return -INF
    return exact_value(text)


def parse_structure(text: str) -> Structure | None:
    """A canonical value for a normalised answer made of exact numbers, or None.

    Kinds: ("set", frozenset), ("list", Counter-as-sorted-tuple), ("interval", lo, lo_closed,
    hi, hi_closed), ("pair", a, b) for "(a, b)" with finite ends (point or open interval),
    ("tuple", brackets, values), ("union", frozenset of intervals).
    Like `exact_value`, an element past the number bounds raises `NumberTooLarge` and a division
    by zero `ZeroDivisionError`, so the caller can say why the answer earned nothing.
    """
    text = text.strip()
    if text == "\\emptyset":
        return ("set", frozenset())
    if "\\cup" in text:
        pieces = [parse_structure(piece) for piece in text.split("\\cup")]
        intervals = []
        for piece in pieces:
            if piece is None or piece[0] not in ("interval", "pair"):
                return None
            intervals.append(
                piece if piece[0] == "interval" else ("interval", piece[1], False, piece[2], False)
            )
        return ("union", frozenset(intervals))
    if text.startswith("\\{") and text.endswith("\\}"):
        values = [exact_value(item) for item in split_top_level(text[2:-2])]
        return None if any(v is None for v in values) else ("set", frozenset(values))
    if len(text) >= 2 and text[0] in "([" and text[-1] in ")]" and _matching_close(text) == len(text) - 1:
        items = split_top_level(text[1:-1])
        if len(items) == 2:
            low, high = _endpoint(items[0]), _endpoint(items[1])
            if low is None or high is None:
                return None
            if text[0] == "(" and text[-1] == ")" and abs(low) != INF and abs(high) != INF:
                return ("pair", low, high)
            # infinite ends are always open, whatever bracket was written
            return (
                "interval",
                low,
                text[0] == "[" and abs(low) != INF,
                high,
                text[-1] == "]" and abs(high) != INF,
            )
        values = [exact_value(item) for item in items]
        return None if any(v is None for v in values) else ("tuple", text[0] + text[-1], tuple(values))
    items = split_top_level(text)
    if len(items) >= 2:
        values = [exact_value(item) for item in items]
        if any(v is None for v in values):
            return None
        return ("list", tuple(sorted(Counter(values).items())))
    return None


def _matching_close(text: str) -> int:
    """Index of the bracket closing text[0] (so "(1,2) \\cup (3,4)" is not one pair)."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index
    return -1


def compare_structures(gold: Structure, answer: Structure) -> bool | None:
    """True/False where the canonical form decides; None where only math-verify can.

    >>> compare_structures(parse_structure("\\\\{1, 2\\\\}"), parse_structure("2, 1"))
    True
    >>> compare_structures(parse_structure("[1, 2]"), parse_structure("[1, 2)"))
    False
    """
    kinds = {gold[0], answer[0]}
    if kinds <= {"set", "list"}:
        return _elements(gold) == _elements(answer)
    if "set" in kinds and kinds & {"pair", "tuple", "interval"}:
        return False  # a set is not an ordered pair, a tuple or an interval
    if gold[0] == answer[0] and gold[0] in ("interval", "pair"):
        return gold == answer
    if gold[0] == answer[0] == "tuple" and gold[1] == answer[1]:
        return gold == answer
    if gold[0] == answer[0] == "union" and gold == answer:
        return True
    return None  # different kinds, or a form with several spellings: math-verify decides


def _elements(structure: Structure) -> frozenset:
    if structure[0] == "set":
        return structure[1]
    return frozenset(value for value, _ in structure[1])
