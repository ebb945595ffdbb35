"""The one number formatter: exact text for any Fraction, in both of its forms."""

from __future__ import annotations

from fractions import Fraction

from hypothesis import given
from hypothesis import strategies as st

from rlvr.core.formatting import format_number

fractions = st.fractions(max_denominator=10**6)


@given(fractions)
def test_plain_form_is_an_integer_or_a_reduced_fraction(value):
    text = format_number(value)
    assert Fraction(text) == value
    if value.denominator == 1:
        assert "/" not in text and text == str(value.numerator)
    else:
        numerator, denominator = text.split("/")
        assert (int(numerator), int(denominator)) == (value.numerator, value.denominator)


@given(fractions)
def test_decimal_form_is_exact_and_used_exactly_when_the_expansion_terminates(value):
    text = format_number(value, decimals=True)
    assert Fraction(text) == value
    denominator = value.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    if value.denominator == 1:
        assert text == str(value.numerator)
    elif denominator == 1:
        assert "/" not in text and "." in text and not text.endswith("0")
    else:
        assert text == format_number(value)


def test_worked_values():
    assert [format_number(Fraction(n, d)) for n, d in ((7, 1), (-3, 4), (6, -4), (0, 5))] == ["7", "-3/4", "-3/2", "0"]
    assert [format_number(Fraction(n, d), decimals=True) for n, d in ((175, 2), (-3, 40), (1, 1024), (-7, 3))] == [
        "87.5", "-0.075", "0.0009765625", "-7/3"]
    assert format_number(12) == "12"  # plain ints too
