"""Hostile actions for fuzzing envs: a fixed corpus of known breakers plus seeded random ones.

`fixed_actions()` lists values that broke verifiers and envs in practice: integers too large for
floats or for `str()` (10**400, 10**5000), nan/inf/-0.0/1e308, negative and boundary ids, wrong
types (None, dicts, ragged nested lists, bytes, objects whose `repr` raises), empty and 1 MB
strings, long runs of one character (spaces, digits, `/`, `\\`, `{`, `$`, `*`, `^`, `!`),
`\\boxed{}` variants, unicode traps (lone surrogates, right-to-left marks, zero-width and NUL
characters), LaTeX bombs (`9^9^9^9`, `(3000!)!`, 10,000 nested brackets) and tool-call,
step and plan formats filled with such values.

`random_action(rng, ...)` draws one more: a mutation of the oracle's action when there is one
(so the fuzz reaches the parser's deep paths, not only its first refusal), a random string over
a hostile alphabet, an id just outside a discrete space, or a nested structure with hostile
leaves. Everything depends only on the generator passed in, so a seed replays a run.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable
from decimal import Decimal
from fractions import Fraction
from typing import Any

import numpy as np
from gymnasium import spaces

_HUGE = 10**5000
"""Too long for `str()` (Python refuses more than 4,300 digits) and for `float()`."""
RUN_LENGTH = 100_000
"""Length of each single-character run (about 25k tokens: longer than any sane response)."""
HUGE_LENGTH = 1 << 20
"""Length of the 1 MB strings."""
NESTING = 10_000
RUN_CHARACTERS = (" ", "9", "/", "\\", "{", "$", "*", "^", "!", "\n", "(", "<", "-", ".", "=")
"""Character classes whose long runs make backtracking regexes and recursive parsers blow up."""
UNICODE_TRAPS = (
    "\ud800", "\udfff", "\u202e", "\u200b", "\u200d", "\ufeff", "\x00", "\uffff", "\u0301",
    "\U0001d7d9", "\u0661", "\u00bd", "\u00b2", "\u216b", "\U0001f600", "\u2212",
)
"""Lone surrogates, RTL override, zero-width chars, BOM, NUL, a non-character, a combining mark,
mathematical and Arabic-Indic digits, vulgar fraction, superscript, roman numeral, emoji, minus."""
SNIPPETS = (
    "\\boxed{", "}", "\\boxed{}", "$", "$$", "\\frac{", "}{", "^", "!", "\\sqrt{", "\\left(", "\\right)",
    "<answer>", "</answer>", "<search>", "</search>", "<open>", "</open>", "<cite>", "</cite>", "<plan>",
    "</plan>", "answer:", "confidence:", "rationale:", "ask:", "guess:", "Answer:", "The answer is ",
    "Final Answer: The final answer is ", " = ", " + ", " * ", " / ", " - ", "(", ")", "[", "]", "\\{",
    "\\}", "1e309", "nan", "inf", "-0", "0", "9" * 400, "10^{400}", "(3000!)!", "9^9^9^9", "1/0",
    "\\infty", "%", ",", "\\!", "\\\\", "{,}", "\\text{", "left: ", "\n", "\t", '{"name": "', '"}',
    *UNICODE_TRAPS,
)
"""Pieces random strings are made of: answer syntax of every family, plus numbers and traps."""


class Opaque:
    """An arbitrary object: no numeric, string or container behaviour."""

    def __repr__(self) -> str:
        return "<Opaque>"


class Unprintable:
    """An object whose `str` and `repr` raise: an env must not format an action it cannot read."""

    def __repr__(self) -> str:
        raise RuntimeError("repr of a hostile object")

    __str__ = __repr__


class HugeLen:
    """A sized object claiming more items than an index can hold (`len()` raises OverflowError)."""

    def __len__(self) -> int:
        return 10**400

    def __repr__(self) -> str:
        return "<HugeLen>"


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth):
        value = [value]
    return value


def _self_referential() -> list[Any]:
    loop: list[Any] = [1]
    loop.append(loop)
    return loop


@functools.lru_cache(maxsize=1)
def _strings() -> tuple[str, ...]:
    big = "9" * 5000
    runs = tuple(ch * RUN_LENGTH for ch in RUN_CHARACTERS)
    nested = "(" * NESTING + "1" + ")" * NESTING
    return (
        "", " ", "\n", "0", "-1", "1" * 20, "x" * HUGE_LENGTH, "\\boxed{" + "9" * (HUGE_LENGTH - 8) + "}",
        *runs,
        "Answer: 1" + " " * 99_000 + "/", "answer: 1" + " " * 99_000 + "!", "1" + "." * 99_000 + "x",
        "\\boxed{}", "\\boxed{", "\\boxed{{}", "\\boxed{3} \\boxed{4}", "\\boxed{\\boxed{4}}", "\\fbox{3}",
        "\\boxed" * 10_000, "\\boxed{" * NESTING, "\\boxed{(3000!)!}", "\\boxed{9^9^9^9}", "\\boxed{" + big + "}",
        "\\boxed{10^{10^{10^{10}}}}", "\\boxed{1e99999}", "\\boxed{\\frac{1}{0}}", "\\boxed{0/0}", "\\boxed{nan}",
        "\\boxed{-\\infty}", "\\boxed{(1, 10^{5000}]}", "\\boxed{\\{1, (3000!)!\\}}", "\\boxed{(1e999, 2)}",
        "\\boxed{" + "1," * 5000 + "1}", "\\boxed{\\begin{pmatrix}" + "1\\\\" * 3000 + "\\end{pmatrix}}",
        "9^9^9^9", "(3000!)!", "3000!!", "10^{10^{10^{10^{10}}}}", "2**2**2**2**2**2", "1e99999", "-1e99999",
        "0." + "0" * 5000 + "1", big, "-" + big, big + "/" + big, "1/0", "0/0", "nan", "inf", "-0.0",
        nested, "[" * NESTING + "]" * NESTING, "{" * NESTING + "}" * NESTING, "\\frac{" * 5000,
        "\\sqrt{" * 3000, "\\left(" * 3000, "$" + "x^" * 5000 + "$",
        "\ud800", "\udfff lone surrogate", "\u202e12\u202c", "1\u200b2", "\x00", "1\x002", "\ufeff42",
        "\U0001d7d9\U0001d7da", "\u0661\u0662\u0663", "\u00bd", "\u00b2", "\u216b", "1\u0301", "\u2212" + "1",
        "".join(UNICODE_TRAPS) * 1000,
        "__import__('os').system('echo hi')", "{{7*7}}", "%s%s%s%n", "\x1b[2J",
        "<answer>" + big + "</answer>", "<answer>(3000!)!</answer>", "<answer>9^9^9^9</answer>",
        "<answer>" + nested + "</answer>", "<answer>" + "1+" * 50_000 + "1</answer>", "<answer>" * 10_000,
        "<answer></answer>", "<answer>", "</answer>" * 1000, "<answer>" + "\x00" * 1000 + "</answer>",
        big + " + 1 = " + big, "10^400 * 10^400 = 1", "1 / 0 = 0", "1e309 + 1 = inf", "nan + 1 = nan",
        "(3000!)! + 1 = 2", "1 + 1 = 2 (left: " + "9 " * 5000 + ")", " = " * 10_000,
        "answer: 3\nconfidence: " + big, "answer: 3\nconfidence: 1e999", "answer: 3\nconfidence: nan",
        "answer: 3\nconfidence: " + "9" * RUN_LENGTH + "%", "answer: \\boxed{(3000!)!}\nconfidence: 0.5",
        "answer:" * 10_000, "confidence: -0.0\nanswer: " + big,
        "ask: " + "x" * 10_000, "guess: \x00", "ask: " + str(10**400), "guess: " + big, "ask:" * 10_000,
        "yes" * 10_000, "YES\u200b", "n\u0301o",
        "<search>" + "a" * RUN_LENGTH + "</search>", "<open>" + big + "</open>", "<open>-1</open>",
        "<search>" * 10_000, "<answer>x</answer><cite>" + big + "</cite>", "<cite>" * 10_000,
        '{"name": "search", "arguments": {"query": "' + "a" * RUN_LENGTH + '"}}',
        '{"name": "answer", "arguments": {"text": 1e999999}}', '{"name": "open", "arguments": {"doc_id": ' + big + "}}",
        "[" * 100_000, '{"a":' * 50_000, '{"name": "search", "arguments": ' + "[" * 10_000 + "}",
        "<plan>" + "pick up A\n" * 10_000 + "</plan>", "<plan>unstack " + "A" * 10_000 + " from B</plan>",
        "<plan>" + "\x00\n" * 1000 + "</plan>", "pick up " + big, "stack A on A",
        "A=1, B=" + big, ", ".join(f"{c}={d}" for c, d in zip("ABCDEFGHIJ", "0123456789", strict=True)) * 1000,
        "(" + ", ".join(["(1, 1)"] * 5000) + ")", "(" + big + ", " + big + ")", "True" * 10_000,
        "\n".join(["1 2 3 4"] * 10_000), "\n".join([" ".join(["9"] * 200)] * 200), "." * RUN_LENGTH,
        "1 2\n3" + "\n" * 10_000, "I don't know" * 10_000,
    )


def _others() -> tuple[Any, ...]:
    # Built afresh on each call: an env that mutates a list or dict action, or consumes an
    # iterator, must not change what the next env is fed.
    huge = _HUGE
    return (
        10**400, huge, -(10**400), -huge, 2**63, 2**64, -(2**63) - 1, -1, -7, 0, 1, True, False,
        float("nan"), float("inf"), float("-inf"), -0.0, 1e308, -1e308, 5e-324, 0.5, 1.5, -1.5,
        np.float64("nan"), np.float32("inf"), np.int64(-1), np.int8(-128), np.uint64(2**64 - 1),
        np.int64(2**63 - 1), np.bool_(True), complex(1, 2), complex("nan+nanj"), Fraction(1, 3),
        Fraction(huge, 3), Decimal("NaN"), Decimal("1e999999"), Decimal("-Infinity"),
        None, {}, {"answer": None}, {"answer": huge}, {"answer": "3", "confidence": 10**400},
        {"answer": "3", "confidence": huge}, {"answer": "3", "confidence": float("nan")},
        {"answer": "3", "confidence": -1}, {"answer": "3", "confidence": "1e999"}, {"answer": "3", "confidence": [0.5]},
        {"answer": "3", "rationale": huge}, {"answer": "3", "rationale": Unprintable()}, {"answer": ["3"]},
        {"answer": "x" * HUGE_LENGTH}, {huge: 1}, {None: None}, {("a",): 1}, {"answer": "3", "extra": 1},
        {"name": "search", "arguments": {"query": huge}}, {"name": "open", "arguments": {"doc_id": -1}},
        {"name": "answer", "arguments": {"text": None, "citations": [huge]}},
        [], [1, [2, 3]], [[1, 2], [3]], [[[]]], _nested(1000), (None,), ["3"] * 3, [huge], [float("nan")],
        [-1], [10**400, 1], list(range(100_000)), [Opaque()], ["\ud800"], _self_referential(), [None] * 70,
        [{"answer": "3", "confidence": huge}] * 3, [{"answer": huge}], ("answer: 3",) * 100,
        b"", b"\xff\xfe", b"answer: 3", bytearray(b"1"), memoryview(b"12"), Opaque(), Unprintable(), HugeLen(),
        set(), frozenset({1}), range(10), range(-5, 5), iter([1, 2]), (i for i in range(3)), len, type,
        Ellipsis, NotImplemented,
        np.array([]), np.array(3), np.array(-1), np.array(1.0), np.array([1]), np.array([[1, 2], [3, 4]]),
        np.array([1.5, float("nan")]), np.array(["a"]), np.array([10**5], dtype=object),
        np.array([[1, 2], [3]], dtype=object), np.zeros((0, 3)), np.array([2**62, -(2**62)]),
        np.full(1_000_000, 1), np.array([True, False]), np.array([1 + 2j]), np.ma.masked_array([1, 2], [1, 0]),
    )


@functools.lru_cache(maxsize=1)
def _leaves() -> tuple[Any, ...]:
    """The immutable part of the corpus: safe to share, so random actions reuse it."""
    return tuple(
        value for value in _others()
        if value is None or isinstance(value, (int, float, complex, np.generic, Fraction, Decimal, bytes,
                                               frozenset, range, Opaque, Unprintable, HugeLen))
    )


def fixed_actions() -> tuple[Any, ...]:
    """The fixed hostile corpus: every value every env is fed (strings first, then the rest)."""
    return _strings() + _others()


def space_edges(space: Any) -> list[Any]:
    """Ids and arrays just inside and just outside a discrete or integer box action space."""
    if isinstance(space, spaces.Discrete):
        low, n = int(space.start), int(space.n)
        return [low - 1, low + n, low + n - 1, low, low + n + 1, -(2**63), 2**63 - 1, np.int64(low + n),
                np.uint64(low + n), np.array([low]), np.array([[low]]), float(low), str(low), [low], [[low], [low, low]]]
    if isinstance(space, spaces.Box) and np.issubdtype(space.dtype, np.integer):
        high = int(np.max(space.high))
        shape = space.shape
        return [np.full(shape, high + 1), np.full(shape, -1), np.full(shape, 2**62), np.zeros(shape, np.float64),
                np.zeros((*shape, 2), np.int64), np.zeros(0, np.int64), [high + 1] * 3, [-1], [[0, 1], [2]],
                [[0] * 3, [0]], list(range(high + 5)), [2**64], [10**400], np.full(shape, high)]
    return []


def _mutate_string(text: str, rng: np.random.Generator) -> str:
    op = int(rng.integers(9))
    at = int(rng.integers(len(text) + 1))
    if op == 0:  # insert a snippet
        return text[:at] + SNIPPETS[int(rng.integers(len(SNIPPETS)))] + text[at:]
    if op == 1 and text:  # delete a span
        end = min(len(text), at + int(rng.integers(1, 8)))
        return text[:at] + text[end:]
    if op == 2 and text:  # repeat a span many times
        end = min(len(text), at + int(rng.integers(1, 6)))
        return text[:at] + text[at:end] * int(rng.integers(2, 2000)) + text[end:]
    if op == 3:  # every digit run becomes a huge number
        return "".join("9" * int(rng.integers(300, 5000)) if c.isdigit() else c for c in text[:2000])
    if op == 4:
        return "\\boxed{" + text + "}"
    if op == 5:
        return "<answer>" + text + "</answer>"
    if op == 6:  # a unicode trap inside
        return text[:at] + UNICODE_TRAPS[int(rng.integers(len(UNICODE_TRAPS)))] + text[at:]
    if op == 7:
        return text[:at]
    return text.upper() if rng.random() < 0.5 else text + "\n" + text


def _mutate_number(value: Any, rng: np.random.Generator) -> Any:
    choices: tuple[Callable[[int], Any], ...] = (
        lambda v: v + 1, lambda v: v - 1, lambda v: -v - 1, lambda v: v * 10**400, lambda v: v + 10**5000,
        float, lambda v: float(v) + 0.5, str, lambda v: [v], lambda v: np.array([v, v]), np.int8,
        lambda v: float("nan"), lambda v: np.uint64(v) + np.uint64(2**63), lambda v: {"answer": v},
    )
    try:
        with np.errstate(over="ignore"):  # the uint64 wrap-around is the point
            return choices[int(rng.integers(len(choices)))](int(value))
    except (OverflowError, ValueError):
        return -1


def _mutate_array(ids: np.ndarray, rng: np.random.Generator) -> Any:
    ids, kind, at = ids.copy(), int(rng.integers(5)), int(rng.integers(ids.size))
    if kind == 0:
        ids[at] = np.iinfo(ids.dtype).min if ids.dtype.kind == "i" else np.iinfo(ids.dtype).max
        return ids
    if kind == 1:
        return ids.astype(np.float64) + 0.5
    if kind == 2:
        return [*ids.tolist(), [1]]
    if kind == 3:
        return ids.reshape(1, -1)
    ids[at] = np.iinfo(ids.dtype).max
    return ids


def mutate(action: Any, rng: np.random.Generator, rounds: int | None = None) -> Any:
    """A random corruption of a valid action (1 to 3 edits) of the same or a nearby type."""
    for _ in range(rounds if rounds is not None else int(rng.integers(1, 4))):
        if isinstance(action, str):
            action = _mutate_string(action, rng)
        elif isinstance(action, (bool, np.bool_)):
            action = [action, 2, None][int(rng.integers(3))]
        elif isinstance(action, (int, np.integer)):
            action = _mutate_number(action, rng)
        elif isinstance(action, np.ndarray) and action.ndim == 1 and action.size and action.dtype.kind in "iu":
            action = _mutate_array(action, rng)
        elif isinstance(action, dict):
            action = {k: mutate(v, rng, 1) for k, v in action.items()}
        else:
            action = None
    return action


def random_string(rng: np.random.Generator, max_length: int = 4096) -> str:
    """Random text built from answer-syntax snippets, unicode traps and runs of one character."""
    length = int(math.exp(rng.uniform(0, math.log(max_length))))
    pieces: list[str] = []
    size = 0
    while size < length:
        kind = rng.random()
        if kind < 0.6:
            piece = SNIPPETS[int(rng.integers(len(SNIPPETS)))]
        elif kind < 0.8:
            piece = RUN_CHARACTERS[int(rng.integers(len(RUN_CHARACTERS)))] * int(rng.integers(1, 200))
        else:
            piece = chr(int(rng.integers(0x20, 0x3000)))
        pieces.append(piece)
        size += len(piece)
    return "".join(pieces)[:length]


def random_action(rng: np.random.Generator, *, oracle: Any = None, space: Any = None,
                  oracle_fn: Callable[[], Any] | None = None) -> Any:
    """One seeded random hostile action (see the module doc). `oracle_fn` gives the oracle's action
    only when a mutation is drawn (some oracles search for their answer)."""
    draw = rng.random()
    if oracle is None and oracle_fn is not None and draw < 0.4:
        oracle = oracle_fn()
    if oracle is not None and draw < 0.4:
        return mutate(oracle, rng)
    edges = space_edges(space)
    if edges and draw < 0.55:
        return edges[int(rng.integers(len(edges)))]
    if draw < 0.85:
        return random_string(rng)
    leaves = _leaves()
    leaf = leaves[int(rng.integers(len(leaves)))]
    shape = int(rng.integers(4))
    if shape == 0:
        return leaf
    if shape == 1:
        return [leaf, random_string(rng, 64)]
    if shape == 2:
        return {"answer": random_string(rng, 64), "confidence": leaf}
    return _nested(int(rng.integers(1, 50)), leaf)
