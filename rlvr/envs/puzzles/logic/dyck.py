"""`DyckTask` and `DyckEnv` (`rlvr/Dyck-v0`): close the brackets a prefix left open.

The prompt shows a prefix of a Dyck word over up to four bracket types, `()`, `[]`, `{}`, `<>`,
as space-separated symbols; every closing bracket in it matches, and at least one bracket is
still open. The answer is the closing sequence, e.g. `] ) >` (spaces optional), found by the
rules of `answers.answer_text`.

Any sequence that makes prefix + answer balanced is a completion, but only one is shortest:
close each open bracket, innermost first. The task asks for that one, so "correct" requires
(a) prefix + answer balanced and (b) the answer no longer than the number of open brackets;
the verifier checks both rules on the response and never compares with a stored string.
Component "balanced" (logged only: reward is "correct") is 1 for any balancing answer, the
shortest or not.

Knobs: `length` (symbols in the prefix), `bracket_types` (1-4), `open_bias` (chance that a
step opens a bracket rather than closing one; higher leaves more open).

>>> closing_sequence("( [ { } ]")
(')', None)
>>> check_completion("( [", "] )")
(True, True, None)
>>> import numpy as np
>>> task = DyckTask()
>>> problem = task.sample(np.random.default_rng(0))
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.answers import answer_text, strip_label

PAIRS = {"(": ")", "[": "]", "{": "}", "<": ">"}
OPENERS = "([{<"
CLOSERS = {close: open_ for open_, close in PAIRS.items()}
_IGNORED = frozenset(" \t\n,")


def symbols(text: str) -> tuple[list[str] | None, str | None]:
    """The bracket symbols of a text (spaces and commas ignored), or (None, reason)."""
    found = []
    for position, char in enumerate(text):
        if char in PAIRS or char in CLOSERS:
            found.append(char)
        elif char not in _IGNORED:
            return None, f"expected only brackets ()[]{{}}<> and spaces, got {char!r} at character {position}"
    return found, None


def open_stack(sequence: list[str]) -> tuple[list[str] | None, str | None]:
    """The brackets still open after `sequence` (outermost first), or (None, the first mismatch)."""
    stack: list[str] = []
    for position, char in enumerate(sequence):
        if char in PAIRS:
            stack.append(char)
        elif not stack:
            return None, f"{char!r} at symbol {position + 1} closes nothing"
        elif stack[-1] != CLOSERS[char]:
            return None, f"{char!r} at symbol {position + 1} does not match the open {stack[-1]!r}"
        else:
            stack.pop()
    return stack, None


def closing_sequence(prefix: str) -> tuple[str | None, str | None]:
    """The shortest completion of a prefix, as space-separated closers, or (None, reason)."""
    sequence, error = symbols(prefix)
    if sequence is None:
        return None, error
    stack, error = open_stack(sequence)
    if stack is None:
        return None, error
    return " ".join(PAIRS[char] for char in reversed(stack)), None


def check_completion(prefix: str, answer: str) -> tuple[bool, bool, str | None]:
    """(shortest and balanced, balanced, reason when not correct) for prefix + answer."""
    prefix_symbols, error = symbols(prefix)
    answer_symbols, answer_error = symbols(answer)
    if prefix_symbols is None:
        return False, False, f"the prefix is unreadable: {error}"
    if answer_symbols is None:
        return False, False, answer_error
    stack, error = open_stack(prefix_symbols + answer_symbols)
    if stack is None:
        return False, False, f"prefix + answer is not balanced: {error}"
    if stack:
        return False, False, f"prefix + answer leaves {len(stack)} bracket(s) open"
    shortest, _ = open_stack(prefix_symbols)
    if len(answer_symbols) > len(shortest or []):
        return False, True, (f"the answer balances the prefix with {len(answer_symbols)} symbols; the "
                             f"shortest completion has {len(shortest or [])}")
    return True, True, None


def draw_prefix(rng: np.random.Generator, length: int, kinds: str, open_bias: float) -> list[str]:
    """A random walk of `length` symbols that closes only what is open and ends with something open."""
    stack: list[str] = []
    sequence: list[str] = []
    for step in range(length):
        left = length - step
        must_open = not stack or (left == 1 and len(stack) == 1)
        if must_open or rng.random() < open_bias:
            char = kinds[int(rng.integers(len(kinds)))]
            stack.append(char)
            sequence.append(char)
        else:
            sequence.append(PAIRS[stack.pop()])
    return sequence


class DyckTask(Task):
    """Give the shortest closing sequence of a bracket prefix (see the module doc)."""

    name: ClassVar[str] = "dyck"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("length", 12, "number of bracket symbols in the prefix", low=1, high=500),
        Knob("bracket_types", 3, "how many bracket types are used: (), [], {}, <> in that order", low=1, high=4),
        Knob("open_bias", 0.6, "chance that a step opens a bracket rather than closing one", low=0.0, high=1.0),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give only the closing brackets, in order, in <answer> </answer> tags, "
        "for example <answer>] )</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        kinds = OPENERS[: difficulty["bracket_types"]]
        prefix = " ".join(draw_prefix(rng, difficulty["length"], kinds, difficulty["open_bias"]))
        answer, _ = closing_sequence(prefix)
        question = ("Complete the sequence so that every bracket is closed properly, using as few "
                    f"brackets as possible. Give only the brackets that come after the prefix.\n\nPrefix: {prefix}")
        return self.make_problem(question, {"prefix": prefix}, answer, difficulty)

    def score(self, problem: Problem, response: str) -> Score:
        text, error = answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found", balanced=0.0)
        text = strip_label(text)
        correct, balanced, error = check_completion(problem.content["prefix"], text)
        return Score(float(correct), {"correct": float(correct), "balanced": float(balanced)}, text, error)

    def solve(self, problem: Problem) -> str:
        answer, _ = closing_sequence(problem.content["prefix"])
        return f"<answer>{answer}</answer>"


class DyckEnv(TextEnv):
    """`rlvr/Dyck-v0`: one bracket prefix per episode, one response per episode (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = DyckTask
    card = EnvCard(
        summary="Dyck completion: a prefix of brackets over up to four types (), [], {}, <>; give the "
        "shortest closing sequence.",
        observation="text prompt",
        action="text response: the closing brackets in <answer></answer> tags (spaces optional)",
        reward="1 if prefix + answer is balanced and the answer is the shortest completion, else 0; "
        "components: correct, balanced (any balancing completion, logged)",
        task=task_class,
    )
