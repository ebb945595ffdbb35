"""Difficulty knobs: defaults, overrides, validation with close-match suggestions."""

from __future__ import annotations

import pytest

from rlvr.core import Knob, resolve_difficulty

KNOBS = (
    Knob("horizon", 6, "max tokens", low=1, high=32),
    Knob("mode", "target", "what counts", choices=("target", "countdown")),
    Knob("ratio", 0.5, "a float", low=0.0, high=1.0),
)


def test_defaults_then_overrides_in_order():
    assert resolve_difficulty(KNOBS) == {"horizon": 6, "mode": "target", "ratio": 0.5}
    assert resolve_difficulty(KNOBS, {"horizon": 4}, {"horizon": 5, "ratio": 1})["horizon"] == 5


def test_int_given_for_float_is_accepted_as_float():
    assert resolve_difficulty(KNOBS, {"ratio": 1})["ratio"] == 1.0


@pytest.mark.parametrize(
    "override, error, words",
    [
        ({"horizn": 3}, KeyError, "did you mean: horizon"),
        ({"horizon": 0}, ValueError, ">= 1"),
        ({"horizon": "5"}, TypeError, "expects int"),
        ({"horizon": True}, TypeError, "expects int"),
        ({"mode": "both"}, ValueError, "one of"),
    ],
)
def test_bad_knobs_are_clear_errors(override, error, words):
    with pytest.raises(error, match=words):
        resolve_difficulty(KNOBS, override)
