"""Batched pieces of the MathTree vector env: a vectorised problem sampler and an id evaluator.

`TargetSampler` draws target-mode problems many at a time from one `np.random.Generator`, with
exactly the distribution of `MathTreeTask.generate` (int64 rationals with gcd reduction; rows
that could overflow are evaluated exactly in Python instead). `evaluate_ids` evaluates a token-id
row with plain integers (no string building), for the rewards of finished episodes.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np

from rlvr.envs.arithmetic.exact import ATOM_PRECEDENCE, PRECEDENCE
from rlvr.envs.arithmetic.grammar import DIGITS, MAX_LITERAL_DIGITS, evaluate_cached
from rlvr.envs.mathtree.task import random_expression

OPERATOR_CODES = "+-*/"
CODE_PRECEDENCE = np.array([PRECEDENCE[c] for c in OPERATOR_CODES], np.int64)
OPERAND_LIMIT = (1 << 31) - 1
"""Operands up to this size keep every product, and every sum of two products, inside int64."""
CHUNK_ROWS = 4096
"""Expressions drawn per sampler call; the stream is chunk after chunk, whatever the demand."""
NO_VALUE = np.iinfo(np.int64).min
"""Cached value of a response whose value is not an int64 integer: equal to no target."""
NOT_PARSED = NO_VALUE + 1
"""Cached value of a response that `grammar.evaluate` rejects (division by zero, ...)."""


def rational_op(code, an, ad, bn, bd):
    """Elementwise exact `a op b` on reduced fractions (denominators > 0) for operator codes
    0..3 (+ - * /); returns (num, den, overflow, division_by_zero), reduced, den > 0."""
    overflow = (np.abs(an) > OPERAND_LIMIT) | (ad > OPERAND_LIMIT) | (np.abs(bn) > OPERAND_LIMIT) | (bd > OPERAND_LIMIT)
    if overflow.any():  # flagged rows get harmless operands; their result is discarded
        an, ad, bn, bd = (np.where(overflow, 1, x) for x in (an, ad, bn, bd))
    cross, other = an * bd, bn * ad
    num = np.where(code == 0, cross + other, np.where(code == 1, cross - other, np.where(code == 2, an * bn, cross)))
    den = np.where(code == 3, ad * bn, ad * bd)
    zero_division = (code == 3) & (bn == 0)
    den = np.where(zero_division, 1, den)
    num = np.where(den < 0, -num, num)
    den = np.abs(den)
    common = np.gcd(num, den)
    return num // common, den // common, overflow, zero_division


OPEN, CLOSE, END = 14, 15, 16
"""Token kinds for `evaluate_ids`: digits are 0..9, operators 10 + their code, then these."""
KIND_PRECEDENCE = (0,) * 10 + tuple(PRECEDENCE[c] for c in OPERATOR_CODES)
VALUE_CACHE_SIZE = 1 << 18
"""Response values kept by a vector env; the cache starts afresh when full (bounded memory)."""


def token_kinds(tokens: tuple[str, ...]) -> tuple[int, ...]:
    """The kind of every id below 256 (see `evaluate_ids`): ids past the vocabulary end a row."""
    kinds = [END] * 256
    for index, token in enumerate(tokens):
        if token in DIGITS:
            kinds[index] = DIGITS.index(token)
        elif token in OPERATOR_CODES:
            kinds[index] = 10 + OPERATOR_CODES.index(token)
        elif token in "()":
            kinds[index] = OPEN if token == "(" else CLOSE
    return tuple(kinds)


def evaluate_ids(ids: bytes, kinds: tuple[int, ...]) -> tuple[int, int] | None:
    """Exact (numerator, denominator) of a row the grammar automaton accepted, read up to its
    first EOS or pad; None where `grammar.evaluate` fails (division by zero, a literal longer
    than MAX_LITERAL_DIGITS). Plain ints instead of Fractions: several times faster, same value.

    >>> kinds = token_kinds(tuple("0123456789+-*/()") + ("<eos>",))
    >>> evaluate_ids(bytes([3, 12, 14, 4, 10, 2, 15, 13, 8, 16]), kinds)  # 3*(4+2)/8
    (18, 8)
    """
    values: list[tuple[int, int]] = []
    ops: list[int] = []

    def apply(op: int) -> bool:
        bn, bd = values.pop()
        an, ad = values.pop()
        if op == 10:
            values.append((an * bd + bn * ad, ad * bd))
        elif op == 11:
            values.append((an * bd - bn * ad, ad * bd))
        elif op == 12:
            values.append((an * bn, ad * bd))
        elif bn == 0:
            return False
        else:
            values.append((an * bd, ad * bn))
        return True

    literal = digits = 0
    for byte in ids:
        kind = kinds[byte]
        if kind < 10:
            literal, digits = literal * 10 + kind, digits + 1
            continue
        if digits:
            if digits > MAX_LITERAL_DIGITS:
                return None
            values.append((literal, 1))
            literal = digits = 0
        if kind < OPEN:
            precedence = KIND_PRECEDENCE[kind]
            while ops and ops[-1] != OPEN and KIND_PRECEDENCE[ops[-1]] >= precedence:
                if not apply(ops.pop()):
                    return None
            ops.append(kind)
        elif kind == OPEN:
            ops.append(OPEN)
        elif kind == CLOSE:
            while ops[-1] != OPEN:
                if not apply(ops.pop()):
                    return None
            ops.pop()
        else:
            break
    if digits:
        if digits > MAX_LITERAL_DIGITS:
            return None
        values.append((literal, 1))
    while ops:
        if not apply(ops.pop()):
            return None
    return values[0]


def response_value(exact: tuple[int, int] | None) -> int:
    """What a vector env caches for a response: its integer value, NO_VALUE or NOT_PARSED."""
    if exact is None:
        return NOT_PARSED
    quotient, remainder = divmod(exact[0], exact[1])
    return quotient if remainder == 0 and abs(quotient) < 1 << 62 else NO_VALUE


class _Replay:
    """Stands in for a Generator inside `random_expression`, returning recorded draws in order,
    so a sampled row is rendered by the task's own code (same text, same parentheses)."""

    def __init__(self, draws: list[Any]) -> None:
        self.draws = draws

    def integers(self, high: int, size: int | None = None) -> Any:
        return self.draws.pop(0)


class TargetSampler:
    """Target-mode problems many at a time, distributed as `MathTreeTask.generate` (module doc)."""

    def __init__(self, pool: tuple[int, ...], difficulty: Mapping[str, Any]) -> None:
        d = difficulty
        self.pool = np.array(pool, np.int64)
        self.pool_chars = np.array([len(str(n)) for n in pool], np.int64)
        self.operators, self.parentheses = d["operators"], bool(d["parentheses"])
        self.op_codes = np.array([OPERATOR_CODES.index(c) for c in self.operators], np.int64)
        self.count, self.horizon = int(d["number_count"]), int(d["horizon"])
        self.low, self.high = int(d["target_min"]), int(d["target_max"])

    def draw(self, rng: np.random.Generator, rows: int) -> dict[str, np.ndarray]:
        """`rows` random expressions: their draws, text length, and accepted rows with targets."""
        merges = self.count - 1
        numbers = rng.integers(len(self.pool), size=(rows, self.count))
        op_index = rng.integers(len(self.operators), size=(rows, merges)) if merges else np.zeros((rows, 0), np.int64)
        codes = self.op_codes[op_index] if merges else op_index
        values, chars = self.pool[numbers], self.pool_chars[numbers]
        if self.parentheses and merges:
            sites = np.stack([rng.integers(self.count - 1 - s, size=rows) for s in range(merges)], axis=1)
            num, den, length, overflow, zero_division = self._tree(values, chars, codes, sites)
        else:
            sites = np.zeros((rows, 0), np.int64)
            num, den, length, overflow, zero_division = self._flat(values, chars, codes)
        fits = length + 1 <= self.horizon
        accepted = fits & ~overflow & ~zero_division & (den == 1) & (num >= self.low) & (num <= self.high)
        target = num.copy()
        for row in np.flatnonzero(fits & overflow):  # large numbers only: exact Python evaluation
            value, _, error = evaluate_cached(self.text({"numbers": numbers, "op_index": op_index, "sites": sites}, row))
            ok = error is None and value.denominator == 1 and self.low <= value <= self.high
            accepted[row], target[row] = ok, (int(value) if ok else 0)
        rows_ok = np.flatnonzero(accepted)
        return {"numbers": numbers, "op_index": op_index, "sites": sites, "length": length,
                "rows": rows_ok, "targets": target[rows_ok]}

    def text(self, batch: Mapping[str, np.ndarray], row: int) -> str:
        """The expression text of one drawn row, rendered by `random_expression` itself."""
        numbers = [int(n) for n in self.pool[batch["numbers"][row]]]
        draws: list[Any] = [batch["op_index"][row]] if self.operators else []
        draws += [int(s) for s in batch["sites"][row]]
        return random_expression(_Replay(draws), numbers, self.operators, self.parentheses)

    def _tree(self, values, chars, codes, sites):
        """Random adjacent merges (the parentheses case of `random_expression`), all rows at once."""
        rows = len(values)
        num, den = values.copy(), np.ones_like(values)
        prec, length = np.full_like(values, ATOM_PRECEDENCE), chars.copy()
        overflow = np.zeros(rows, bool)
        zero_division = np.zeros(rows, bool)
        every = np.arange(rows)
        for step in range(codes.shape[1]):
            at, code = sites[:, step], codes[:, step]
            right = at + 1
            op_prec = CODE_PRECEDENCE[code]
            right_prec = prec[every, right]
            left_paren = prec[every, at] < op_prec
            right_paren = (right_prec < op_prec) | ((right_prec == op_prec) & ((code == 1) | (code == 3)))
            merged = rational_op(code, num[every, at], den[every, at], num[every, right], den[every, right])
            overflow |= merged[2]
            zero_division |= merged[3]
            merged_length = length[every, at] + length[every, right] + 1 + 2 * (left_paren.astype(np.int64) + right_paren)
            width = values.shape[1] - step - 1
            columns = np.arange(width)
            source = columns + (columns[None, :] > at[:, None])  # drop column at+1, keep the rest in order
            num, den, prec, length = (np.take_along_axis(x, source, 1) for x in (num, den, prec, length))
            num[every, at], den[every, at], prec[every, at], length[every, at] = merged[0], merged[1], op_prec, merged_length
        return num[:, 0], den[:, 0], length[:, 0], overflow, zero_division

    def _flat(self, values, chars, codes):
        """Precedence evaluation of `n0 op n1 op n2 ...` (no parentheses), all rows at once."""
        rows = len(values)
        acc_num, acc_den, sign = np.zeros(rows, np.int64), np.ones(rows, np.int64), np.zeros(rows, np.int64)
        term_num, term_den = values[:, 0].copy(), np.ones(rows, np.int64)
        overflow = np.zeros(rows, bool)
        zero_division = np.zeros(rows, bool)
        one = np.ones(rows, np.int64)
        for step in range(codes.shape[1]):
            code, operand = codes[:, step], values[:, step + 1]
            scaling = code >= 2
            product = rational_op(code, term_num, term_den, operand, one)
            summed = rational_op(sign, acc_num, acc_den, term_num, term_den)
            overflow |= np.where(scaling, product[2], summed[2])
            zero_division |= scaling & product[3]
            acc_num, acc_den = np.where(scaling, acc_num, summed[0]), np.where(scaling, acc_den, summed[1])
            sign = np.where(scaling, sign, code)
            term_num, term_den = np.where(scaling, product[0], operand), np.where(scaling, product[1], 1)
        final = rational_op(sign, acc_num, acc_den, term_num, term_den)
        length = chars.sum(axis=1) + codes.shape[1]
        return final[0], final[1], length, overflow | final[2], zero_division
