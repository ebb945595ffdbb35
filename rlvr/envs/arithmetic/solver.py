"""Exhaustive solvers for "use each number once to make the target" puzzles (Countdown, Game24).

Values are exact (`fractions.Fraction` where a division needs one, plain ints otherwise).

`count_solutions(numbers, target, operators)` counts the distinct expression trees that use
every number exactly once and equal the target. Two trees are the same when they have the same
operator at the root and the same subtrees; the two operands of `+` and `*` are unordered
(`a+b` and `b+a` are one solution), while `-` and `/` keep their order and associativity is not
merged (`(a+b)+c` and `a+(b+c)` are two solutions). Any tree that divides by zero anywhere is
not a solution.

How: every tree splits its numbers into the multiset under the left operand and the rest. For
each proper sub-multiset (at most 2**n of them, memoised by sorted content) we keep a table
value -> number of trees; the root level is target-directed: for a left value `a` and an
operator, the right value that reaches the target is determined, so it is one dictionary
lookup. Cost grows quickly with the count of numbers (tables of 5 numbers hold thousands of
values); it is meant for up to 5 numbers.

`find_solution` returns one solution as text (minimal parentheses), by a depth-first search
that stops at the first hit.

>>> count_solutions((1, 2, 3, 4), 24) > 0, count_solutions((1, 1, 1, 1), 24)
(True, 0)
>>> find_solution((3, 3, 8, 8), 24)
'8/(3-8/3)'
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from fractions import Fraction
from functools import lru_cache
from itertools import product

from rlvr.envs.arithmetic.exact import ATOM_PRECEDENCE, BINARY_OPERATORS, PRECEDENCE, join_operands

COMMUTATIVE = frozenset("+*")
MAX_SOLVER_NUMBERS = 6

Value = int | Fraction


def _sub_multisets(numbers: tuple[int, ...]) -> list[tuple[tuple[int, ...], tuple[int, ...]]]:
    """Every (left, right) split of a sorted multiset into two non-empty sorted sub-multisets,
    each split once (repeated numbers do not repeat splits)."""
    counts = sorted(Counter(numbers).items())
    splits = []
    for taken in product(*(range(c + 1) for _, c in counts)):
        left = tuple(n for (n, _), k in zip(counts, taken, strict=True) for _ in range(k))
        if 0 < len(left) < len(numbers):
            right = tuple(n for (n, c), k in zip(counts, taken, strict=True) for _ in range(c - k))
            splits.append((left, right))
    return splits


def _divide(a: Value, b: Value) -> Value:
    """a / b exactly (b != 0); an int when the quotient is whole."""
    if isinstance(a, int) and isinstance(b, int):
        quotient, remainder = divmod(a, b)
        if remainder == 0:
            return quotient
        return Fraction(a, b)
    value = Fraction(a) / b
    # Integers stay ints: exact, and much faster to combine and hash than Fractions.
    return value.numerator if value.denominator == 1 else value


def _apply(a: Value, op: str, b: Value) -> Value | None:
    if op == "+":
        return a + b
    if op == "-":
        return a - b
    if op == "*":
        return a * b
    return None if b == 0 else _divide(a, b)


@lru_cache(maxsize=1 << 15)
def value_table(numbers: tuple[int, ...], operators: tuple[str, ...]) -> dict[Value, int]:
    """value -> number of distinct trees over the sorted multiset `numbers` (see the module doc)."""
    if len(numbers) == 1:
        return {numbers[0]: 1}
    table: dict[Value, int] = {}
    for left, right in _sub_multisets(numbers):
        left_table = value_table(left, operators)
        right_table = value_table(right, operators)
        for op in operators:
            if op in COMMUTATIVE and left > right:
                continue  # counted from the mirrored split
            same_side = op in COMMUTATIVE and left == right
            for (a, count_a), (b, count_b) in product(left_table.items(), right_table.items()):
                if same_side and a > b:
                    continue
                value = _apply(a, op, b)
                if value is None:
                    continue
                # An unordered pair of trees over one multiset: c*(c+1)/2 when both sides share a value.
                trees = count_a * (count_a + 1) // 2 if same_side and a == b else count_a * count_b
                table[value] = table.get(value, 0) + trees
    return table


def _right_for(a: Value, op: str, target: Value, right: dict[Value, int]) -> list[Value]:
    """The right values b in `right` with `a op b == target`."""
    if op == "+":
        wanted = target - a
    elif op == "-":
        wanted = a - target
    elif op == "*":
        if a == 0:
            return list(right) if target == 0 else []
        wanted = _divide(target, a)
    elif target == 0:
        return [b for b in right if b != 0] if a == 0 else []
    elif a == 0:
        return []
    else:
        wanted = _divide(a, target)
    return [wanted] if wanted in right else []


def _left_for(b: Value, op: str, target: Value, left: dict[Value, int]) -> list[Value]:
    """The left values a in `left` with `a op b == target`."""
    if op == "+":
        wanted = target - b
    elif op == "-":
        wanted = target + b
    elif op == "*":
        if b == 0:
            return list(left) if target == 0 else []
        wanted = _divide(target, b)
    elif b == 0:
        return []
    else:
        wanted = target * b
    return [wanted] if wanted in left else []


def _matches(left: dict[Value, int], right: dict[Value, int], op: str, target: Value, same_side: bool):
    """(a, b, trees) for every left value a and right value b with `a op b == target`.

    Iterates over the smaller table and looks the partner up, so a 3+1 split costs one lookup per
    operator. `same_side` (a commutative operator over two equal multisets) counts unordered
    pairs: a <= b only, and c*(c+1)/2 pairs of trees when a == b.
    """
    if same_side or len(left) <= len(right):
        for a in sorted(left):
            for b in _right_for(a, op, target, right):
                if not same_side or a < b:
                    yield a, b, left[a] * right[b]
                elif a == b:
                    yield a, b, left[a] * (left[a] + 1) // 2
    else:
        for b in sorted(right):
            for a in _left_for(b, op, target, left):
                yield a, b, left[a] * right[b]


def _check_numbers(numbers: Iterable[int], operators: Iterable[str]) -> tuple[tuple[int, ...], tuple[str, ...]]:
    ordered = tuple(sorted(int(n) for n in numbers))
    wanted = set(operators)
    ops = tuple(op for op in BINARY_OPERATORS if op in wanted)
    if not ordered or len(ordered) > MAX_SOLVER_NUMBERS:
        raise ValueError(f"the solver takes 1 to {MAX_SOLVER_NUMBERS} numbers, got {len(ordered)}")
    if wanted - set(BINARY_OPERATORS):
        raise ValueError(f"operators must be among {BINARY_OPERATORS}, got {sorted(wanted)}")
    return ordered, ops


def count_solutions(numbers: Iterable[int], target: Value, operators: Iterable[str] = BINARY_OPERATORS) -> int:
    """Distinct expression trees using each of `numbers` once that equal `target` (module doc)."""
    ordered, ops = _check_numbers(numbers, operators)
    return _count(ordered, target, ops)


@lru_cache(maxsize=1 << 15)
def _count(numbers: tuple[int, ...], target: Value, operators: tuple[str, ...]) -> int:
    if len(numbers) == 1:
        return int(numbers[0] == target)
    total = 0
    for left, right in _sub_multisets(numbers):
        left_table, right_table = value_table(left, operators), value_table(right, operators)
        for op in operators:
            if op in COMMUTATIVE and left > right:
                continue
            same_side = op in COMMUTATIVE and left == right
            total += sum(trees for _, _, trees in _matches(left_table, right_table, op, target, same_side))
    return total


def find_solution(numbers: Iterable[int], target: Value, operators: Iterable[str] = BINARY_OPERATORS) -> str | None:
    """One expression using each number once that equals `target`, or None; deterministic."""
    ordered, ops = _check_numbers(numbers, operators)
    found = _build(ordered, target, ops)
    return None if found is None else found[0]


@lru_cache(maxsize=1 << 15)
def _build(numbers: tuple[int, ...], target: Value, operators: tuple[str, ...]) -> tuple[str, int] | None:
    """(text, precedence) of the first tree found over `numbers` with value `target`."""
    if len(numbers) == 1:
        return (str(numbers[0]), ATOM_PRECEDENCE) if numbers[0] == target else None
    for left, right in _sub_multisets(numbers):
        left_table, right_table = value_table(left, operators), value_table(right, operators)
        for op in operators:
            for a, b, _ in _matches(left_table, right_table, op, target, False):
                left_tree, right_tree = _build(left, a, operators), _build(right, b, operators)
                return join_operands(op, *left_tree, *right_tree), PRECEDENCE[op]
    return None


@lru_cache(maxsize=64)
def solvable_multisets(
    low: int, high: int, count: int, target: int, operators: tuple[str, ...]
) -> tuple[tuple[tuple[int, ...], int], ...]:
    """Every sorted `count`-multiset of [low, high] with at least one solution, with its solution count."""
    from itertools import combinations_with_replacement

    found = []
    for numbers in combinations_with_replacement(range(low, high + 1), count):
        solutions = count_solutions(numbers, target, operators)
        if solutions:
            found.append((numbers, solutions))
    return tuple(found)
