"""Exact parsing of numeric answers to `fractions.Fraction`, in pure Python and bounded.

Accepted forms: integers and decimals (signed), thousands separators ("1,234", "1{,}234",
"1\\,234"), scientific notation ("1.2e3", "1.2 \\times 10^{3}"), repeating decimals
("0.\\overline{3}", "0.1\\bar{6}"), fractions ("3/4", "\\frac{3}{4}", "\\dfrac34", "\\frac12"),
mixed numbers ("2\\frac{1}{2}" and "2 1/2" both mean 5/2), factorials ("2004!"), integer powers,
the four operations with parentheses, percentages ("50\\%" is 1/2; see `verify` for how a percent
answer is matched against its gold) and English number words ("twelve", "minus forty-two",
"three hundred and five").

Everything is bounded so that model output can never make the parser slow: the input length,
the nesting depth, the number of tokens, exponents, factorial arguments and the size (in bits)
of every intermediate value. Inputs past a bound are reported as `NumberTooLarge`, never computed.
No sympy is imported here: this is the fast path that most numeric answers take.
"""

from __future__ import annotations

import re
from fractions import Fraction

MAX_NUMBER_CHARS = 400
"""Longer texts are not read as a number at all."""
MAX_DEPTH = 20
"""Deepest nesting of parentheses/braces the parser follows."""
MAX_TOKENS = 120
MAX_BITS = 40_000
"""Largest numerator or denominator, in bits (about 12,000 decimal digits; 2006! fits)."""
MAX_EXPONENT = 10_000
MAX_FACTORIAL = 3_000
MAX_SCI_EXPONENT = 400
"""Largest |e| accepted in "1.2e<e>" notation."""


class NumberTooLarge(ValueError):
    """The text is a number whose exact value exceeds the parser's bounds."""


def describe(value: Fraction | int) -> str:
    """`value` as text short enough for an error message. Formatting a huge value would itself
    fail (Python refuses int -> str past 4,300 digits) or flood a log, so big ones are sized.

    >>> describe(Fraction(3, 4)), describe(10**5000)
    ('3/4', 'a number of about 5001 digits')
    """
    value = Fraction(value)
    bits = max(value.numerator.bit_length(), value.denominator.bit_length())
    if bits <= 64:
        return str(value)
    return f"a number of about {int(bits * 0.30103) + 1} digits"


class _NotANumber(ValueError):
    pass


_CLEANUPS = (
    (re.compile(r"\\(?:left|right|displaystyle|!|;|:|quad|qquad)(?![a-zA-Z])|\$|~"), ""),
    (re.compile(r"\\[dt]frac(?![a-zA-Z])"), r"\\frac"),
    (re.compile(r"\\(?:cdot|times)(?![a-zA-Z])|×|·|∗"), "*"),
    (re.compile(r"\\div(?![a-zA-Z])|÷"), "/"),
    (re.compile(r"−|–"), "-"),
    (re.compile(r"(?<=\d)(?:\{,\}|\\,|\\ )(?=\d{3})"), ","),
    (re.compile(r"\\,|\\ "), " "),
)
_NUMBER = (
    r"(?P<rep>(?P<ri>\d*)\.(?P<rf>\d*)\\(?:overline|bar|dot)\{(?P<rd>\d{1,50})\})"
    r"|(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)(?:[eE](?P<exp>[-+]?\d{1,6})(?![a-zA-Z]))?"
)
_TOKEN = re.compile(r"\s*(?:" + _NUMBER + r"|(?P<frac>\\frac(?![a-zA-Z]))|(?P<op>[-+*/^!(){}]))")
_PERCENT = re.compile(r"\s*\\?%\s*$")
_MIXED = re.compile(r"^\s*([-+]?)\s*(\d+)\s+(\d+)\s*/\s*(\d+)\s*$")
_PLAIN_INT = re.compile(r"^\s*[-+]?\d{1,300}\s*$")
_PLAIN_DEC = re.compile(r"^\s*([-+]?)(\d{0,300})\.(\d{1,300})\s*$")
_PLAIN_FRAC = re.compile(r"^\s*([-+]?\d{1,300})\s*/\s*(\d{1,300})\s*$")
_PLAIN_LATEX_FRAC = re.compile(r"^\s*([-+]?)\s*\\[dt]?frac\{(\d{1,300})\}\{(\d{1,300})\}\s*$")
_WORDS_ONLY = re.compile(r"^[a-zA-Z][a-zA-Z\s-]*$")

_UNITS = [
    "zero",
    "one",
    "two",
    "three",
    "four",
    "five",
    "six",
    "seven",
    "eight",
    "nine",
    "ten",
    "eleven",
    "twelve",
    "thirteen",
    "fourteen",
    "fifteen",
    "sixteen",
    "seventeen",
    "eighteen",
    "nineteen",
]
_TENS = ["twenty", "thirty", "forty", "fifty", "sixty", "seventy", "eighty", "ninety"]
_SMALL = {word: value for value, word in enumerate(_UNITS)} | {w: 20 + 10 * i for i, w in enumerate(_TENS)}
_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}


def parse_number(text: str) -> Fraction | None:
    """The exact value of `text` when it is a number, else None. Never raises.

    >>> parse_number("-1,234.5")
    Fraction(-2469, 2)
    >>> parse_number("0.\\\\overline{3}"), parse_number("\\\\dfrac12"), parse_number("twelve")
    (Fraction(1, 3), Fraction(1, 2), Fraction(12, 1))
    >>> parse_number("9^9^9^9") is None, parse_number("x + 1") is None
    (True, True)
    """
    try:
        return exact_value(text)
    except (NumberTooLarge, ZeroDivisionError):
        return None


def exact_value(text: str) -> Fraction | None:
    """Like `parse_number`, but a number past the bounds raises `NumberTooLarge` and a division
    by zero raises `ZeroDivisionError`, so callers can say why an answer earned nothing."""
    if not isinstance(text, str) or len(text) > MAX_NUMBER_CHARS:
        return None
    # the commonest answers skip the tokenizer entirely
    if _PLAIN_INT.match(text):
        return Fraction(int(text.strip()))  # \s also matches \x1c-\x1f, which int() refuses
    plain = _PLAIN_DEC.match(text) or _PLAIN_FRAC.match(text) or _PLAIN_LATEX_FRAC.match(text)
    if plain is not None:
        return _plain_value(plain)
    for pattern, replacement in _CLEANUPS:
        text = pattern.sub(replacement, text)
    text = text.strip()
    scale = Fraction(1)
    if _PERCENT.search(text):
        text, scale = _PERCENT.sub("", text), Fraction(1, 100)
    if _WORDS_ONLY.match(text):
        value = _words_value(text)
        return None if value is None else value * scale
    mixed = _MIXED.match(text)
    if mixed is not None:
        sign, whole, numerator, denominator = mixed.groups()
        if int(numerator) < int(denominator):
            value = int(whole) + Fraction(int(numerator), int(denominator))
            return (-value if sign == "-" else value) * scale
    try:
        tokens = _tokenize(text)
        parser = _Parser(tokens)
        value = parser.expression(0)
        if parser.pos != len(tokens):
            return None
    except _NotANumber:
        return None
    return value * scale


def _plain_value(match: re.Match) -> Fraction:
    if match.re is _PLAIN_FRAC:
        return Fraction(int(match.group(1)), int(match.group(2)))
    if match.re is _PLAIN_LATEX_FRAC:
        value = Fraction(int(match.group(2)), int(match.group(3)))
        return -value if match.group(1) == "-" else value
    sign, whole, decimals = match.groups()
    value = Fraction(int((whole or "0") + decimals), 10 ** len(decimals))
    return -value if sign == "-" else value


def _tokenize(text: str) -> list[tuple[str, object]]:
    tokens: list[tuple[str, object]] = []
    pos = 0
    while pos < len(text):
        if text[pos:].isspace():
            break
        match = _TOKEN.match(text, pos)
        if match is None or len(tokens) >= MAX_TOKENS:
            raise _NotANumber(text)
        pos = match.end()
        if match.group("rep") is not None:
            tokens.append(("num", _repeating(match.group("ri"), match.group("rf"), match.group("rd"))))
        elif match.group("num") is not None:
            tokens.append(("num", _decimal(match.group("num"), match.group("exp"))))
        elif match.group("frac") is not None:
            tokens.append(("frac", None))
        else:
            tokens.append(("op", match.group("op")))
    return tokens


def _decimal(digits: str, exponent: str | None) -> Fraction:
    digits = digits.replace(",", "")
    whole, _, decimals = digits.partition(".")
    value = Fraction(int((whole or "0") + decimals), 10 ** len(decimals))
    if exponent is not None:
        power = int(exponent)
        if abs(power) > MAX_SCI_EXPONENT:
            raise NumberTooLarge(f"exponent {power} in scientific notation exceeds {MAX_SCI_EXPONENT}")
        value *= Fraction(10) ** power
    return value


def _repeating(whole: str, fixed: str, repeated: str) -> Fraction:
    """x = whole.fixed(repeated)(repeated)... as an exact fraction."""
    period = 10 ** len(repeated) - 1
    tail = Fraction(int(fixed + repeated) - int(fixed or "0"), period * 10 ** len(fixed))
    return int(whole or "0") + tail


def _check(value: Fraction) -> Fraction:
    if value.numerator.bit_length() > MAX_BITS or value.denominator.bit_length() > MAX_BITS:
        raise NumberTooLarge(f"a value needs more than {MAX_BITS} bits")
    return value


class _Parser:
    """Recursive descent over the tokens: sum -> product -> unary -> power -> postfix -> atom."""

    def __init__(self, tokens: list[tuple[str, object]]) -> None:
        self.tokens = tokens
        self.pos = 0

    def _peek(self) -> tuple[str, object] | None:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else None

    def _take_op(self, *ops: str) -> str | None:
        token = self._peek()
        if token is not None and token[0] == "op" and token[1] in ops:
            self.pos += 1
            return str(token[1])
        return None

    def expression(self, depth: int) -> Fraction:
        if depth > MAX_DEPTH:
            raise _NotANumber("nested too deeply")
        value = self._product(depth)
        while (op := self._take_op("+", "-")) is not None:
            right = self._product(depth)
            value = _check(value + right if op == "+" else value - right)
        return value

    def _product(self, depth: int) -> Fraction:
        value = self._unary(depth)
        while (op := self._take_op("*", "/")) is not None:
            right = self._unary(depth)
            value = _check(value * right if op == "*" else value / right)
        return value

    def _unary(self, depth: int) -> Fraction:
        if depth > MAX_DEPTH:
            raise _NotANumber("nested too deeply")
        op = self._take_op("+", "-")
        if op is not None:
            value = self._unary(depth + 1)
            return -value if op == "-" else value
        return self._power(depth)

    def _power(self, depth: int) -> Fraction:
        base = self._postfix(depth)
        if self._take_op("^") is None:
            return base
        exponent = self._unary(depth + 1)  # right associative: 2^3^2 = 2^9
        if exponent.denominator != 1:
            raise _NotANumber("non-integer exponent has no exact rational value in general")
        power = exponent.numerator
        size = max(base.numerator.bit_length(), base.denominator.bit_length())
        if abs(power) > MAX_EXPONENT or (size > 1 and abs(power) * size > MAX_BITS):
            raise NumberTooLarge(f"power with exponent {describe(power)} exceeds {MAX_BITS} bits")
        if base == 0 and power < 0:
            raise ZeroDivisionError("zero to a negative power")
        return _check(base**power)

    def _postfix(self, depth: int) -> Fraction:
        value = self._atom(depth)
        while self._take_op("!") is not None:
            if value.denominator != 1 or value < 0:
                raise _NotANumber("factorial of a non-natural number")
            if value > MAX_FACTORIAL:
                raise NumberTooLarge(f"factorial of {describe(value)} exceeds the limit {MAX_FACTORIAL}")
            value = Fraction(_factorial(int(value)))
        return value

    def _atom(self, depth: int) -> Fraction:
        token = self._peek()
        if token is None:
            raise _NotANumber("expression ends early")
        kind, payload = token
        self.pos += 1
        if kind == "num":
            value = payload
            assert isinstance(value, Fraction)
            # a mixed number: "2\frac{1}{2}" is 2 + 1/2, as answer keys write it
            nxt = self._peek()
            if nxt is not None and nxt[0] == "frac" and value.denominator == 1:
                fraction = self._atom(depth)
                if not 0 <= fraction < 1:
                    raise _NotANumber("mixed number with an improper fraction")
                return value + fraction
            return value
        if kind == "frac":
            numerator = self._frac_argument(depth)
            denominator = self._frac_argument(depth)
            return _check(numerator / denominator)
        if payload in ("(", "{"):
            value = self.expression(depth + 1)
            if self._take_op(")" if payload == "(" else "}") is None:
                raise _NotANumber("unbalanced brackets")
            return value
        raise _NotANumber(f"unexpected {payload!r}")

    def _frac_argument(self, depth: int) -> Fraction:
        token = self._peek()
        if token == ("op", "{"):
            return self._atom(depth + 1)
        if token is not None and token[0] == "num":
            # "\frac12": LaTeX reads one digit per argument, the tokenizer read "12" as one number
            self.pos += 1
            value = token[1]
            assert isinstance(value, Fraction)
            text = str(value)
            if value.denominator == 1 and value >= 0 and len(text) <= 2:
                if len(text) == 2:
                    self.tokens.insert(self.pos, ("num", Fraction(int(text[1]))))
                return Fraction(int(text[0]))
        raise _NotANumber("\\frac needs braced or one-digit arguments")


def _factorial(n: int) -> int:
    result = 1
    for k in range(2, n + 1):
        result *= k
    return result


def _words_value(text: str) -> Fraction | None:
    """English number words: "twelve", "minus forty-two", "two thousand and five"."""
    words = text.lower().replace("-", " ").split()
    sign = 1
    if words and words[0] in ("minus", "negative"):
        sign, words = -1, words[1:]
    if not words or len(words) > 20:
        return None
    total = current = 0
    last = ""
    for word in words:
        if word == "and" and last:
            continue
        if word in _SMALL:
            small = _SMALL[word]
            # "twenty five" is fine, "five five" and "twelve three" are not numbers
            if last in _SMALL and not (20 <= _SMALL[last] <= 90 and _SMALL[last] % 10 == 0 and small < 10):
                return None
            current += small
        elif word == "hundred" and last in _SMALL and current < 100:
            current *= 100
        elif word in _SCALES and (last in _SMALL or last == "hundred"):
            total += current * _SCALES[word]
            current = 0
        else:
            return None
        last = word
    return Fraction(sign * (total + current))
