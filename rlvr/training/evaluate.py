"""Held-out evaluation: greedy accuracy, unbiased pass@k, maj@k, diversity and mean completion length.

- greedy accuracy: one temperature-0 completion per problem, the fraction the verifier accepts;
  per difficulty too when the problems were drawn at several (`rlvr.training.eval_breakdown`),
  where each level's entry also holds its sample accuracy and pass@k;
- pass@k: from n samples per problem with c correct, the unbiased estimate 1 - C(n-c, k)/C(n, k)
  (Chen et al. 2021), averaged over problems; sampling k and checking "any correct" is biased
  low and noisier;
- maj@k: the most frequent answer class among the first k samples (ties: the earliest), scored as
  correct when a sample of that class was; classes are the verifier's equivalence classes, answers
  in the task's canonical form (`Task.canonical_answer`: '3+4' and '4+3' vote together), and
  unreadable answers do not vote;
- distinct correct: per problem, how many different correct solutions the n samples hold, in the
  task's canonical form (`Task.canonical_answer`: '3+4' and '4+3' are one); the diversity figure
  of the ROVER-vs-GRPO comparison;
- semantic entropy: per problem, the entropy in nats of the n samples' answer classes (answers in
  the task's canonical form; all unreadable answers together are one more class, so a policy that
  never answers is not counted as diverse), averaged over problems: 0 when every sample agrees,
  log n at most;
- distinct-1 / distinct-2: per problem, distinct whitespace-separated 1- and 2-grams over all
  n-grams of its n samples, averaged over the problems whose samples hold any (absent when none
  does). Whitespace tokens, not the model's: the figure then compares models with different
  tokenizers and servers that return no token ids;
- mean length: generated tokens per completion, EOS included.

With several sampling seeds the sampled metrics are measured once per seed on the same problems and
reported as their mean, with the spread under `across_seeds`.

`write_samples` saves the greedy responses to the first problems (taken in turn from each difficulty
level), scored, for the run report; `evaluate` and `evaluate_server` hand the same records to a
caller that passes a `samples` list (what `rlvr eval` writes in its folder).

Held-out problems come from the eval (or test) split, which shares no problem id with training's
train split. Single greedy evaluations on a few hundred problems swing by several points, so the
trainer reports the mean of the last few evaluations on >= 1,000 problems.
"""

from __future__ import annotations

import json
import warnings
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import torch

from rlvr.core.problem import Problem
from rlvr.core.progress import progress_bar as core_progress_bar
from rlvr.core.task import Task
from rlvr.training.eval_breakdown import (
    SEED_STRIDE,
    by_difficulty,
    check_seeds,
    combine_seeds,
    merge_sampled_levels,
    sampled_by_difficulty,
    spread_indices,
)
from rlvr.training.metrics import (
    class_key,
    distinct_correct,
    json_safe,
    maj_at_k,
    mean_distinct_n,
    pass_at_k,
    semantic_entropy,
)
from rlvr.training.rollout import score_texts

PROGRESS_MIN_BATCHES = 4
"""An evaluation of fewer prompt batches than this shows no progress bar (it is over in moments)."""
SAMPLES_SAVED = 32
"""Problems whose greedy response `write_samples` saves by default."""
SAMPLE_TEXT_LIMIT = 4000
"""Characters kept of each saved prompt, response and answer (the rest is cut with a marker)."""


def progress_bar(total: int, progress: bool | None, desc: str = "evaluating") -> Any:
    """A tqdm bar over `total` batches on stderr, or None: shown when there are at least
    `PROGRESS_MIN_BATCHES` and `progress` is True, or None (auto) and stderr is a terminal."""
    return core_progress_bar(total, progress, desc, unit="batch", minimum=PROGRESS_MIN_BATCHES)


def _batches(problems: Sequence[Problem], num_samples: int, batch_size: int) -> int:
    per_batch = max(1, batch_size // num_samples)
    return -(-len(problems) // per_batch)


def _generate(policy: Any, problems: Sequence[Problem], num_samples: int, batch_size: int, bar: Any = None,
              **sampling: Any):
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
        if bar is not None:
            bar.update(1)
    return texts, lengths


def sample_metrics(task: Task, problems: Sequence[Problem], texts: Sequence[str], num_samples: int,
                   ks: Sequence[int]) -> dict[str, Any]:
    """pass@k, maj@k, sample accuracy, distinct correct solutions, semantic entropy and distinct-1/2
    of `num_samples` texts per problem (rows grouped by problem), from any source: a policy, a
    server, a file; with problems of several difficulties, each level's sample accuracy and pass@k
    under `eval_breakdown.SAMPLED_LEVELS`."""
    if len(texts) != len(problems) * num_samples:
        raise ValueError(f"expected {len(problems)} x {num_samples} texts, got {len(texts)}")
    correct = [[0.0] * num_samples for _ in problems]
    parsed: list[list[Any]] = [[None] * num_samples for _ in problems]
    for row, text in enumerate(texts):
        problem_index, sample_index = divmod(row, num_samples)
        score = task.score(problems[problem_index], text)
        correct[problem_index][sample_index] = float(score.components.get("correct", score.reward))
        parsed[problem_index][sample_index] = score.parsed_answer
    # the verifier-equivalence classes: answers in the task's canonical form (None: unreadable)
    classes = [[None if answer is None else class_key(task.canonical_answer(answer)) for answer in answers]
               for answers in parsed]
    groups = [texts[start : start + num_samples] for start in range(0, len(texts), num_samples)]
    metrics = {
        "sample_accuracy": sum(map(sum, correct)) / (len(problems) * num_samples),
        "distinct_correct": sum(
            distinct_correct(answers, [c > 0 for c in row])
            for answers, row in zip(classes, correct, strict=True)
        ) / len(problems),
        "semantic_entropy": sum(semantic_entropy(answers, pool_unreadable=True) for answers in classes)
        / len(problems),
    }
    for n in (1, 2):  # absent when no problem's samples hold an n-gram (one-word answers, for n = 2)
        value = mean_distinct_n(groups, n)
        if value is not None:
            metrics[f"distinct_{n}"] = value
    for k in ks:
        if not 1 <= k <= num_samples:
            raise ValueError(f"pass@k needs 1 <= k <= num_samples={num_samples}, got k={k}")
        metrics[f"pass@{k}"] = sum(pass_at_k(num_samples, int(sum(c > 0 for c in row)), k) for row in correct) / len(problems)
        metrics[f"maj@{k}"] = sum(
            maj_at_k(answers, [c > 0 for c in row], k) for answers, row in zip(classes, correct, strict=True)
        ) / len(problems)
    return {**metrics, **sampled_by_difficulty(problems, correct, ks)}


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
    sampling_seeds: Sequence[int] = (0,),
    progress: bool | None = False,
    samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Metrics over `problems`: always greedy; pass@k, maj@k and diversity too when `num_samples` > 0,
    once per sampling seed s (drawn with seed + s * SEED_STRIDE; s = 0 is `seed` itself).
    `progress`: a bar on stderr (None: when stderr is a terminal) for evaluations of several batches.
    `samples`: a list that receives `SAMPLES_SAVED` of the greedy responses, scored (`sample_records`)."""
    if not problems:
        raise ValueError("evaluate needs at least one problem")
    seeds = check_seeds(sampling_seeds)
    total = _batches(problems, 1, batch_size) + (len(seeds) * _batches(problems, num_samples, batch_size)
                                                 if num_samples > 0 else 0)
    bar = progress_bar(total, progress)
    was_training = policy.model.training
    policy.model.eval()
    try:
        texts, lengths = _generate(policy, problems, 1, batch_size, bar, max_new_tokens=max_new_tokens,
                                   temperature=0.0)
        rewards, components, _ = score_texts(task, problems, texts, 1)
        if samples is not None:
            samples += sample_records(task, problems, {i: (texts[i], lengths[i])
                                                       for i in spread_indices(problems, SAMPLES_SAVED)})
        metrics: dict[str, Any] = {
            "greedy_accuracy": float(components["correct"].mean()),
            "greedy_reward": float(rewards.mean()),
            "mean_length": sum(lengths) / len(lengths),
            "num_problems": float(len(problems)),
            **by_difficulty(problems, components["correct"].reshape(-1).tolist()),
        }
        if num_samples > 0:
            runs = []
            for offset in seeds:
                texts, lengths = _generate(
                    policy, problems, num_samples, batch_size, bar, max_new_tokens=max_new_tokens,
                    temperature=temperature, top_p=top_p, seed=seed + offset * SEED_STRIDE,
                )
                runs.append({**sample_metrics(task, problems, texts, num_samples, ks),
                             "sample_mean_length": sum(lengths) / len(lengths)})
            metrics.update(combine_seeds(runs, seeds))
            merge_sampled_levels(metrics)
    finally:
        if bar is not None:
            bar.close()
        if was_training:
            policy.model.train()
    return metrics


@torch.no_grad()
def write_samples(path: str | Path, policy: Any, task: Task, problems: Sequence[Problem], *,
                  limit: int = SAMPLES_SAVED, max_new_tokens: int | None = None, batch_size: int = 1024) -> int:
    """Greedy responses to `limit` of `problems` (the first ones, taken in turn from each difficulty
    level: `spread_indices`), each scored by `task`, as JSON lines at `path` (what the run report
    shows); the number written.

    Greedy decoding is deterministic, so after the final evaluation these are its responses to those
    problems, generated again rather than kept: `evaluate` holds no text, and a bounded file does
    not need it to. Each text is cut to `SAMPLE_TEXT_LIMIT` characters, so the file stays small.
    """
    chosen = spread_indices(problems, limit)
    records = []
    if chosen:
        was_training = policy.model.training
        policy.model.eval()
        picked = [problems[i] for i in chosen]
        texts, lengths = _generate(policy, picked, 1, batch_size, max_new_tokens=max_new_tokens, temperature=0.0)
        if was_training:
            policy.model.train()
        records = sample_records(task, problems, dict(zip(chosen, zip(texts, lengths, strict=True), strict=True)))
    return save_records(path, records)


def sample_records(task: Task, problems: Sequence[Problem],
                   responses: Mapping[int, tuple[str, int | None]]) -> list[dict[str, Any]]:
    """The saved form of greedy responses: {problem index: (text, tokens or None)} scored by `task`,
    one record each (texts cut to `SAMPLE_TEXT_LIMIT`), in index order."""
    records = []
    for index, (text, length) in sorted(responses.items()):
        problem = problems[index]
        score = task.score(problem, text)
        records.append({
            "index": index, "problem_id": problem.problem_id, "prompt": text_field(problem.prompt),
            "answer": text_field(problem.answer), "difficulty": dict(problem.difficulty),
            "response": text_field(text), "tokens": None if length is None else int(length), "reward": float(score.reward),
            "components": {name: float(value) for name, value in score.components.items()},
            "parsed_answer": None if score.parsed_answer is None else text_field(score.parsed_answer),
            "correct": score.correct, "reason": score.error,
        })
    return records


def save_records(path: str | Path, records: Sequence[Mapping[str, Any]]) -> int:
    """`records` as JSON lines at `path` (non-finite numbers as null); the number written."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(json.dumps(json_safe(record), allow_nan=False, default=str) + "\n" for record in records))
    return len(records)


def text_field(value: Any) -> str:
    """A value of a saved sample as text (JSON when it is not a string), cut to `SAMPLE_TEXT_LIMIT`."""
    text = value if isinstance(value, str) else json.dumps(json_safe(value), default=str)
    extra = len(text) - SAMPLE_TEXT_LIMIT
    return text if extra <= 0 else f"{text[:SAMPLE_TEXT_LIMIT]} … [{extra:,} more characters cut]"


def evaluate_server(
    base_url: str,
    model: str,
    task: Task,
    problems: Sequence[Problem],
    *,
    num_samples: int = 0,
    ks: Sequence[int] = (1,),
    temperature: float = 1.0,
    max_tokens: int = 1024,
    endpoint: str = "chat",
    concurrency: int = 8,
    seed: int = 0,
    sampling_seeds: Sequence[int] = (0,),
    extra_body: Mapping[str, Any] | None = None,
    progress: bool | None = False,
    samples: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """The same metrics for a model behind an OpenAI-compatible server (greedy = temperature 0);
    `progress` and `samples` as for `evaluate`.

    `extra_body` joins every request (server fields such as vLLM's `top_k`); the fields set here
    from the arguments are refused in it. With 2+ samples, `identical_sample_groups` is the share
    of problems whose samples are one text repeated; a warning says so when that is most of them
    at a temperature above 0, the mark of a server that ignores `n`, `seed` or `temperature`.
    """
    from rlvr.agents.openai_compat import OpenAICompatibleAgent

    if not problems:
        raise ValueError("evaluate_server needs at least one problem")
    clash = sorted(set(extra_body or {}) & _SERVER_FIELDS)
    if clash:
        raise ValueError(f"extra request fields may not set {clash}: rlvr sets {sorted(_SERVER_FIELDS)} itself "
                         "(--temperature, --max-new-tokens, --seed and --samples choose them)")
    seeds = check_seeds(sampling_seeds)
    prompts = [list(p.messages) if endpoint == "chat" else p.prompt for p in problems]
    settings = {"max_tokens": max_tokens, "endpoint": endpoint, "concurrency": concurrency,
                "extra_body": extra_body}
    chunks = -(-len(prompts) // SERVER_BATCH)
    bar = progress_bar(chunks * (1 + (len(seeds) if num_samples > 0 else 0)), progress)
    try:
        return _server_metrics(OpenAICompatibleAgent, base_url, model, task, problems, prompts, settings, bar,
                               num_samples=num_samples, ks=ks, temperature=temperature, seed=seed, seeds=seeds,
                               samples=samples)
    finally:
        if bar is not None:
            bar.close()


SERVER_BATCH = 64
"""Prompts sent to a server per call (each call spreads them over `concurrency` requests): the
progress bar moves once per call."""


def _complete(agent: Any, prompts: Sequence[Any], n: int, bar: Any) -> list[list[str]]:
    """`agent.complete` in calls of `SERVER_BATCH` prompts (the requests are the same either way)."""
    out: list[list[str]] = []
    for start in range(0, len(prompts), SERVER_BATCH):
        out += agent.complete(prompts[start : start + SERVER_BATCH], n=n)
        if bar is not None:
            bar.update(1)
    return out


def _server_metrics(agent_class: Any, base_url: str, model: str, task: Task, problems: Sequence[Problem],
                    prompts: list[Any], settings: dict[str, Any], bar: Any, *, num_samples: int, ks: Sequence[int],
                    temperature: float, seed: int, seeds: list[int],
                    samples: list[dict[str, Any]] | None) -> dict[str, Any]:
    greedy = agent_class(base_url, model, temperature=0.0, seed=seed, **settings)
    texts = [choices[0] for choices in _complete(greedy, prompts, 1, bar)]
    rewards, components, _ = score_texts(task, problems, texts, 1)
    if samples is not None:  # a server's replies here carry no token counts
        samples += sample_records(task, problems, {i: (texts[i], None)
                                                   for i in spread_indices(problems, SAMPLES_SAVED)})
    metrics: dict[str, Any] = {
        "greedy_accuracy": float(components["correct"].mean()),
        "greedy_reward": float(rewards.mean()),
        "num_problems": float(len(problems)),
        "completion_tokens": float(greedy.stats["completion_tokens"]),
        **by_difficulty(problems, components["correct"].reshape(-1).tolist()),
    }
    if num_samples > 0:
        runs, identical = [], 0
        for offset in seeds:
            sampler = agent_class(base_url, model, temperature=temperature, seed=seed + offset * SEED_STRIDE,
                                  **settings)
            groups = [choices[:num_samples] for choices in _complete(sampler, prompts, num_samples, bar)]
            identical += sum(len(set(group)) == 1 for group in groups)
            runs.append(sample_metrics(task, problems, [text for group in groups for text in group],
                                       num_samples, ks))
        metrics.update(combine_seeds(runs, seeds))
        merge_sampled_levels(metrics)
        if num_samples > 1:
            share = identical / (len(problems) * len(seeds))
            metrics["identical_sample_groups"] = share
            if temperature > 0 and share > 0.5:
                if bar is not None:  # the warning's line below a finished bar, not through it
                    bar.close()
                warnings.warn(f"{share:.0%} of the problems got {num_samples} identical samples at temperature "
                              f"{temperature:g}: the server may ignore `n`, `seed` or `temperature`, and then "
                              "pass@k and maj@k only repeat the greedy figures", stacklevel=3)
    return metrics


_SERVER_FIELDS = frozenset({"model", "messages", "prompt", "n", "temperature", "max_tokens", "seed", "stream"})
"""Request fields evaluate_server sets itself (`stream`: its replies are read whole, not as events)."""
