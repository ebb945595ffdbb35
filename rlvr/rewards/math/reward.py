"""Math rewards shaped like TRL reward functions: extraction + verification, batched.

`math_reward(completions, answer, **kwargs) -> list[float]` plugs into `reward_funcs=[...]`;
`math_scores` gives the full `Score` of each completion (components "correct" and "format",
the parsed answer, the reason for a zero), and `score_math` scores one response.
A completion may be a string or a list of chat messages; the last assistant message counts.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from rlvr.core import Score
from rlvr.rewards.math.extract import HEDGED, MODES, Extraction, extract_answer, is_hedged
from rlvr.rewards.math.pool import check_timeout
from rlvr.rewards.math.verify import Verdict, lists_several, verify_answer, verify_batch


def completion_text(completion: Any) -> Any:
    """The text of a completion: a string as is; for chat messages, the last assistant content
    (text parts joined when the content is a list of parts). Anything else is returned as is
    and scored zero by the extractor."""
    if isinstance(completion, dict):
        completion = [completion]
    if isinstance(completion, (list, tuple)):
        messages = [m for m in completion if isinstance(m, dict)]
        assistant = [m for m in messages if m.get("role") == "assistant"] or messages
        if not assistant:
            return completion
        content = assistant[-1].get("content", "")
        if isinstance(content, list):
            return "".join(str(part.get("text", "")) for part in content if isinstance(part, dict))
        return content
    return completion


def _usable(extraction: Extraction, gold: str) -> bool:
    if extraction.error == HEDGED and (is_hedged(gold) or lists_several(gold)):
        # the gold itself offers alternatives or asks for every solution ("1, 2"), so
        # "x = 1 or x = 2" is the list asked for; the verifier still compares it as a whole
        return True
    return extraction.error is None and extraction.answer is not None


def _refused(extraction: Extraction) -> Score:
    extracted = 1.0 if extraction.answer else 0.0
    return Score.zero(extraction.error or "no answer found", extraction.answer, format=extracted)


def _from_verdict(extraction: Extraction, verdict: Verdict) -> Score:
    value = 1.0 if verdict.correct else 0.0
    return Score(value, {"correct": value, "format": 1.0}, extraction.answer, verdict.error)


def score_math(gold: Any, response: Any, *, modes: tuple[str, ...] = MODES, timeout: float = 2.0) -> Score:
    """Extract the final answer from `response` and compare it with `gold`.

    >>> score = score_math("1/2", "Half of them, so the answer is $\\\\boxed{\\\\dfrac{1}{2}}$.")
    >>> score.reward, score.parsed_answer, score.components["format"]
    (1.0, '\\\\dfrac{1}{2}', 1.0)
    >>> score_math("3", "It is either 3 or 4.").error
    'hedged answer'
    """
    timeout = check_timeout(timeout)  # also when the response has no answer to verify
    gold = str(gold)
    extraction = extract_answer(completion_text(response), modes)
    if not _usable(extraction, gold):
        return _refused(extraction)
    assert extraction.answer is not None
    return _from_verdict(extraction, verify_answer(gold, extraction.answer, timeout=timeout))


def math_scores(
    completions: Sequence[Any],
    answer: Sequence[Any],
    *,
    modes: tuple[str, ...] = MODES,
    timeout: float = 2.0,
    call_timeout: float | None = None,
    **kwargs: Any,
) -> list[Score]:
    """`score_math` over a batch; the math-verify part runs on all workers in parallel.

    `timeout` bounds math-verify's work on each completion and `call_timeout` the whole batch (by
    default sized to the batch; see `verify_batch`).

    >>> [s.error for s in math_scores(["\\\\boxed{7}", "no idea"], answer=["7", "7"])]
    [None, 'no answer found']
    """
    if len(completions) != len(answer):
        raise ValueError(
            f"got {len(completions)} completions but {len(answer)} answers; expected one answer each"
        )
    timeout = check_timeout(timeout)
    golds = [str(gold) for gold in answer]
    extractions = [extract_answer(completion_text(c), modes) for c in completions]
    usable = [i for i, (e, g) in enumerate(zip(extractions, golds, strict=True)) if _usable(e, g)]
    verdicts = verify_batch(
        [golds[i] for i in usable], [str(extractions[i].answer) for i in usable],
        timeout=timeout,
        call_timeout=call_timeout,
    )
    scores = [_refused(e) for e in extractions]
    for index, verdict in zip(usable, verdicts, strict=True):
        scores[index] = _from_verdict(extractions[index], verdict)
    return scores


def math_reward(completions: Sequence[Any], answer: Sequence[Any], **kwargs: Any) -> list[float]:
    """1.0 for a completion whose final answer equals its gold answer, else 0.0 (TRL-shaped).

    >>> math_reward(["So the total is \\\\boxed{12}.", "I get 13.", "twelve"], answer=["12", "12", "12"])
    [1.0, 0.0, 1.0]
    >>> math_reward([[{"role": "user", "content": "1+1?"}, {"role": "assistant", "content": "Answer: 2"}]], answer=["2"])
    [1.0]
    """
    return [score.reward for score in math_scores(completions, answer, **kwargs)]
