"""MultiSelectCalc: "Which of these expressions equal N? Select all that apply."

Each problem shows a target value N and `choices` lettered options (A, B, ...), each an
arithmetic expression with exactly `num_ops` binary operations over the integers 1-20, drawn with
RandomCalc's generator (`rlvr.envs.arithmetic.drawer`) and valued exactly with
`fractions.Fraction`; nothing is ever evaluated as code. Between `min_correct` and `max_correct`
options equal N (the count is uniform in that range, the positions random); the others do not.

How the options are drawn: N is the value of a free RandomCalc draw (never shown). Every option,
correct or not, is then drawn to a value with `rlvr.envs.arithmetic.targeted.draw_valued`: the
tree grows as RandomCalc's does, one child drawn freely and the other to the value the node
needs. Correct options are drawn to N; each distractor to a value other than N, half the time a
near miss (N + d, d a non-zero integer in [-5, 5]) and otherwise the value of another free draw.
Distractors are generated expressions with their own computed values, never edited text, and
since every option comes from the same construction their shape says nothing about which are
correct. Arithmetic is in integers only (a division must come out exact), like RandomCalc with
`max_denominator=1`, so N and every intermediate value are integers (|value| <= 10**6).

Reward (`reward_mode=`), our reading of the spec's "soft multi-choice partial credit:
partial credit = |chosen ∩ gold|" for a question with several correct options:
- "partial" (default): 0 if any chosen option is wrong, else |chosen ∩ gold| / |gold| (the exact
  set earns 1, a strict subset partial credit, the empty set 0);
- "exact": 1 iff chosen == gold.
`correct` (1.0 for the exact set only) is what accuracy counts in either mode; the answer is read
by `rlvr.rewards.choices` (an unreadable, hedged, repeated or out-of-range answer earns 0 with the
reason).

The oracle evaluates each option on its own line ("A: 3 + 4 * 2 = 11") and ends with
"Answer: A, C".

>>> import numpy as np
>>> task = MultiSelectCalcTask()
>>> problem = task.sample(np.random.default_rng(0), {"num_ops": 2})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.formatting import format_number
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.arithmetic.drawer import ExpressionDrawer, Node, TooTight
from rlvr.envs.arithmetic.exact import BINARY_OPERATORS
from rlvr.envs.arithmetic.targeted import draw_valued
from rlvr.rewards.choices import LETTERS, MODES, read_choices, read_letters, select_all_credit

REWARD_MODES = MODES
MAX_CHOICES = 10
NEAR_MISS = 5
"""A near-miss distractor's value is N + d with 0 < |d| <= NEAR_MISS."""
DRAWS_PER_OP = 20
"""Node draws one option may take per operation before its value is given up."""
TRIES_PER_OPTION = 4
MAX_PROBLEM_DRAWS = 50

# RandomCalc's generator settings, with integers only: every option is then checkable by hand.
_DRAWER = {"min_operand": 1, "max_operand": 20, "operators": BINARY_OPERATORS, "max_exponent": 2,
           "max_numerator": 10**6, "max_denominator": 1}


@dataclass(frozen=True)
class ChoiceScore(Score):
    """A Score that also carries the letters chosen (None when the answer could not be read)."""

    chosen: tuple[str, ...] | None = None

    def info(self) -> dict[str, Any]:
        return {**super().info(), "chosen": None if self.chosen is None else list(self.chosen)}


def check_counts(difficulty: Mapping[str, Any]) -> None:
    """1 <= min_correct <= max_correct <= choices, else a ValueError naming the values."""
    low, high, choices = difficulty["min_correct"], difficulty["max_correct"], difficulty["choices"]
    if not 1 <= low <= high <= choices:
        raise ValueError(f"expected 1 <= min_correct <= max_correct <= choices, got min_correct={low}, "
                         f"max_correct={high}, choices={choices}")


class MultiSelectCalcTask(Task):
    """Pick every option whose expression equals the target (see the module doc)."""

    name: ClassVar[str] = "multi_select_calc"
    version: ClassVar[int] = 0
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("num_ops", 3, "binary operations in each option's expression (exactly)", low=1, high=10),
        Knob("choices", 5, "lettered options shown (A, B, ...)", low=2, high=MAX_CHOICES),
        Knob("min_correct", 1, "fewest options equal to the target", low=1, high=MAX_CHOICES),
        Knob("max_correct", 3, "most options equal to the target (at most `choices`)", low=1, high=MAX_CHOICES),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Evaluate each option exactly, using the usual order of operations. Then give the letters "
        "of every option equal to the target on a final line, e.g. \"Answer: A, C\"."
    )

    def __init__(self, template: PromptTemplate | None = None, *, reward_mode: str = "partial") -> None:
        super().__init__(template)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        self.reward_mode = reward_mode

    def difficulty(self, *overrides: Mapping[str, Any] | None) -> dict[str, Any]:
        """The knobs resolved, and their counts checked against each other (`check_counts`)."""
        resolved = super().difficulty(*overrides)
        check_counts(resolved)
        return resolved

    # ------------------------------------------------------------------ generation
    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        check_counts(difficulty)
        num_ops, choices = difficulty["num_ops"], difficulty["choices"]
        settings = {**_DRAWER, "num_ops": num_ops}
        for _ in range(MAX_PROBLEM_DRAWS):
            try:
                target = ExpressionDrawer(rng, settings).draw(num_ops)[0]
            except TooTight:
                continue
            count = difficulty["min_correct"] + int(rng.integers(difficulty["max_correct"] - difficulty["min_correct"] + 1))
            gold = sorted(int(i) for i in rng.choice(choices, size=count, replace=False))
            options = self._options(rng, settings, target, gold, choices)
            if options is not None:
                return self._build(target, options, gold, difficulty)
        raise RuntimeError(f"{self.name}: no problem found in {MAX_PROBLEM_DRAWS} draws at difficulty "
                           f"{dict(difficulty)}; lower num_ops")

    def _options(self, rng: np.random.Generator, settings: Mapping[str, Any], target: Fraction,
                 gold: list[int], choices: int) -> list[Node] | None:
        """One node per option (gold positions equal `target`, the others not), or None to redraw."""
        options: list[Node] = []
        texts: set[str] = set()
        for index in range(choices):
            values = [target] if index in gold else [self._distractor_value(rng, settings, target)
                                                     for _ in range(TRIES_PER_OPTION)]
            node = None
            for value in values:
                if value is not None and (node := self._option(rng, settings, value, texts)) is not None:
                    break
            if node is None:
                return None
            options.append(node)
            texts.add(node[1])
        return options

    @staticmethod
    def _distractor_value(rng: np.random.Generator, settings: Mapping[str, Any], target: Fraction) -> Fraction | None:
        if rng.random() < 0.5:
            offset = int(rng.integers(1, NEAR_MISS + 1)) * (1 if rng.random() < 0.5 else -1)
            return target + offset
        try:
            value = ExpressionDrawer(rng, settings).draw(settings["num_ops"])[0]
        except TooTight:
            return None
        return None if value == target else value

    @staticmethod
    def _option(rng: np.random.Generator, settings: Mapping[str, Any], value: Fraction, taken: set[str]) -> Node | None:
        for _ in range(TRIES_PER_OPTION):
            drawer = ExpressionDrawer(rng, settings)
            node = draw_valued(drawer, settings["num_ops"], value, DRAWS_PER_OP * settings["num_ops"])
            if node is not None and node[1] not in taken:
                return node
        return None

    def _build(self, target: Fraction, options: list[Node], gold: list[int], difficulty: Mapping[str, Any]) -> Problem:
        target_text = format_number(target)
        lines = "\n".join(f"{LETTERS[i]}. {text}" for i, (_, text, _) in enumerate(options))
        question = f"Which of these expressions equal {target_text}? Select all that apply.\n\n{lines}"
        letters = [LETTERS[i] for i in gold]
        return self.make_problem(
            question,
            content={"target": target_text, "options": [text for _, text, _ in options]},
            answer=", ".join(letters),
            difficulty=difficulty,
            metadata={"num_ops": difficulty["num_ops"], "gold": letters,
                      "values": [format_number(value) for value, _, _ in options]},
        )

    # ------------------------------------------------------------------ scoring
    def score(self, problem: Problem, response: str) -> Score:
        count = len(problem.content["options"])
        gold, _ = read_letters(str(problem.answer), count)
        reading = read_choices(response, count)
        parsed = reading.answer[:200] if reading.answer is not None else None
        if reading.chosen is None or gold is None:
            reason = reading.error or f"the gold answer {problem.answer!r} names no options"
            return ChoiceScore.zero(reason, parsed, credit=0.0, hits=0.0, wrong=0.0)
        chosen = reading.chosen
        credit = select_all_credit(chosen, gold)
        correct = chosen == gold
        components = {"correct": float(correct), "credit": credit, "hits": float(len(chosen & gold)),
                      "wrong": float(len(chosen - gold))}
        reward = credit if self.reward_mode == "partial" else float(correct)
        said = ", ".join(sorted(chosen)) or "none"
        error = None if correct else f"chose {said}; the options equal to {problem.content['target']} are {problem.answer}"
        return ChoiceScore(reward, components, said, error, chosen=tuple(sorted(chosen)))

    def solve(self, problem: Problem) -> str:
        values = problem.metadata["values"]
        lines = [f"{LETTERS[i]}: {text} = {values[i]}" for i, text in enumerate(problem.content["options"])]
        return "\n".join(lines) + f"\nAnswer: {problem.answer}"


class MultiSelectCalcEnv(TextEnv):
    """`rlvr/MultiSelectCalc-v0`: one select-all-that-apply question per episode, one response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = MultiSelectCalcTask
    task_options = ("reward_mode",)
    card = EnvCard(
        summary="Select all that apply: which of 2-10 lettered arithmetic expressions (exactly k = 1..10 "
        "operations each, integers, evaluated exactly) equal a target value; 1 or more options are correct.",
        observation="text prompt: the target and the lettered options",
        action="text response ending in the chosen letters ('Answer: A, C', 'AC', '{A, C}', 'A and C', "
        "in tags or a box too); hedges, repeats and letters outside the options earn 0",
        reward="reward_mode='partial' (default): 0 if any wrong option is chosen, else |chosen ∩ gold| / "
        "|gold|; 'exact': 1 iff chosen == gold; components: correct (exact set), credit, hits, wrong; "
        "info also holds chosen (letters, None if unread) and gold ('A, C')",
        task=task_class,
    )
