"""Reading sampled token ids and their log-probs out of a completions answer, trusting none of it.

`ServerPolicy` trains on what a server says it sampled, so every number is checked before it can
reach a loss. The answer is vLLM's `/v1/completions` shape for a request with `logprobs: 0`,
`return_token_ids: true` and `return_tokens_as_token_ids: true`; each choice holds:

- `token_ids`: the sampled ids (vLLM's `return_token_ids`), and/or `logprobs.tokens` as
  `"token_id:<id>"` strings (`return_tokens_as_token_ids`); when both come they must agree;
- `logprobs.token_logprobs`: one log-prob per sampled token;
- `prompt_token_ids` (optional): the prompt as the server read it, which must be the one sent;
- `finish_reason`: 'stop' (the last id is a stop id) or 'length' (exactly `max_tokens` ids).

`usage.completion_tokens`, when present, must equal the ids counted over all choices. The choice
count must be the `n` asked for: a server that ignores or caps `n` would silently shrink a group.
Every failure is a `PayloadError` saying what was expected and what came.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Sequence
from dataclasses import dataclass
from typing import Any

from rlvr.agents.openai_payload import PayloadError, _in_index_order, short

LOGPROB_SLACK = 1e-4
"""Largest log-prob accepted above 0: a probability is at most 1, and rounding in a server's
log-softmax can land a hair above 0, never more."""
_TOKEN_STRING = re.compile(r"token_id:([0-9]{1,12})")


@dataclass
class TokenChoice:
    """One sampled completion: its ids, the log-prob of each, and whether a stop id ended it."""

    ids: list[int]
    logprobs: list[float]
    finished: bool


def read_token_choices(
    payload: Any,
    *,
    n: int,
    prompt_ids: Sequence[int],
    max_tokens: int,
    vocab_size: int,
    stop_ids: Collection[int],
) -> list[TokenChoice]:
    """The `n` checked choices of one parsed answer, in index order; `PayloadError` if any check fails."""
    choices = payload.get("choices") if isinstance(payload, dict) else None
    if not isinstance(choices, list) or not all(isinstance(choice, dict) for choice in choices):
        raise PayloadError("has no 'choices' list of objects")
    if len(choices) != n:
        raise PayloadError(f"has {len(choices)} choices for n={n}: a group needs all n samples of one request "
                           "(a server that ignores or caps 'n' cannot be trained from)")
    read = []
    for position, choice in enumerate(_in_index_order(choices)):
        try:
            read.append(_read_choice(choice, prompt_ids, max_tokens, vocab_size, stop_ids))
        except PayloadError as error:
            raise PayloadError(f"choice {position}: {error}") from None
    usage = payload.get("usage")
    counted = (usage or {}).get("completion_tokens") if isinstance(usage, dict) else None
    total = sum(len(choice.ids) for choice in read)
    if counted is not None and counted != total:
        raise PayloadError(f"says usage.completion_tokens={short(counted)}, but its choices hold {total} token ids")
    return read


def _read_choice(choice: dict[str, Any], prompt_ids: Sequence[int], max_tokens: int, vocab_size: int,
                 stop_ids: Collection[int]) -> TokenChoice:
    logprobs = choice.get("logprobs")
    if not isinstance(logprobs, dict):
        raise PayloadError(f"expected a 'logprobs' object (send logprobs: 0), got {short(logprobs)}")
    ids = _ids(choice.get("token_ids"), logprobs.get("tokens"), vocab_size)
    values = logprobs.get("token_logprobs")
    if not isinstance(values, list) or len(values) != len(ids):
        got = f"{len(values)} values" if isinstance(values, list) else short(values)
        raise PayloadError(f"expected logprobs.token_logprobs to hold {len(ids)} numbers, one per token id, got {got}")
    for t, value in enumerate(values):
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if not number or not math.isfinite(value) or value > LOGPROB_SLACK:
            raise PayloadError(f"expected token {t}'s log-prob to be a finite number <= 0, got {_show(value)}")
    echoed = choice.get("prompt_token_ids")
    if echoed is not None and echoed != list(prompt_ids):
        raise PayloadError(f"read the prompt as {short(echoed)}, but {short(list(prompt_ids))} was sent")
    if len(ids) > max_tokens:
        raise PayloadError(f"has {len(ids)} token ids, more than max_tokens={max_tokens}")
    reason = choice.get("finish_reason")
    if reason == "length" and len(ids) != max_tokens:
        raise PayloadError(f"says finish_reason 'length' after {len(ids)} token ids, not max_tokens={max_tokens}")
    if reason == "stop" and (not ids or (stop_ids and ids[-1] not in stop_ids)):
        last = ids[-1] if ids else "no token"
        raise PayloadError(f"says finish_reason 'stop', but it ends with {last}, not a stop id {sorted(stop_ids)[:8]}")
    if reason not in ("stop", "length"):
        raise PayloadError(f"expected finish_reason 'stop' or 'length', got {_show(reason)}")
    return TokenChoice(ids, [float(value) for value in values], reason == "stop")


def _ids(token_ids: Any, tokens: Any, vocab_size: int) -> list[int]:
    """The sampled ids from `token_ids` and/or `"token_id:<id>"` strings, which must agree when both come."""
    if token_ids is None and tokens is None:
        raise PayloadError("has no token ids, only text: the server must honour return_token_ids or "
                           "return_tokens_as_token_ids (vLLM's server does)")
    if token_ids is not None and not isinstance(token_ids, list):
        raise PayloadError(f"expected 'token_ids' to be a list of integers, got {short(token_ids)}")
    parsed = None
    if tokens is not None:
        if not isinstance(tokens, list):
            raise PayloadError(f"expected logprobs.tokens to be a list, got {short(tokens)}")
        parsed = []
        for token in tokens:
            match = _TOKEN_STRING.fullmatch(token) if isinstance(token, str) else None
            if match is None:
                raise PayloadError(f"expected logprobs.tokens as 'token_id:<id>' strings (return_tokens_as_token_ids), "
                                   f"got {_show(token)}")
            parsed.append(int(match.group(1)))
    for token in token_ids if token_ids is not None else parsed:
        # bool is an int subclass and 3.0 == 3: only true integers are ids
        if type(token) is not int or not 0 <= token < vocab_size:
            raise PayloadError(f"expected token ids in [0, {vocab_size}) (the learner's vocabulary), got {_show(token)}")
    if token_ids is not None and parsed is not None and parsed != token_ids:
        raise PayloadError(f"'token_ids' {short(token_ids)} and logprobs.tokens {short(tokens)} disagree")
    return list(token_ids if token_ids is not None else parsed)


def _show(value: Any) -> str:
    """A value for a message: text quoted (so 'abort' reads as text), anything else as `short` gives it."""
    return repr(value[:64]) if isinstance(value, str) else short(value)
