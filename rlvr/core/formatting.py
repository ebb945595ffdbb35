"""Writing exact numbers as text: the one number formatter every family uses.

Problem text and gold answers are hashed into problem ids, so this output is part of every
family's problems: changing it changes their ids.
"""

from __future__ import annotations

from fractions import Fraction


def format_number(value: Fraction | int, *, decimals: bool = False) -> str:
    """An integer ('7', '-3') or a reduced fraction ('-3/4'); with `decimals=True` a value with a
    terminating decimal expansion is written as a decimal instead ('87.5', '-0.075').

    A value whose expansion does not terminate is always a fraction, so the text is exact either
    way: `Fraction(format_number(x, decimals=...)) == x`.

    >>> format_number(Fraction(-3, 4)), format_number(Fraction(8, 2)), format_number(Fraction(6, -4))
    ('-3/4', '4', '-3/2')
    >>> format_number(Fraction(175, 2), decimals=True), format_number(Fraction(-7, 3), decimals=True)
    ('87.5', '-7/3')
    """
    if value.denominator == 1:
        return str(value.numerator)
    if not decimals:
        return f"{value.numerator}/{value.denominator}"
    denominator = value.denominator
    for factor in (2, 5):
        while denominator % factor == 0:
            denominator //= factor
    if denominator != 1:  # a repeating expansion: the fraction is the exact form
        return f"{value.numerator}/{value.denominator}"
    # A terminating decimal: scale to an integer number of digits, then place the point.
    digits = 0
    while (value * 10**digits).denominator != 1:
        digits += 1
    scaled = abs(value.numerator * 10**digits // value.denominator)
    text = str(scaled).rjust(digits + 1, "0")
    return ("-" if value < 0 else "") + text[:-digits] + "." + text[-digits:]
