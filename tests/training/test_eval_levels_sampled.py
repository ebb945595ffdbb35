"""Sampled figures per difficulty level: each level's sample accuracy and pass@k are what that
level's problems alone would give, averaged over sampling seeds, and sit beside its greedy rate."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

pytest.importorskip("torch")

from rlvr.training.eval_breakdown import (  # noqa: E402
    SAMPLED_LEVELS,
    by_difficulty,
    combine_seeds,
    merge_sampled_levels,
)
from rlvr.training.evaluate import sample_metrics  # noqa: E402
from tests.training.test_evaluate_metrics import SumTask, _problem  # noqa: E402

NUM_SAMPLES = 4


def _texts(problems, verdicts):
    """One text per verdict: the gold answer where True, a wrong one where False."""
    return [f"answer {p.answer if ok else p.answer + 1}" for p, row in zip(problems, verdicts, strict=True) for ok in row]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.sampled_from([1, 2, 3]), st.lists(st.booleans(), min_size=NUM_SAMPLES,
                                                                max_size=NUM_SAMPLES)), min_size=1, max_size=12))
def test_each_level_gets_the_figures_of_its_problems_alone(rows):
    problems = [_problem(10 + i, hops=level) for i, (level, _) in enumerate(rows)]
    verdicts = [row for _, row in rows]
    ks = [1, 2, NUM_SAMPLES]
    metrics = sample_metrics(SumTask(), problems, _texts(problems, verdicts), NUM_SAMPLES, ks)
    levels = sorted({level for level, _ in rows})
    if len(levels) == 1:
        assert SAMPLED_LEVELS not in metrics  # one level: the overall figures are that level's
        return
    table = metrics[SAMPLED_LEVELS]
    assert list(table) == [f"hops={level}" for level in dict.fromkeys(level for level, _ in rows)]
    for level in levels:
        mine = [i for i, (lv, _) in enumerate(rows) if lv == level]
        alone = sample_metrics(SumTask(), [problems[i] for i in mine],
                               _texts([problems[i] for i in mine], [verdicts[i] for i in mine]), NUM_SAMPLES, ks)
        for name in ("sample_accuracy", *(f"pass@{k}" for k in ks)):
            assert table[f"hops={level}"][name] == pytest.approx(alone[name])
    # the overall figure is the levels' weighted by their problem counts
    counts = {f"hops={level}": sum(lv == level for lv, _ in rows) for level in levels}
    for k in ks:
        weighted = sum(table[label][f"pass@{k}"] * n for label, n in counts.items()) / len(rows)
        assert metrics[f"pass@{k}"] == pytest.approx(weighted)


def test_worked_by_hand_and_merged_beside_the_greedy_rate():
    problems = [_problem(7, hops=1), _problem(5, hops=1), _problem(9, hops=4)]
    texts = ["answer 7", "answer 1", "answer 1", "answer 1",   # 1 of 4
             "answer 5", "answer 5", "answer 1", "answer 1",   # 2 of 4
             "answer 1", "answer 1", "answer 1", "answer 1"]   # 0 of 4
    metrics = sample_metrics(SumTask(), problems, texts, 4, [1, 2])
    # hops=1: pass@1 = (1/4 + 2/4) / 2; pass@2 = ((1 - C(3,2)/C(4,2)) + (1 - C(2,2)/C(4,2))) / 2 = (1/2 + 5/6) / 2
    assert metrics[SAMPLED_LEVELS]["hops=1"] == pytest.approx(
        {"sample_accuracy": 3 / 8, "pass@1": 3 / 8, "pass@2": (1 / 2 + 5 / 6) / 2})
    assert metrics[SAMPLED_LEVELS]["hops=4"] == {"sample_accuracy": 0.0, "pass@1": 0.0, "pass@2": 0.0}
    merged = merge_sampled_levels({**by_difficulty(problems, [1.0, 0.0, 0.0]), **metrics})
    assert SAMPLED_LEVELS not in merged
    assert merged["by_difficulty"]["hops=1"] == pytest.approx(
        {"problems": 2, "solved": 1, "greedy_accuracy": 0.5, "sample_accuracy": 3 / 8, "pass@1": 3 / 8,
         "pass@2": (1 / 2 + 5 / 6) / 2})


def test_several_sampling_seeds_average_each_level():
    runs = [{"pass@1": 0.5, SAMPLED_LEVELS: {"a": {"pass@1": 0.25}, "b": {"pass@1": 0.75}}},
            {"pass@1": 0.25, SAMPLED_LEVELS: {"a": {"pass@1": 0.0}, "b": {"pass@1": 0.5}}}]
    combined = combine_seeds(runs, [0, 1])
    assert combined[SAMPLED_LEVELS] == {"a": {"pass@1": 0.125}, "b": {"pass@1": 0.625}}
    assert combined["pass@1"] == 0.375
