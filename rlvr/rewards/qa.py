"""Question-answering metrics: SQuAD-style exact match and token F1, as scalars and batch rewards.

Both compare answers after SQuAD's normalisation: lowercase, punctuation removed, the articles
a/an/the removed, whitespace collapsed. Exact match is 1.0 when the normalised texts are equal;
F1 is the harmonic mean of precision and recall over the bags of normalised tokens (two answers
that normalise to nothing agree: 1.0).

The batch rewards are TRL-shaped, `f(completions, answer, **fields) -> list[float]`: each
completion's final answer is read by `rlvr.rewards.answers.find_answer` (an `<answer>` tag, a
box, an answer line such as "Answer: X", else the last line) and scored against its gold answer,
or the best of several when the gold is a list of accepted answers. A completion with no readable
answer scores 0 (`qa_scores` keeps the reason).

>>> exact_match("the Kobo Labs!", "Kobo labs"), round(f1_score("The Kobo Labs", "kobo labs inc"), 4)
(1.0, 0.8)
>>> f1_reward(["I think <answer>Kobo Labs Inc</answer>", "no idea"], answer=["the Kobo Labs", "Kobo"])
[0.8, 0.0]
"""

from __future__ import annotations

import re
import string
from collections import Counter
from collections.abc import Sequence
from typing import Any

from rlvr.core.problem import Score
from rlvr.rewards.answer_types import NO_ANSWER
from rlvr.rewards.answers import answer_line, find_answer, last_line
from rlvr.rewards.math.reward import completion_text

_ARTICLES = re.compile(r"\b(a|an|the)\b")
_PUNCTUATION = str.maketrans("", "", string.punctuation)


def squad_normalise(text: str) -> str:
    """
    >>> squad_normalise("  The  Kobo-Labs, Inc. ")
    'kobolabs inc'
    """
    text = text.lower().translate(_PUNCTUATION)
    return " ".join(_ARTICLES.sub(" ", text).split())


def exact_match(prediction: str, gold: str) -> float:
    """1.0 when both normalise to the same text, else 0.0.

    >>> exact_match("Kobo", "Kobo Labs")
    0.0
    """
    return float(squad_normalise(prediction) == squad_normalise(gold))


def f1_score(prediction: str, gold: str) -> float:
    """Token F1 of the normalised texts.

    >>> round(f1_score("Kobo Vel", "Kobo Labs Inc"), 4), f1_score("", "Kobo"), f1_score("a the", "an")
    (0.4, 0.0, 1.0)
    """
    predicted, wanted = squad_normalise(prediction).split(), squad_normalise(gold).split()
    if not predicted or not wanted:
        return float(predicted == wanted)
    common = sum((Counter(predicted) & Counter(wanted)).values())
    if common == 0:
        return 0.0
    precision, recall = common / len(predicted), common / len(wanted)
    return 2 * precision * recall / (precision + recall)


def _golds(gold: Any) -> list[str]:
    """The accepted answers: a list or tuple of them, or one (anything else is read as its text)."""
    if isinstance(gold, (list, tuple)):
        return [str(g) for g in gold]
    return [str(gold)]


def qa_scores(completions: Sequence[Any], answer: Sequence[Any], **kwargs: Any) -> list[Score]:
    """Per completion: reward = exact match, components {"em", "f1"} (each the best over the
    accepted answers), the answer read, and why it is wrong or unreadable.

    >>> scores = qa_scores(["Answer: Paris", ""], [["Paris", "paris, France"], "Rome"])
    >>> [(s.reward, s.components["f1"], s.error) for s in scores]
    [(1.0, 1.0, None), (0.0, 0.0, 'empty response')]
    """
    if len(completions) != len(answer):
        raise ValueError(
            f"got {len(completions)} completions but {len(answer)} answers; expected one answer each"
        )
    scores = []
    for completion, gold in zip(completions, answer, strict=True):
        golds = _golds(gold)
        found = find_answer(completion_text(completion), fallbacks=(answer_line, last_line))
        if found.error is not None or found.answer is None:
            scores.append(Score.zero(found.error or NO_ANSWER, found.answer, em=0.0, f1=0.0))
            continue
        if not golds:
            scores.append(Score.zero("expected at least one gold answer, got an empty list", found.answer,
                                     em=0.0, f1=0.0))
            continue
        em = max(exact_match(found.answer, g) for g in golds)
        f1 = max(f1_score(found.answer, g) for g in golds)
        error = None if em else f"the answer {found.answer[:60]!r} does not match the gold answer"
        scores.append(Score(em, {"em": em, "f1": f1}, found.answer, error))
    return scores


def exact_match_reward(completions: Sequence[Any], answer: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for a completion whose final answer matches its gold answer after normalisation.

    >>> exact_match_reward(["<answer>The Eiffel Tower</answer>", "\\\\boxed{Eiffel}"], ["eiffel tower"] * 2)
    [1.0, 0.0]
    """
    return [score.reward for score in qa_scores(completions, answer)]


def f1_reward(completions: Sequence[Any], answer: Sequence[Any], **kwargs: Any) -> list[float]:
    """Token F1 of each completion's final answer against its gold answer (the best of several).

    >>> f1_reward([[{"role": "assistant", "content": "Answer: New York City"}]], answer=[["NYC", "New York"]])
    [0.8]
    """
    return [score.components["f1"] for score in qa_scores(completions, answer)]
