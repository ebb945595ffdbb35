"""Whole-word mentions of names in text, as every knowledge-graph reward reads them.

Text is normalised (casefolded, every run of characters that are not letters or digits replaced
by one space, padded with one space at each end), so a phrase is mentioned when it occurs between
word boundaries ("Kobo" in "kobo's mayor", never in "Kobode"). Entity names from `graph.py` never
occur inside one another as whole words, so these matches are unambiguous.
"""

from __future__ import annotations

import re

_NOT_WORD = re.compile(r"[\W_]+")


def normalise(text: str) -> str:
    """Casefolded words separated by single spaces, padded with one space at each end.

    >>> normalise("Kobo's  MAYOR, born_in!")
    ' kobo s mayor born in '
    """
    words = _NOT_WORD.sub(" ", text.casefold()).strip()
    return f" {words} " if words else " "


def mention_positions(normalised_text: str, phrase: str) -> list[int]:
    """Start offsets of whole-word occurrences of `phrase` in text from `normalise`."""
    needle = normalise(phrase)
    if needle == " ":
        return []
    positions, start = [], normalised_text.find(needle)
    while start >= 0:
        positions.append(start)
        start = normalised_text.find(needle, start + 1)
    return positions


def mentions(normalised_text: str, phrase: str) -> bool:
    return normalise(phrase) != " " and normalise(phrase) in normalised_text
