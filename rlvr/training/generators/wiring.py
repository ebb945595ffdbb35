"""How a trainer takes its generator: built from the config once, bound to the trainer's policy,
task, env factory and rollout workers, with the generator's companions (HBPO's reward and
advantage) in place of the configured ones.

    trainer.generator = trainer_generator(trainer)
    trainer.advantage, trainer.reward_transforms = with_companions(trainer.generator, advantage, transforms)
"""

from __future__ import annotations

from typing import Any

from rlvr.training.generators.base import GenerationContext, GeneratorPlugin


def trainer_generator(trainer: Any) -> GeneratorPlugin:
    """The configured generator (`rlvr.training.builders.build_generator`) bound to `trainer`: its
    `policy`, `task`, `_make_env` (multi-turn), `_env_pool` and `_workers` (read at each generation,
    since the trainer starts them lazily)."""
    from rlvr.training.builders import build_generator

    config = trainer.config
    generator = build_generator(config)
    generator.bind(GenerationContext(
        trainer.policy, trainer.task, config.group_size, config.max_new_tokens, config.temperature, config.top_p,
        config.max_turns, make_env=trainer._make_env if config.max_turns > 1 else None, env_pool=trainer._env_pool,
        workers=lambda: trainer._workers))
    return generator


def with_companions(generator: GeneratorPlugin, advantage: Any, transforms: list[Any]) -> tuple[Any, list[Any]]:
    """(advantage, reward transforms): the generator's companions where it brings them, else the given
    ones. A companion transform is bound to the run like a configured one is (seed, budget)."""
    if not generator.brings_companions:
        return advantage, transforms
    companion, companion_transforms = generator.companions()
    context = generator._context()
    for transform in companion_transforms:
        transform.bind(0, context.max_new_tokens)
    return companion, companion_transforms
