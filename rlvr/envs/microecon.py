"""`MicroEconTask` and `MicroEconEnv` (`rlvr/MicroEcon-v0`): linear supply and demand, exact answers.

Each problem draws a linear market, demand Qd = a - b P and supply Qs = c + d P with integers
b, d >= 1 and c <= 0 (so supply starts at a positive price), and asks one question of a kind:

- `equilibrium_price`: P* = (a - c) / (b + d);
- `equilibrium_quantity`: Q* = a - b P*;
- `tax_buyer_price`: the price buyers pay with a per-unit tax t on sellers, P_b = (a - c + d t) / (b + d);
- `tax_incidence`: the buyers' share of the tax, (P_b - P*) / t = d / (b + d);
- `consumer_surplus`: CS = 1/2 Q* (a/b - P*), the triangle under demand and above P*;
- `deadweight_loss`: DWL = 1/2 t (Q* - Q_t), with Q_t the quantity traded under the tax.

Answers are exact fractions (`fractions.Fraction`); with `integer_answers` the market is redrawn
until the answer is an integer. Markets with P* <= 0, Q* <= 0 or no trade under the tax are
redrawn. Responses are checked with `rlvr.rewards.math.score_math` (exact fast path for numbers;
"3/4", "0.75" and "\\frac{3}{4}" all count).
"""

from __future__ import annotations

from collections.abc import Mapping
from fractions import Fraction
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.rewards.math import score_math

KINDS = ("equilibrium_price", "equilibrium_quantity", "tax_buyer_price", "tax_incidence",
         "consumer_surplus", "deadweight_loss")
TAX_KINDS = frozenset({"tax_buyer_price", "tax_incidence", "deadweight_loss"})
MAX_GENERATION_ATTEMPTS = 5000
_GOODS = ("apples", "bicycles", "concert tickets", "notebooks", "coffee", "solar panels", "haircuts", "bread")
_QUESTIONS = {
    "equilibrium_price": "What is the equilibrium price?",
    "equilibrium_quantity": "What is the equilibrium quantity?",
    "tax_buyer_price": "The government levies a tax of {t} per unit on sellers. What price do buyers pay?",
    "tax_incidence": "The government levies a tax of {t} per unit on sellers. What share of the tax do buyers bear "
                     "(as a fraction between 0 and 1)?",
    "consumer_surplus": "What is the consumer surplus at the equilibrium?",
    "deadweight_loss": "The government levies a tax of {t} per unit on sellers. What is the deadweight loss?",
}


class KindsKnob(Knob):
    """A non-empty tuple of distinct question kinds, kept in the order of `KINDS`."""

    def check(self, value: Any) -> Any:
        if isinstance(value, str):
            value = (value,)
        value = super().check(value)
        unknown = [v for v in value if v not in KINDS]
        if not value or unknown or len(set(value)) != len(value):
            raise ValueError(f"difficulty knob {self.name!r} expects a non-empty tuple of distinct kinds from "
                             f"{KINDS}, got {value!r}")
        return tuple(k for k in KINDS if k in value)


def market_answers(a: int, b: int, c: int, d: int, t: int) -> dict[str, Fraction]:
    """Every kind's exact answer for demand a - bP, supply c + dP and per-unit tax t.

    >>> {k: str(v) for k, v in market_answers(100, 2, -20, 4, 3).items()}  # doctest: +NORMALIZE_WHITESPACE
    {'equilibrium_price': '20', 'equilibrium_quantity': '60', 'tax_buyer_price': '22',
     'tax_incidence': '2/3', 'consumer_surplus': '900', 'deadweight_loss': '6'}
    """
    price = Fraction(a - c, b + d)
    quantity = a - b * price
    buyer_price = Fraction(a - c + d * t, b + d)
    taxed_quantity = a - b * buyer_price
    return {
        "equilibrium_price": price,
        "equilibrium_quantity": quantity,
        "tax_buyer_price": buyer_price,
        "tax_incidence": (buyer_price - price) / t if t else Fraction(d, b + d),
        "consumer_surplus": quantity * (Fraction(a, b) - price) / 2,
        "deadweight_loss": t * (quantity - taxed_quantity) / 2,
    }


def _text(value: Fraction) -> str:
    return str(value.numerator) if value.denominator == 1 else f"{value.numerator}/{value.denominator}"


class MicroEconTask(Task):
    """One supply/demand question with an exact rational answer (see the module doc)."""

    name: ClassVar[str] = "microecon"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    timeout: ClassVar[float] = 2.0
    """Seconds math-verify may take on one answer (the exact fast path needs none)."""
    knobs: ClassVar[tuple[Knob, ...]] = (
        KindsKnob("kinds", KINDS, f"question kinds drawn from, a subset of {KINDS}"),
        Knob("max_slope", 5, "largest slope b, d", low=1, high=100),
        Knob("max_intercept", 200, "largest demand intercept a", low=10, high=100_000),
        Knob("max_tax", 10, "largest per-unit tax t", low=1, high=1000),
        Knob("integer_answers", False, "redraw until the answer is an integer"),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give the exact answer (an integer or a fraction such as 7/3) within \\boxed{}."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        dd = difficulty
        for _ in range(MAX_GENERATION_ATTEMPTS):
            kind = dd["kinds"][int(rng.integers(len(dd["kinds"])))]
            b, d = (int(x) for x in rng.integers(1, dd["max_slope"] + 1, size=2))
            a = int(rng.integers(10, dd["max_intercept"] + 1))
            c = -int(rng.integers(0, a // 2 + 1))
            t = int(rng.integers(1, dd["max_tax"] + 1)) if kind in TAX_KINDS else 0
            answers = market_answers(a, b, c, d, t)
            price, quantity = answers["equilibrium_price"], answers["equilibrium_quantity"]
            if price <= 0 or quantity <= 0 or (t and a - b * answers["tax_buyer_price"] <= 0):
                continue
            if dd["integer_answers"] and answers[kind].denominator != 1:
                continue
            return self._build(dd, kind, a, b, c, d, t, answers[kind], rng)
        raise RuntimeError(f"{self.name}: no valid market in {MAX_GENERATION_ATTEMPTS} draws at {dict(dd)}")

    def _build(self, dd, kind, a, b, c, d, t, answer: Fraction, rng: np.random.Generator) -> Problem:
        good = _GOODS[int(rng.integers(len(_GOODS)))]
        supply = f"Qs = {d}P" if c == 0 else f"Qs = {c} + {d}P"
        question = (f"In the market for {good}, demand is Qd = {a} - {b}P and supply is {supply}, where P is the "
                    f"price and Q the quantity. " + _QUESTIONS[kind].format(t=t))
        content = {"kind": kind, "a": a, "b": b, "c": c, "d": d, "t": t, "good": good}
        return self.make_problem(question, content, _text(answer), dd)

    def score(self, problem: Problem, response: str) -> Score:
        # No local catch-all: an exception here is a verifier bug that the env's guard reports as an
        # internal error (and the fuzz suite fails on), instead of passing for a wrong answer.
        return score_math(problem.answer, response, timeout=self.timeout)

    def solve(self, problem: Problem) -> str:
        return f"\\boxed{{{problem.answer}}}"


class MicroEconEnv(TextEnv):
    """`rlvr/MicroEcon-v0`: one market question an episode, one response (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = MicroEconTask
    card = EnvCard(
        summary="Linear supply and demand with exact rational answers: equilibrium price and quantity, "
        "buyer price and incidence under a per-unit tax, consumer surplus, deadweight loss.",
        observation="text prompt",
        action="text response (answer in \\boxed{}, an 'Answer:' line or the last number)",
        reward="1 if the answer equals the exact fraction (exact fast path, then math-verify), else 0 with "
        "the reason; components: correct, format",
        task=task_class,
    )
