"""`MathTreeTask`: every problem is solvable and solved by `solve`, single-token mutations are
judged by an independent evaluator, hostile text scores zero with a reason, knobs do what they say."""

from __future__ import annotations

import statistics
import time

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.core.seeding import problem_rng
from rlvr.envs.mathtree.env import MathTreeEnv
from rlvr.envs.mathtree.task import MathTreeTask
from rlvr.envs.mathtree.vocab import Vocabulary
from tests.envs.arithmetic.reference import reference_evaluate
from tests.envs.mathtree.reference import reference_correct

TASK = MathTreeTask()
CONFIGS = [
    {},
    {"mode": "countdown", "number_count": 4, "horizon": 16, "number_max": 13, "target_max": 50},
    {"digits": "12", "operators": "+*", "parentheses": False, "horizon": 6, "target_max": 20},
    {"digits": "357", "operators": "-/", "number_count": 3, "horizon": 10, "target_min": -20, "target_max": 20},
    {"mode": "countdown", "number_count": 3, "number_min": 10, "number_max": 99, "horizon": 12,
     "target_max": 1000},
]


def _numbers(problem):
    return list(problem.content["numbers"]) if problem.content["mode"] == "countdown" else None


@pytest.mark.parametrize("config", CONFIGS)
def test_every_problem_is_solvable_and_solved(config):
    difficulty = TASK.difficulty(config)
    allowed = set(Vocabulary.from_difficulty(difficulty).characters)
    for index in range(150):
        problem = TASK.problem_at(9, index, config)
        solution = TASK.solve(problem)
        score = TASK.score(problem, solution)
        assert score.reward == 1.0 and score.correct and score.error is None, (problem.content, solution)
        assert reference_correct(solution, problem.content["target"], _numbers(problem))
        assert len(solution) + 1 <= difficulty["horizon"] and set(solution) <= allowed
        assert difficulty["target_min"] <= problem.content["target"] <= difficulty["target_max"]
        if problem.content["mode"] == "countdown":
            assert len(problem.content["numbers"]) == difficulty["number_count"]
            assert score.components["uses_numbers"] == 1.0


@pytest.mark.parametrize("config", CONFIGS[:4])
def test_single_token_mutations_are_judged_exactly(config):
    vocab = Vocabulary.from_difficulty(TASK.difficulty(config))
    accepted_mutations = 0
    for index in range(25):
        problem = TASK.problem_at(1, index, config)
        solution = TASK.solve(problem)
        for position in range(len(solution)):
            for char in vocab.characters:
                if char == solution[position]:
                    continue
                mutated = solution[:position] + char + solution[position + 1:]
                expected = reference_correct(mutated, problem.content["target"], _numbers(problem))
                score = TASK.score(problem, mutated)
                assert score.correct == expected, (problem.content, mutated)
                assert (score.error is None) == expected
                accepted_mutations += expected
    assert accepted_mutations < 0.2 * 25 * 8  # most mutations are wrong: the check has teeth


@pytest.mark.parametrize(
    ("response", "reason"),
    [("", "empty"), ("   ", "empty"), ("1/0", "division by zero"), ("((((", "unclosed"), ("9**9**9", "syntax"),
     ("9" * 100_000, "more than"), ("1" * 200, "more than"), ("１+２", "vocabulary"), ("3+5=8", "vocabulary"),
     ("x" * 10**6, "characters"), ("\u202e7", "vocabulary"), ("07", "syntax"), (None, "string")],
)
def test_hostile_responses_score_zero_with_a_reason(response, reason):
    problem = TASK.problem_at(0, 0)
    start = time.perf_counter()
    score = TASK.score(problem, response)
    assert score.reward == 0.0 and score.components["correct"] == 0.0 and score.components["parsed"] == 0.0
    assert reason in score.error
    assert time.perf_counter() - start < 0.5


def test_wrong_value_and_wrong_numbers_have_reasons():
    problem = TASK.problem_at(0, 0, {"mode": "countdown", "number_count": 3, "horizon": 12})
    numbers, target = problem.content["numbers"], problem.content["target"]
    score = TASK.score(problem, f"{target}")
    assert score.reward == 0.0 and score.components == {"parsed": 1.0, "uses_numbers": 0.0, "correct": 0.0}
    assert "differ from the given" in score.error
    score = TASK.score(problem, "+".join(str(n) for n in numbers) + "+1")
    assert "differ" in score.error and "expected" in score.error
    assert TASK.score(problem, " " + TASK.solve(problem).replace("", " ") + "\n").reward == 1.0


def test_countdown_rejects_a_self_comparison_style_shortcut():
    """'1+2+3+4' for target 24 is wrong (a peer verifier once compared a value with itself)."""
    problem = TASK.problem_at(0, 0, {"mode": "countdown", "number_count": 4, "horizon": 16, "target_min": 24,
                                     "target_max": 24, "number_max": 13})
    assert TASK.score(problem, "+".join(str(n) for n in problem.content["numbers"])).reward == (
        1.0 if sum(problem.content["numbers"]) == 24 else 0.0)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
def test_any_text_gets_a_score(text):
    problem = TASK.problem_at(0, 3)
    score = TASK.score(problem, text)
    assert score.reward in (0.0, 1.0)
    expected = reference_correct("".join(text.split()), problem.content["target"], None) and all(
        c in "0123456789+-*/()" for c in "".join(text.split()))
    assert score.correct == expected


def test_determinism_and_independent_streams():
    assert TASK.problem_at(5, 3) == TASK.problem_at(5, 3)
    first = [TASK.problem_at(0, i).problem_id for i in range(30)]
    shifted = [TASK.problem_at(1, i).problem_id for i in range(30)]
    assert first[1:] != shifted[:-1]
    same = TASK.generate(problem_rng(5, 3), TASK.difficulty())
    assert same.problem_id == TASK.problem_at(5, 3).problem_id


def test_split_partitions_problems():
    ids = {split: {TASK.problem_at(0, i, split=split).problem_id for i in range(40)} for split in ("train", "eval")}
    assert ids["train"] and ids["eval"] and not ids["train"] & ids["eval"]


def test_knobs_change_what_they_claim():
    def many(config, n=60):
        return [TASK.problem_at(2, i, config) for i in range(n)]

    assert all(set(TASK.solve(p)) <= set("12+") for p in many({"digits": "12", "operators": "+"}))
    assert all("(" not in TASK.solve(p) for p in many({"parentheses": False, "number_count": 4, "horizon": 12}))
    assert any("(" in TASK.solve(p) for p in many({"number_count": 4, "horizon": 12}))
    assert all(len(TASK.solve(p)) <= 4 for p in many({"horizon": 5}))
    assert all(-5 <= p.content["target"] <= 5 for p in many({"target_min": -5, "target_max": 5}))
    assert any(p.content["target"] < 0 for p in many({"target_min": -5, "target_max": 5}))
    for problem in many({"mode": "countdown", "number_count": 5, "horizon": 20, "number_min": 20,
                         "number_max": 30, "target_max": 10**5}):
        assert len(problem.content["numbers"]) == 5 and all(20 <= n <= 30 for n in problem.content["numbers"])
    literal_counts = {len(reference_evaluate(TASK.solve(p))[1]) for p in many({"number_count": 3, "horizon": 10})}
    assert literal_counts == {3}
    assert MathTreeEnv(digits="12", operators="+", parentheses=False).num_actions == 4
    assert MathTreeEnv().num_actions == 17
    assert MathTreeEnv(horizon=11).observation_space["response_ids"].shape == (11,)


@pytest.mark.parametrize(
    ("config", "error", "match"),
    [({"digits": "1a"}, ValueError, "may only contain"), ({"digits": ""}, ValueError, "at least one"),
     ({"digits": "11"}, ValueError, "repeat"), ({"mode": "count"}, ValueError, "one of"),
     ({"horizon": 3, "number_count": 3}, ValueError, "cannot hold"), ({"operators": "", "number_count": 2}, ValueError,
                                                                      "operator"),
     ({"digits": "5", "number_min": 1, "number_max": 4}, ValueError, "can be written"),
     ({"number_min": 5, "number_max": 2}, ValueError, "number_min <= number_max"),
     ({"digits": "1", "operators": "+", "target_min": 50, "target_max": 60}, RuntimeError, "widen the targets"),
     ({"horizont": 3}, KeyError, "did you mean")],
)
def test_bad_knobs_are_clear_errors(config, error, match):
    with pytest.raises(error, match=match):
        TASK.problem_at(0, 0, config)


def test_generation_is_fast():
    timings = []
    for config in CONFIGS:
        rng = np.random.default_rng(0)
        difficulty = TASK.difficulty(config)
        for _ in range(200):
            start = time.perf_counter()
            TASK.generate(rng, difficulty)
            timings.append(time.perf_counter() - start)
    assert statistics.median(timings) < 1e-3
