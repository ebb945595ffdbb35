"""A decode loop that can fork: lookahead tree rollouts (LATR [code]) over a transformers model.

Every row samples its next token as the plain sampler does (tempered top-p, the exponential race
driven by a seeded generator; `rlvr.agents.token_ops`). A row also branches when its sampling
distribution is undecided between its two likeliest tokens: the second is above `min_second` and
within `max_gap` of the first (`should_branch`). The branch is a new row whose KV cache is a copy of
its parent's (`select_cache_rows` copies the cached keys and values), and which takes the likelier
of the two top tokens its parent did not take. Both go on sampling. When a branch has written
`window` tokens after its branching token (each of the scaled windows in turn) and its continuation
still resembles its parent's over the same span (longest common suffix above `suffix_match` of the
window, or ROUGE-L F above `rouge_l`), it is pruned and its slot is free for a later branch.

Log-probs are exact: each token's is the raw (temperature 1) log-softmax of the logits its row's own
cache gave, the branching token's included, so a re-score of the rows gives the same values
(tested). Each prompt grows one root; a group of prompts (one problem's, or the live episodes of
one problem) holds at most `quota` live rows; a finished row leaves the batch.
"""

from __future__ import annotations

import inspect
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.agents.token_ops import pick_tokens, select_cache_rows

MIN_SECOND = 0.15
"""Branch only when the second likeliest token has at least this probability (LATR [code])."""
MAX_GAP = 0.25
"""... and the likeliest leads it by less than this."""


def should_branch(probabilities: Sequence[float] | torch.Tensor, min_second: float = MIN_SECOND,
                  max_gap: float = MAX_GAP) -> bool:
    """Whether a next-token distribution is undecided enough to branch on its second token.

    >>> should_branch([0.5, 0.3, 0.2]), should_branch([0.7, 0.2, 0.1])
    (True, False)
    """
    top = torch.as_tensor(probabilities, dtype=torch.float64).topk(2).values.tolist()
    return top[1] > min_second and top[0] - top[1] < max_gap


def rouge_l(candidate: Sequence[int], reference: Sequence[int]) -> float:
    """ROUGE-L F-measure (beta 1) of two token sequences: from their longest common subsequence.

    >>> rouge_l([1, 2, 3, 4], [1, 3, 4, 5])
    0.75
    """
    if not candidate or not reference:
        return 0.0
    previous = [0] * (len(reference) + 1)
    for token in candidate:
        current = [0]
        for j, other in enumerate(reference):
            current.append(previous[j] + 1 if token == other else max(previous[j + 1], current[j]))
        previous = current
    common = previous[-1]
    if common == 0:
        return 0.0
    precision, recall = common / len(candidate), common / len(reference)
    return 2 * precision * recall / (precision + recall)


def suffix_match(candidate: Sequence[int], reference: Sequence[int]) -> float:
    """Length of the longest common suffix over the candidate's length (0 for an empty candidate).

    >>> suffix_match([5, 1, 2], [9, 9, 1, 2])
    0.6666666666666666
    """
    common = 0
    while common < min(len(candidate), len(reference)) and candidate[-1 - common] == reference[-1 - common]:
        common += 1
    return common / len(candidate) if candidate else 0.0


def resembles(branch: Sequence[int], parent: Sequence[int], suffix_threshold: float = 0.2,
              rouge_threshold: float = 0.5) -> bool:
    """Whether a branch's continuation repeats its parent's (LATR's pruning test).

    >>> resembles([4, 1, 2, 3], [7, 1, 2, 3]), resembles([4, 5, 6, 7], [1, 2, 3, 9])
    (True, False)
    """
    return suffix_match(branch, parent) > suffix_threshold or rouge_l(branch, parent) > rouge_threshold


@dataclass
class Branch:
    """One row of the tree: its tokens and exact log-probs, where it left its parent."""

    root: int
    """The prompt whose tree it belongs to."""
    parent: Branch | None = None
    start: int = 0
    """Position of its branching token (0 for a root)."""
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    finished: bool = False
    checked: int = 0
    """How many of the pruning windows it has passed."""
    serial: int = 0
    """Creation order within its decode (rows come out in it)."""

    def continuation(self, length: int) -> tuple[list[int], list[int]]:
        """Its tokens after the branching token, and its parent's over the same span."""
        span = slice(self.start + 1, self.start + 1 + length)
        return self.tokens[span], self.parent.tokens[span] if self.parent is not None else []


@dataclass
class TreeStats:
    """What one tree decode did."""

    branches: int = 0
    pruned: int = 0


class ForkingDecoder:
    """Tree rollouts over a `TransformersPolicy`'s model (its public `model`, `device`, `encode`,
    `pad_token_id` and `stop_token_ids`), with a `DynamicCache` whose rows are copied per branch."""

    def __init__(self, policy: Any) -> None:
        self.policy, self.model = policy, policy.model
        parameters = inspect.signature(self.model.forward).parameters
        # transformers 5.2x renamed forward's `past_key_values` to `cache`; 5.17 knows only the old name
        self.cache_argument = "cache" if "cache" in parameters else "past_key_values"

    def _forward(self, ids: torch.Tensor, mask: torch.Tensor, positions: torch.Tensor, cache: Any) -> torch.Tensor:
        output = self.model(input_ids=ids, attention_mask=mask, position_ids=positions, use_cache=True,
                            **{self.cache_argument: cache})
        return output.logits[:, -1].float()

    @torch.no_grad()
    def decode(self, prompt_ids: Sequence[Sequence[int]], quotas: Sequence[int], *, max_new_tokens: int,
               temperature: float, top_p: float, generator: torch.Generator, windows: Sequence[int],
               min_second: float = MIN_SECOND, max_gap: float = MAX_GAP, suffix_threshold: float = 0.2,
               rouge_threshold: float = 0.5, groups: Sequence[int] | None = None
               ) -> tuple[list[list[Branch]], TreeStats]:
        """One root per prompt, and branches while the prompt's group (`groups[i]`, default i) holds
        fewer than `quotas[group]` live rows; per prompt its rows (root first, then its branches in
        the order they were created), and the decode's branch and prune counts."""
        from transformers import DynamicCache

        device, pad = self.policy.device, int(self.policy.pad_token_id)
        stop = set(int(token) for token in self.policy.stop_token_ids)
        stats = TreeStats()
        groups = list(range(len(prompt_ids))) if groups is None else list(groups)
        roots = [Branch(problem, serial=problem) for problem in range(len(prompt_ids))]
        results: list[list[Branch]] = [[] for _ in prompt_ids]
        if not roots:
            return results, stats
        live_count = [0] * len(quotas)
        for group in groups:
            live_count[group] += 1
        width = max(len(prompt_ids[root.root]) for root in roots)
        ids = torch.full((len(roots), width), pad, dtype=torch.long)
        mask = torch.zeros((len(roots), width), dtype=torch.long)
        for row, root in enumerate(roots):  # left padding, positions from the mask: as the plain sampler
            prompt = list(prompt_ids[root.root])
            ids[row, width - len(prompt):] = torch.tensor(prompt, dtype=torch.long)
            mask[row, width - len(prompt):] = 1
        ids, mask = ids.to(device), mask.to(device)
        positions = (mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = self._forward(ids, mask, positions, cache)
        next_position = positions[:, -1:] + 1
        rows = roots
        for step in range(max_new_tokens):
            sampled = pick_tokens(logits, temperature, top_p, generator)
            # log-softmax as `token_statistics` computes it (z - logsumexp z), so the numbers match the scorer's
            raw = logits - torch.logsumexp(logits, dim=-1, keepdim=True)
            chosen = raw.gather(-1, sampled.unsqueeze(-1)).squeeze(-1).tolist()
            probabilities = torch.softmax(logits / temperature, dim=-1) if temperature > 0 else torch.softmax(logits, -1)
            top2 = probabilities.topk(2, dim=-1)
            order, tokens, parents = list(range(len(rows))), sampled.tolist(), list(rows)
            for row, branch in enumerate(rows):
                branch.tokens.append(tokens[row])
                branch.logprobs.append(chosen[row])
                if live_count[groups[branch.root]] >= quotas[groups[branch.root]] or step == max_new_tokens - 1:
                    continue
                if not should_branch(top2.values[row], min_second, max_gap):
                    continue
                first, second = top2.indices[row].tolist()
                token = first if tokens[row] == second else second
                child = Branch(branch.root, branch, step, branch.tokens[:-1] + [token],
                               branch.logprobs[:-1] + [float(raw[row, token])], serial=len(roots) + stats.branches)
                live_count[groups[branch.root]] += 1
                stats.branches += 1
                parents.append(child)
                order.append(row)
                tokens.append(token)
            # finished and pruned rows leave the batch; the rest (branches: copies of their parents' rows) go on
            keep = []
            for position, branch in enumerate(parents):
                if branch.tokens[-1] in stop:
                    branch.finished = True
                if self._pruned(branch, windows, suffix_threshold, rouge_threshold):
                    live_count[groups[branch.root]] -= 1
                    stats.pruned += 1
                    continue
                if branch.finished or step == max_new_tokens - 1:
                    results[branch.root].append(branch)
                    continue
                keep.append(position)
            if not keep:
                break
            index = torch.tensor([order[position] for position in keep], dtype=torch.long, device=device)
            select_cache_rows(cache, index)
            mask = torch.cat([mask[index], mask.new_ones(len(keep), 1)], dim=-1)
            next_position = next_position[index]
            rows = [parents[position] for position in keep]
            step_tokens = torch.tensor([tokens[position] for position in keep], dtype=torch.long, device=device)
            logits = self._forward(step_tokens[:, None], mask, next_position, cache)
            next_position = next_position + 1
        for rows_of_root in results:  # creation order: the root before its branches, earlier branches first
            rows_of_root.sort(key=lambda branch: branch.serial)
        return results, stats

    @staticmethod
    def _pruned(branch: Branch, windows: Sequence[int], suffix_threshold: float, rouge_threshold: float) -> bool:
        """A branch is tested at each window it reaches (and, cut short by its end, once at the end)."""
        if branch.parent is None or branch.checked >= len(windows):
            return False
        written = len(branch.tokens) - branch.start - 1
        if written < windows[branch.checked] and not branch.finished:
            return False
        branch.checked += 1
        mine, parents = branch.continuation(min(written, windows[branch.checked - 1]))
        return bool(mine) and resembles(mine, parents, suffix_threshold, rouge_threshold)

