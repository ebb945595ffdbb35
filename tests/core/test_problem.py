"""Problem ids, splits and scores."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr.core import SPLITS, Problem, Score, make_problem_id, split_of


def test_id_depends_on_name_version_and_content_only():
    base = make_problem_id("t", 0, {"x": [1, 2]})
    assert base == make_problem_id("t", 0, {"x": [1, 2]})
    assert base != make_problem_id("u", 0, {"x": [1, 2]})
    assert base != make_problem_id("t", 1, {"x": [1, 2]})
    assert base != make_problem_id("t", 0, {"x": [2, 1]})
    assert len(base) == 16 and int(base, 16) >= 0


def test_identical_problems_share_an_id_whatever_the_prompt():
    one = Problem("t", 0, {"a": 1}, "prompt one", (), "1")
    two = Problem("t", 0, {"a": 1}, "other wording", (), "1")
    assert one.problem_id == two.problem_id


def test_split_shares_follow_the_declared_intervals():
    ids = [make_problem_id("t", 0, {"i": i}) for i in range(20_000)]
    counts = {name: 0 for name in SPLITS}
    for pid in ids:
        counts[split_of(pid)] += 1
    for name, (low, high) in SPLITS.items():
        assert counts[name] / len(ids) == pytest.approx(high - low, abs=0.015)


@given(st.text(alphabet="0123456789abcdef", min_size=16, max_size=16))
def test_every_id_has_exactly_one_split(pid):
    assert split_of(pid) in SPLITS


def test_score_constructors():
    assert Score.binary(True).reward == 1.0 and Score.binary(True).correct
    zero = Score.zero("no answer", format=0.0)
    assert zero.reward == 0.0 and not zero.correct and zero.error == "no answer"
    assert zero.info()["components"] == {"correct": 0.0, "format": 0.0}
