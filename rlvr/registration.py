"""The one table of rlvr env ids: per id its lazy entry point, kind, keyword arguments and limits.

Single-agent ids go into Gymnasium's registry (`gym.make("rlvr/MathTree-v0")` after
`import rlvr`, or `gym.make("rlvr:rlvr/MathTree-v0")` with no import). Multi-agent envs follow
PettingZoo and live in a small registry of their own, reached with `rlvr.make_multi`, because
Gymnasium's registry and `check_env` are for single-agent envs; the multi-agent ids are entered in
Gymnasium's registry only as pointers, so `gym.make("rlvr/Debate-v0")` fails with an error that
names `rlvr.make_multi`. Entry points are strings, so registering imports none of the env modules.

What an id is for (its doc card, `rlvr.core.cards.EnvCard`) sits beside its code, as the `card`
attribute of what the entry point names: the env class, or the versioned module of a
multi-agent id. `entry(env_id).card` imports that module only when a card is asked for.

`resolve(env_id, **kwargs)` is the one id -> problems resolver: it builds the id's env (registry
keyword arguments, then `kwargs`) and returns its task, difficulty and split as a
`rlvr.core.stream.TaskSource`, so the trainer, `rlvr export`, TRL datasets and the debate env draw
exactly the problems `gym.make(env_id, **kwargs)` serves.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import gymnasium as gym

from rlvr.core.cards import EnvCard
from rlvr.core.hints import did_you_mean
from rlvr.core.stream import TaskSource
from rlvr.core.task import Task


@dataclass(frozen=True)
class EnvEntry:
    id: str
    entry_point: str
    """'module:Class' of a single-agent env; the versioned module of a multi-agent one."""
    kind: str = "gymnasium"
    """'gymnasium' (single agent) or 'pettingzoo' (multi-agent, see `make_multi`)."""
    max_episode_steps: int | None = None
    vector_entry_point: str | None = None
    modes: tuple[str, ...] = ("parallel", "aec")
    """PettingZoo APIs a multi-agent env offers (turn-based games have no parallel form)."""
    kwargs: dict[str, Any] = field(default_factory=dict)
    card_attr: str = "card"
    """The attribute of the entry point that holds this id's card: another name than `card` where
    one class serves several ids with different cards (KGPathLong-v0 is KGPathEnv with 4-5 hops)."""

    @property
    def card(self) -> EnvCard:
        """The id's doc card, read from the entry point (importing its module)."""
        owner = load(self.entry_point)
        card = getattr(owner, self.card_attr, None)
        if not isinstance(card, EnvCard):
            raise TypeError(f"{self.id}: expected an EnvCard at {self.entry_point} attribute "
                            f"{self.card_attr!r}, got {card!r}")
        return card


def load(entry_point: str) -> Any:
    """Import 'package.module:Name' and return the object, or the module itself when no ':Name'
    is given (PettingZoo envs are versioned modules with `env()` and `parallel_env()`)."""
    module_name, _, attr = entry_point.partition(":")
    module = importlib.import_module(module_name)
    return getattr(module, attr) if attr else module


ENTRIES: tuple[EnvEntry, ...] = (
    EnvEntry("rlvr/MathTree-v0", "rlvr.envs.mathtree.env:MathTreeEnv",
             vector_entry_point="rlvr.envs.mathtree.vector:MathTreeVectorEnv"),
    EnvEntry("rlvr/MathTreeStep-v0", "rlvr.envs.mathtree.step_env:MathTreeStepEnv"),
    EnvEntry("rlvr/RandomCalc-v0", "rlvr.envs.random_calc:RandomCalcEnv"),
    EnvEntry("rlvr/MultiSelectCalc-v0", "rlvr.envs.multi_select_calc:MultiSelectCalcEnv"),
    EnvEntry("rlvr/Math-v0", "rlvr.envs.math_text.env:MathEnv"),
    EnvEntry("rlvr/TwentyQuestions-v0", "rlvr.envs.elicitation.env:TwentyQuestionsEnv"),
    EnvEntry("rlvr/OpinionPoll-v0", "rlvr.envs.elicitation.env:OpinionPollEnv"),
    EnvEntry("rlvr/StudentAssess-v0", "rlvr.envs.elicitation.env:StudentAssessEnv"),
    EnvEntry("rlvr/Countdown-v0", "rlvr.envs.countdown.env:CountdownEnv"),
    EnvEntry("rlvr/Game24-v0", "rlvr.envs.game24.env:Game24Env"),
    EnvEntry("rlvr/Game24Step-v0", "rlvr.envs.game24.step_env:Game24StepEnv"),
    EnvEntry("rlvr/BlocksWorld-v0", "rlvr.envs.blocksworld.env:BlocksWorldEnv"),
    EnvEntry("rlvr/BlocksWorldStep-v0", "rlvr.envs.blocksworld.step_env:BlocksWorldStepEnv", max_episode_steps=100),
    EnvEntry("rlvr/ProntoQA-v0", "rlvr.envs.prontoqa.env:ProntoQAEnv"),
    EnvEntry("rlvr/KGPath-v0", "rlvr.envs.kg.env:KGPathEnv"),
    EnvEntry("rlvr/KGPathLong-v0", "rlvr.envs.kg.env:KGPathEnv", kwargs={"hops": (4, 5)}, card_attr="long_card"),
    EnvEntry("rlvr/Pluralistic-v0", "rlvr.envs.preference.pluralistic:PluralisticEnv"),
    EnvEntry("rlvr/GTAlign-v0", "rlvr.envs.preference.gtalign:GTAlignEnv"),
    EnvEntry("rlvr/MicroEcon-v0", "rlvr.envs.microecon:MicroEconEnv"),
    EnvEntry("rlvr/AbstainQA-v0", "rlvr.envs.preference.abstain:AbstainQAEnv"),
    EnvEntry("rlvr/Sudoku-v0", "rlvr.envs.puzzles.grid.sudoku:SudokuEnv"),
    EnvEntry("rlvr/Futoshiki-v0", "rlvr.envs.puzzles.grid.futoshiki:FutoshikiEnv"),
    EnvEntry("rlvr/Skyscraper-v0", "rlvr.envs.puzzles.grid.skyscraper:SkyscraperEnv"),
    EnvEntry("rlvr/Kukurasu-v0", "rlvr.envs.puzzles.grid.kukurasu:KukurasuEnv"),
    EnvEntry("rlvr/Calcudoko-v0", "rlvr.envs.puzzles.grid.calcudoko:CalcudokoEnv"),
    EnvEntry("rlvr/StarPlacement-v0", "rlvr.envs.puzzles.grid.star_placement:StarPlacementEnv"),
    EnvEntry("rlvr/WebOfLies-v0", "rlvr.envs.puzzles.logic.web_of_lies:WebOfLiesEnv"),
    EnvEntry("rlvr/Cryptarithm-v0", "rlvr.envs.puzzles.logic.cryptarithm:CryptarithmEnv"),
    EnvEntry("rlvr/Dyck-v0", "rlvr.envs.puzzles.logic.dyck:DyckEnv"),
    EnvEntry("rlvr/BooleanExpr-v0", "rlvr.envs.puzzles.logic.boolean_expr:BooleanExprEnv"),
    EnvEntry("rlvr/SearchQA-v0", "rlvr.envs.search.env:SearchQAEnv"),
    EnvEntry("rlvr/Debate-v0", "rlvr.envs.debate_v0", kind="pettingzoo"),
    EnvEntry("rlvr/TwentyQuestions2P-v0", "rlvr.envs.twenty_questions_v0", kind="pettingzoo", modes=("aec",)),
)

MULTI_AGENT: dict[str, EnvEntry] = {e.id: e for e in ENTRIES if e.kind == "pettingzoo"}


class MultiAgentIdError(gym.error.Error, ValueError):
    """`gym.make` (or a single-agent helper such as `resolve`) was given a multi-agent id."""


def multi_agent_message(env_id: str) -> str:
    modes = MULTI_AGENT[env_id].modes
    return (f"{env_id} is a multi-agent (PettingZoo) env, not a single-agent Gymnasium one: build it with "
            f"rlvr.make_multi({env_id!r}, mode={modes[0]!r}) (modes: {', '.join(modes)})")


def multi_agent_only(multi_agent_id: str, **kwargs: Any) -> Any:
    """Gymnasium entry point of a multi-agent id: refuses, naming `rlvr.make_multi`."""
    raise MultiAgentIdError(multi_agent_message(multi_agent_id))


def register_all() -> None:
    """Register every single-agent id with Gymnasium, and each multi-agent id as a pointer to
    `rlvr.make_multi` (idempotent)."""
    for entry in ENTRIES:
        if entry.id in gym.registry:
            continue
        if entry.kind != "gymnasium":
            gym.register(id=entry.id, entry_point="rlvr.registration:multi_agent_only",
                         kwargs={"multi_agent_id": entry.id}, disable_env_checker=True)
            continue
        gym.register(
            id=entry.id,
            entry_point=entry.entry_point,
            vector_entry_point=entry.vector_entry_point,
            max_episode_steps=entry.max_episode_steps,
            kwargs=dict(entry.kwargs),
        )


def entry(env_id: str) -> EnvEntry:
    """The table entry of an id ('rlvr:rlvr/X' as for gym.make works too); an unknown id is an
    error naming close matches."""
    if isinstance(env_id, str) and ":" in env_id:
        env_id = env_id.partition(":")[2]
    for item in ENTRIES:
        if item.id == env_id:
            return item
    raise KeyError(f"unknown rlvr env id {env_id!r}" + did_you_mean(str(env_id), [e.id for e in ENTRIES]))


def make_env(env_id: str, **kwargs: Any) -> gym.Env:
    """The raw env of a single-agent id: its entry point called with the registry's keyword
    arguments and `kwargs` on top, as `gym.make(env_id, **kwargs).unwrapped` is (no wrappers)."""
    item = entry(env_id)
    if item.kind != "gymnasium":
        raise MultiAgentIdError(multi_agent_message(item.id))
    return load(item.entry_point)(**{**item.kwargs, **kwargs})


def resolve(env_id: str, **kwargs: Any) -> TaskSource:
    """The task, difficulty and split that `gym.make(env_id, **kwargs)` plays (see the module doc).

    `kwargs` are the env's constructor keywords (difficulty knobs, `difficulty=`, `split=`,
    `template=`, task options); unknown ones are errors naming close matches.
    """
    env = make_env(env_id, **kwargs)
    try:
        task = getattr(env, "task", None)
        if not isinstance(task, Task):
            raise ValueError(f"{env_id} has no rlvr Task behind it, so it has no problem stream")
        return TaskSource(task, dict(env.difficulty), env.split, entry(env_id).id)
    finally:
        env.close()


def make_multi(env_id: str, mode: str = "parallel", **kwargs: Any) -> Any:
    """Build a multi-agent (PettingZoo) env: mode 'parallel' or 'aec'."""
    if env_id not in MULTI_AGENT:
        raise KeyError(
            f"unknown multi-agent env id {env_id!r}; registered: {sorted(MULTI_AGENT)}"
            + did_you_mean(env_id, MULTI_AGENT)
        )
    modes = MULTI_AGENT[env_id].modes
    if mode not in modes:
        raise ValueError(f"{env_id} offers mode {' or '.join(repr(m) for m in modes)}, got {mode!r}")
    module = load(MULTI_AGENT[env_id].entry_point)
    factory: Callable[..., Any] = module.parallel_env if mode == "parallel" else module.env
    return factory(**kwargs)


def ids(kind: str | None = None) -> list[str]:
    """Every registered id, optionally of one kind ('gymnasium' or 'pettingzoo')."""
    return [e.id for e in ENTRIES if kind is None or e.kind == kind]
