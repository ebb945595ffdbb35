"""`GTAlignTask` and `GTAlignEnv` (`rlvr/GTAlign-v0`): pick the response strategy with the best welfare.

Game-theoretic alignment as a verifiable task: a payoff table gives, for each user type and each
response strategy (direct answer, clarifying question, ...), the user's utility U and the
assistant's utility L (integers 1..`max_payoff`). The prompt shows the table and says which type
the current user is; the response names one strategy. Welfare is W = sqrt(U L), the Nash
bargaining product's square root, which rewards strategies that serve both sides over ones that
please only one. Reward = W(chosen) / max_s W(s) for the user's type, in [0, 1]; "correct" when
the chosen strategy is the welfare-best one (unique by construction: tables with ties are
redrawn). When `trap` is on, the table is redrawn until neither the user-best nor the
assistant-best strategy is the welfare-best, so a one-sided heuristic fails.

Welfare is compared exactly on the integer products U L. Components: "correct", "format",
"welfare" (the normalised reward), "user_utility" and "assistant_utility" of the chosen strategy
(as fractions of `max_payoff`).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.rewards.distributional import final_answer_text

STRATEGIES: tuple[tuple[str, str], ...] = (
    ("DA", "direct answer"),
    ("CQ", "clarifying question"),
    ("AQ", "answer with a follow-up question"),
    ("SA", "short answer"),
    ("DE", "detailed explanation"),
    ("RF", "polite refusal"),
    ("EX", "worked example"),
    ("AL", "list of alternatives"),
)
USER_TYPES = ("vague request", "precise request", "expert user", "novice user", "time-pressed user",
              "curious user", "sceptical user", "non-native speaker")
MAX_GENERATION_ATTEMPTS = 1000


def welfare(user: int, assistant: int) -> float:
    """W = sqrt(U L).

    >>> welfare(4, 9)
    6.0
    """
    return math.sqrt(user * assistant)


class GTAlignTask(Task):
    """Name the strategy that maximises sqrt(U L) for the given user type (see the module doc)."""

    name: ClassVar[str] = "gtalign"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("strategies", 3, "response strategies in the table", low=2, high=len(STRATEGIES)),
        Knob("user_types", 2, "user types (table rows); only one is the current user", low=1, high=len(USER_TYPES)),
        Knob("max_payoff", 10, "utilities are integers 1..max_payoff", low=2, high=100),
        Knob("trap", False, "neither the user-best nor the assistant-best strategy may be welfare-best"),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Name the strategy, by code or name, in <answer> </answer> tags, for example <answer>DA</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        n_strategies, n_types, top = difficulty["strategies"], difficulty["user_types"], difficulty["max_payoff"]
        for _ in range(MAX_GENERATION_ATTEMPTS):
            strategies = sorted(int(i) for i in rng.choice(len(STRATEGIES), n_strategies, replace=False))
            types = [int(i) for i in rng.choice(len(USER_TYPES), n_types, replace=False)]
            user = rng.integers(1, top + 1, size=(n_types, n_strategies))
            assistant = rng.integers(1, top + 1, size=(n_types, n_strategies))
            row = int(rng.integers(n_types))
            products = user[row] * assistant[row]
            best = int(np.argmax(products))
            if (products == products[best]).sum() != 1:
                continue
            if difficulty["trap"] and best in (int(np.argmax(user[row])), int(np.argmax(assistant[row]))):
                continue
            return self._build(difficulty, strategies, types, user, assistant, row, best)
        raise RuntimeError(f"{self.name}: no table with a unique welfare-best strategy in {MAX_GENERATION_ATTEMPTS} "
                           f"draws at {dict(difficulty)}; raise max_payoff or the number of strategies")

    def _build(self, d, strategies, types, user, assistant, row, best) -> Problem:
        codes = [STRATEGIES[i][0] for i in strategies]
        lines = ["An assistant chooses a response strategy. Each cell gives (user utility U, assistant utility L).",
                 "Strategies: " + "; ".join(f"{STRATEGIES[i][0]} = {STRATEGIES[i][1]}" for i in strategies) + ".",
                 "", "user type | " + " | ".join(codes)]
        for t, type_index in enumerate(types):
            cells = " | ".join(f"({user[t, s]}, {assistant[t, s]})" for s in range(len(strategies)))
            lines.append(f"{USER_TYPES[type_index]} | {cells}")
        lines += ["", f"The current user is: {USER_TYPES[types[row]]}.",
                  "Choose the strategy with the highest welfare W = sqrt(U * L) for this user."]
        content = {"strategies": codes, "user_types": [USER_TYPES[i] for i in types],
                   "user": user.tolist(), "assistant": assistant.tolist(), "row": row}
        return self.make_problem("\n".join(lines), content, codes[best], d, {"max_payoff": d["max_payoff"]})

    def score(self, problem: Problem, response: str) -> Score:
        content = problem.content
        codes = content["strategies"]
        empty = {"format": 0.0, "welfare": 0.0, "user_utility": 0.0, "assistant_utility": 0.0}
        text, error = final_answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found", **empty)
        names = {STRATEGIES[[c for c, _ in STRATEGIES].index(code)][1]: code for code in codes}
        wanted = text.strip().lower()
        chosen = next((c for c in codes if c.lower() == wanted), None) or names.get(wanted)
        if chosen is None:
            listed = ", ".join(f"{c} ({n})" for n, c in names.items())
            return Score.zero(f"expected one strategy of this table: {listed}; got {text[:60]!r}", text[:60], **empty)
        column, row = codes.index(chosen), content["row"]
        user, assistant = content["user"][row], content["assistant"][row]
        best = max(u * a for u, a in zip(user, assistant, strict=True))
        reward = math.sqrt(user[column] * assistant[column] / best)
        top = problem.metadata["max_payoff"]
        correct = user[column] * assistant[column] == best
        components = {"correct": float(correct), "format": 1.0, "welfare": reward,
                      "user_utility": user[column] / top, "assistant_utility": assistant[column] / top}
        error = None if correct else f"{chosen} has welfare sqrt({user[column] * assistant[column]}), best is sqrt({best})"
        return Score(reward, components, chosen, error)

    def solve(self, problem: Problem) -> str:
        return f"<answer>{problem.answer}</answer>"


class GTAlignEnv(TextEnv):
    """`rlvr/GTAlign-v0`: one payoff table an episode; the response names a strategy (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = GTAlignTask
    card = EnvCard(
        summary="Game-theoretic alignment: a (user utility U, assistant utility L) table over user types x "
        "response strategies; name the strategy with the best welfare W = sqrt(U*L) for the current user.",
        observation="text prompt: the payoff table and the current user type",
        action="text response: a strategy code or name in <answer></answer> tags",
        reward="W(chosen) / max W for the user's type; correct = the unique welfare-best strategy; "
        "components: correct, format, welfare, user_utility, assistant_utility",
        task=task_class,
    )
