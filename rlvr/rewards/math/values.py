"""Reading an answer whose gold is a number: the single-value check, and the check of a list of
extraction modes, shared by every env that asks for a number (Math, RandomCalc, Debate).

An answer to a question whose gold is a number must be that number, not an expression: the
verifiers (`parse_number`, math-verify) evaluate expressions, so boxing the question's own
"3/4 + 5/6" or "\\gcd(84, 126)" would otherwise score as correct. `read_value` tells the two apart.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from fractions import Fraction

from rlvr.rewards.math.extract import MODES
from rlvr.rewards.math.numbers import parse_number


def check_extraction(extraction: Sequence[str]) -> tuple[str, ...]:
    """A non-empty tuple of known, distinct extraction modes."""
    modes = (extraction,) if isinstance(extraction, str) else tuple(extraction)
    bad = [mode for mode in modes if mode not in MODES]
    if not modes or bad or len(set(modes)) != len(modes):
        raise ValueError(f"extraction expects distinct modes from {MODES}, got {extraction!r}")
    return modes


def read_value(answer: str) -> tuple[Fraction | None, str | None]:
    r"""Read an answer that must be a single value, not an expression to be evaluated.

    Returns (value, None) for a plain number (integer, decimal, fraction a/b or \frac{a}{b},
    repeating decimal), (None, reason) for an expression, and (None, None) for other forms,
    which callers hand to `verify_answer`. Expressions are refused because every checker here
    evaluates them: boxing the question's own expression would otherwise score as correct.

    >>> read_value("-7/3"), read_value("\\frac{7}{3}")
    ((Fraction(-7, 3), None), (Fraction(7, 3), None))
    >>> read_value("3 + 4")[1]
    "expected a single value (an integer, a decimal or a fraction a/b), got the expression '3 + 4'"
    >>> read_value("x = 7/3")
    (None, None)
    """
    compact = _NOISE.sub("", answer).replace("\u2212", "-")
    if _VALUE_FORM.fullmatch(compact):
        value = parse_number(compact)
        if value is not None:
            return value, None
    if _OPERATION.search(compact) or len(_NUMERAL.findall(compact)) > 2:
        return None, (
            "expected a single value (an integer, a decimal or a fraction a/b), "
            f"got the expression {answer[:200]!r}"
        )
    return None, None


# Layout-only LaTeX and spacing, removed before matching the value forms.
_NOISE = re.compile(r"\s+|\$|\\left(?![a-zA-Z])|\\right(?![a-zA-Z])|\\[!,;: ]|\{,\}")
_VALUE_FORM = re.compile(
    r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?(?:/\d+)?"  # 12, 1,234, -1.5, 7/3
    r"|[-+]?\.\d+"  # .5
    r"|[-+]?\\[dt]?frac\{[-+]?\d+\}\{\d+\}"  # \frac{7}{3}
    r"|[-+]?\d*\.\d*\\(?:overline|bar)\{\d+\}"  # 0.\overline{3}
)
# An operation between operands: a binary operator sign, or a minus after an operand.
_OPERATION = re.compile(r"[+*^×÷·]|\\(?:cdot|times|div|sqrt|gcd|lcm|pmod|mod|binom)(?![a-zA-Z])|(?<=[\d)}\]])-")
_NUMERAL = re.compile(r"\d+(?:[.,]\d+)*")
