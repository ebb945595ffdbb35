"""Judge scoring from log-probabilities over score tokens, and a TRL-shaped judge reward.

A judge is any plain callable `judge(texts) -> list[dict[str, float]]`: for each text, the
log-probabilities the judge gives to the score tokens it may answer with (for example
`{"1": -2.3, "2": -1.6, ..., "5": -0.1}`). Reading the whole distribution instead of the
single most likely token makes the score distribution-sensitive: a judge torn between 4 and 5
scores 4.5, not 5.

- `expected_score(logprobs, scores)`: S = sum_s value(s) * p(s) over the valid score tokens,
  with p renormalised over those tokens (mass the judge put elsewhere is ignored, and reported).
  When no valid token has finite log-probability the value is None, with the reason.
- `pairwise_preference(judge, prompt, a, b)`: P(A > B) = 1/2 [P(A | A shown first) + P(A | B shown
  first)]. Averaging both orders cancels the judge's position bias, and makes the score
  order-symmetric by construction: P(A > B) + P(B > A) = 1 for any deterministic judge.
- `judge_reward(completions, prompts, judge=...)`: the expected score of each completion,
  rescaled to [0, 1]; None where the judge gave no valid token (TRL skips None).
- `StubJudge`: fixed log-prob tables, keyed by text or computed by a rule, for offline tests.

Models become judges through `rlvr.agents.judge_adapter.policy_judge`; nothing here imports one.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from rlvr.rewards.math.reward import completion_text

Judge = Callable[[list[str]], list[dict[str, float]]]
"""texts -> for each text, log-probabilities over the score tokens the judge may answer with."""

LIKERT_SCORES: Mapping[str, float] = {str(value): float(value) for value in range(1, 6)}
"""Score tokens "1".."5" worth 1..5: the default scale."""

SCORE_TEMPLATE = (
    "Rate how well the response answers the request, from 1 (poor) to 5 (excellent).\n\n"
    "Request:\n{prompt}\n\nResponse:\n{completion}\n\nScore (1-5):"
)
PAIRWISE_TEMPLATE = (
    "Which response answers the request better? Reply with A or B.\n\n"
    "Request:\n{prompt}\n\nResponse A:\n{first}\n\nResponse B:\n{second}\n\nBetter response:"
)
PAIRWISE_TOKENS: tuple[str, str] = ("A", "B")


@dataclass(frozen=True)
class ExpectedScore:
    """A judge's distribution-sensitive verdict on one text."""

    value: float | None
    """sum_s value(s) p(s) over valid score tokens, or None when there is none."""
    probabilities: Mapping[str, float] = field(default_factory=dict)
    """p(s) renormalised over the valid score tokens."""
    valid_mass: float = 0.0
    """Probability the judge put on valid score tokens before renormalising (1 = all of it)."""
    error: str | None = None


def _as_scores(scores: Mapping[str, float] | Sequence[str]) -> dict[str, float]:
    if isinstance(scores, Mapping):
        return {str(token).strip(): float(value) for token, value in scores.items()}
    return {str(token).strip(): float(token) for token in scores}


def normalise_logprobs(logprobs: Mapping[str, float], valid: Sequence[str]) -> tuple[dict[str, float], float, str | None]:
    """(p over `valid` renormalised, mass on valid tokens, error) from a table of log-probs.

    Keys are compared with surrounding whitespace removed (tokenizers write " 5" as often as
    "5"), and spellings of one token are pooled. NaN and non-numeric entries are ignored.

    >>> p, mass, error = normalise_logprobs({"1": math.log(0.1), " 2": math.log(0.3), "x": math.log(0.6)}, ["1", "2"])
    >>> {k: round(v, 3) for k, v in p.items()}, round(mass, 3), error
    ({'1': 0.25, '2': 0.75}, 0.4, None)
    >>> normalise_logprobs({"x": 0.0}, ["1", "2"])[2]
    "no valid score token: expected some of ['1', '2'], got ['x']"
    """
    wanted = {str(token).strip() for token in valid}
    pooled: dict[str, list[float]] = {}
    if not isinstance(logprobs, Mapping):
        return {}, 0.0, f"expected a mapping of token -> log-prob, got {type(logprobs).__name__}"
    for token, logprob in logprobs.items():
        key = str(token).strip()
        if key not in wanted or isinstance(logprob, bool):
            continue
        try:
            number = float(logprob)
        except (TypeError, ValueError):
            continue
        if math.isnan(number) or number == math.inf:
            continue
        pooled.setdefault(key, []).append(min(number, 0.0))
    finite = {k: v for k, v in pooled.items() if any(x > -math.inf for x in v)}
    if not finite:
        return {}, 0.0, (f"no valid score token: expected some of {sorted(wanted)}, "
                         f"got {sorted(str(k) for k in logprobs)[:20]}")
    top = max(x for values in finite.values() for x in values)
    # exp relative to the largest log-prob: stable for the very negative values judges produce
    weights = {k: sum(math.exp(x - top) for x in v) for k, v in finite.items()}
    total = sum(weights.values())
    mass = min(1.0, total * math.exp(top))
    return {k: weights.get(k, 0.0) / total for k in sorted(wanted, key=str)}, mass, None


def expected_score(logprobs: Mapping[str, float], scores: Mapping[str, float] | Sequence[str] = LIKERT_SCORES) -> ExpectedScore:
    """S = sum_s value(s) p(s), p renormalised over the valid score tokens.

    `scores` maps each score token to its value (a sequence of numeric tokens is its own values).

    >>> table = {"1": math.log(0.1), "2": math.log(0.1), "3": math.log(0.2), "4": math.log(0.2), "5": math.log(0.4)}
    >>> round(expected_score(table).value, 6)
    3.7
    >>> expected_score({"yes": 0.0}).value is None
    True
    """
    values = _as_scores(scores)
    probabilities, mass, error = normalise_logprobs(logprobs, list(values))
    if error is not None:
        return ExpectedScore(None, {}, 0.0, error)
    value = sum(values[token] * p for token, p in probabilities.items())
    return ExpectedScore(value, probabilities, mass)


def _check_judged(judged: Any, expected: int) -> list[Any]:
    if not isinstance(judged, Sequence) or len(judged) != expected:
        got = len(judged) if isinstance(judged, Sequence) else type(judged).__name__
        raise ValueError(f"a judge must return one log-prob table per text: expected {expected}, got {got}")
    return list(judged)


@dataclass(frozen=True)
class Preference:
    """P(A > B) averaged over both presentation orders, with each order's own estimate."""

    probability: float | None
    """1/2 [P(A | A first) + P(A | B first)], or None when either order had no valid token."""
    a_first: float | None
    """P(A preferred) when A is shown first: compare with `b_first` to see position bias."""
    b_first: float | None
    """P(A preferred) when B is shown first."""
    error: str | None = None


def pairwise_preference(
    judge: Judge,
    prompt: str,
    a: str,
    b: str,
    *,
    template: str = PAIRWISE_TEMPLATE,
    tokens: tuple[str, str] = PAIRWISE_TOKENS,
) -> Preference:
    """P(A > B) = 1/2 [P(A | A first) + P(A | B first)], from one judge call over both orders.

    `tokens` are the labels of the first and second position; each order's probabilities are
    renormalised over them.

    >>> def rule(text):  # prefers whichever position holds "good", with a bias toward position A
    ...     first_good = text.index("good") < text.index("bad")
    ...     return logprob_table({"A": 0.9, "B": 0.1} if first_good else {"A": 0.3, "B": 0.7})
    >>> judge = StubJudge(rule=rule)
    >>> p = pairwise_preference(judge, "Say hi", "good", "bad")
    >>> round(p.probability, 6), round(p.a_first, 6), round(p.b_first, 6)
    (0.8, 0.9, 0.7)
    >>> round(p.probability + pairwise_preference(judge, "Say hi", "bad", "good").probability, 12)
    1.0
    """
    first_label, second_label = tokens
    texts = [
        template.format(prompt=prompt, first=a, second=b),
        template.format(prompt=prompt, first=b, second=a),
    ]
    judged = _check_judged(judge(texts), 2)
    p_a_first, _, error_a = normalise_logprobs(judged[0], tokens)
    p_b_first, _, error_b = normalise_logprobs(judged[1], tokens)
    a_first = p_a_first.get(first_label) if error_a is None else None
    b_first = p_b_first.get(second_label) if error_b is None else None
    if a_first is None or b_first is None:
        reason = "; ".join(f"{order}: {e}" for order, e in (("A first", error_a), ("B first", error_b)) if e)
        return Preference(None, a_first, b_first, reason)
    return Preference(0.5 * (a_first + b_first), a_first, b_first)


def logprob_table(probabilities: Mapping[str, float]) -> dict[str, float]:
    """Log-probs from probabilities (0 becomes -inf): a convenience for writing stub tables.

    >>> logprob_table({"1": 1.0, "2": 0.0})
    {'1': 0.0, '2': -inf}
    """
    return {token: math.log(p) if p > 0 else -math.inf for token, p in probabilities.items()}


class StubJudge:
    """A judge with fixed log-prob tables: `tables[text]` when the text is listed, else
    `rule(text)`, else `default`; a text none of them covers is an error naming it.
    Every call's texts are kept in `calls`, so tests can check what the judge was shown.

    >>> judge = StubJudge({"hello": {"5": 0.0}}, default={"1": 0.0})
    >>> judge(["hello", "other"])
    [{'5': 0.0}, {'1': 0.0}]
    """

    def __init__(
        self,
        tables: Mapping[str, Mapping[str, float]] | None = None,
        *,
        rule: Callable[[str], Mapping[str, float]] | None = None,
        default: Mapping[str, float] | None = None,
    ) -> None:
        self.tables = dict(tables or {})
        self.rule = rule
        self.default = default
        self.calls: list[list[str]] = []

    def __call__(self, texts: list[str]) -> list[dict[str, float]]:
        self.calls.append(list(texts))
        return [self._one(text) for text in texts]

    def _one(self, text: str) -> dict[str, float]:
        if text in self.tables:
            return dict(self.tables[text])
        if self.rule is not None:
            return dict(self.rule(text))
        if self.default is not None:
            return dict(self.default)
        raise KeyError(f"StubJudge has no table for {text[:80]!r} and no rule or default")


def _prompt_text(prompt: Any) -> str:
    """A prompt as text: a string as is; chat messages -> the last user message's content."""
    if isinstance(prompt, str):
        return prompt
    if isinstance(prompt, (list, tuple)):
        users = [m for m in prompt if isinstance(m, dict) and m.get("role") == "user"]
        if users:
            return str(users[-1].get("content", ""))
    return "" if prompt is None else str(prompt)


def judge_scores(
    completions: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    *,
    judge: Judge,
    template: str = SCORE_TEMPLATE,
    scores: Mapping[str, float] | Sequence[str] = LIKERT_SCORES,
) -> list[ExpectedScore]:
    """The judge's `ExpectedScore` of each completion, all texts judged in one call."""
    if prompts is not None and len(prompts) != len(completions):
        raise ValueError(f"got {len(completions)} completions but {len(prompts)} prompts; expected one prompt each")
    prompt_texts = [_prompt_text(p) for p in prompts] if prompts is not None else [""] * len(completions)
    texts = [template.format(prompt=p, completion=str(completion_text(c)))
             for p, c in zip(prompt_texts, completions, strict=True)]
    judged = _check_judged(judge(texts), len(texts))
    return [expected_score(table, scores) for table in judged]


def judge_reward(
    completions: Sequence[Any],
    prompts: Sequence[Any] | None = None,
    *,
    judge: Judge,
    template: str = SCORE_TEMPLATE,
    scores: Mapping[str, float] | Sequence[str] = LIKERT_SCORES,
    **kwargs: Any,
) -> list[float | None]:
    """Expected judge score of each completion rescaled to [0, 1] (lowest score value -> 0,
    highest -> 1); None where the judge put no probability on a valid score token.

    >>> judge = StubJudge(rule=lambda text: logprob_table({"5": 0.5, "4": 0.5} if "Paris" in text else {"1": 1.0}))
    >>> judge_reward(["It is Paris.", "No idea."], prompts=["Capital of France?"] * 2, judge=judge)
    [0.875, 0.0]
    """
    values = _as_scores(scores)
    low, high = min(values.values()), max(values.values())
    if high <= low:
        raise ValueError(f"score values must not all be equal, got {values}")
    verdicts = judge_scores(completions, prompts, judge=judge, template=template, scores=values)
    return [None if v.value is None else (v.value - low) / (high - low) for v in verdicts]
