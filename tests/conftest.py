"""Shared test fixtures: a tiny task defined here so core tests depend on no env family."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest

from rlvr.core import Knob, Problem, PromptTemplate, Score, Task, TextEnv


class AddTask(Task):
    """a + b with a, b drawn from [0, max_operand]; the answer is the exact sum."""

    name = "test-add"
    version = 1
    knobs = (Knob("max_operand", 9, "largest operand", low=0, high=10**6),)
    default_template = PromptTemplate(instruction="Answer with the number only.")

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        a, b = (int(x) for x in rng.integers(0, difficulty["max_operand"] + 1, size=2))
        return self.make_problem(f"What is {a} + {b}?", {"a": a, "b": b}, str(a + b), difficulty)

    def score(self, problem: Problem, response: str) -> Score:
        text = response.strip()
        if not text.isdigit() or len(text) > 12:
            return Score.zero("expected a non-negative integer", parsed_answer=text[:20] or None)
        return Score.binary(int(text) == int(problem.answer), parsed_answer=text)

    def solve(self, problem: Problem) -> str:
        return str(problem.answer)


class AddEnv(TextEnv):
    task_class = AddTask


@pytest.fixture
def add_task() -> AddTask:
    return AddTask()


@pytest.fixture
def add_env() -> AddEnv:
    return AddEnv()
