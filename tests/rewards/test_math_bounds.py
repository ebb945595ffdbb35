"""Every number the math reward builds is bounded, and no scan of model text is super-linear.

Hostile answers must come back as a zero with a reason, in time: never an exception (a huge
factorial inside a tuple, a value whose decimal form Python refuses to print) and never a regex
that backtracks quadratically on a long run of one character class.
"""

from __future__ import annotations

import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.rewards.math import extract_answer, math_reward, parse_number, score_math
from rlvr.rewards.math.extract import strip_decoration
from rlvr.rewards.math.numbers import NumberTooLarge, describe, exact_value
from rlvr.rewards.math.structure import normalize, parse_structure

HUGE = r"(3000!)!"

# (gold, response): every one of these raised from `math_reward` before the bounds held
HOSTILE_NUMBERS = [
    ("1", rf"\boxed{{{HUGE}}}"),
    ("(1, 2)", rf"\boxed{{({HUGE}, 2)}}"),
    (r"\{1, 2\}", r"\boxed{\{3000!^2, 2\}}"),
    ("(0, 1]", r"\boxed{(0, 3000!!]}"),
    ("[0, 5)", r"\boxed{[0, (2^{9999})!)}"),
    ("1, 2, 3", rf"\boxed{{1, 2, {HUGE}}}"),
    ("(1, 2)", r"\boxed{(1/0, 2)}"),
]


@pytest.mark.parametrize(("gold", "response"), HOSTILE_NUMBERS)
def test_numbers_past_the_bounds_score_zero_with_a_reason(gold: str, response: str) -> None:
    score = score_math(gold, response)
    assert score.reward == 0.0
    assert score.error
    assert math_reward([response], answer=[gold]) == [0.0]


def test_error_messages_never_format_a_huge_value() -> None:
    with pytest.raises(NumberTooLarge) as caught:
        exact_value(HUGE)
    assert len(str(caught.value)) < 200
    assert describe(10**5000) == "a number of about 5001 digits"
    assert describe(-7) == "-7"


def test_structures_raise_only_the_documented_errors() -> None:
    with pytest.raises(NumberTooLarge):
        parse_structure(f"({HUGE}, 2)")
    with pytest.raises(ZeroDivisionError):
        parse_structure("(1/0, 2)")
    assert parse_structure("(1, 2]") == ("interval", 1, False, 2, True)


_INTERVAL_GOLDS = ["(0, 1]", "[-2, 5)", r"(-\infty, 3)", r"\{1, 2\}", "(1, 2)", "1, 2"]


@settings(max_examples=300, deadline=None)
@given(
    gold=st.sampled_from(_INTERVAL_GOLDS),
    answer=st.text(alphabet="0123456789!^+-*/()[]{}, .e\\", min_size=1, max_size=40),
)
def test_random_digit_and_operator_strings_never_raise(gold: str, answer: str) -> None:
    """Random digit/operator strings once crashed `rlvr/Math-v0` on interval problems."""
    score = score_math(gold, rf"\boxed{{{answer}}}", timeout=5.0)
    assert score.reward in (0.0, 1.0)


# One representative of each character class a model can repeat without end.
_RUNS = [" ", "\t", "\n", "1", "a", "/", "\\", "{", "}", "(", "$", "*", "_", "^", "!", ",", ".", "-", "'", "="]
_FRAMES = [
    "Answer: 1{run}/",
    "The final answer is {run}x",
    "\\boxed{{{run}",
    "{run}",
    "1{run}",
    "**Answer:** {run}**",
]


@pytest.mark.parametrize("char", _RUNS)
def test_long_runs_of_each_character_class_are_read_in_linear_time(char: str) -> None:
    """99,000 repeats of one character inside each frame: extraction, normalisation and number
    parsing together stay far below a second (the quadratic regex took 46 s on one of them)."""
    for frame in _FRAMES:
        text = frame.format(run=char * 99_000)
        start = time.perf_counter()
        extract_answer(text)
        strip_decoration(text)
        normalize(text[:1_000])
        parse_number(text[:400])
        elapsed = time.perf_counter() - start
        assert elapsed < 1.0, f"{frame!r} with {char!r} x 99,000 took {elapsed:.2f} s"


def test_the_measured_backtracking_input_is_fast_end_to_end() -> None:
    start = time.perf_counter()
    assert math_reward(["Answer: 1" + " " * 99_000 + "/"], answer=["1"]) == [0.0]
    assert time.perf_counter() - start < 1.0
