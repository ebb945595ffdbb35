"""The checks of a training config: each field's domain, the choices, and the fields that depend on
each other (`TrainConfig.validate` runs them; `rlvr.training.config` holds the fields themselves).

Each check raises ValueError naming the field, what it must be and what it got, with close matches
for a mistyped choice. Plug-in names and settings are checked by building the plug-ins
(`rlvr.training.builders`), so a bad setting fails when the config loads, not mid-run.
"""

from __future__ import annotations

import string
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from rlvr.core.hints import did_you_mean

LOSS_AGGREGATIONS = ("seq_mean_token_mean", "token_mean", "seq_mean_token_sum_norm")
"""The aggregations `rlvr.training.losses.ppo_clip_loss` accepts (GRPO, DAPO, Dr. GRPO)."""
EVAL_SPLITS = ("eval", "test", "heldout")
SFT_TARGETS = ("solve", "answer")
DECODE_PATHS = ("dynamic", "static")
ROLLOUT_ENGINES = ("transformers", "vllm", "server")
PARALLEL_MODES = ("ddp", "fsdp")
ROLLOUT_BACKENDS = ("ray", "threads")
DTYPES = ("auto", "bfloat16", "float16", "float32")
MAX_SEED = 2**32 - 1
"""Largest seed: step seeds are seed * 1_000_033 + step, which must fit torch's 64-bit seeds."""


def _at_least(low: float) -> Callable[[Any], bool]:
    return lambda value: value >= low


_COUNT = (">= 1", _at_least(1))
_NON_NEGATIVE = (">= 0", _at_least(0))
_POSITIVE = ("> 0", lambda value: value > 0)
_SEED = (f"an int in [0, {MAX_SEED}]", lambda value: 0 <= value <= MAX_SEED)
_TEXT = ("non-empty text", lambda value: bool(value.strip()))
_STR_KEYS = ("a mapping with text keys", lambda value: all(isinstance(key, str) for key in value))
DOMAINS: dict[str, tuple[str, Callable[[Any], bool]]] = {
    "env_id": _TEXT, "model": _TEXT, "out_dir": _TEXT, "difficulty": _STR_KEYS, "task_options": _STR_KEYS, "loss_settings": _STR_KEYS,
    "eval_sweep": ("a mapping of knob names to non-empty lists of values",
                   lambda value: all(isinstance(k, str) and isinstance(v, list) and v for k, v in value.items())),
    "advantage_settings": _STR_KEYS, "sampler_settings": _STR_KEYS, "generator_settings": _STR_KEYS,
    "objective_settings": _STR_KEYS,
    "model_seed": _SEED, "seed": _SEED,
    **dict.fromkeys(("tiny_hidden_size", "tiny_num_layers", "tiny_num_heads", "tiny_intermediate_size",
                     "num_threads", "sft_batch_size", "prompts_per_step", "group_size", "updates_per_batch",
                     "max_new_tokens", "dynamic_sampling_max_draws", "max_turns", "eval_problems",
                     "eval_samples", "eval_batch_size", "sft_check_every", "sft_check_problems"), _COUNT),
    **dict.fromkeys(("sft_steps", "rl_steps", "weight_decay", "max_grad_norm", "clip_eps_low", "clip_eps_high",
                     "kl_beta", "overlong_buffer", "eval_every", "checkpoint_every", "rollout_workers"), _NON_NEGATIVE),
    **dict.fromkeys(("sft_lr", "lr", "temperature", "rollout_timeout_s"), _POSITIVE),
    "top_p": ("in (0, 1]", lambda value: 0 < value <= 1),
    "sft_until_accuracy": ("in (0, 1]", lambda value: 0 < value <= 1),
    "server_sync_every": _COUNT, "server_timeout_s": _POSITIVE,
}
"""Field -> (what it must be, test) for the fields with a range; floats are also checked finite and
every field's type is checked against its annotation (a bool is not an int)."""


def check_choice(name: str, value: Any, choices: Sequence[str]) -> None:
    if value not in choices:
        raise ValueError(f"config {name} must be one of {list(choices)}, got {value!r}" + did_you_mean(str(value), choices))


def check_server(config: Any) -> None:
    """The `server_*` fields: complete and consistent with rollout_engine 'server', unset otherwise."""
    from rlvr.agents.server_weights import WEIGHT_SYNCS

    given = [name for name in ("server_url", "server_model", "server_weights_dir") if getattr(config, name) is not None]
    if config.rollout_engine != "server":
        if given:
            raise ValueError(f"config {', '.join(given)} describe an inference server, but rollout_engine is "
                             f"{config.rollout_engine!r}: set rollout_engine to 'server' or remove them")
        return
    check_choice("server_weight_sync", config.server_weight_sync, WEIGHT_SYNCS)
    url = (config.server_url or "").strip()
    if not url.startswith(("http://", "https://")) or not url.partition("://")[2].strip("/"):
        raise ValueError(f"config rollout_engine 'server' needs server_url, an http(s) URL such as "
                         f"'http://localhost:8000/v1', got {config.server_url!r}")
    if not (config.server_model or "").strip():
        raise ValueError(f"config rollout_engine 'server' needs server_model, the name the server serves, "
                         f"got {config.server_model!r}")
    if config.server_weight_sync == "none":
        if not config.server_allow_stale:
            raise ValueError("config server_weight_sync 'none' leaves the server's weights fixed while the learner "
                             "trains (off-policy); set server_allow_stale: true to accept that")
    elif not (config.server_weights_dir or "").strip():
        raise ValueError(f"config server_weight_sync {config.server_weight_sync!r} writes the learner's weights into "
                         "server_weights_dir, the folder the server loads from: set it")
    elif config.model != "tiny" and Path(config.server_weights_dir).resolve() == Path(config.model).resolve():
        raise ValueError(f"config server_weights_dir is the model folder {config.model!r}, which each weight push "
                         "would overwrite: serve a copy of it and point server_weights_dir there")


def check_relations(config: Any) -> None:
    """The checks past each field's own domain: formats, choices, and fields that depend on each other."""
    if config.prompt_template is not None:
        try:
            list(string.Formatter().parse(config.prompt_template))
        except ValueError as error:  # e.g. a lone '{': the template would fail on the first prompt
            raise ValueError(f"config prompt_template must be a format string with balanced braces "
                             f"('{{{{' for a literal brace), got {config.prompt_template!r} ({error})") from None
    if config.device != "auto":
        import torch

        try:
            torch.device(config.device)
        except (RuntimeError, ValueError):
            raise ValueError(f"config device must be 'auto', 'cpu' or 'cuda[:n]', got {config.device!r}") from None
    if config.tiny_hidden_size % config.tiny_num_heads:
        raise ValueError(f"config tiny_hidden_size must be a multiple of tiny_num_heads={config.tiny_num_heads}, "
                         f"got {config.tiny_hidden_size}")
    check_choice("sft_target", config.sft_target, SFT_TARGETS)
    check_choice("decode", config.decode, DECODE_PATHS)
    check_choice("dtype", config.dtype, DTYPES)
    check_choice("rollout_engine", config.rollout_engine, ROLLOUT_ENGINES)
    check_choice("parallel", config.parallel, PARALLEL_MODES)
    check_choice("rollout_backend", config.rollout_backend, ROLLOUT_BACKENDS)
    if config.rollout_engine == "vllm" and config.model == "tiny":
        raise ValueError("config rollout_engine 'vllm' loads the model from a local path: set model to one")
    check_server(config)
    if config.loss_aggregation is not None:
        check_choice("loss_aggregation", config.loss_aggregation, LOSS_AGGREGATIONS)
    check_choice("eval_split", config.eval_split, EVAL_SPLITS)
    from rlvr.training.advantages import ADVANTAGES

    check_choice("advantage", config.advantage, tuple(ADVANTAGES))  # settings: build_advantage below
    from rlvr.training.samplers import SAMPLERS

    check_choice("sampler", config.sampler, tuple(SAMPLERS))  # settings: build_sampler below
    if not 0 <= config.overlong_buffer <= config.max_new_tokens:
        raise ValueError(f"config overlong_buffer must be in [0, max_new_tokens={config.max_new_tokens}], "
                         f"got {config.overlong_buffer!r}")
    if config.max_turns > 1 and (config.dynamic_sampling or config.overlong_buffer):
        raise ValueError("config dynamic_sampling and overlong_buffer work on single-turn rollouts (a length "
                         "budget per response); set max_turns=1 or turn them off")
    from rlvr.training.losses import LOSSES

    check_choice("loss", config.loss, tuple(LOSSES))
    bad_k = [k for k in config.eval_k if not 1 <= k <= config.eval_samples]
    if not config.eval_k or bad_k:
        raise ValueError(f"config eval_k must be a non-empty list of k in [1, eval_samples={config.eval_samples}], "
                         f"got {config.eval_k!r}")
    from rlvr.training.builders import (
        build_advantage,
        build_loss,
        build_reward_transforms,
        build_sampler,
        check_task_options,
    )

    check_task_options(config.env_id, config.task_options)
    build_advantage(config)  # an unknown or bad advantage setting fails now, not at the first RL step
    build_sampler(config)  # a bad sampler setting or curriculum knob fails now, not when RL starts
    build_reward_transforms(config)  # a bad transform or setting fails now, not at the first RL step
    build_loss(config)  # a loss setting that conflicts with the loss (or its preset) fails now, not after SFT
    from rlvr.training.builders import build_generator, build_objective

    build_generator(config)  # an unknown generator, a bad setting or one that does not fit max_turns fails now
    build_objective(config)  # so does an objective and what it cannot take
