"""Reading and checking an expression answer for "use each number once" puzzles.

Where the answer is found (the one answer reader, `rlvr.rewards.answers`), after a reasoning
trace `<think>...</think>` if there is one, first rule that applies:
1. the last `<answer>...</answer>` block (an `<answer>` never closed is an error);
2. the last `\\boxed{...}` (several boxes with different contents are an error);
3. the last non-empty line of the response.

The answer text is then normalised: a leading label ("Answer:", "The final answer is"), `$`,
`\\left`/`\\right` and spaces are dropped; `×`, `·`, `\\times`, `\\cdot` and `x` between
operands are read as `*`; `÷` and `\\div` as `/`; `\\frac{a}{b}` as `(a)/(b)`; `−` as `-`;
`[`/`]` and `{`/`}` as parentheses. One trailing `= N` is allowed ("(1+2)*3 = 9"):
the expression left of it is what counts, and N must equal the expression's exact value (a
false claim makes the answer wrong, though still well-formed). What remains must be an
arithmetic expression over non-negative integer literals with `+ - * /` and parentheses, no unary
minus, read and evaluated exactly by the bounded grammar of `grammar.py`. Nothing is ever `eval`ed.

`check_expression` then applies the rules: every given number used exactly once (as written
literals, so `12` is twelve, never one and two) and the exact value equal to the target. Its
components: "format" (1 when an expression was read), "uses_numbers", "correct". An operator
the problem does not allow makes the answer wrong (still well-formed).

>>> check_expression("<answer>8/(3-8/3)</answer>", (3, 3, 8, 8), 24).components["correct"]
1.0
>>> check_expression("1+2+3+4", (1, 2, 3, 4), 24).error
'the expression equals 10, not the target 24'
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from fractions import Fraction

from rlvr.core.formatting import format_number
from rlvr.envs.arithmetic.grammar import MAX_EXPRESSION_CHARS, evaluate_cached
from rlvr.rewards.answers import find_answer

_REWRITES = (
    (re.compile(r"\\(?:left|right)(?![a-zA-Z])|\\[,;! ]|\$"), ""),
    (re.compile(r"\\(?:times|cdot|ast)(?![a-zA-Z])|[×·∗]"), "*"),
    (re.compile(r"\\div(?![a-zA-Z])|÷"), "/"),
    (re.compile(r"[−–]"), "-"),
    (re.compile(r"[\[{]"), "("),
    (re.compile(r"[\]}]"), ")"),
)
_FRACTION = re.compile(r"\\[dt]?frac\{([^{}]*)\}\{([^{}]*)\}")
_MAX_FRACTIONS = 16
_LABEL = re.compile(r"^\s*(?:the\s+)?(?:final\s+)?(?:answer|expression|solution)\s*(?:is\b)?\s*:?\s*", re.I)
_SPACED_DIGITS = re.compile(r"(?<=\d)\s+(?=\d)")
_LETTER_TIMES = re.compile(r"(?<=[\d)])\s*[xX]\s*(?=[\d(])")
_CLAIM = re.compile(r"^(?P<expression>[^=]*)=(?P<claim>\d{1,30}(?:/\d{1,30})?)$")


@dataclass(frozen=True)
class Reading:
    """What `read_expression` found: the expression and its exact value, or why there is none."""

    expression: str | None
    value: Fraction | None = None
    literals: tuple[int, ...] = ()
    claim: Fraction | None = None
    error: str | None = None


def answer_text(response: str) -> tuple[str | None, str | None]:
    """(answer text, None) or (None, reason), by the rules of the module doc (the one answer
    reader, `rlvr.rewards.answers.find_answer`)."""
    found = find_answer(response)
    if found.answer is None or found.error is not None:
        return None, found.error or "no answer found"
    return found.answer, None


def normalise(text: str) -> str:
    """One spelling for an expression: ASCII operators, round parentheses, no spaces.

    >>> normalise("$(1 + 2) \\\\times 3 = 9$")
    '(1+2)*3=9'
    >>> normalise("[6 ÷ 2] x 4")
    '(6/2)*4'
    """
    text = _LABEL.sub("", text, count=1)
    for _ in range(_MAX_FRACTIONS):  # innermost first; the bound keeps adversarial nesting cheap
        text, replaced = _FRACTION.subn(r"(\1)/(\2)", text)
        if not replaced:
            break
    for pattern, replacement in _REWRITES:
        text = pattern.sub(replacement, text)
    text = _LETTER_TIMES.sub("*", text)
    # "1 2" is two numbers with no operator, not twelve: keep a mark the grammar rejects.
    text = _SPACED_DIGITS.sub("\u2423", text)
    text = "".join(text.split())
    return text.rstrip(".")


def read_expression(response: str) -> Reading:
    """Find, normalise and evaluate the answer expression; never raises."""
    text, error = answer_text(response)
    if error is not None or text is None:
        return Reading(None, error=error or "no answer found")
    if len(text) > MAX_EXPRESSION_CHARS:
        return Reading(None, error=f"answer has {len(text)} characters, more than {MAX_EXPRESSION_CHARS}")
    expression = normalise(text)
    if not expression:
        return Reading(None, error="empty answer")
    claim = None
    if "=" in expression:
        match = _CLAIM.match(expression)
        if match is None:
            return Reading(expression, error=f"expected an expression, optionally followed by one '= number', "
                           f"got {expression[:80]!r}")
        expression = match["expression"]
        try:
            claim = Fraction(match["claim"])
        except ZeroDivisionError:
            return Reading(expression, error="the claimed result has a zero denominator")
    if "\u2423" in expression:
        return Reading(expression, error="two numbers are separated by a space, with no operator between them")
    value, literals, reason = evaluate_cached(expression)
    if reason is not None:
        return Reading(expression, error=f"cannot read {expression[:80]!r} as an arithmetic expression: {reason}")
    return Reading(expression, value, literals, claim)


@dataclass(frozen=True)
class Check:
    """The verdict on one answer: components and the reason when it is not correct."""

    components: dict[str, float]
    parsed: str | None
    error: str | None

    @property
    def correct(self) -> bool:
        return self.components["correct"] == 1.0


def check_expression(
    response: str, numbers: Sequence[int], target: int, operators: Iterable[str] = "+-*/"
) -> Check:
    """Apply the puzzle's rules to a response (see the module doc); `operators` are the allowed ones."""
    reading = read_expression(response)
    if reading.value is None:
        return Check({"correct": 0.0, "format": 0.0, "uses_numbers": 0.0}, reading.expression, reading.error)
    reasons = []
    uses = sorted(reading.literals) == sorted(numbers)
    if not uses:
        reasons.append(f"the numbers used {sorted(reading.literals)} are not the given {sorted(numbers)} "
                       "(each exactly once)")
    if reading.value != target:
        reasons.append(f"the expression equals {format_number(reading.value)}, not the target {target}")
    banned = sorted({char for char in reading.expression if char in "+-*/" and char not in set(operators)})
    if banned:
        reasons.append(f"operators {banned} are not allowed; allowed: {sorted(set(operators))}")
    if reading.claim is not None and reading.claim != reading.value:
        reasons.append(f"it claims {format_number(reading.claim)} but equals {format_number(reading.value)}")
    correct = not reasons
    components = {"correct": float(correct), "format": 1.0, "uses_numbers": float(uses)}
    return Check(components, reading.expression, "; ".join(reasons) or None)
