"""`CryptarithmTask` and `CryptarithmEnv` (`rlvr/Cryptarithm-v0`): letters stand for digits in a sum.

The prompt shows an addition such as `KQX + QZW = ZKPW` whose "words" are random strings over a
random set of capital letters (no real words). Each letter stands for one digit 0-9, different
letters for different digits, and no word with more than one letter starts with 0.

Answer: the digit of every letter, as `K=3, Q=7, X=1, ...` (any order; `:` or `=`, commas,
spaces or newlines between pairs), found by the rules of `answers.answer_text`. The verifier
applies the rules to the mapping — every letter assigned exactly once, distinct digits, no
leading zero, and the sum holds — so any valid mapping passes; the generator keeps only puzzles
whose mapping is unique (proved by `count_solutions`, an exhaustive column-by-column search).

Generation: draw `digit_pool` digits, the addends as numbers over them (no leading 0), code
each digit as a random letter, and keep the puzzle when `count_solutions` finds exactly one
mapping (most draws have several; a small digit pool shares letters between words, which is
what makes a solution unique, so the default pool of 4 needs about ten draws).

Knobs: `addends` (how many words are added), `word_length` (letters per addend; the sum may
have one more), `digit_pool`, `max_attempts`. Components: "correct", "format" (1 when a mapping was read),
"sum_holds" (logged only: the substituted sum is right, rules aside).

>>> count_solutions(["SEND", "MORE"], "MONEY")
1
>>> check_mapping(["AB", "B"], "AC", {"A": 1, "B": 2, "C": 4})
(True, True, None)
>>> import numpy as np
>>> task = CryptarithmTask()
>>> problem = task.sample(np.random.default_rng(0))
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.answers import answer_text, strip_label

_PAIR = re.compile(r"([A-Za-z])\s*(?:=|:|->|→)\s*(\d+)")
_SEPARATORS = re.compile(r"[\s,;]+")
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def count_solutions(addends: Sequence[str], total: str, limit: int = 2) -> int:
    """Number of digit mappings (stopping at `limit`) that make sum(addends) == total."""
    return len(find_solutions(addends, total, limit))


def find_solutions(addends: Sequence[str], total: str, limit: int = 2) -> list[dict[str, int]]:
    """Up to `limit` digit mappings that obey the rules and make sum(addends) == total.

    Column by column from the right: the addends' letters of a column get digits the first time
    they appear; the total's letter is then forced (column sum mod 10), so it is only checked."""
    width = len(total)
    if not width or any(len(word) > width for word in addends):
        return []
    columns = [[word[len(word) - 1 - i] for word in addends if i < len(word)] for i in range(width)]
    leading = {word[0] for word in [*addends, total] if len(word) > 1}
    assigned: dict[str, int] = {}
    used = [False] * 10
    found: list[dict[str, int]] = []

    def place(column: int, carry: int, pending: tuple[str, ...]) -> None:
        if len(found) >= limit:
            return
        if pending:
            letter, rest = pending[0], pending[1:]
            if letter in assigned:
                place(column, carry, rest)
                return
            for digit in range(1 if letter in leading else 0, 10):
                if not used[digit]:
                    assigned[letter], used[digit] = digit, True
                    place(column, carry, rest)
                    del assigned[letter]
                    used[digit] = False
            return
        if column == width:
            if carry == 0:
                found.append(dict(assigned))
            return
        column_sum = carry + sum(assigned[c] for c in columns[column])
        digit, letter = column_sum % 10, total[width - 1 - column]
        if letter in assigned:
            if assigned[letter] == digit:
                place(column + 1, column_sum // 10, pending_of(column + 1))
        elif not used[digit] and not (digit == 0 and letter in leading):
            assigned[letter], used[digit] = digit, True
            place(column + 1, column_sum // 10, pending_of(column + 1))
            del assigned[letter]
            used[digit] = False

    def pending_of(column: int) -> tuple[str, ...]:
        return tuple(dict.fromkeys(columns[column])) if column < width else ()

    place(0, 0, pending_of(0))
    return found


def check_mapping(addends: Sequence[str], total: str, mapping: Mapping[str, int]) -> tuple[bool, bool, str | None]:
    """(obeys every rule and the sum holds, the substituted sum holds, reason when not correct)."""
    letters = sorted({c for word in [*addends, total] for c in word})
    missing = [c for c in letters if c not in mapping]
    extra = sorted(set(mapping) - set(letters))
    if missing or extra:
        return False, False, f"expected a digit for exactly the letters {letters}; missing {missing}, extra {extra}"
    bad = {c: d for c, d in mapping.items() if not 0 <= d <= 9}
    if bad:
        return False, False, f"every letter needs one digit 0-9, got {bad}"

    def number(word: str) -> int:
        return int("".join(str(mapping[c]) for c in word))

    holds = sum(number(word) for word in addends) == number(total)
    if len(set(mapping.values())) != len(mapping):
        return False, holds, "two letters have the same digit"
    zeros = [word for word in [*addends, total] if len(word) > 1 and mapping[word[0]] == 0]
    if zeros:
        return False, holds, f"{zeros[0]} would start with 0"
    if not holds:
        return False, False, (f"{' + '.join(str(number(w)) for w in addends)} = "
                              f"{sum(number(w) for w in addends)}, not {number(total)}")
    return True, True, None


def read_mapping(text: str) -> tuple[dict[str, int] | None, str | None]:
    """Letter -> digit pairs from `K=3, Q=7` (or `K: 3`); anything else in the text is an error."""
    text = strip_label(text).strip("{}()[] ")
    pairs = list(_PAIR.finditer(text))
    leftover = _SEPARATORS.sub("", _PAIR.sub("", text))
    if not pairs or leftover:
        return None, f"expected pairs like 'A=1, B=2', got {text[:80]!r}"
    mapping: dict[str, int] = {}
    for match in pairs:
        letter, digits = match.group(1).upper(), match.group(2)
        if len(digits) > 1:
            return None, f"{letter} is given {digits!r}, which is not one digit"
        if letter in mapping and mapping[letter] != int(digits):
            return None, f"{letter} is given two different digits"
        mapping[letter] = int(digits)
    return mapping, None


def solution_mapping(addends: Sequence[str], total: str, values: Sequence[int]) -> dict[str, int]:
    """The mapping that spells `values` (the addends' numbers) with these words."""
    mapping: dict[str, int] = {}
    numbers = [*values, sum(values)]
    for word, value in zip([*addends, total], numbers, strict=True):
        for letter, digit in zip(word, str(value), strict=True):
            mapping[letter] = int(digit)
    return mapping


class CryptarithmTask(Task):
    """Find the digit of each letter in a letter-coded addition (see the module doc)."""

    name: ClassVar[str] = "cryptarithm"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("addends", 2, "how many words are added", low=2, high=4),
        Knob("word_length", 4, "letters in each added word", low=2, high=6),
        Knob("digit_pool", 4, "how many different digits the added numbers are drawn from (the sum may "
             "bring more); fewer makes uniquely solvable puzzles far more common", low=2, high=10),
        Knob("max_attempts", 3000, "draws allowed to find a puzzle with a unique solution", low=1, high=100_000),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give the digit of every letter in <answer> </answer> tags, for example "
        "<answer>A=1, B=2, C=3</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        count, length = difficulty["addends"], difficulty["word_length"]
        for _ in range(difficulty["max_attempts"]):
            pool = rng.choice(10, size=difficulty["digit_pool"], replace=False)
            values = [self._draw_number(rng, pool, length) for _ in range(count)]
            if None in values:
                continue
            digits = sorted({int(d) for v in [*values, sum(values)] for d in str(v)})
            letters = rng.choice(list(LETTERS), size=len(digits), replace=False)
            code = {d: str(letter) for d, letter in zip(digits, letters, strict=True)}
            addends = ["".join(code[int(d)] for d in str(v)) for v in values]
            total = "".join(code[int(d)] for d in str(sum(values)))
            if count_solutions(addends, total) == 1:
                return self._build(difficulty, addends, total, values)
        raise RuntimeError(
            f"{self.name}: no uniquely solvable sum of {count} words of {length} letters in "
            f"{difficulty['max_attempts']} draws; raise max_attempts or change the knobs"
        )

    @staticmethod
    def _draw_number(rng: np.random.Generator, pool: np.ndarray, length: int) -> int | None:
        """A `length`-digit number over the digits in `pool` (None when the pool is just 0)."""
        if not pool.any():
            return None
        first = int(rng.choice(pool[pool > 0]))
        rest = "".join(str(int(d)) for d in rng.choice(pool, size=length - 1))
        return int(f"{first}{rest}")

    def _build(self, difficulty: Mapping[str, Any], addends: list[str], total: str, values: list[int]) -> Problem:
        equation = " + ".join(addends) + " = " + total
        letters = sorted({c for word in [*addends, total] for c in word})
        question = ("In this addition each letter stands for a digit 0-9; different letters stand for "
                    "different digits, and no number starts with 0.\n\n"
                    f"{equation}\n\nFind the digit of each letter: {', '.join(letters)}.")
        mapping = solution_mapping(addends, total, values)
        answer = ", ".join(f"{c}={mapping[c]}" for c in letters)
        content = {"addends": addends, "total": total}
        return self.make_problem(question, content, answer, difficulty, {"solution": answer})

    def score(self, problem: Problem, response: str) -> Score:
        text, error = answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found", format=0.0, sum_holds=0.0)
        mapping, error = read_mapping(text)
        if mapping is None:
            return Score.zero(error or "unreadable mapping", text, format=0.0, sum_holds=0.0)
        correct, holds, error = check_mapping(problem.content["addends"], problem.content["total"], mapping)
        parsed = ", ".join(f"{c}={d}" for c, d in sorted(mapping.items()))
        components = {"correct": float(correct), "format": 1.0, "sum_holds": float(holds)}
        return Score(float(correct), components, parsed, error)

    def solve(self, problem: Problem) -> str | None:
        found = find_solutions(problem.content["addends"], problem.content["total"], limit=1)
        if not found:
            return None
        return "<answer>" + ", ".join(f"{c}={d}" for c, d in sorted(found[0].items())) + "</answer>"


class CryptarithmEnv(TextEnv):
    """`rlvr/Cryptarithm-v0`: one letter-coded sum per episode, one response per episode
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = CryptarithmTask
    card = EnvCard(
        summary="Cryptarithm: an addition of random letter strings (KQX + QZW = ZKPW); distinct letters are "
        "distinct digits, no leading zeros; the unique digit mapping is proved by an exhaustive column "
        "search.",
        observation="text prompt",
        action="text response: the digit of every letter, 'A=1, B=2, ...', in <answer></answer> tags",
        reward="1 if the mapping obeys the rules and the sum holds, else 0 with the reason; components: "
        "correct, format, sum_holds (logged)",
        task=task_class,
    )
