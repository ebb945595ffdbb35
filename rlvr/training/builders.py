"""What a `TrainConfig` builds: the env and task, the policy, the advantage, sampler and reward
transform plug-ins, the loss, the held-out problems.

The trainer, `rlvr eval` and the benchmarks build their pieces here, so a config means the same
env, model and problems wherever it is used.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import torch

from rlvr.training.advantages import AdvantagePlugin, make_advantage, turn_level_names
from rlvr.training.losses import LOSSES, PPO_PRESETS, Loss, ppo_preset
from rlvr.training.reward_transforms import RewardTransformPlugin, make_reward_transforms
from rlvr.training.rollout import ProblemStream
from rlvr.training.samplers import SamplerPlugin, make_sampler

if TYPE_CHECKING:  # a type only: config validates through these builders, so importing it would loop
    from rlvr.training.config import TrainConfig

EVAL_STREAM_OFFSET = 2_000_003
"""Held-out problems come from stream seed + this (and their sampling seed too)."""


def build_env(config: TrainConfig) -> Any:
    """The (unwrapped) env behind `config.env_id`, with the config's difficulty and prompt template.

    Unknown difficulty knobs fail here, naming close matches. Its `difficulty` is the env's own
    defaults (a step env may change the task's) with the config's knobs on top.
    """
    from rlvr.registration import make_env

    return make_env(config.env_id, **_env_kwargs(config))


def _env_kwargs(config: TrainConfig) -> dict[str, Any]:
    from rlvr.core.templates import PromptTemplate

    kwargs: dict[str, Any] = {}
    if config.prompt_template is not None:
        kwargs["template"] = PromptTemplate(instruction="", text=config.prompt_template)
    if config.difficulty:
        kwargs["difficulty"] = config.difficulty
    return {**kwargs, **config.task_options}


def check_task_options(env_id: str, options: dict[str, Any]) -> None:
    """Refuse (ValueError) a task option the env behind `env_id` does not take, naming the ones it
    does and close matches; the values themselves are checked by the task when it is built."""
    if not options:
        return
    from rlvr.core.hints import did_you_mean
    from rlvr.registration import entry, load

    try:
        env_class = load(entry(env_id).entry_point)
    except KeyError as error:
        raise ValueError(f"config env_id: {error.args[0]}") from None
    allowed = tuple(getattr(env_class, "task_options", ()))
    for name in options:
        if name not in allowed:
            takes = f"takes {list(allowed)}" if allowed else "takes no task options"
            raise ValueError(f"config task_options: {env_id} {takes}, got {name!r}" + did_you_mean(name, allowed))


def build_task(config: TrainConfig) -> Any:
    """The task behind `config.env_id` (`rlvr.registration.resolve`: the one id resolver), with the
    prompt template the config names."""
    from rlvr.registration import resolve

    return resolve(config.env_id, **_env_kwargs(config)).task


def build_policy(config: TrainConfig) -> Any:
    """The tiny model from scratch (`model: tiny`) or a local Hugging Face model, as a policy (with
    `rollout_engine: server`, the learner of a `ServerPolicy` that samples on the inference server)."""
    from rlvr.agents.hf import TransformersPolicy

    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    if config.rollout_engine == "server":  # the learner is the policy this function builds otherwise
        return _server_policy(config, build_policy(dataclasses.replace(config, rollout_engine="transformers")))
    if config.model == "tiny":
        from rlvr.agents.tiny import TinyModelConfig, build_tiny_model

        shape = TinyModelConfig(config.tiny_hidden_size, config.tiny_num_layers, config.tiny_num_heads,
                                config.tiny_intermediate_size)
        model, tokenizer = build_tiny_model(seed=config.model_seed, shape=shape)
        return TransformersPolicy(model, tokenizer, device=config.device, dtype=config.dtype,
                                  max_new_tokens=config.max_new_tokens, decode=config.decode)
    learner = TransformersPolicy(config.model, device=config.device, dtype=config.dtype,
                                 max_new_tokens=config.max_new_tokens, decode=config.decode)
    if config.rollout_engine == "vllm":
        from rlvr.agents.vllm_policy import VLLMPolicy

        # vLLM samples (pi_old); the learner scores with gradients; weights sync before each sample
        return VLLMPolicy(config.model, learner=learner, dtype=config.dtype, max_new_tokens=config.max_new_tokens)
    return learner


def _server_policy(config: TrainConfig, learner: Any) -> Any:
    """Rollouts from the configured inference server, scored and trained on `learner`; the first weight
    push happens here (a server that cannot reload is refused unless `server_allow_stale`)."""
    from rlvr.agents.server_policy import ServerPolicy

    return ServerPolicy(config.server_url, config.server_model, learner, weight_sync=config.server_weight_sync,
                        weights_dir=config.server_weights_dir, sync_every=config.server_sync_every,
                        auto_sync=config.server_sync_every == 1, allow_stale=config.server_allow_stale,
                        max_new_tokens=config.max_new_tokens, timeout_s=config.server_timeout_s)


def build_loss(config: TrainConfig) -> Loss:
    """The configured loss. The PPO-clip family (`ppo_clip` and its presets) through `ppo_preset`,
    honouring `clip_eps_*`, `loss_aggregation`, `kl_beta` and L_max = max_new_tokens * max_turns;
    any other loss from `loss_settings` alone, refusing those PPO fields rather than ignoring them."""
    settings = dict(config.loss_settings)
    fields = {"eps_low": ("clip_eps_low", config.clip_eps_low), "eps_high": ("clip_eps_high", config.clip_eps_high),
              "aggregation": ("loss_aggregation", config.loss_aggregation),
              "kl_coef": ("kl_beta", config.kl_beta or None)}  # kl_beta 0 is the unset default
    given = {key: (name, value) for key, (name, value) in fields.items() if value is not None}
    if config.loss not in PPO_PRESETS:
        if given:
            names = ", ".join(f"{name}={value!r}" for name, value in given.values())
            raise ValueError(f"config {names} set PPO-clip losses, but loss {config.loss!r} takes its settings "
                             f"from loss_settings only; remove them (or use a PPO-clip loss: {', '.join(PPO_PRESETS)})")
        try:
            return LOSSES[config.loss](**settings)
        except TypeError as error:
            raise ValueError(f"config loss_settings {config.loss_settings!r} do not fit loss {config.loss!r}: "
                             f"{error}") from None
    for key, (name, value) in given.items():
        if key in settings and settings[key] != value:
            raise ValueError(f"config {name}={value!r} and loss_settings {key}={settings[key]!r} disagree; "
                             "give the setting once")
        settings[key] = value
    settings.setdefault("max_len", config.max_new_tokens * config.max_turns)  # Dr. GRPO's L_max
    try:
        return ppo_preset(config.loss, **settings)
    except ValueError as error:
        raise ValueError(f"config {error}") from None  # "config loss 'dapo' uses ..."


def build_advantage(config: TrainConfig) -> AdvantagePlugin:
    """The configured advantage plug-in (`advantage`, `advantage_settings`), refusing before any work
    an unknown name or setting (close matches), a bad value, a plug-in that cannot take multi-turn
    episodes when `max_turns > 1`, and a group smaller than the plug-in is defined for."""
    try:
        plugin = make_advantage(config.advantage, config.advantage_settings)
    except ValueError as error:
        raise ValueError(f"config {error}") from None  # "config advantage 'ucas' takes settings ..."
    if config.max_turns > 1 and not plugin.turn_level:
        raise ValueError(f"config advantage {config.advantage!r} works on single responses; with max_turns > 1 "
                         f"use one of {turn_level_names()}")
    if config.group_size < plugin.min_group_size:
        raise ValueError(f"config advantage {config.advantage!r} needs group_size >= {plugin.min_group_size}, "
                         f"got {config.group_size}")
    return plugin


def build_sampler(config: TrainConfig, stream: ProblemStream | None = None) -> SamplerPlugin:
    """The configured sampler (`sampler`, `sampler_settings`), refusing before any work an unknown
    name or setting (close matches), a bad value, and knobs the task lacks (checked against the env
    class's task when it declares one); bound to `stream` (the train stream) when given."""
    try:
        sampler = make_sampler(config.sampler, config.sampler_settings)
        if stream is None:
            knobs = _task_knobs(config.env_id)
            if knobs is not None:
                sampler.check_knobs(knobs)
        else:
            sampler.bind(stream, config.prompts_per_step, config.seed)
    except ValueError as error:
        raise ValueError(f"config {error}") from None  # "config sampler 'variance' takes settings ..."
    return sampler


def build_reward_transforms(config: TrainConfig, bind: bool = False) -> list[RewardTransformPlugin]:
    """The configured reward transforms in order (`reward_transforms`, then `overlong_buffer`'s
    shorthand), refusing before any work an unknown name or setting (close matches), a bad value,
    the overlong penalty given twice, and any transform with `max_turns > 1` (each takes single
    responses); bound to the run's seed and budget when `bind`."""
    items = list(config.reward_transforms)
    if config.overlong_buffer:
        if any(isinstance(item, dict) and item.get("name") == "overlong" for item in items):
            raise ValueError("config overlong_buffer and reward_transforms' 'overlong' both set DAPO's overlong "
                             "penalty; give it once (reward_transforms: [{name: overlong, buffer: N}])")
        items.append({"name": "overlong", "buffer": config.overlong_buffer})  # last: as the loop always did
    try:
        transforms = make_reward_transforms(items)
        for transform in transforms:
            transform.check(config.max_new_tokens)
    except ValueError as error:
        raise ValueError(f"config {error}") from None  # "config reward transform 'corrupt' setting mode ..."
    single = [transform.name for transform in transforms if not transform.turn_level]
    if config.max_turns > 1 and single:
        raise ValueError(f"config reward transform(s) {single} work on single responses; with max_turns > 1 "
                         "remove them from reward_transforms")
    if bind:
        for transform in transforms:
            transform.bind(config.seed, config.max_new_tokens)
    return transforms


def build_generator(config: TrainConfig) -> Any:
    """The configured generator (`generator`, `generator_settings`; none: `plain`, or `episodes` for
    `max_turns > 1`), not yet bound, refusing before any work an unknown name or setting (close
    matches), a bad value, one that does not fit `max_turns` or `group_size`, and an advantage or reward
    transforms given beside a generator that brings its own (HBPO's)."""
    from rlvr.training.generators import make_generator

    try:
        generator = make_generator(config.generator, config.generator_settings, config.max_turns)
        generator.check(config.group_size, config.max_new_tokens, config.max_turns)
    except ValueError as error:
        raise ValueError(f"config {error}") from None  # "config generator 'hbpo' takes settings ..."
    if generator.brings_companions and (config.advantage != "grpo" or config.reward_transforms
                                        or config.overlong_buffer):
        raise ValueError(f"config generator {generator.name!r} brings its own reward and advantage; leave advantage "
                         f"at 'grpo' (got {config.advantage!r}) and reward_transforms and overlong_buffer unset")
    if generator.ragged:
        from rlvr.training.generators.base import check_ragged_config

        check_ragged_config(config, generator, build_advantage(config), build_reward_transforms(config))
    return generator


def build_objective(config: TrainConfig) -> Any:
    """The configured objective (`objective`, `objective_settings`), or None for the policy-gradient
    step, refusing before any work an unknown name or setting (close matches), a bad value, and the
    policy-gradient settings it would ignore (a non-default advantage or loss, kl_beta)."""
    if config.objective is None:
        return None
    from rlvr.training.objectives import make_objective

    try:
        objective = make_objective(config.objective, config.objective_settings)
    except ValueError as error:
        raise ValueError(f"config {error}") from None
    ignored = [f"{name}={value!r}" for name, value, default in (
        ("advantage", config.advantage, "grpo"), ("loss", config.loss, "ppo_clip"), ("kl_beta", config.kl_beta, 0.0),
        ("loss_settings", config.loss_settings, {}), ("advantage_settings", config.advantage_settings, {}))
        if value != default]
    if build_generator(config).brings_companions:
        ignored.append(f"generator={config.generator!r} (its reward and advantage)")
    if ignored:
        raise ValueError(f"config objective {config.objective!r} trains in place of the advantage and the loss, so "
                         f"{', '.join(ignored)} would be ignored; remove them")
    return objective


def _task_knobs(env_id: str) -> tuple | None:
    """The difficulty knobs of the task class the env behind `env_id` declares, or None (an unknown
    id is reported where the env is built)."""
    from rlvr.core.task import Task
    from rlvr.registration import entry, load

    try:
        task_class = getattr(load(entry(env_id).entry_point), "task_class", None)
    except KeyError:
        return None
    return tuple(task_class.knobs) if isinstance(task_class, type) and issubclass(task_class, Task) else None


def eval_levels(task: Any, config: TrainConfig, difficulty: dict[str, Any]) -> list[dict[str, Any]]:
    """The difficulties a run evaluates at: `difficulty`, or each level of `eval_sweep` over it, every
    one checked against the task's knobs now (an unknown knob or a bad value is an error before work)."""
    from rlvr.training.eval_breakdown import sweep_difficulties

    levels = sweep_difficulties(difficulty, config.eval_sweep) if config.eval_sweep else [difficulty]
    for level in levels:
        try:
            task.difficulty(level)
        except (KeyError, ValueError) as error:
            message = error.args[0] if error.args else str(error)
            raise ValueError(f"config eval_sweep: {message}") from None
    return levels


def evaluation_problems(task: Any, config: TrainConfig, levels: list[dict[str, Any]]) -> list:
    """`eval_problems` held-out problems at each level, level after level."""
    return [problem for level in levels for problem in heldout_problems(task, config, level)]


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
