"""SFT warm-up: teacher forcing on the task's oracle solutions, loss on the answer tokens only.

A model from scratch answers almost nothing right, so every GRPO group is all-zero and the
group-relative advantage is zero everywhere: RL has no signal. A short warm-up on oracle
solutions (`task.solve`) lifts it to where some samples succeed (~25-35% on the quickstart).

The prompt is context, not a target: the loss is the mean negative log-likelihood of the target
tokens and the EOS that ends them, so the model learns to answer and to stop. It reuses
`Policy.score`, the same forward pass (padding, position ids) the RL loss uses, so what SFT
teaches is exactly what sampling sees.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

import torch

from rlvr.core.problem import Problem
from rlvr.core.task import Task
from rlvr.training.optim import adamw


def sft_target(task: Task, problem: Problem, target: str = "solve") -> str:
    """The text SFT imitates: the oracle's solution ('solve') or the bare gold answer ('answer')."""
    if target == "answer":
        return str(problem.answer)
    text = task.solve(problem)
    if text is None:
        raise ValueError(f"task {task.name!r} has no oracle (solve returned None): SFT warm-up needs one")
    return text


def sft_batch(policy: Any, task: Task, problems: Sequence[Problem], target: str = "solve"):
    """(prompt ids, target ids + EOS per row): the inputs of `sft_loss`."""
    prompt_ids = policy.encode([problem.prompt for problem in problems])
    tokenizer = policy.tokenizer
    eos = policy.stop_token_ids[0]
    targets = [
        tokenizer(sft_target(task, problem, target), add_special_tokens=False)["input_ids"] + [eos]
        for problem in problems
    ]
    return prompt_ids, targets


def sft_loss(policy: Any, prompt_ids: Sequence[Sequence[int]], target_ids: Sequence[Sequence[int]],
             loss_masks: Sequence[Sequence[bool]] | None = None) -> torch.Tensor:
    """Mean NLL per target token (EOS included); prompt tokens carry no loss.

    `loss_masks` (one flag per target token) leaves tokens out of the loss that stay in the
    context: the env's replies in a multi-turn transcript.
    """
    scored = policy.score(prompt_ids, target_ids, need=("logprobs",))
    logprobs = scored["logprobs"]
    # score pads the lists itself; rebuild the same mask to average over real tokens only
    mask = torch.zeros_like(logprobs, dtype=torch.bool)
    for row, ids in enumerate(target_ids):
        if loss_masks is None:
            mask[row, : len(ids)] = True
        else:
            mask[row, : len(ids)] = torch.tensor(list(loss_masks[row]), dtype=torch.bool)
    return -(logprobs * mask).sum() / mask.sum().clamp_min(1)


def run_sft(
    policy: Any,
    task: Task,
    stream: Any,
    steps: int,
    *,
    lr: float = 1e-3,
    batch_size: int = 64,
    weight_decay: float = 0.0,
    max_grad_norm: float = 1.0,
    target: str = "solve",
    progress: bool = False,
    on_step: Any = None,
    stop_after_s: float | None = None,
    stop_when: Callable[[int], bool] | None = None,
    batch_fn: Callable[[list[Problem]], tuple] | None = None,
) -> list[float]:
    """`steps` AdamW steps on `batch_size` fresh problems each from `stream`; returns the losses.

    `batch_fn(problems) -> (prompt ids, target ids, loss masks or None)` replaces the single-turn
    batch (`sft_batch` on `target`), e.g. with oracle transcripts of a multi-turn env.
    `on_step(step, loss)` is called after each step (logging, evaluation). `stop_after_s` ends the
    loop early once that much wall time has passed (an equal-time baseline); `stop_when(step)`, asked
    after each step, ends it when true (a warm-up that stops at an accuracy). A fresh optimizer is
    used: the warm-up's Adam moments are not what the RL phase should start from.
    """
    start = time.perf_counter()
    model = policy.model
    model.train()
    optimizer = adamw(model.parameters(), lr=lr, weight_decay=weight_decay)
    losses = []
    bar = _progress(steps, "SFT", progress)
    if batch_fn is None:
        def batch_fn(problems: list[Problem]) -> tuple:
            return (*sft_batch(policy, task, problems, target), None)
    for step in range(steps):
        prompt_ids, target_ids, loss_masks = batch_fn(stream.take(batch_size))
        loss = sft_loss(policy, prompt_ids, target_ids, loss_masks)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        if max_grad_norm > 0:
            torch.nn.utils.clip_grad_norm_(model.parameters(), max_grad_norm)
        optimizer.step()
        losses.append(float(loss.detach()))
        if bar is not None:
            bar.update(1)
            bar.set_postfix(loss=f"{losses[-1]:.3f}")
        if on_step is not None:
            on_step(step + 1, losses[-1])
        if stop_after_s is not None and time.perf_counter() - start >= stop_after_s:
            break
        if stop_when is not None and stop_when(step + 1):
            break
    if bar is not None:
        bar.close()
    model.eval()
    return losses


def _progress(total: int, description: str, enabled: bool) -> Any:
    if not enabled:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=description, dynamic_ncols=True, leave=False)
