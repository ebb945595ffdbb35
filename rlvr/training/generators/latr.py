"""LATR [code]: lookahead tree rollouts, a share of each group grown as a tree that forks the policy's
KV cache where its next token is undecided (`rlvr.training.generators.tree_decode`), the rest sampled
as `plain` does.

Per step the tree share s falls linearly from `share` to `final_share` over `decay_steps` steps
(0: constant), and each problem grows up to k = round(s * G) tree rows; a tree that found fewer
branch points than k leaves its remaining slots to plain samples, so every group has G rollouts.
With s = 0 a step is exactly a `plain` step (same samples, same log-probs).

Our readings, where the spec gives only the thresholds: the branch takes the likelier of the top
two tokens that its parent did not sample; "suffix match" is the longest common suffix of the
branch's and its parent's continuations over the branch's length; the pruning windows 20/30/50 are
for responses of up to `reference_max_len` (1024) tokens and scale by max_new_tokens / that.
Single responses need no env state to fork: their score is a pure function of the text. Multi-turn
episodes (`max_turns > 1`) fork the episode's env too, through `clone()` (or `get_state`), so trees
over `rlvr/MathTreeStep-v0` are exact (`rlvr.training.generators.tree_episodes`); their envs stay in
the learner's process (rollout workers are refused).
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import torch

from rlvr.agents.policy import SampleBatch
from rlvr.training.generators.base import (
    GenerationContext,
    GeneratorPlugin,
    register,
    sample_and_score,
    setting,
)
from rlvr.training.generators.defaults import play_episodes
from rlvr.training.generators.tree_decode import MAX_GAP, MIN_SECOND, Branch, ForkingDecoder

TREE_SEED_OFFSET = 104_729
"""The tree decode of a step draws with the step's seed + this (its plain rows keep the step's seed)."""


def scaled_windows(windows: Sequence[int], max_new_tokens: int, reference_max_len: int) -> list[int]:
    """The pruning windows in the run's tokens, distinct and increasing, each at least 1.

    >>> scaled_windows([20, 30, 50], 64, 1024)
    [1, 2, 3]
    """
    factor = max_new_tokens / reference_max_len
    return sorted({max(1, round(window * factor)) for window in windows})


@register
@dataclass
class LATR(GeneratorPlugin):
    """Tree rollouts for a decaying share of each group, plain samples for the rest (module doc)."""

    name: ClassVar[str] = "latr"
    source: ClassVar[str] = "LATR lookahead tree rollouts [code]; windows scaled to max_new_tokens (our reading)"
    summary: ClassVar[str] = ("fork the KV cache (and a multi-turn episode's env) on the 2nd token where p2 > 0.15 "
                              "and p1 - p2 < 0.25, prune branches that repeat their parent; tree share decays")
    share: float = setting(1.0, "share of each group grown as trees at step 0", low=0.0, high=1.0)
    final_share: float = setting(0.0, "share once decay_steps have passed", low=0.0, high=1.0)
    decay_steps: int = setting(100, "steps over which the share falls linearly (0: constant share)", low=0)
    min_second: float = setting(MIN_SECOND, "branch when the 2nd token's probability is above this", low=0.0,
                                high=1.0)
    max_gap: float = setting(MAX_GAP, "... and the 1st leads it by less than this", low=0.0, high=1.0)
    suffix_match: float = setting(0.2, "prune a branch whose common suffix with its parent exceeds this share",
                                  low=0.0, high=1.0)
    rouge_l: float = setting(0.5, "prune a branch whose ROUGE-L F with its parent exceeds this", low=0.0, high=1.0)
    windows: list = setting([20, 30, 50], "tokens after branching at which a branch is tested, at reference_max_len")
    reference_max_len: int = setting(1024, "the response length the windows are stated for", low=1)

    def __post_init__(self) -> None:
        super().__post_init__()
        if not self.windows or not all(isinstance(w, int) and not isinstance(w, bool) and w >= 1 for w in self.windows):
            raise ValueError(f"generator 'latr' setting windows expects a non-empty list of ints >= 1, got "
                             f"{self.windows!r}")
        self.totals = {"branches": 0, "pruned": 0}
        self._last: dict[str, float] = {}
        self._decoder: ForkingDecoder | None = None
        self._windows: list[int] = []

    def check(self, group_size: int, max_new_tokens: int, max_turns: int) -> None:
        """Single responses and multi-turn episodes alike."""

    def bind(self, context: GenerationContext) -> None:
        if context.max_turns > 1 and context.make_env is None:
            raise ValueError("generator 'latr' with max_turns > 1 plays the training env: the context needs make_env")
        for need in ("model", "encode", "stop_token_ids", "pad_token_id"):
            if not hasattr(context.policy, need):
                raise ValueError(f"generator 'latr' runs the policy's model itself: expected a transformers policy "
                                 f"with {need!r}, got {type(context.policy).__name__}")
        super().bind(context)
        self._decoder = ForkingDecoder(context.policy)
        self._windows = scaled_windows(self.windows, context.max_new_tokens, self.reference_max_len)

    def share_at(self, step: int) -> float:
        """The tree share of step `step` (RL steps already taken).

        >>> LATR(share=1.0, final_share=0.2, decay_steps=10).share_at(5)
        0.6
        """
        if not self.decay_steps:
            return self.share
        progress = min(1.0, step / self.decay_steps)
        return self.share + (self.final_share - self.share) * progress

    def generate(self, problems: Sequence[Any], seed: int, step: int):
        context = self._context()
        group = context.group_size
        quota = round(self.share_at(step) * group)
        if quota == 0:  # nothing to grow: a plain step, sample for sample
            self._last = {"tree_share": 0.0, "latr_branches": 0.0, "latr_pruned": 0.0}
            if context.max_turns > 1:
                return play_episodes(context, problems, seed)
            return sample_and_score(context, [problem.prompt for problem in problems], problems, group, seed)
        if context.max_turns > 1:
            return self._episodes(problems, seed, quota)
        start = time.perf_counter()
        policy = context.policy
        prompt_ids = policy.encode([problem.prompt for problem in problems])
        trees, stats = self._decoder.decode(prompt_ids, [quota] * len(problems), **self._decode_settings(seed))
        extra = [group - len(tree) for tree in trees]  # the slots no branch filled
        plain = None
        if sum(extra):
            repeated = [problem.prompt for problem, count in zip(problems, extra, strict=True) for _ in range(count)]
            plain = policy.sample(repeated, num_samples=1, **context.sampling(seed))
        sample = _merge(policy, prompt_ids, trees, plain, extra)
        sampled = time.perf_counter()
        from rlvr.training.rollout import score_rollouts

        batch = score_rollouts(context.task, problems, sample, group, context.workers())
        self._count(stats, sum(len(tree) for tree in trees), group * len(problems))
        return batch, sampled - start, time.perf_counter() - sampled

    def _decode_settings(self, seed: int) -> dict[str, Any]:
        context = self._context()
        generator = torch.Generator(device=context.policy.device)
        generator.manual_seed(int(seed) + TREE_SEED_OFFSET)
        return {"max_new_tokens": context.max_new_tokens, "temperature": context.temperature, "top_p": context.top_p,
                "generator": generator, "windows": self._windows, "min_second": self.min_second,
                "max_gap": self.max_gap, "suffix_threshold": self.suffix_match, "rouge_threshold": self.rouge_l}

    def _episodes(self, problems: Sequence[Any], seed: int, quota: int):
        """Tree episodes (`tree_episodes`): the env forked with each branch."""
        from rlvr.training.generators.tree_episodes import tree_episodes

        context = self._context()
        if context.workers() is not None:
            raise ValueError("generator 'latr' forks each episode's env in the learner's process: run it without "
                             "rollout_workers")
        start = time.perf_counter()
        batch, stats, tree_rows = tree_episodes(self._decoder, context.policy, context.make_env, problems,
                                                context.group_size, quota, max_turns=context.max_turns,
                                                env_pool=context.env_pool, decode=self._decode_settings(seed))
        self._count(stats, tree_rows, context.group_size * len(problems))
        return batch, time.perf_counter() - start, 0.0  # the env scores inside the episode loop

    def _count(self, stats: Any, tree_rows: int, rows: int) -> None:
        self.totals["branches"] += stats.branches
        self.totals["pruned"] += stats.pruned
        self._last = {"tree_share": tree_rows / rows, "latr_branches": float(stats.branches),
                      "latr_pruned": float(stats.pruned)}

    def metrics(self) -> dict[str, float]:
        return {**self._last, "latr_branches_total": float(self.totals["branches"])}

    def state_dict(self) -> dict[str, Any]:
        return {"totals": dict(self.totals)}

    def load_state_dict(self, state: Mapping[str, Any]) -> None:
        totals = state.get("totals") if state else None
        if not isinstance(totals, Mapping) or set(totals) != {"branches", "pruned"}:
            raise ValueError(f"generator 'latr' expects a state {{totals: {{branches, pruned}}}}, got {state!r}")
        self.totals = {key: int(value) for key, value in totals.items()}


def _merge(policy: Any, prompt_ids: list[list[int]], trees: list[list[Branch]], plain: SampleBatch | None,
           extra: list[int]) -> SampleBatch:
    """One batch, problem by problem: its tree rows, then its plain rows; right-padded."""
    rows: list[tuple[list[int], list[int], list[float], bool]] = []
    plain_rows = [] if plain is None else list(zip(plain.completion_lists(), plain.logprobs.tolist(),
                                                   plain.finished, strict=True))
    taken = 0
    for problem, tree in enumerate(trees):
        rows += [(prompt_ids[problem], branch.tokens, branch.logprobs, branch.finished) for branch in tree]
        for ids, logprobs, finished in plain_rows[taken : taken + extra[problem]]:
            rows.append((prompt_ids[problem], ids, logprobs[: len(ids)], finished))
        taken += extra[problem]
    width = max(1, max(len(ids) for _, ids, _, _ in rows))
    completion = torch.full((len(rows), width), int(policy.pad_token_id), dtype=torch.long)
    mask = torch.zeros((len(rows), width), dtype=torch.bool)
    logprobs = torch.zeros((len(rows), width), dtype=torch.float32)
    for index, (_, ids, values, _) in enumerate(rows):
        completion[index, : len(ids)] = torch.tensor(ids, dtype=torch.long)
        mask[index, : len(ids)] = True
        logprobs[index, : len(ids)] = torch.tensor(values, dtype=torch.float32)
    texts = [""] * len(rows)
    if getattr(policy, "tokenizer", None) is not None:
        texts = policy.tokenizer.batch_decode([ids for _, ids, _, _ in rows], skip_special_tokens=True)
    group = len(rows) // len(trees)
    return SampleBatch(prompt_ids=[list(prompt) for prompt, _, _, _ in rows],
                       prompt_index=[index // group for index in range(len(rows))],
                       completion_ids=completion.to(policy.device), completion_mask=mask.to(policy.device),
                       logprobs=logprobs.to(policy.device), texts=texts, finished=[row[3] for row in rows])
