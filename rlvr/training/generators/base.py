"""The generator plug-in protocol and its registry: how a step's groups of rollouts are produced.

A generator is a small dataclass whose init fields are its settings:

    @register
    @dataclass
    class Plain(GeneratorPlugin):
        name: ClassVar[str] = "plain"
        multi_turn: ClassVar[bool] = False

        def generate(self, problems, seed, step) -> tuple[RolloutBatch, float, float]: ...

- `name`: what a scenario writes after `generator:`; its settings go in `generator_settings`;
  without one the trainer takes `plain` for single responses and `episodes` for `max_turns > 1`,
  chosen once at construction;
- `multi_turn`: whether it plays multi-turn episodes (a config with `max_turns > 1` needs one that
  does, and the other way round);
- `bind(context)`: the trainer hands over what generation uses (`GenerationContext`: policy, task,
  the env factory, G, the sampling settings, rollout workers) once;
- `generate(problems, seed, step)`: G scored rollouts per problem as one `RolloutBatch` (rows
  grouped by problem), with the seconds spent sampling and scoring; `seed` is the step's sampling
  seed, `step` the RL steps already taken (for schedules);
- `shard(problems, dp)`: under a data-parallel launcher, this rank's share of the step's problems,
  which it then plays with `generate` (every rank calls both); `dp.shard`'s contiguous whole groups
  by default, `rollout_gdro` balances its ragged groups' rollouts;
- `evaluate(problems, **sampling)`: the held-out metrics, greedy and sampled; generators that only
  change how training rollouts are drawn evaluate as plain sampling (or episodes) does;
- `companions()`: an advantage plug-in and reward transforms that belong to the generator (HBPO's
  budget reward and advantage), used instead of the configured ones; none by default;
- `state_dict()` / `load_state_dict()`: plain values saved in the checkpoint; `metrics()`: numbers for
  the step's line (none by default, so the line stays as it was).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, ClassVar

from rlvr.training.plugins import Registry, Stateless, check_settings
from rlvr.training.plugins import setting as setting  # what generator modules declare settings with

if TYPE_CHECKING:
    from rlvr.core.problem import Problem
    from rlvr.training.rollout import RolloutBatch


@dataclass
class GenerationContext:
    """What a generator uses to produce rollouts; the trainer builds it once."""

    policy: Any
    """The `Policy` that samples (and, for tree rollouts, whose model is run directly)."""
    task: Any
    """The task whose verifier scores single responses."""
    group_size: int
    """G, rollouts per problem."""
    max_new_tokens: int
    """Longest completion (per turn for episodes)."""
    temperature: float = 1.0
    """Sampling temperature of training rollouts."""
    top_p: float = 1.0
    """Nucleus cut-off of training rollouts."""
    max_turns: int = 1
    """Turns per episode (episodes only)."""
    make_env: Callable[[], Any] | None = None
    """Builds a fresh copy of the training env (episodes only)."""
    env_pool: list[Any] = field(default_factory=list)
    """Envs reused across steps (episodes only)."""
    workers: Callable[[], Any] = lambda: None
    """Rollout workers of the run, or None (called at each generation: the trainer starts them lazily)."""

    def sampling(self, seed: int | None) -> dict[str, Any]:
        """The keyword arguments of `Policy.sample` for training rollouts."""
        return {"max_new_tokens": self.max_new_tokens, "temperature": self.temperature, "top_p": self.top_p,
                "seed": seed}


@dataclass
class GeneratorPlugin(Stateless):
    """Base of generator plug-ins (see the module doc): settings are the init fields."""

    kind: ClassVar[str] = "generator"
    name: ClassVar[str] = ""
    """Registry name, what `generator:` says."""
    source: ClassVar[str] = ""
    """The method and the provenance tag of the algorithms spec: [code], [paper] or [abs]."""
    summary: ClassVar[str] = ""
    """One line: what it does (`rlvr algorithms` prints it with `source`)."""
    multi_turn: ClassVar[bool] = False
    """Whether it plays multi-turn episodes (`max_turns > 1`)."""
    brings_companions: ClassVar[bool] = False
    """Whether `companions()` replaces the configured advantage and reward transforms."""
    ragged: ClassVar[bool] = False
    """Whether its groups may be ragged (`rlvr.training.ragged`): the advantage and reward transforms
    must take them, and no objective may train on them."""

    def __post_init__(self) -> None:
        check_settings("generator", self)
        self.context: GenerationContext | None = None

    def bind(self, context: GenerationContext) -> None:
        """Take what generation uses (the trainer calls it once); refuses a context it cannot serve."""
        if context.group_size < 1:
            raise ValueError(f"generator {self.name!r} needs group_size >= 1, got {context.group_size}")
        self.context = context

    def _context(self) -> GenerationContext:
        if self.context is None:
            raise RuntimeError(f"generator {self.name!r} has no context yet: call bind(GenerationContext(...)) first")
        return self.context

    def check(self, group_size: int, max_new_tokens: int, max_turns: int) -> None:
        """Refuse settings that do not fit the run (the turn count by default); called at config time."""
        if (max_turns > 1) != self.multi_turn:
            what = "multi-turn episodes" if self.multi_turn else "single responses"
            raise ValueError(f"generator {self.name!r} produces {what}; it does not fit max_turns={max_turns}"
                             f" (use {'episodes' if max_turns > 1 else 'plain'} or set max_turns)")

    def generate(self, problems: Sequence[Problem], seed: int, step: int) -> tuple[RolloutBatch, float, float]:
        """G scored rollouts per problem, with the seconds spent sampling and scoring."""
        raise NotImplementedError

    def shard(self, problems: Sequence[Problem], dp: Any) -> list[Problem]:
        """This rank's share of a step's `problems` under the ranks `dp` (`rlvr.training.distributed.
        DataParallel`; every rank calls it with the same problems, then `generate` on its share): whole
        groups, contiguous, as even as they divide."""
        return dp.shard(problems)

    def evaluate(self, problems: Sequence[Problem], **sampling: Any) -> dict[str, Any]:
        """Held-out metrics of the policy on `problems` (greedy, and pass@k over `num_samples`)."""
        context = self._context()
        if context.max_turns > 1:
            from rlvr.training.multiturn import evaluate_episodes

            return evaluate_episodes(context.policy, context.make_env, problems, max_turns=context.max_turns,
                                     **sampling)
        from rlvr.training.evaluate import evaluate

        return evaluate(context.policy, context.task, problems, **sampling)

    def write_samples(self, path: Any, problems: Sequence[Problem], max_new_tokens: int, batch_size: int) -> int:
        """The run report's samples of `problems` at `path` (greedy responses with the verifier's
        verdict, or multi-turn episodes turn by turn); the number written."""
        context = self._context()
        if context.max_turns > 1:
            from rlvr.training.multiturn import write_transcripts

            return write_transcripts(path, context.policy, context.make_env, problems, max_turns=context.max_turns,
                                     max_new_tokens=max_new_tokens, batch_size=batch_size)
        from rlvr.training.evaluate import write_samples

        return write_samples(path, context.policy, context.task, problems, max_new_tokens=max_new_tokens,
                             batch_size=batch_size)

    def companions(self) -> tuple[Any, list[Any]]:
        """(advantage plug-in or None, reward transforms) that come with the generator."""
        return None, []

    def metrics(self) -> dict[str, float]:
        """Numbers for the step's metrics line (none by default, so the line stays as it was)."""
        return {}


def sample_and_score(context: GenerationContext, prompts: Sequence[Any], problems: Sequence[Problem],
                     num_samples: int, seed: int) -> tuple[RolloutBatch, float, float]:
    """`num_samples` completions of each prompt (rows in prompt order), scored by the task or the
    rollout workers as G = `context.group_size` rollouts of each of `problems` (so several prompts
    may feed one group: HBPO's budget subgroups); the seconds spent sampling and scoring."""
    from rlvr.training.rollout import score_rollouts

    start = time.perf_counter()
    sample = context.policy.sample(list(prompts), num_samples=num_samples, **context.sampling(seed))
    sampled = time.perf_counter()
    batch = score_rollouts(context.task, problems, sample, context.group_size, context.workers())
    return batch, sampled - start, time.perf_counter() - sampled


def check_ragged_config(config: Any, plugin: Any, advantage: Any, transforms: Sequence[Any]) -> None:
    """Refuse, before any work, what cannot take the ragged groups of the generator `plugin`: an
    advantage plug-in or reward transform that reads full groups only, one that needs more rollouts
    than the generator's `minimum` per problem, an objective (it trains on rows, padding included)."""
    from rlvr.training.advantages import ragged_names
    from rlvr.training.reward_transforms import REWARD_TRANSFORMS

    generator, minimum = plugin.name, getattr(plugin, "minimum", 1)
    if advantage.min_group_size > minimum:
        raise ValueError(f"config advantage {config.advantage!r} needs {advantage.min_group_size} rollouts per problem; "
                         f"generator {generator!r} may give {minimum}: set generator_settings minimum >= "
                         f"{advantage.min_group_size}")

    if not getattr(advantage, "ragged", False):
        raise ValueError(f"config generator {generator!r} makes ragged groups (problems get different numbers of "
                         f"rollouts); advantage {config.advantage!r} takes full groups only: use one of "
                         f"{ragged_names()}")
    refused = [transform.name for transform in transforms if not transform.ragged]
    if refused:
        takers = [name for name, cls in REWARD_TRANSFORMS.items() if cls.ragged]
        raise ValueError(f"config generator {generator!r} makes ragged groups; reward transform(s) {refused} take "
                         f"full groups only: use some of {takers}")
    if getattr(config, "objective", None) is not None:
        raise ValueError(f"config generator {generator!r} makes ragged groups, which objective {config.objective!r} "
                         "does not take: leave objective unset")


GENERATORS = Registry("generator")
"""Name -> generator class: the one registry the trainer uses."""

register = GENERATORS.register
"""Class decorator: add a generator to `GENERATORS` under its `name` (once)."""


def default_generator(max_turns: int) -> str:
    """The generator a config without one gets: `episodes` for `max_turns > 1`, else `plain`."""
    return "episodes" if max_turns > 1 else "plain"


def make_generator(name: str | None, settings: Mapping[str, Any] | None = None, max_turns: int = 1) -> GeneratorPlugin:
    """Build a registered generator with `settings` (not yet bound), refusing unknown names and
    settings with close matches and bad values with what was expected; None: the default for
    `max_turns`.

    >>> make_generator(None, max_turns=3).name
    'episodes'
    >>> make_generator("hbpo", {"budget": [8]})  # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    ValueError: generator 'hbpo' takes settings ['budgets', ...], got 'budget' (did you mean: budgets, beta?)
    """
    return GENERATORS.build(default_generator(max_turns) if name is None else name, settings)
