"""Held-out evaluation: greedy accuracy, unbiased pass@k, maj@k and mean completion length.

- greedy accuracy: one temperature-0 completion per problem, the fraction the verifier accepts;
- pass@k: from n samples per problem with c correct, the unbiased estimate 1 - C(n-c, k)/C(n, k)
  (Chen et al. 2021), averaged over problems; sampling k and checking "any correct" is biased
  low and noisier;
- maj@k: the answer the verifier parsed most often among the first k samples (ties: the earliest),
  scored as correct when a sample with that answer was; unparsed samples do not vote;
- mean length: generated tokens per completion, EOS included.

Held-out problems come from the eval (or test) split, which shares no problem id with training's
train split. Single greedy evaluations on a few hundred problems swing by several points, so the
trainer reports the mean of the last few evaluations on >= 1,000 problems.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import torch

from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.training.metrics import maj_at_k, pass_at_k
from rlvr.training.rollout import score_texts


def _generate(policy: Any, problems: Sequence[Problem], num_samples: int, batch_size: int, **sampling: Any):
    """Texts (rows grouped by problem) and token counts, in prompt batches of `batch_size`."""
    texts: list[str] = []
    lengths: list[int] = []
    per_batch = max(1, batch_size // num_samples)
    for start in range(0, len(problems), per_batch):
        chunk = problems[start : start + per_batch]
        seed = sampling.pop("seed", None)
        batch = policy.sample([p.prompt for p in chunk], num_samples=num_samples, seed=seed, **sampling)
        # a different seed per chunk, derived from the caller's, keeps chunks independent
        sampling["seed"] = None if seed is None else seed + 1
        texts.extend(batch.texts)
        lengths.extend(batch.completion_mask.sum(-1).tolist())
    return texts, lengths


@torch.no_grad()
def evaluate(
    policy: Any,
    task: Task,
    problems: Sequence[Problem],
    *,
    num_samples: int = 0,
    ks: Sequence[int] = (1,),
    max_new_tokens: int | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    batch_size: int = 1024,
    seed: int = 0,
) -> dict[str, float]:
    """Metrics over `problems`: always greedy; pass@k and maj@k too when `num_samples` > 0."""
    if not problems:
        raise ValueError("evaluate needs at least one problem")
    was_training = policy.model.training
    policy.model.eval()
    texts, lengths = _generate(policy, problems, 1, batch_size, max_new_tokens=max_new_tokens, temperature=0.0)
    rewards, components, _ = score_texts(task, problems, texts, 1)
    metrics = {
        "greedy_accuracy": float(components["correct"].mean()),
        "greedy_reward": float(rewards.mean()),
        "mean_length": sum(lengths) / len(lengths),
        "num_problems": float(len(problems)),
    }
    if num_samples > 0:
        texts, lengths = _generate(
            policy, problems, num_samples, batch_size,
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed,
        )
        correct = [[0.0] * num_samples for _ in problems]
        parsed: list[list[str | None]] = [[None] * num_samples for _ in problems]
        for row, text in enumerate(texts):
            problem_index, sample_index = divmod(row, num_samples)
            score = task.score(problems[problem_index], text)
            correct[problem_index][sample_index] = float(score.components.get("correct", score.reward))
            parsed[problem_index][sample_index] = score.parsed_answer
        metrics["sample_accuracy"] = sum(map(sum, correct)) / (len(problems) * num_samples)
        metrics["sample_mean_length"] = sum(lengths) / len(lengths)
        for k in ks:
            if not 1 <= k <= num_samples:
                raise ValueError(f"pass@k needs 1 <= k <= num_samples={num_samples}, got k={k}")
            metrics[f"pass@{k}"] = sum(
                pass_at_k(num_samples, int(sum(c > 0 for c in row)), k) for row in correct
            ) / len(problems)
            metrics[f"maj@{k}"] = sum(
                maj_at_k(answers, [c > 0 for c in row], k) for answers, row in zip(parsed, correct, strict=True)
            ) / len(problems)
    if was_training:
        policy.model.train()
    return metrics
