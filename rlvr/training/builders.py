"""What a `TrainConfig` builds: the env and task, the policy, the loss, the held-out problems.

The trainer, `rlvr eval` and the benchmarks build their pieces here, so a config means the same
env, model and problems wherever it is used.
"""

from __future__ import annotations

from typing import Any

import torch

from rlvr.training.config import TrainConfig
from rlvr.training.losses import LOSSES, Loss
from rlvr.training.rollout import ProblemStream

EVAL_STREAM_OFFSET = 2_000_003
"""Held-out problems come from stream seed + this (and their sampling seed too)."""


def build_env(config: TrainConfig) -> Any:
    """The (unwrapped) env behind `config.env_id`, with the config's difficulty and prompt template.

    Unknown difficulty knobs fail here, naming close matches. Its `difficulty` is the env's own
    defaults (a step env may change the task's) with the config's knobs on top.
    """
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the ids)
    from rlvr.core.templates import PromptTemplate

    kwargs: dict[str, Any] = {}
    if config.prompt_template is not None:
        kwargs["template"] = PromptTemplate(instruction="", text=config.prompt_template)
    if config.difficulty:
        kwargs["difficulty"] = config.difficulty
    return gym.make(config.env_id, **kwargs).unwrapped


def build_task(config: TrainConfig) -> Any:
    """The task behind `config.env_id`, with the prompt template the config names."""
    env = build_env(config)
    env.close()
    return env.task


def build_policy(config: TrainConfig) -> Any:
    """The tiny model from scratch (`model: tiny`) or a local Hugging Face model, as a policy."""
    from rlvr.agents.hf import TransformersPolicy

    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    if config.model == "tiny":
        from rlvr.agents.tiny import TinyModelConfig, build_tiny_model

        shape = TinyModelConfig(config.tiny_hidden_size, config.tiny_num_layers, config.tiny_num_heads,
                                config.tiny_intermediate_size)
        model, tokenizer = build_tiny_model(seed=config.model_seed, shape=shape)
        return TransformersPolicy(model, tokenizer, device=config.device, dtype=config.dtype,
                                  max_new_tokens=config.max_new_tokens)
    learner = TransformersPolicy(config.model, device=config.device, dtype=config.dtype,
                                 max_new_tokens=config.max_new_tokens)
    if config.rollout_engine == "vllm":
        from rlvr.agents.vllm_policy import VLLMPolicy

        # vLLM samples (pi_old); the learner scores with gradients; weights sync before each sample
        return VLLMPolicy(config.model, learner=learner, dtype=config.dtype, max_new_tokens=config.max_new_tokens)
    return learner


def build_loss(config: TrainConfig) -> Loss:
    """The configured loss: 'ppo_clip' from the clip/aggregation/KL fields, others from `loss_settings`."""
    if config.loss == "ppo_clip":
        settings = {"eps_low": config.clip_eps_low, "eps_high": config.clip_eps_high,
                    "aggregation": config.loss_aggregation, "max_len": config.max_new_tokens * config.max_turns,
                    "kl_coef": config.kl_beta, **config.loss_settings}
    else:
        settings = dict(config.loss_settings)
    try:
        loss = LOSSES[config.loss](**settings)
    except TypeError as error:
        raise ValueError(f"config loss_settings {config.loss_settings!r} do not fit loss {config.loss!r}: {error}") from None
    if config.kl_beta > 0 and not getattr(loss, "needs_reference", False):
        raise ValueError(f"config kl_beta={config.kl_beta} but loss {config.loss!r} has no KL term; "
                         "use loss 'ppo_clip' (or give the loss its own KL setting in loss_settings)")
    return loss


def heldout_problems(task: Any, config: TrainConfig, difficulty: dict[str, Any] | None = None) -> list:
    """`eval_problems` distinct held-out problems ('heldout': any split but train)."""
    split = None if config.eval_split == "heldout" else config.eval_split
    difficulty = config.difficulty if difficulty is None else difficulty
    stream = ProblemStream(task, config.seed + EVAL_STREAM_OFFSET, difficulty, split)
    if split is not None:
        return stream.distinct(config.eval_problems)
    seen: dict[str, Any] = {}
    for _ in range(20 * config.eval_problems):
        if len(seen) >= config.eval_problems:
            break
        problem = stream.take(1)[0]
        if problem.split != "train":
            seen.setdefault(problem.problem_id, problem)
    return list(seen.values())
