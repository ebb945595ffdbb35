"""Select-all-that-apply answers: reading a set of option letters, and its soft partial credit.

The answer text is found by the one answer reader (`rlvr.rewards.answers.find_answer`: after a
`</think>`, the last `<answer>` tag, else a box, else the last "Answer:" line, else the last
line). It is a set of option letters when it holds nothing but
- letters: a single letter in either case ("a, c"), or a run of two or more capitals, one
  option each ("AC");
- separators: spaces and `, ; : . &`, brackets, braces, `$`, `*`, quotes, backslashes and the
  LaTeX wrappers `\\text`, `\\mathrm`, `\\textbf`, `\\mathbf` ("{A, C}", "(A), (C)", "$\\{A, C\\}$");
- the filler words and, both, option(s), choice(s), letter(s), the ("both A and C");
and the word "none" alone is the empty set. Anything else leaves the answer unread, with the
reason: another word or symbol (prose, restated option text, numbers, "A/C"), a hedge ("A or C",
"either"), no letter at all, a letter outside the options, a letter given twice, an answer over
`MAX_CHOICE_ANSWER_CHARS` characters. A lowercase run ("ac", "bad") is a word, not letters.
Every step is a bounded linear scan: the answer is capped before it is split, and no regex here
can backtrack.

Credit (`select_all_credit`), our reading of "partial credit = |chosen ∩ gold|" for questions with
several correct options: a response that picks any wrong option earns 0; otherwise it earns
|chosen ∩ gold| / |gold|, so the exact set earns 1, a strict subset partial credit and the empty
set 0. `mode="exact"` pays 1 for the exact set only.

>>> select_all_reward(["Answer: A", "Answer: A, C", "Answer: A, B", ""], gold=["A, C"] * 4, choices=[4] * 4)
[0.5, 1.0, 0.0, 0.0]
"""

from __future__ import annotations

import string
from collections.abc import Sequence
from dataclasses import dataclass

from rlvr.rewards.answer_types import HEDGED, NO_ANSWER
from rlvr.rewards.answers import answer_line, find_answer, is_hedged, last_line, strip_decoration

MAX_CHOICE_ANSWER_CHARS = 200
"""A longer answer is refused unread: 26 letters with separators take under 80."""
LETTERS = string.ascii_uppercase
MODES = ("partial", "exact")

_LATEX_WRAPPERS = ("\\textbf", "\\mathbf", "\\mathrm", "\\text")  # longest first: "\text" prefixes "\textbf"
_SEPARATORS = str.maketrans(dict.fromkeys(",;:.&{}[]()$*`\"'\\", " "))
_FILLER = frozenset({"and", "both", "option", "options", "choice", "choices", "letter", "letters", "the"})
_NONE = "none"


@dataclass(frozen=True)
class ChoiceReading:
    """The letters a response chose (None when unreadable), the answer text read and why it failed."""

    chosen: frozenset[str] | None
    answer: str | None = None
    error: str | None = None


def read_letters(answer: str, count: int) -> tuple[frozenset[str] | None, str | None]:
    """(the set of option letters `answer` names among the first `count`, None) or (None, why not).

    >>> read_letters("{A, c}", 4)[0] == {"A", "C"}, read_letters("AC", 4)[0] == {"A", "C"}
    (True, True)
    >>> read_letters("A or C", 4), read_letters("A, E", 4), read_letters("A, A", 4)
    ((None, 'hedged answer'), (None, 'E is not an option (A-D)'), (None, 'A is given twice'))
    """
    if len(answer) > MAX_CHOICE_ANSWER_CHARS:
        return None, f"answer has {len(answer)} characters, more than {MAX_CHOICE_ANSWER_CHARS}"
    if is_hedged(answer):
        return None, HEDGED
    text = strip_decoration(answer)
    for wrapper in _LATEX_WRAPPERS:
        text = text.replace(wrapper, " ")
    tokens = text.translate(_SEPARATORS).split()
    if len(tokens) == 1 and tokens[0].casefold() == _NONE:
        return frozenset(), None
    letters: list[str] = []
    for token in tokens:
        if token.casefold() in _FILLER:
            continue
        if not (token.isascii() and token.isalpha()):
            return None, f"expected option letters, got {token[:20]!r} in {answer[:60]!r}"
        if len(token) == 1:
            letters.append(token.upper())
        elif token.isupper():
            letters.extend(token)
        else:
            return None, f"expected option letters, got the word {token[:20]!r}"
    if not letters:
        return None, f"no option letter in {answer[:60]!r}"
    valid = LETTERS[: max(0, min(count, len(LETTERS)))]
    seen: set[str] = set()
    for letter in letters:
        if letter not in valid:
            return None, f"{letter} is not an option (A-{valid[-1]})" if valid else "there are no options"
        if letter in seen:
            return None, f"{letter} is given twice"
        seen.add(letter)
    return frozenset(seen), None


def read_choices(response: object, count: int) -> ChoiceReading:
    """The option letters a whole response chose (the module doc says where the answer is read).

    >>> sorted(read_choices("A: 3 = 3\\nB: 4 = 4\\nAnswer: B, a", 2).chosen)
    ['A', 'B']
    >>> read_choices("<think>A and C", 4).chosen is None
    True
    """
    found = find_answer(response, fallbacks=(answer_line, last_line), max_chars=MAX_CHOICE_ANSWER_CHARS)
    if found.error is not None or found.answer is None:
        return ChoiceReading(None, found.answer, found.error or NO_ANSWER)
    chosen, error = read_letters(found.answer, count)
    return ChoiceReading(chosen, found.answer, error)


def select_all_credit(chosen: frozenset[str] | set[str] | None, gold: frozenset[str] | set[str],
                      mode: str = "partial") -> float:
    """Credit for choosing `chosen` when `gold` are the correct options (module doc); None (unread) earns 0.

    >>> gold = {"A", "C"}
    >>> [select_all_credit(c, gold) for c in ({"A"}, {"A", "C"}, {"A", "B"}, set(), None)]
    [0.5, 1.0, 0.0, 0.0, 0.0]
    >>> select_all_credit({"A"}, gold, "exact"), select_all_credit({"C", "A"}, gold, "exact")
    (0.0, 1.0)
    """
    if mode not in MODES:
        raise ValueError(f"mode must be one of {MODES}, got {mode!r}")
    if chosen is None or not gold:
        return 0.0
    if mode == "exact":
        return 1.0 if set(chosen) == set(gold) else 0.0
    if not set(chosen) <= set(gold):
        return 0.0
    return len(chosen) / len(gold)


def select_all_reward(completions: Sequence[str], gold: Sequence[str], choices: Sequence[int],
                      mode: str = "partial", **_: object) -> list[float]:
    """TRL-shaped reward: each completion's credit against its gold letters ("A, C") among
    `choices` options (`mode` "partial" or "exact").

    >>> select_all_reward(["AC", "A"], gold=["A, C", "A, C"], choices=[4, 4], mode="exact")
    [1.0, 0.0]
    """
    rewards = []
    for completion, letters, count in zip(completions, gold, choices, strict=True):
        expected, _error = read_letters(letters, count)
        rewards.append(select_all_credit(read_choices(completion, count).chosen, expected or frozenset(), mode))
    return rewards
