"""SkyRL-Gym text envs for every rlvr id, so SkyRL's trainer (vLLM rollouts, FSDP) trains on them.

    from rlvr.integrations.skyrl import register_skyrl_env, skyrl_dataset

    register_skyrl_env()                                  # skyrl_gym id "rlvr" (pip install 'rlvr[skyrl]')
    rows = skyrl_dataset("rlvr/Countdown-v0", 1000, seed=0, number_count=4)
    # write rows to parquet; SkyRL's generator then calls, per row,
    # skyrl_gym.make("rlvr", env_config=..., extras=row without prompt and env_class)

`RlvrTextEnv` subclasses skyrl-gym's `BaseTextEnv` (imported when the class is first asked for,
so this module imports without skyrl-gym). SkyRL builds one env per trajectory with
`(env_config, extras)`: the row's `extra_info` names the id (`env_id`), the problem (`problem`,
rlvr's problem JSON) and optional `env_kwargs` (a dict or its JSON text); `env_config` (SkyRL's
per-env-class config) may give `env_id` and `env_kwargs` defaults instead; `extras["max_turns"]`
is the trainer's turn cap. A row without a problem plays problem `index` of stream `seed` (both
from `extra_info`; the next problem of a fresh stream without them).

- `init(prompt)` starts the episode and returns the prompt unchanged when the row has one (the
  trainer may have added a system message) and the env's first messages otherwise;
- `step(action)` returns `observations` (what a multi-turn env said back, as one user message;
  none once done), `reward` (this turn's), `done` and `metadata` (the turn's info as plain JSON:
  score components, `correct`, `error` with the reason for a zero). Nothing the model writes
  raises: see `rlvr.integrations.text_session`;
- `get_metrics()` gives `turns`, `reward` (episode total) and `correct`, which SkyRL averages.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import lru_cache
from typing import Any

from rlvr.core.problem import problem_from_json
from rlvr.export import DEFAULT_SPLIT, problem_row, task_source
from rlvr.integrations.text_session import TextSession

SKYRL_HINT = "pip install 'rlvr[skyrl]'"
DEFAULT_NAME = "rlvr"
"""The skyrl_gym id `register_skyrl_env` uses unless told otherwise (a row's `env_class`)."""


def _base_text_env() -> type:
    try:
        from skyrl_gym.envs.base_text_env import BaseTextEnv
    except ImportError as error:
        raise ImportError(f"RlvrTextEnv needs skyrl-gym: {SKYRL_HINT}") from error
    return BaseTextEnv


def _mapping(value: Any, what: str) -> dict[str, Any]:
    """A dict from a dict-like (SkyRL passes OmegaConf configs), JSON text, or None."""
    if value is None:
        return {}
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            raise ValueError(f"{what} must be a dict or its JSON text, got {str(value)[:80]!r}") from None
    if hasattr(value, "items"):
        return {str(k): v for k, v in value.items()}
    raise ValueError(f"{what} must be a dict or its JSON text, got {type(value).__name__}")


class SkyRLEnvCore:
    """The behaviour of `RlvrTextEnv`, without skyrl-gym (see the module doc)."""

    def __init__(self, env_config: Any = None, extras: Mapping[str, Any] | None = None) -> None:
        super().__init__()
        config, extras = _mapping(env_config, "env_config"), _mapping(extras, "extras")
        extra_info = _mapping(extras.get("extra_info"), "extras['extra_info']")
        env_id = extra_info.get("env_id") or config.get("env_id")
        if not isinstance(env_id, str):
            raise ValueError("RlvrTextEnv needs an rlvr id: extras['extra_info']['env_id'] (as skyrl_dataset "
                             f"writes it) or env_config['env_id'], got {env_id!r}")
        env_kwargs = {**_mapping(config.get("env_kwargs"), "env_config['env_kwargs']"),
                      **_mapping(extra_info.get("env_kwargs"), "extra_info['env_kwargs']")}
        problem = extra_info.get("problem", extras.get("problem"))
        self._problem = problem_from_json(problem) if isinstance(problem, str) else None
        self._seed, self._index = extra_info.get("seed"), extra_info.get("index")
        max_turns = extras.get("max_turns", config.get("max_turns"))
        max_turns = None if max_turns is None else int(max_turns)
        self.session = TextSession(env_id, env_kwargs, max_turns=max_turns)
        self.turns, self.max_turns = 0, self.session.max_turns or 1

    def init(self, prompt: Any = None) -> tuple[list[dict[str, str]], dict[str, Any]]:
        messages, info = self.session.start(problem=self._problem, seed=self._seed, index=self._index)
        self.turns = 0
        return (list(prompt) if prompt else messages), info

    def step(self, action: Any) -> dict[str, Any]:
        turn = self.session.act(action)
        self.turns = self.session.turns
        observations = [] if turn.done or turn.reply is None else [{"role": "user", "content": turn.reply}]
        return {"observations": observations, "reward": turn.reward, "done": turn.done, "metadata": turn.info,
                "postprocessed_action": None}

    def get_metrics(self) -> dict[str, Any]:
        return {"turns": self.session.turns, "reward": self.session.total_reward,
                "correct": float(self.session.correct)}

    def close(self) -> None:
        self.session.close()


@lru_cache(maxsize=1)
def env_class() -> type:
    """`RlvrTextEnv`: `SkyRLEnvCore` on skyrl-gym's `BaseTextEnv` (built on first use)."""
    base = _base_text_env()

    class RlvrTextEnv(SkyRLEnvCore, base):
        """Any rlvr id as a SkyRL-Gym `BaseTextEnv` (see `rlvr.integrations.skyrl`). `SkyRLEnvCore`
        comes first, so its `init`/`step`/`close` are the ones called; its `__init__` runs
        `BaseTextEnv.__init__` (turn and tool-group state) before setting its own."""

    RlvrTextEnv.__module__ = __name__
    return RlvrTextEnv


def register_skyrl_env(name: str = DEFAULT_NAME) -> str:
    """Register `RlvrTextEnv` with skyrl_gym under `name` (idempotent); returns the name."""
    try:
        from skyrl_gym.envs.registration import register, registry
    except ImportError as error:
        raise ImportError(f"register_skyrl_env needs skyrl-gym: {SKYRL_HINT}") from error
    if name not in registry:
        register(id=name, entry_point=f"{__name__}:RlvrTextEnv")
    return name


def skyrl_dataset(env_id: str, num_examples: int = 100, seed: int = 0, *, split: str | None = DEFAULT_SPLIT,
                  env_kwargs: Mapping[str, Any] | None = None, env_class: str = DEFAULT_NAME,
                  **difficulty: Any) -> list[dict[str, Any]]:
    """Rows in SkyRL's dataset format for problems 0..num_examples-1 of stream `seed`: `prompt`
    (the env's first chat messages), `env_class`, `reward_spec` (the gold answer, for reference:
    the env scores) and `extra_info` (id, problem JSON, its id and split, env_kwargs as JSON text)."""
    if not isinstance(num_examples, int) or isinstance(num_examples, bool) or num_examples < 0:
        raise ValueError(f"num_examples must be a non-negative integer, got {num_examples!r}")
    source = task_source(env_id, split, difficulty, env_kwargs)
    # the caller's settings, not every resolved knob: they are what rebuilds the same env
    kwargs = {**dict(env_kwargs or {}), "difficulty": dict(difficulty), "split": source.split}
    session = TextSession(source.env_id or env_id, kwargs)
    rows = []
    try:
        for problem in source.problems(seed, num_examples):
            row = problem_row(problem)
            messages, _ = session.start(problem=problem)
            rows.append({
                "data_source": source.env_id or env_id, "prompt": messages, "env_class": env_class,
                "reward_spec": {"method": "rule", "ground_truth": row["answer"]},
                "extra_info": {"env_id": source.env_id or env_id, "problem": row["problem"],
                               "problem_id": row["problem_id"], "split": row["split"],
                               "env_kwargs": json.dumps(kwargs, sort_keys=True, default=list)},
            })
    finally:
        session.close()
    return rows


def __getattr__(name: str) -> Any:
    if name == "RlvrTextEnv":  # what skyrl_gym's "module:RlvrTextEnv" entry point loads
        return env_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["DEFAULT_NAME", "SKYRL_HINT", "SkyRLEnvCore", "env_class", "register_skyrl_env", "skyrl_dataset"]
