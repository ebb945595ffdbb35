"""Group rollouts: G completions per problem, each scored by the task's verifier.

    problems = ProblemStream(task, seed=0, split="train").take(16)
    batch = collect_group_rollouts(policy, task, problems, group_size=8, max_new_tokens=8, seed=1)
    batch.rewards          # float32 [16, 8]: task.score(problem, text).reward
    batch.sample.logprobs  # [128, T]: pi_old of each sampled token, rows grouped by problem

The verifier sees the decoded text of each completion, EOS and padding left out. A completion that
hit `max_new_tokens` before its EOS is scored as it stands, exactly like a finished one: the text
"42" of a cut-off "42..." and of "42<EOS>" is the same string, so a cut-off answer can earn the
reward. `batch.finished` keeps the difference visible (the metrics log the truncated fraction),
and shaping that wants to punish truncation can read it.

Problems come from the task's seeded stream (`task.problem_at(seed, index, ...)`), so problem `i`
of a run is a pure function of (seed, i): a resumed run picks the stream up at the right index
with no sampler state beyond that index.

Ragged groups (a generator that gives each problem its own number of rollouts, `rollout_gdro`) keep
this layout: groups are padded to the largest n of the batch, G = max n, and `batch.valid` (bool
[B, G]) marks the rollouts that exist, each group's first, padding after (`rlvr.training.ragged`).
A padded row holds the group's prompt and no completion (no token, mask all false, log-probs 0,
text "", finished) and 0 in rewards and components; it is never scored, logged or trained on: every
reader of [B, G] takes `valid` (advantages, reward transforms, samplers, DAPO's filter, the step's
metrics) and the update trains on `without_padding()`, the valid rows alone. `valid` is None for a
dense batch, including a ragged one whose groups all came out full, so a dense run is unchanged.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.agents.policy import SampleBatch
from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.training.ragged import cat_groups, check_valid, group_counts, is_ragged


class ProblemStream:
    """Problems `index, index + 1, ...` of the task's seeded stream, restricted to a split."""

    def __init__(
        self,
        task: Task,
        seed: int,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = "train",
        index: int = 0,
    ) -> None:
        self.task, self.seed, self.split, self.index = task, int(seed), split, int(index)
        # resolve once: an invalid knob fails here, not in the middle of a run
        self.difficulty = task.difficulty(difficulty)

    def take(self, count: int, difficulty: Mapping[str, Any] | None = None) -> list[Problem]:
        """The next `count` problems; advances the stream. `difficulty`: resolved knobs for these
        problems instead of the stream's own (a curriculum sampler's)."""
        difficulty = self.difficulty if difficulty is None else difficulty
        problems = [
            self.task.problem_at(self.seed, self.index + offset, difficulty, self.split) for offset in range(count)
        ]
        self.index += count
        return problems

    def distinct(self, count: int, max_draws: int | None = None) -> list[Problem]:
        """The first `count` distinct problems (by id) of the stream, for held-out sets.

        Stops after `max_draws` draws (default 20x count) with what it has, so a problem space
        smaller than `count` gives all of its problems instead of a hang.
        """
        max_draws = 20 * count if max_draws is None else max_draws
        seen: dict[str, Problem] = {}
        for _ in range(max_draws):
            if len(seen) >= count:
                break
            problem = self.take(1)[0]
            seen.setdefault(problem.problem_id, problem)
        return list(seen.values())

    def state_dict(self) -> dict[str, int]:
        return {"seed": self.seed, "index": self.index}

    def load_state_dict(self, state: Mapping[str, int]) -> None:
        self.seed, self.index = int(state["seed"]), int(state["index"])


@dataclass
class RolloutBatch:
    """G scored completions for each of B problems; row `b * G + g` is completion g of problem b."""

    problems: list[Problem]
    """The B problems, in order."""
    group_size: int
    """G, completions per problem."""
    sample: SampleBatch
    """Prompt ids, completion ids and mask, pi_old log-probs, decoded texts, finished flags."""
    rewards: torch.Tensor
    """Float32 [B, G]: the verifier's reward of each completion."""
    components: dict[str, torch.Tensor] = field(default_factory=dict)
    """Float32 [B, G] per reward component the verifier reported (always 'correct')."""
    errors: list[str | None] = field(default_factory=list)
    """Why each completion (flat, B * G) earned nothing, where the verifier said."""
    action_mask: torch.Tensor | None = None
    """Bool [B * G, T]: the tokens the policy generated, where the completion also holds tokens the
    env wrote (multi-turn episodes); None when every completion token is the policy's."""
    task: Any = None
    """The task that scored the batch: a plug-in that groups rollouts by answer class re-reads the
    answers with its verifier and `canonical_answer`, only when it asks."""
    valid: torch.Tensor | None = None
    """Bool [B, G]: the rollouts that exist, for ragged groups (valid first in each group, padding
    after); None when every group holds G (see the module doc)."""

    def __post_init__(self) -> None:
        self.valid = check_valid(self.valid, (len(self.problems), self.group_size))
        if not is_ragged(self.valid):
            self.valid = None  # all groups full: the dense batch, bit for bit

    @property
    def counts(self) -> list[int]:
        """Rollouts per group, [B]."""
        return group_counts(self.valid, (len(self.problems), self.group_size))

    def without_padding(self) -> RolloutBatch:
        """The valid rollouts as a batch of groups of one, in row order (what the update trains on:
        the loss reads rows, not groups, so Dr. GRPO's N counts valid rollouts); itself when dense."""
        if self.valid is None:
            return self
        keep = self.valid.reshape(-1)
        rows = keep.nonzero().squeeze(1).tolist()
        sample = self.sample
        on = keep.to(sample.completion_ids.device)
        narrowed = SampleBatch(
            prompt_ids=[sample.prompt_ids[row] for row in rows], prompt_index=list(range(len(rows))),
            completion_ids=sample.completion_ids[on], completion_mask=sample.completion_mask[on],
            logprobs=sample.logprobs[on], texts=[sample.texts[row] for row in rows],
            finished=[sample.finished[row] for row in rows])

        def flat(value: torch.Tensor) -> torch.Tensor:
            return value.reshape(-1)[keep.to(value.device)].unsqueeze(1)

        return RolloutBatch(
            [self.problems[row // self.group_size] for row in rows], 1, narrowed, flat(self.rewards),
            {name: flat(value) for name, value in self.components.items()},
            [self.errors[row] for row in rows] if self.errors else [],
            None if self.action_mask is None else self.action_mask[keep.to(self.action_mask.device)], task=self.task)

    @property
    def loss_mask(self) -> torch.Tensor:
        """Bool [B * G, T]: the tokens the loss trains on (the policy's own, never the env's)."""
        return self.sample.completion_mask if self.action_mask is None else self.action_mask

    @property
    def finished(self) -> torch.Tensor:
        """Bool [B, G]: true where the completion ended with a stop token."""
        return torch.tensor(self.sample.finished, dtype=torch.bool).view(len(self.problems), self.group_size)

    @property
    def lengths(self) -> torch.Tensor:
        """Long [B, G]: tokens the policy generated per completion (EOS counted; env tokens not)."""
        return self.loss_mask.sum(-1).cpu().view(len(self.problems), self.group_size)


def score_texts(task: Task, problems: Sequence[Problem], texts: Sequence[str], group_size: int):
    """Rewards [B, G], components {name: [B, G]} and errors (flat) of `texts` (rows grouped by problem)."""
    if len(texts) != len(problems) * group_size:
        raise ValueError(f"expected {len(problems)} x {group_size} texts, got {len(texts)}")
    scores = [task.score(problems[row // group_size], text) for row, text in enumerate(texts)]
    shape = (len(problems), group_size)
    rewards = torch.tensor([float(score.reward) for score in scores], dtype=torch.float32).view(shape)
    names = sorted({name for score in scores for name in score.components} | {"correct"})
    components = {
        name: torch.tensor([float(score.components.get(name, 0.0)) for score in scores], dtype=torch.float32).view(shape)
        for name in names
    }
    return rewards, components, [score.error for score in scores]


def collect_group_rollouts(
    policy: Any,
    task: Task,
    problems: Sequence[Problem],
    group_size: int,
    *,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
) -> RolloutBatch:
    """Sample `group_size` completions per problem with `policy` and score each with `task`."""
    if not problems:
        raise ValueError("collect_group_rollouts needs at least one problem")
    sample = policy.sample(
        [problem.prompt for problem in problems],
        num_samples=group_size,
        max_new_tokens=max_new_tokens,
        temperature=temperature,
        top_p=top_p,
        seed=seed,
    )
    return score_rollouts(task, problems, sample, group_size)


def score_rollouts(task: Task, problems: Sequence[Problem], sample: SampleBatch, group_size: int,
                   workers: Any = None) -> RolloutBatch:
    """Score an already sampled batch (rows grouped by problem) into a `RolloutBatch`; by `workers`
    (`rlvr.training.workers.RolloutWorkers`, same results) when given."""
    scored = workers.score(problems, sample.texts, group_size) if workers is not None else \
        score_texts(task, problems, sample.texts, group_size)
    rewards, components, errors = scored
    return RolloutBatch(list(problems), group_size, sample, rewards, components, errors, task=task)


def select_groups(parts: Sequence[tuple[RolloutBatch, Sequence[int]]], pad_id: int) -> RolloutBatch:
    """One batch of the chosen groups of several single-turn batches, re-padded with `pad_id`.

    `parts` pairs each batch with the indices of the groups to keep from it, in order (a batch may
    appear in several parts). None kept gives a batch of no rows (a data-parallel rank whose groups
    DAPO's filter all dropped). Groups of different sizes (ragged, or batches of different G) give a
    ragged batch padded to the largest (see the module doc); groups all of one size give a dense one.
    """
    counts = [batch.counts[g] for batch, groups in parts for g in groups]
    group_size = max(counts if counts else [batch.group_size for batch, _ in parts])
    ragged = any(count != group_size for count in counts)
    # (batch, row) per row of the result; (batch, -1 - g) is a padded row of the batch's group g
    rows = [(batch, g * batch.group_size + i if i < batch.counts[g] else -1 - g)
            for batch, groups in parts for g in groups for i in range(group_size)]
    width = max(1, max(batch.sample.completion_ids.shape[1] for batch, _ in parts))

    def stack(name: str, fill: Any) -> torch.Tensor:
        out = []
        for batch, row in rows:
            tensor = getattr(batch.sample, name)[max(row, 0)]
            if row < 0:  # a padded row: no token
                tensor = torch.full((0,), fill, dtype=tensor.dtype, device=tensor.device)
            pad = torch.full((width - tensor.shape[0],), fill, dtype=tensor.dtype, device=tensor.device)
            out.append(torch.cat([tensor, pad]))
        return torch.stack(out) if out else getattr(parts[0][0].sample, name).new_full((0, width), fill)

    def prompt_of(batch: RolloutBatch, row: int) -> list[int]:
        return batch.sample.prompt_ids[row if row >= 0 else (-1 - row) * batch.group_size]

    sample = SampleBatch(
        prompt_ids=[prompt_of(batch, row) for batch, row in rows],
        prompt_index=[index // group_size for index in range(len(rows))],
        completion_ids=stack("completion_ids", pad_id), completion_mask=stack("completion_mask", False),
        logprobs=stack("logprobs", 0.0),
        texts=[batch.sample.texts[row] if row >= 0 else "" for batch, row in rows],
        finished=[batch.sample.finished[row] if row >= 0 else True for batch, row in rows],
    )
    problems = [batch.problems[g] for batch, groups in parts for g in groups]
    valid = None

    def groups_of(tensors: Sequence[torch.Tensor]) -> torch.Tensor:
        chosen = [tensor[list(groups)] for tensor, (_, groups) in zip(tensors, parts, strict=True)]
        if all(tensor.shape[1] == group_size for tensor in chosen):
            return torch.cat(chosen)
        # batches of other widths (ragged sources): padded with 0 to the widest, cut to the largest group kept
        return cat_groups(chosen, [None] * len(chosen))[0][:, :group_size]

    if ragged:
        valid = torch.arange(group_size).unsqueeze(0) < torch.tensor(counts).unsqueeze(1)
    names = set.intersection(*(set(batch.components) for batch, _ in parts))
    return RolloutBatch(
        problems, group_size, sample, groups_of([batch.rewards for batch, _ in parts]),
        {name: groups_of([batch.components[name] for batch, _ in parts]) for name in sorted(names)},
        [batch.errors[row] if batch.errors and row >= 0 else None for batch, row in rows], task=parts[0][0].task,
        valid=valid,
    )


def pad_groups(batch: RolloutBatch, width: int, pad_id: int) -> RolloutBatch:
    """`batch` (single responses) with each group padded to `width` rollouts in the ragged layout of
    this module: a padded row holds its group's prompt, no token, log-probs 0, text "",
    finished, and 0 in rewards and components. `batch` itself when its groups are that wide already.
    A batch of no groups (a rank whose groups DAPO's filter all dropped) takes `width` whatever it
    held, so that it gathers as the others do."""
    import dataclasses

    if not batch.problems and batch.group_size != width:
        return dataclasses.replace(batch, group_size=width, rewards=batch.rewards.new_zeros((0, width)),
                                   components={name: value.new_zeros((0, width))
                                               for name, value in batch.components.items()}, valid=None)
    if batch.group_size >= width:
        return batch
    if batch.action_mask is not None:
        raise ValueError("pad_groups pads single-response batches; this one holds env tokens (action_mask)")
    old, counts, sample = batch.group_size, batch.counts, batch.sample
    # the source row of each row of the result; -1: padding, the row of fill appended below
    source = [b * old + i if i < counts[b] else -1 for b in range(len(batch.problems)) for i in range(width)]

    def rows(tensor: torch.Tensor, fill: Any) -> torch.Tensor:
        return torch.cat([tensor, tensor.new_full((1, tensor.shape[1]), fill)])[source]

    padded = SampleBatch(
        prompt_ids=[sample.prompt_ids[row if row >= 0 else index // width * old] for index, row in enumerate(source)],
        prompt_index=[index // width for index in range(len(source))],
        completion_ids=rows(sample.completion_ids, pad_id), completion_mask=rows(sample.completion_mask, False),
        logprobs=rows(sample.logprobs, 0.0), texts=[sample.texts[row] if row >= 0 else "" for row in source],
        finished=[sample.finished[row] if row >= 0 else True for row in source])

    def widen(values: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.pad(values, (0, width - old))

    return RolloutBatch(
        list(batch.problems), width, padded, widen(batch.rewards),
        {name: widen(value) for name, value in batch.components.items()},
        [batch.errors[row] if batch.errors and row >= 0 else None for row in source], task=batch.task,
        valid=torch.arange(width).unsqueeze(0) < torch.tensor(counts).unsqueeze(1))
