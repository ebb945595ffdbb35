"""Tests for the logic puzzles in `rlvr.envs.puzzles.logic`.

Each puzzle is checked against a checker written here, independent of the library's: an `ast`
walk for Boolean expressions, pair-cancelling reduction for Dyck words, brute force over all
assignments / digit permutations for web of lies and cryptarithms.
"""

from __future__ import annotations

import ast
import itertools
import re

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.puzzles.logic import (
    BooleanExprEnv,
    BooleanExprTask,
    CryptarithmEnv,
    CryptarithmTask,
    DyckEnv,
    DyckTask,
    WebOfLiesEnv,
    WebOfLiesTask,
)
from rlvr.testing import check_env_conformance, check_task

TASKS = [BooleanExprTask, CryptarithmTask, DyckTask, WebOfLiesTask]
ENVS = [BooleanExprEnv, CryptarithmEnv, DyckEnv, WebOfLiesEnv]


# ------------------------------------------------------------------ independent checkers
def ast_value(expression: str) -> bool:
    def walk(node: ast.AST) -> bool:
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant) and isinstance(node.value, bool):
            return node.value
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.Not):
            return not walk(node.operand)
        if isinstance(node, ast.BoolOp):
            values = [walk(v) for v in node.values]
            return all(values) if isinstance(node.op, ast.And) else any(values)
        raise AssertionError(f"unexpected node {ast.dump(node)}")

    return walk(ast.parse(expression, mode="eval"))


def reduce_brackets(text: str) -> str:
    text = "".join(ch for ch in text if ch in "()[]{}<>")
    while True:
        shorter = re.sub(r"\(\)|\[\]|\{\}|<>", "", text)
        if shorter == text:
            return text
        text = shorter


def web_answers(content) -> set[bool]:
    people = len(content["names"])
    values = set()
    for assignment in itertools.product([False, True], repeat=people):
        if assignment[content["fact"][0]] != content["fact"][1]:
            continue
        if all(assignment[s] == (assignment[t] == claim) for s, t, claim in content["statements"]):
            values.add(assignment[content["asked"]])
    return values


def crypt_valid(addends, total, mapping) -> bool:
    letters = {c for w in [*addends, total] for c in w}
    if set(mapping) != letters or len(set(mapping.values())) != len(mapping):
        return False
    if any(len(w) > 1 and mapping[w[0]] == 0 for w in [*addends, total]):
        return False
    value = lambda w: int("".join(str(mapping[c]) for c in w))  # noqa: E731
    return sum(value(w) for w in addends) == value(total)


def crypt_brute_force(addends, total) -> list[dict]:
    letters = sorted({c for w in [*addends, total] for c in w})
    return [dict(zip(letters, digits, strict=True)) for digits in itertools.permutations(range(10), len(letters))
            if crypt_valid(addends, total, dict(zip(letters, digits, strict=True)))]


# ------------------------------------------------------------------ per puzzle
def test_boolean_labels_match_ast_and_are_balanced():
    task = BooleanExprTask()
    labels = []
    for index in range(150):
        problem = task.problem_at(3, index, {"depth": 1 + index % 5})
        gold = ast_value(problem.content["expression"])
        labels.append(gold)
        assert problem.answer == str(gold)
        assert task.score(problem, task.solve(problem)).correct
        assert task.score(problem, f"<answer>{not gold}</answer>").components["correct"] == 0.0
    assert 50 < sum(labels) < 100


def test_dyck_oracle_and_mutations():
    task = DyckTask()
    rng = np.random.default_rng(1)
    for index in range(150):
        problem = task.problem_at(4, index, {"length": 2 + index % 30, "bracket_types": 1 + index % 4})
        prefix = problem.content["prefix"]
        answer = re.search(r"<answer>(.*)</answer>", task.solve(problem)).group(1)
        assert reduce_brackets(prefix + answer) == ""
        assert len(answer.split()) == len(reduce_brackets(prefix))
        assert task.score(problem, f"<answer>{answer}</answer>").correct
        symbols = answer.split()
        position = int(rng.integers(len(symbols)))
        for replacement in ")]}>":
            mutated = symbols.copy()
            mutated[position] = replacement
            expected = reduce_brackets(prefix + "".join(mutated)) == ""
            assert task.score(problem, f"<answer>{' '.join(mutated)}</answer>").correct == expected
        longer = task.score(problem, f"<answer>{answer} ( )</answer>")
        assert longer.components == {"correct": 0.0, "balanced": 1.0}
        assert not task.score(problem, f"<answer>{' '.join(symbols[:-1])}</answer>").correct


@pytest.mark.parametrize("people, extra", [(3, 0), (6, 2), (10, 5)])
def test_web_of_lies_unique_by_enumeration(people, extra):
    task = WebOfLiesTask()
    for index in range(40):
        problem = task.problem_at(5, index, {"people": people, "extra_statements": extra})
        values = web_answers(problem.content)
        assert len(values) == 1
        gold = values.pop()
        assert problem.answer == ("Yes" if gold else "No")
        assert task.score(problem, task.solve(problem)).correct
        assert task.score(problem, f"Answer: {'No' if gold else 'Yes'}").components["correct"] == 0.0
        assert task.score(problem, f"<answer>{gold}</answer>").correct


def test_cryptarithm_unique_by_brute_force_and_mutations():
    task = CryptarithmTask()
    rng = np.random.default_rng(2)
    for index in range(6):
        problem = task.problem_at(6, index, {"word_length": 2, "digit_pool": 3})
        addends, total = problem.content["addends"], problem.content["total"]
        solutions = crypt_brute_force(addends, total)
        assert len(solutions) == 1
        (mapping,) = solutions
        assert task.score(problem, task.solve(problem)).correct
        letter = sorted(mapping)[int(rng.integers(len(mapping)))]
        for digit in range(10):
            mutated = {**mapping, letter: digit}
            text = ", ".join(f"{c}={d}" for c, d in mutated.items())
            assert task.score(problem, f"<answer>{text}</answer>").correct == crypt_valid(addends, total, mutated)


def test_cryptarithm_oracle_over_many_seeds():
    task = CryptarithmTask()
    for index in range(30):
        problem = task.problem_at(7, index)
        mapping = dict(pair.split("=") for pair in problem.answer.split(", "))
        mapping = {c: int(d) for c, d in mapping.items()}
        assert crypt_valid(problem.content["addends"], problem.content["total"], mapping)
        assert task.score(problem, task.solve(problem)).correct


# ------------------------------------------------------------------ shared contract
@pytest.mark.parametrize("task_class", TASKS, ids=lambda t: t.__name__)
def test_task_contract_and_determinism(task_class):
    task = task_class()
    problems = check_task(task, n=10)
    again = [task_class().problem_at(0, i) for i in range(10)]
    assert [p.prompt for p in problems] == [p.prompt for p in again]
    assert len({p.problem_id for p in problems}) > 5


@pytest.mark.parametrize("env_class", ENVS, ids=lambda e: e.__name__)
def test_check_env_and_conformance(env_class):
    check_env(env_class(), skip_render_check=True)
    env_id = f"rlvr_test/{env_class.__name__}-v0"
    gymnasium.register(id=env_id, entry_point=f"{env_class.__module__}:{env_class.__name__}")
    try:
        check_env_conformance(env_id, episodes=6)
    finally:
        gymnasium.registry.pop(env_id)


_PROBLEMS = {task_class: task_class().problem_at(0, 0) for task_class in TASKS}


@pytest.mark.parametrize("task_class", TASKS, ids=lambda t: t.__name__)
@settings(max_examples=60, deadline=None)
@given(response=st.text(max_size=300))
def test_any_string_is_scored(task_class, response):
    task = task_class()
    score = task.score(_PROBLEMS[task_class], response)
    assert 0.0 <= score.reward <= 1.0
    score = task.score(_PROBLEMS[task_class], f"<answer>{response}</answer>")
    assert score.correct or score.error
