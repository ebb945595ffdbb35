"""Is an answer equal to the gold answer? Exact first, math-verify (in a worker) last.

The order, cheapest and most exact first:
1. input checks: type, length, nesting depth, empty, hedged answers, several values where one
   is asked -> a wrong verdict with the reason (method "rejected");
2. exact: both sides are numbers (`numbers.exact_value`, units stripped) -> Fraction equality.
   A percent answer matches either its value or its bare number ("50%" is right for both gold
   "50" and gold "0.5"), as answer keys write percentages both ways;
3. structural: sets, intervals, tuples and lists of exact numbers, after `normalize` (which also
   turns `x < 3` into `(-\\infty, 3)`);
4. math-verify `parse` + `verify` on the normalised texts, in a worker process, under our own
   wall-clock limit (method "math_verify"; error "timed out: ..." when it runs out).

Two time limits (see `pool`): `timeout` is what math-verify may spend on one pair (default 2 s);
`call_timeout` is one deadline for a whole `verify_batch` call, by default what its pairs need if
each used its whole `timeout` on the pool's workers, so a large batch is never cut short for its
size while every call still ends in bounded time, however many threads call at once (plus the
start-up of a worker when the pool has to start one). Pairs math-verify has not judged within
either limit score zero with the error "timed out: ...". A limit must be a number of seconds in
(0, 86400]; anything else (0, negative, NaN, inf, a bool, a string) raises ValueError.

Verdicts are cached in a bounded LRU keyed by (gold, normalised answer), each under the key of the
pair it judged; timeouts and worker failures are not cached, since they depend on load rather
than on the answer.
"""

from __future__ import annotations

import re
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import TypeVar

from rlvr.rewards.answers import MAX_ANSWER_CHARS, MAX_BRACE_DEPTH, clean_text, is_hedged
from rlvr.rewards.math.numbers import NumberTooLarge, exact_value
from rlvr.rewards.math.pool import check_timeout, get_pool
from rlvr.rewards.math.structure import (
    compare_structures,
    normalize,
    parse_structure,
    split_top_level,
    strip_units,
)

CACHE_SIZE = 65_536
_ASSIGNMENT = re.compile(r"^\s*[a-zA-Z](?:_\{?\w\}?)?\s*=\s*(?P<value>[^=]+)$")
_AND = re.compile(r"\s+(?:\\text\{\s*)?and(?:\s*\})?\s+")
SEVERAL_VALUES = "several values given where one is asked"
T = TypeVar("T")
_PLUS_MINUS = re.compile(r"\\pm(?![a-zA-Z])|±")
_ALTERNATIVE = re.compile(r"\s*(?:\\text\{\s*(?:or|and)\s*\}|(?:\\q?quad)?\s*\b(?:or|and)\b)\s*")


@dataclass(frozen=True)
class Verdict:
    """The outcome of comparing one answer with its gold answer."""

    correct: bool
    method: str
    """"exact", "structural", "math_verify", "rejected" or "cache:<method>"."""
    error: str | None = None


class _LRU:
    """A thread-safe least-recently-used map with a fixed capacity."""

    def __init__(self, capacity: int) -> None:
        self.capacity = capacity
        self._data: OrderedDict[tuple[str, str], Verdict] = OrderedDict()
        self._lock = threading.Lock()
        self.hits = self.misses = 0

    def get(self, key: tuple[str, str]) -> Verdict | None:
        with self._lock:
            verdict = self._data.get(key)
            if verdict is None:
                self.misses += 1
                return None
            self._data.move_to_end(key)
            self.hits += 1
            return verdict

    def put(self, key: tuple[str, str], verdict: Verdict) -> None:
        with self._lock:
            self._data[key] = verdict
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)

    def __len__(self) -> int:
        return len(self._data)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()
            self.hits = self.misses = 0


CACHE = _LRU(CACHE_SIZE)


def clear_cache() -> None:
    CACHE.clear()


def _input_problem(text: object, what: str) -> str | None:
    """Why `text` cannot be scored at all, or None when it can."""
    if not isinstance(text, str):
        return f"{what} must be a string, got {type(text).__name__}"
    if not text.strip():
        return f"empty {what}"
    if len(text) > MAX_ANSWER_CHARS:
        return f"{what} has {len(text)} characters, more than the limit {MAX_ANSWER_CHARS}"
    depth = deepest = 0
    for char in text:
        if char in "([{":
            depth += 1
            deepest = max(deepest, depth)
        elif char in ")]}":
            depth -= 1
    if deepest > MAX_BRACE_DEPTH:
        return f"{what} is nested {deepest} brackets deep, more than the limit {MAX_BRACE_DEPTH}"
    return None


def _exact(text: str) -> Fraction | None:
    value = exact_value(text)
    if value is None:
        stripped = strip_units(text)
        if stripped != text:
            value = exact_value(stripped)
    return value


def _percent_alternatives(text: str) -> list[Fraction]:
    """The values a percent answer may stand for: v/100 and the bare v."""
    values = []
    for candidate in (text, text.replace("\\%", "").replace("%", "")):
        try:
            value = _exact(candidate)
        except (NumberTooLarge, ZeroDivisionError):
            value = None
        if value is not None:
            values.append(value)
    return values


def _read_answer(read: Callable[[str], T | None], answer: str) -> tuple[T | None, Verdict | None]:
    """`read(answer)`, or the wrong verdict an answer past the number bounds earns."""
    try:
        return read(answer), None
    except NumberTooLarge as exc:
        return None, Verdict(False, "exact", f"number too large: {exc}")
    except ZeroDivisionError:
        return None, Verdict(False, "exact", "division by zero")


def _read_gold(read: Callable[[str], T | None], gold: str) -> T | None:
    """`read(gold)`; a gold past the bounds reads as nothing and is left to math-verify."""
    try:
        return read(gold)
    except (NumberTooLarge, ZeroDivisionError):
        return None


def _decide_fast(gold: str, answer: str) -> Verdict | None:
    """A verdict from the cheap, exact steps, or None when only math-verify can tell."""
    if is_hedged(answer) and not is_hedged(gold):
        return Verdict(False, "rejected", "hedged answer")
    answer_items = [item for part in split_top_level(answer) for item in _AND.split(part)]
    if len(answer_items) > 1 and len(split_top_level(gold)) == 1 and not gold.startswith(("(", "[", "\\{")):
        return Verdict(False, "rejected", SEVERAL_VALUES)
    answer_value, refusal = _read_answer(_exact, answer)
    if refusal is not None:
        return refusal
    gold_value = _read_gold(_exact, gold)
    if gold_value is not None and answer_value is not None:
        if "%" in answer or "%" in gold:
            golds = _percent_alternatives(gold) if "%" in gold else [gold_value]
            answers = _percent_alternatives(answer) if "%" in answer else [answer_value]
            correct = any(g == a for g in golds for a in answers)
        else:
            correct = gold_value == answer_value
        return Verdict(correct, "exact", None if correct else "not equal to the gold answer")
    answer_shape, refusal = _read_answer(parse_structure, answer)
    if refusal is not None:
        return refusal
    gold_shape = _read_gold(parse_structure, gold)
    if gold_shape is not None and answer_shape is not None:
        same = compare_structures(gold_shape, answer_shape)
        if same is not None:
            return Verdict(same, "structural", None if same else "not equal to the gold answer")
    return None


def _prepare(gold: object, answer: object) -> tuple[Verdict | None, tuple[str, str] | None]:
    """Input checks and normalisation; returns (verdict, None) or (None, cache key)."""
    problem = _input_problem(answer, "answer")
    if problem is not None:
        return Verdict(False, "rejected", problem), None
    gold_problem = _input_problem(gold, "gold answer")
    if gold_problem is not None:
        return Verdict(False, "rejected", f"invalid gold: {gold_problem}"), None
    assert isinstance(gold, str) and isinstance(answer, str)
    gold, answer = expand_plus_minus(clean_text(gold)), expand_plus_minus(clean_text(answer))
    if lists_several(gold):
        answer = _as_list(answer)  # "x = 1 or x = 2" lists the solutions that "1, 2" asks for
    assignment = _ASSIGNMENT.match(answer)
    if assignment is not None and "=" not in gold:
        answer = assignment.group("value")  # "x = 5" answers "5"
    return None, (gold, normalize(answer))


def expand_plus_minus(text: str) -> str:
    """One `\\pm` stands for two values: `2 \\pm \\sqrt{3}` is the list `2 + \\sqrt{3}, 2 - \\sqrt{3}`.

    >>> expand_plus_minus("\\\\frac{1 \\\\pm \\\\sqrt{5}}{2}")
    '\\\\frac{1 + \\\\sqrt{5}}{2}, \\\\frac{1 - \\\\sqrt{5}}{2}'
    """
    if len(_PLUS_MINUS.findall(text)) != 1:
        return text  # several: the combinations are ambiguous; math-verify reads them as written
    return f"{_PLUS_MINUS.sub('+', text)}, {_PLUS_MINUS.sub('-', text)}"


def lists_several(gold: str) -> bool:
    """Does the gold list several values (MATH's "enter all the solutions, separated by commas")?
    A tuple, interval or set is one object, not a list.

    >>> lists_several("-2, 5"), lists_several("(-2, 5)"), lists_several("62,\\\\!980")
    (True, False, False)
    """
    gold = normalize(expand_plus_minus(gold))
    return len(split_top_level(gold)) > 1


def _as_list(answer: str) -> str:
    """`x = -2 \\text{ or } x = 5` -> `-2, 5`: the alternatives joined as a list, names dropped."""
    items = [item for part in split_top_level(answer) for item in _ALTERNATIVE.split(part)]
    if len(items) < 2:
        return answer
    values = []
    for item in items:
        assignment = _ASSIGNMENT.match(item)
        values.append((assignment.group("value") if assignment else item).strip())
    return ", ".join(values)


def _decide(key: tuple[str, str]) -> Verdict | None:
    """Cached or fast verdict for a prepared key (None: the worker must decide)."""
    cached = CACHE.get(key)
    if cached is not None:
        return cached
    verdict = _decide_fast(normalize(key[0]), key[1])
    if verdict is not None:
        CACHE.put(key, verdict)
    return verdict


def _ask_workers(
    keys: list[tuple[str, str]], timeout: float, call_timeout: float | None = None
) -> list[Verdict]:
    """math-verify's verdicts on prepared keys (`timeout` per pair, `call_timeout` for them all)."""
    pairs = [(normalize(gold), answer) for gold, answer in keys]
    outcomes = get_pool().verify_many(pairs, timeout, call_timeout)
    verdicts = []
    for key, outcome in zip(keys, outcomes, strict=True):
        verdict = Verdict(outcome.correct, "math_verify", outcome.error)
        if outcome.final:  # a timeout or a worker fault says nothing about the answer
            CACHE.put(key, verdict)
        verdicts.append(verdict)
    return verdicts


def verify_answer(gold: str, answer: str, *, timeout: float = 2.0) -> Verdict:
    """Compare an extracted answer with the gold answer; never raises on any gold or answer.

    `timeout`: seconds math-verify may take (see the module docstring); an invalid one raises
    ValueError.

    >>> verify_answer("1/3", "0.\\\\overline{3}")
    Verdict(correct=True, method='exact', error=None)
    >>> verify_answer("3", "3, 4").error
    'several values given where one is asked'
    """
    timeout = check_timeout(timeout)
    verdict, key = _prepare(gold, answer)
    if verdict is not None:
        return verdict
    assert key is not None
    return _decide(key) or _ask_workers([key], timeout, timeout)[0]


def verify_batch(
    golds: list[str], answers: list[str], *, timeout: float = 2.0, call_timeout: float | None = None
) -> list[Verdict]:
    """`verify_answer` over pairs; the math-verify part runs on all workers at once.

    `timeout` bounds math-verify's work on each pair, `call_timeout` the whole call (by default
    `timeout * (ceil(pairs / workers) + 1)`; see the module docstring). Pairs math-verify has not
    judged within them score zero with the error "timed out: ..." and are not cached. Safe to
    call from several threads at the same time: requests from all threads queue for the same
    workers, and each call keeps its own deadline.
    """
    timeout = check_timeout(timeout)
    if call_timeout is not None:
        call_timeout = check_timeout(call_timeout, "call_timeout")
    if len(golds) != len(answers):
        raise ValueError(f"verify_batch needs as many golds as answers, got {len(golds)} and {len(answers)}")
    verdicts: list[Verdict | None] = [None] * len(answers)
    slow: dict[tuple[str, str], list[int]] = {}
    for index, (gold, answer) in enumerate(zip(golds, answers, strict=True)):
        verdict, key = _prepare(gold, answer)
        if verdict is None and key is not None:
            verdict = _decide(key)
            if verdict is None:
                slow.setdefault(key, []).append(index)  # duplicates go to a worker once
                continue
        verdicts[index] = verdict
    if slow:
        keys = list(slow)
        for key, verdict in zip(keys, _ask_workers(keys, timeout, call_timeout), strict=True):
            for index in slow[key]:
                verdicts[index] = verdict
    return [v for v in verdicts if v is not None]
