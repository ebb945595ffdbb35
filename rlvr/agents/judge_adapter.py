"""Turn a model policy into a judge: texts -> log-probs over score tokens.

`policy_judge(policy, template, score_tokens)` returns a plain callable that `rlvr.rewards.judge`
accepts. For each text it renders `template` (with `{text}`), and asks the policy's `score(...)`
for the log-probability of each score token as the continuation; a score token that the
tokenizer splits into several tokens (" 10") gets the sum of its tokens' log-probs, i.e. the
log-probability of the whole string. All (text, score token) pairs go through one `score` call
per batch of `batch_size` rows, with gradients off.

The policy must offer `score(prompt_ids, completion_ids, need=("logprobs",))` (the `Policy`
protocol) and a way to encode text: its own `encode(prompts)` and `tokenizer`, as
`TransformersPolicy` has. torch is imported only when the judge is called.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from typing import Any

from rlvr.rewards.judge import LIKERT_SCORES

DEFAULT_TEMPLATE = "{text}"


def _encode_tokens(policy: Any, score_tokens: Sequence[str]) -> dict[str, list[int]]:
    tokenizer = getattr(policy, "tokenizer", None)
    if tokenizer is None:
        raise ValueError("the policy has no tokenizer: pass token_ids={score token: [ids]} to policy_judge")
    encoded = {}
    for token in score_tokens:
        ids = list(tokenizer(token, add_special_tokens=False)["input_ids"])
        if not ids:
            raise ValueError(f"score token {token!r} encodes to no tokens")
        encoded[token] = ids
    return encoded


def policy_judge(
    policy: Any,
    template: str = DEFAULT_TEMPLATE,
    score_tokens: Sequence[str] | Mapping[str, float] = tuple(LIKERT_SCORES),
    *,
    token_ids: Mapping[str, Sequence[int]] | None = None,
    batch_size: int = 64,
) -> Callable[[list[str]], list[dict[str, float]]]:
    """A judge over `policy`: texts -> {score token: log-prob of that token after the prompt}.

    `token_ids` gives each score token's ids directly (for policies without a tokenizer).
    """
    tokens = [str(t) for t in score_tokens]
    if not tokens:
        raise ValueError("policy_judge needs at least one score token")
    if "{text}" not in template:
        raise ValueError(f"the judge template must contain '{{text}}', got {template!r}")
    if batch_size < 1:
        raise ValueError(f"batch_size must be >= 1, got {batch_size}")
    encoded_tokens: dict[str, list[int]] | None = (
        {t: [int(i) for i in token_ids[t]] for t in tokens} if token_ids is not None else None
    )

    def judge(texts: list[str]) -> list[dict[str, float]]:
        import torch

        nonlocal encoded_tokens
        if encoded_tokens is None:
            encoded_tokens = _encode_tokens(policy, tokens)
        prompts = policy.encode([template.format(text=text) for text in texts])
        rows = [(p, encoded_tokens[t]) for p in prompts for t in tokens]
        sums: list[float] = []
        with torch.no_grad():
            for start in range(0, len(rows), batch_size):
                chunk = rows[start : start + batch_size]
                out = policy.score([p for p, _ in chunk], [c for _, c in chunk], need=("logprobs",))
                sums += out["logprobs"].float().sum(-1).tolist()  # padded positions hold 0
        return [
            {t: sums[i * len(tokens) + j] for j, t in enumerate(tokens)}
            for i in range(len(texts))
        ]

    return judge
