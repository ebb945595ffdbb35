"""A compare scenario's warm-up bar and hypotheses: checked when read, decided from paired seeds."""

from __future__ import annotations

import math

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr.training.compare_claims import (
    check_claims_spec,
    claims_text,
    decide,
    hypothesis_outcomes,
    t975,
    warmup_outcomes,
)

ARMS = ["outcome", "path"]


def test_decisions_worked_by_hand():
    # differences 0.1, 0.2, 0.3: mean 0.2, sd 0.1, s.e. 0.1 / sqrt(3), t(2) = 4.303
    outcome, figures = decide("higher", [0.1, 0.2, 0.3])
    half = 4.303 * 0.1 / math.sqrt(3)
    assert figures["low"] == pytest.approx(0.2 - half) and figures["high"] == pytest.approx(0.2 + half)
    # the interval [-0.048, 0.448] holds 0 and the mean is above it: `higher` is inconclusive
    assert outcome == "inconclusive" and figures["sem"] == pytest.approx(0.1 / math.sqrt(3))


def test_higher_lower_and_similar():
    assert decide("higher", [0.10, 0.11, 0.12])[0] == "held"
    assert decide("higher", [0.1, 0.2, 0.3])[0] == "inconclusive"  # [-0.048, 0.448]
    assert decide("higher", [0.0, 0.0, 0.0])[0] == "not held"
    assert decide("lower", [-0.10, -0.11, -0.12])[0] == "held"
    assert decide("lower", [0.05, -0.01, 0.0])[0] == "not held"
    assert decide("similar", [0.01, 0.0, -0.01], within=0.05)[0] == "held"
    assert decide("similar", [0.30, 0.31, 0.29], within=0.05)[0] == "not held"
    assert decide("similar", [0.1, -0.1, 0.0], within=0.05)[0] == "inconclusive"
    assert decide("higher", [0.5])[0] == "inconclusive" and decide("higher", [])[0] == "inconclusive"


@given(st.lists(st.floats(-1, 1), min_size=2, max_size=8), st.sampled_from(["higher", "lower"]))
def test_a_claim_and_its_mirror_never_both_hold(differences, expect):
    mirror = {"higher": "lower", "lower": "higher"}[expect]
    first, second = decide(expect, differences)[0], decide(mirror, differences)[0]
    assert not (first == "held" and second == "held")
    # flipping the sign of every difference swaps the two claims
    assert decide(expect, [-d for d in differences])[0] == second


def test_t_quantiles():
    assert (t975(1), t975(2), t975(30), t975(31)) == (12.706, 4.303, 2.042, 1.96)
    with pytest.raises(ValueError):
        t975(0)


def test_the_spec_is_checked_when_read():
    good = {"arm": "path", "than": "outcome", "metric": "pass@1", "expect": "higher"}
    bar, hypotheses = check_claims_spec("s.yaml", {"metric": "pass@1", "at_least": 0.2}, [good], ARMS)
    assert bar == {"metric": "pass@1", "at_least": 0.2} and hypotheses == [good]
    bad = [({**good, "arm": "pth"}, "not an arm"), ({**good, "than": "path"}, "two different arms"),
           ({**good, "expect": "more"}, "expect one of"), ({**good, "within": 0.1}, "within"),
           ({**good, "expect": "similar"}, "within"), ({**good, "expect": "similar", "within": -1}, "positive"),
           ({**good, "metrc": "x"}, "unknown")]
    for entry, message in bad:
        with pytest.raises(ValueError, match=message):
            check_claims_spec("s.yaml", None, [entry], ARMS)
    for bar in ({"metric": "pass@1"}, {"metric": "pass@1", "at_least": "high"}, [0.2]):
        with pytest.raises(ValueError, match="warmup_bar"):
            check_claims_spec("s.yaml", bar, None, ARMS)


def test_seeds_under_the_bar_are_left_out_and_a_missing_figure_is_named():
    warmups = warmup_outcomes({"metric": "pass@1", "at_least": 0.2},
                              {0: {"pass@1": 0.3}, 1: {"pass@1": 0.1}, 2: {"pass@1": 0.25}, 3: {"pass@1": 0.4}})
    finals = {"outcome": {s: {"x": 0.1} for s in range(4)},
              "path": {0: {"x": 0.2}, 1: {"x": -5.0}, 2: {"x": 0.21}, 3: {"x": 0.22}}}
    hypothesis = {"arm": "path", "than": "outcome", "metric": "x", "expect": "higher"}
    [outcome] = hypothesis_outcomes([hypothesis], finals, lambda seed: warmups[seed]["held"])
    assert outcome["seeds"] == 3 and outcome["outcome"] == "held"  # seed 1 (under the bar) not counted
    [unfiltered] = hypothesis_outcomes([hypothesis], finals, lambda seed: True)
    assert unfiltered["outcome"] == "not held"
    [missing] = hypothesis_outcomes([{**hypothesis, "metric": "y"}], finals, lambda seed: True)
    assert missing["outcome"] == "inconclusive" and "'y'" in missing["missing"]
    text = claims_text({"metric": "pass@1", "at_least": 0.2}, warmups, [outcome, missing])
    assert "seed 1: 0.100 (NOT cleared)" in text and "hypothesis HELD" in text and "over 3 seeds" in text


def test_an_arm_against_its_warm_up():
    good = {"arm": "path", "than": "after_sft", "metric": "x", "expect": "higher"}
    assert check_claims_spec("s.yaml", None, [good], ARMS)[1] == [good]
    with pytest.raises(ValueError, match="after_sft"):
        check_claims_spec("s.yaml", None, [{**good, "arm": "after_sft"}], ARMS)
    with pytest.raises(ValueError, match="rename"):
        check_claims_spec("s.yaml", None, [good], [*ARMS, "after_sft"])
