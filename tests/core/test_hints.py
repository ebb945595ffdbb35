"""The one close-match helper: its two spellings, any input, and the copies it replaced."""

from __future__ import annotations

import difflib
import re
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.core.hints import close_names, did_you_mean

RLVR = Path(__file__).resolve().parents[2] / "rlvr"
names = st.text(max_size=30)
unique_names = st.lists(st.text(max_size=30), max_size=12, unique=True)


@settings(max_examples=200, deadline=None)
@given(names, unique_names, st.booleans())
def test_any_name_gets_a_well_formed_hint_naming_only_candidates(name, candidates, quoted):
    hint = did_you_mean(name, candidates, quoted=quoted)
    found = close_names(name, candidates)
    assert len(found) <= 3 and set(found) <= set(candidates)
    if not found:
        assert hint == ""
    elif quoted:
        assert hint == " (did you mean " + " or ".join(repr(f) for f in found) + "?)"
    else:
        assert hint == " (did you mean: " + ", ".join(found) + "?)"


@settings(max_examples=200, deadline=None)
@given(names, unique_names)
def test_a_known_name_is_suggested_first(name, candidates):
    assert close_names(name, [*candidates, name])[0] == name


@settings(max_examples=200, deadline=None)
@given(names, unique_names)
def test_same_text_as_the_hand_rolled_helpers_it_replaced(name, candidates):
    # rlvr/core/difficulty.py listed up to three bare names at cutoff 0.5; rlvr/agents/policy.py
    # quoted the single best one at difflib's default cutoff (0.6)
    listed = difflib.get_close_matches(name, candidates, n=3, cutoff=0.5)
    assert did_you_mean(name, candidates) == (f" (did you mean: {', '.join(listed)}?)" if listed else "")
    best = difflib.get_close_matches(name, candidates, n=1)
    assert did_you_mean(name, candidates, most=1, cutoff=0.6, quoted=True) == (
        f" (did you mean {best[0]!r}?)" if best else ""
    )


@pytest.mark.parametrize("name", [None, 3, 2.5, ["horizon"], {"a": 1}, b"horizon", "\x00\n"])
def test_names_that_are_not_strings_are_compared_as_text(name):
    assert isinstance(did_you_mean(name, ["horizon", 3, None]), str)
    assert did_you_mean(3, ["3", 3, "mode"]) == " (did you mean: 3?)"  # one candidate, listed once


def test_a_huge_name_is_answered_in_time():
    start = time.perf_counter()
    assert did_you_mean("x" * 1_000_000, [f"knob_{i}" for i in range(200)]) == ""
    assert time.perf_counter() - start < 2.0


@pytest.mark.parametrize("kwargs", [{"most": 0}, {"cutoff": 1.5}, {"cutoff": -0.1}])
def test_bad_settings_are_clear_errors(kwargs):
    with pytest.raises(ValueError, match=r"must be"):
        did_you_mean("a", ["a"], **kwargs)


def _hand_rolled_hints() -> list[str]:
    """Modules that call difflib themselves instead of the helper."""
    found = []
    for path in sorted(RLVR.rglob("*.py")):
        relative = path.relative_to(RLVR.parent).as_posix()
        if relative == "rlvr/core/hints.py":
            continue
        if re.search(r"\bdifflib\b", path.read_text(encoding="utf-8")):
            found.append(relative)
    return found


def test_no_module_rolls_its_own_hint():
    assert _hand_rolled_hints() == []
