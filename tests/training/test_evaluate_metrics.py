"""The evaluation's diversity and breakdown figures on hand-made answers: semantic entropy over the
task's canonical classes, distinct-n per problem, solve rates per difficulty, seeds combined."""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

pytest.importorskip("torch")

from rlvr.core.problem import Problem, Score  # noqa: E402
from rlvr.core.task import Task  # noqa: E402
from rlvr.envs.random_calc import RandomCalcTask  # noqa: E402
from rlvr.training.eval_breakdown import (  # noqa: E402
    by_difficulty,
    check_seeds,
    combine_seeds,
    is_sampled_metric,
    spread_indices,
    sweep_difficulties,
)
from rlvr.training.evaluate import PROGRESS_MIN_BATCHES, progress_bar, sample_metrics  # noqa: E402
from rlvr.training.metrics import maj_at_k  # noqa: E402


class SumTask(Task):
    """Answers are 'a+b' sums or numbers after the word 'answer'; '3+4' and '4+3' are one class."""

    name = "sum-test"

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        raise NotImplementedError

    def score(self, problem: Problem, response: str) -> Score:
        answer = response.split()[-1] if response.split() else ""
        if not answer or not all(part.isdigit() for part in answer.split("+")):
            return Score.zero("no answer", None)
        return Score.binary(sum(map(int, answer.split("+"))) == problem.answer, answer)

    def canonical_answer(self, parsed_answer: str | None) -> Any:
        return None if parsed_answer is None else "+".join(sorted(parsed_answer.split("+")))


def _problem(answer: int, **difficulty: Any) -> Problem:
    return Problem("sum-test", 0, {"answer": answer, **difficulty}, "", (), answer, difficulty=difficulty)


def test_sample_metrics_worked_by_hand():
    problems = [_problem(7), _problem(5)]
    texts = ["answer 3+4", "answer 4+3", "answer 7", "answer ??",  # problem 1: gold 7
             "answer 5", "answer 5", "answer 5", "answer 6"]  # problem 2: gold 5
    metrics = sample_metrics(SumTask(), problems, texts, num_samples=4, ks=[1, 4])
    # problem 1: classes {3+4: 2, 7: 1, unreadable: 1} -> 1.5 ln 2; problem 2: {5: 3, 6: 1}
    entropy_2 = -(0.75 * math.log(0.75) + 0.25 * math.log(0.25))
    assert metrics["semantic_entropy"] == pytest.approx((1.5 * math.log(2) + entropy_2) / 2)
    # distinct correct: {3+4, 7} and {5}
    assert metrics["distinct_correct"] == pytest.approx(1.5)
    # problem 1: 8 unigrams, 5 distinct (answer 3+4 4+3 7 ??), 4 bigrams all distinct;
    # problem 2: 8 unigrams, 3 distinct (answer 5 6), 4 bigrams, 2 distinct
    assert metrics["distinct_1"] == pytest.approx((5 / 8 + 3 / 8) / 2)
    assert metrics["distinct_2"] == pytest.approx((4 / 4 + 2 / 4) / 2)
    assert metrics["sample_accuracy"] == pytest.approx(6 / 8)
    assert metrics["pass@1"] == pytest.approx(6 / 8) and metrics["pass@4"] == 1.0


def test_semantic_entropy_is_zero_when_every_sample_is_one_solution():
    texts = ["answer 3+4", "answer 4+3", "answer 3+4"]  # three spellings of one canonical solution
    metrics = sample_metrics(SumTask(), [_problem(7)], texts, num_samples=3, ks=[1])
    assert metrics["semantic_entropy"] == 0.0 and metrics["distinct_correct"] == 1.0
    # all unreadable: one class together, so a policy that never answers is not "diverse"
    silent = sample_metrics(SumTask(), [_problem(7)], ["??", "!!", ""], num_samples=3, ks=[1])
    assert silent["semantic_entropy"] == 0.0 and silent["sample_accuracy"] == 0.0
    # one word or none per answer: no bigram, so no distinct-2 rather than a misleading 0
    assert "distinct_2" not in silent and silent["distinct_1"] == 1.0


def test_solve_rates_by_difficulty_on_real_problems():
    task = RandomCalcTask()
    easy = [task.problem_at(0, i, {"num_ops": 1}) for i in range(3)]
    hard = [task.problem_at(0, i, {"num_ops": 3}) for i in range(2)]
    # the verdicts a policy might get: 2 of 3 easy, 0 of 2 hard
    table = by_difficulty(easy + hard, [1.0, 0.0, 1.0, 0.0, 0.0])["by_difficulty"]
    assert table == {"num_ops=1": {"problems": 3, "solved": 2, "greedy_accuracy": pytest.approx(2 / 3)},
                     "num_ops=3": {"problems": 2, "solved": 0, "greedy_accuracy": 0.0}}
    # one difficulty: nothing to break down
    assert by_difficulty(easy, [1.0, 1.0, 0.0]) == {}
    assert by_difficulty([_problem(3), _problem(4)], [1.0, 0.0]) == {}  # no knobs at all
    with pytest.raises(ValueError, match="one verdict per problem"):
        by_difficulty(easy, [1.0])


def test_list_valued_knobs_label_their_groups():
    task = RandomCalcTask()
    problems = [task.problem_at(0, 0, {"operators": ["+"]}), task.problem_at(0, 0, {"operators": ["+", "-"]})]
    labels = set(by_difficulty(problems, [1.0, 0.0])["by_difficulty"])
    assert labels == {'operators=["+"]', 'operators=["+","-"]'}


def test_combining_seeds_gives_mean_and_spread_of_sampled_metrics_only():
    runs = [{"pass@1": 0.5, "semantic_entropy": 0.2, "greedy_accuracy": 0.9},
            {"pass@1": 0.7, "semantic_entropy": 0.4, "greedy_accuracy": 0.9}]
    combined = combine_seeds(runs, [0, 3])
    assert combined["pass@1"] == pytest.approx(0.6) and combined["semantic_entropy"] == pytest.approx(0.3)
    assert combined["across_seeds"]["pass@1"]["std"] == pytest.approx(math.sqrt(0.02))
    assert "greedy_accuracy" not in combined and combined["sampling_seeds"] == [0, 3]
    assert combine_seeds(runs[:1], [0]) == runs[0]
    with pytest.raises(ValueError, match="one metrics record per seed"):
        combine_seeds(runs, [0])
    assert all(map(is_sampled_metric, ("maj@16", "distinct_1", "distinct_2", "sample_mean_length")))
    assert not any(map(is_sampled_metric, ("greedy_reward", "num_problems", "mean_turns", "xpass@1")))


@pytest.mark.parametrize("seeds", [[], [0, 0], [-1], [1.5], [True]])
def test_bad_sampling_seeds_are_refused(seeds):
    with pytest.raises(ValueError, match="distinct sampling seeds"):
        check_seeds(seeds)


def test_sweep_levels_and_bad_sweeps():
    assert sweep_difficulties({}, {"num_ops": [1, 2], "max_operand": [5, 9]}) == [
        {"num_ops": 1, "max_operand": 5}, {"num_ops": 1, "max_operand": 9},
        {"num_ops": 2, "max_operand": 5}, {"num_ops": 2, "max_operand": 9}]
    for bad in (3, [], "1,2"):
        with pytest.raises(ValueError, match="non-empty YAML list"):
            sweep_difficulties({}, {"num_ops": bad})


def test_progress_bar_only_for_several_batches_and_when_asked_or_on_a_terminal(capsys):
    assert progress_bar(PROGRESS_MIN_BATCHES - 1, True) is None
    assert progress_bar(PROGRESS_MIN_BATCHES, False) is None
    assert progress_bar(PROGRESS_MIN_BATCHES, None) is None  # pytest's stderr is not a terminal
    bar = progress_bar(PROGRESS_MIN_BATCHES, True)
    bar.update(PROGRESS_MIN_BATCHES)
    bar.close()
    assert f"{PROGRESS_MIN_BATCHES}/{PROGRESS_MIN_BATCHES}" in capsys.readouterr().err


def test_maj_at_k_votes_by_answer_class_not_by_spelling():
    # gold 7: two spellings of one right solution (3 votes) against a wrong answer said twice
    texts = ["answer 6", "answer 6", "answer 3+4", "answer 4+3", "answer 3+4"]
    metrics = sample_metrics(SumTask(), [_problem(7)], texts, num_samples=5, ks=[3, 5])
    assert metrics["maj@5"] == 1.0  # class {3+4}: 3 votes, class {6}: 2
    assert metrics["maj@3"] == 0.0  # first three: {6}: 2 votes, {3+4}: 1
    # the raw strings would have split the right votes 2 + 1 and tied with "6", which came first
    raw = [text.split()[-1] for text in texts]
    assert maj_at_k(raw, [answer != "6" for answer in raw], 5) == 0.0
    # unreadable answers never win, however many
    silent = sample_metrics(SumTask(), [_problem(7)], ["??", "!!", "..", "answer 3+4"], num_samples=4, ks=[4])
    assert silent["maj@4"] == 1.0


@given(st.lists(st.integers(0, 3), max_size=40), st.integers(0, 50))
def test_spread_indices_take_each_level_in_turn(levels, limit):
    problems = [_problem(0, level=level) for level in levels]
    chosen = spread_indices(problems, limit)
    assert chosen == sorted(set(chosen)) and len(chosen) == min(limit, len(problems))
    counts = [sum(levels[i] == level for i in chosen) for level in set(levels)]
    available = [levels.count(level) for level in set(levels)]
    # no level gets two more than another unless that one ran out of problems
    for count, total in zip(counts, available, strict=True):
        assert count == total or count >= max(counts) - 1
    # within a level, the first problems
    for level in set(levels):
        mine = [i for i in chosen if levels[i] == level]
        assert mine == [i for i, value in enumerate(levels) if value == level][: len(mine)]
