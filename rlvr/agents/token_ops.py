"""Tensor-level pieces of sampling and scoring, shared by the policies: per-token statistics from
logits, the seeded tempered top-p draw, and the prompt sharing of G samples per prompt (distinct
rows, copied cache rows).

Without torch the module still imports (the policies raise a clear error when constructed).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

try:
    import torch
except ImportError:  # the `train` extra is not installed; the policies say so on construction
    torch = None


def token_statistics(logits: Any, tokens: Any | None, need: Sequence[str]) -> dict[str, Any]:
    """Per-position quantities from logits [..., V] (any float dtype), computed in float32.

    `tokens` ([...], long) is needed for `logprobs`. Uses log-softmax = z - logsumexp(z), so the
    vocabulary mean of log-probs is mean(z) - logsumexp(z) and entropy is logsumexp(z) - sum p z.
    """
    logits = logits.float()
    log_normaliser = torch.logsumexp(logits, dim=-1)
    stats = {}
    if "logprobs" in need:
        chosen = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
        stats["logprobs"] = chosen - log_normaliser
    if "entropy" in need:
        probabilities = torch.softmax(logits, dim=-1)
        stats["entropy"] = log_normaliser - (probabilities * logits).sum(-1)
    if "vocab_mean_logprob" in need:
        stats["vocab_mean_logprob"] = logits.mean(-1) - log_normaliser
    if "chosen_logit" in need:  # the raw logit, not shift-invariant like the others (UCAS token level)
        stats["chosen_logit"] = logits.gather(-1, tokens.unsqueeze(-1)).squeeze(-1)
    return stats


def pick_tokens(logits: Any, temperature: float, top_p: float, generator: Any) -> Any:
    """Next token per row: greedy at temperature 0, else sample the tempered top-p nucleus."""
    if temperature <= 0:
        return logits.argmax(-1)
    probabilities = torch.softmax(logits / temperature, dim=-1)
    if top_p < 1.0:
        sorted_probs, order = probabilities.sort(dim=-1, descending=True)
        # keep a token while the mass before it is below top_p: the most likely token always stays
        outside = (sorted_probs.cumsum(-1) - sorted_probs) >= top_p
        sorted_probs = sorted_probs.masked_fill(outside, 0.0)
        probabilities = torch.zeros_like(probabilities).scatter_(-1, order, sorted_probs)
    # exponential race: argmax p_i / E_i with E_i ~ Exp(1) picks i with probability p_i / sum p
    noise = torch.empty_like(probabilities).exponential_(generator=generator)
    return (probabilities / noise).argmax(-1)


def distinct_rows(rows: Sequence[Sequence[int]]) -> tuple[list[list[int]], list[int]]:
    """The distinct rows (in first-seen order) and, per row, the index of its distinct row.

    >>> distinct_rows([[1, 2], [1, 2], [3], [1, 2]])
    ([[1, 2], [3]], [0, 0, 1, 0])
    """
    seen: dict[tuple[int, ...], int] = {}
    index = [seen.setdefault(tuple(row), len(seen)) for row in rows]
    return [list(row) for row in seen], index


def select_cache_rows(cache: Any, index: Any) -> None:
    """Make row i of every cached key/value tensor a copy of row `index[i]` (differentiable)."""
    layers = getattr(cache, "layers", None)
    if layers is None:  # caches without per-layer objects keep their own batch selector
        cache.batch_select_indices(index)
        return
    for layer in layers:
        if getattr(layer, "keys", None) is not None and layer.keys.numel():
            layer.keys = layer.keys.index_select(0, index)
            layer.values = layer.values.index_select(0, index)
