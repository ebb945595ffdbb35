"""Stable-Baselines3 on a native (batched) Gymnasium vector env, through SB3's own `VecEnv` API.

    from stable_baselines3 import PPO
    from rlvr.integrations.sb3 import sb3_vec_env

    venv = sb3_vec_env("rlvr/MathTree-v0", num_envs=64, seed=0)   # or sb3_vec_env(gym.make_vec(...))
    PPO("MultiInputPolicy", venv, seed=0).learn(20_000)

SB3's `make_vec_env` builds one Python env per slot and steps them one by one; `MathTreeVectorEnv`
advances every slot with a few numpy operations, so this adapter hands that batch to SB3 as is.

The two vector APIs differ in when a finished sub-env restarts. Gymnasium's default (`NEXT_STEP`,
what `MathTreeVectorEnv` does) returns the final observation and restarts on the following
`step`, ignoring the action given there; SB3 restarts in the same step, returns the first
observation of the new episode and puts the final one in `infos[i]["terminal_observation"]`.
The adapter therefore resets the finished sub-envs at once with gymnasium's `reset_mask` option
(the problem stream goes on: no seed is passed), so no step of SB3's is ever ignored. Each
finished sub-env's info also holds `TimeLimit.truncated` (truncated and not terminated, which SB3
bootstraps), `is_success` (the env's `correct`, else reward >= 1; SB3 logs its mean as `success_rate`) and
Monitor-style `episode` stats (`r`, `l`, `t`), which SB3 logs as `ep_rew_mean` and `ep_len_mean`.

Any gymnasium `VectorEnv` with `NEXT_STEP` autoreset and the `reset_mask` option works (the sync
and async vector envs of gymnasium 1.x too). SB3 is imported only when the class is built, so this
module imports without it; `pip install 'rlvr[sb3]'`.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from functools import lru_cache
from typing import Any

import numpy as np

SB3_HINT = "pip install 'rlvr[sb3]'"


def _stable_baselines3() -> Any:
    try:
        from stable_baselines3.common import vec_env
    except ImportError as error:
        raise ImportError(f"rlvr.integrations.sb3 needs stable-baselines3: {SB3_HINT}") from error
    return vec_env


def _row(observation: Any, index: int) -> Any:
    """Sub-env `index`'s part of a batched observation (a dict of arrays or an array), copied."""
    if isinstance(observation, dict):
        return {key: np.array(value[index]) for key, value in observation.items()}
    return np.array(observation[index])


def _split_info(info: dict[str, Any], num_envs: int) -> list[dict[str, Any]]:
    """Gymnasium's batched info (arrays with `_key` masks) as SB3's list of per-env dicts."""
    infos: list[dict[str, Any]] = [{} for _ in range(num_envs)]
    for key, value in info.items():
        if key.startswith("_"):
            continue
        mask = info.get(f"_{key}")
        present = range(num_envs) if mask is None else np.flatnonzero(mask).tolist()
        if isinstance(value, dict):  # a nested batched dict (gymnasium nests infos of sub-envs so)
            nested = _split_info(value, num_envs)
            for i in present:
                infos[i][key] = nested[i]
            continue
        for i in present:
            item = value[i]
            infos[i][key] = item.item() if isinstance(item, np.generic) else item
    return infos


@lru_cache(maxsize=1)
def vec_env_class() -> type:
    """`NativeVecEnv`: the adapter class, a subclass of SB3's `VecEnv` (built on first use)."""
    vec_env = _stable_baselines3()
    from gymnasium.vector import AutoresetMode

    class NativeVecEnv(vec_env.VecEnv):
        """A gymnasium vector env as an SB3 `VecEnv` (see the module doc)."""

        def __init__(self, env: Any) -> None:
            mode = getattr(env, "metadata", {}).get("autoreset_mode", AutoresetMode.NEXT_STEP)
            if mode != AutoresetMode.NEXT_STEP:
                raise ValueError("NativeVecEnv needs a vector env with autoreset_mode NEXT_STEP (it restarts "
                                 f"finished sub-envs itself with reset_mask), got {mode}")
            self.env = env
            super().__init__(env.num_envs, env.single_observation_space, env.single_action_space)
            self._actions: np.ndarray | None = None
            self._returns = np.zeros(self.num_envs)
            self._lengths = np.zeros(self.num_envs, np.int64)
            self._started = time.perf_counter()

        # ------------------------------------------------------------------ the VecEnv API
        def reset(self) -> Any:
            seeds, options = self._seeds, self._options
            seed = seeds[0]  # one problem stream feeds every sub-env of a native vector env
            if any(o != options[0] for o in options):
                raise ValueError("NativeVecEnv passes one options dict to the whole vector env; "
                                 f"set_options gave different ones per sub-env: {options}")
            observation, info = self.env.reset(seed=None if seed is None else int(seed),
                                               options=dict(options[0]) or None)
            self.reset_infos = _split_info(info, self.num_envs)
            self._reset_seeds()
            self._reset_options()
            self._returns[:] = 0.0
            self._lengths[:] = 0
            return observation

        def step_async(self, actions: np.ndarray) -> None:
            self._actions = np.asarray(actions)

        def step_wait(self) -> tuple[Any, np.ndarray, np.ndarray, list[dict[str, Any]]]:
            if self._actions is None:
                raise RuntimeError("step_wait() called without step_async(actions)")
            observation, reward, terminated, truncated, info = self.env.step(self._actions)
            self._actions = None
            reward = np.asarray(reward, dtype=np.float32)
            terminated, truncated = np.asarray(terminated, bool), np.asarray(truncated, bool)
            dones = terminated | truncated
            infos = _split_info(info, self.num_envs)
            self._returns += reward
            self._lengths += 1
            finished = np.flatnonzero(dones)
            if len(finished):
                elapsed = round(time.perf_counter() - self._started, 6)
                for i in finished.tolist():
                    infos[i]["terminal_observation"] = _row(observation, i)
                    infos[i]["TimeLimit.truncated"] = bool(truncated[i] and not terminated[i])
                    infos[i]["is_success"] = bool(infos[i].get("correct", reward[i] >= 1.0))
                    infos[i]["episode"] = {"r": float(self._returns[i]), "l": int(self._lengths[i]),
                                           "t": elapsed}
                # Restart the finished sub-envs now (SB3's same-step reset); the stream goes on.
                observation, reset_info = self.env.reset(options={"reset_mask": dones})
                fresh = _split_info(reset_info, self.num_envs)
                for i in finished.tolist():
                    self.reset_infos[i] = fresh[i]
                self._returns[finished] = 0.0
                self._lengths[finished] = 0
            return observation, reward, dones, infos

        def close(self) -> None:
            self.env.close()

        # ------------------------------------------------------------------ attributes
        # A native vector env is one object, so every sub-env "has" its attributes.
        def get_attr(self, attr_name: str, indices: Any = None) -> list[Any]:
            value = getattr(self.env, attr_name)
            return [value for _ in self._get_indices(indices)]

        def set_attr(self, attr_name: str, value: Any, indices: Any = None) -> None:
            setattr(self.env, attr_name, value)

        def env_method(self, method_name: str, *method_args: Any, indices: Any = None,
                       **method_kwargs: Any) -> list:
            result = getattr(self.env, method_name)(*method_args, **method_kwargs)
            return [result for _ in self._get_indices(indices)]

        def env_is_wrapped(self, wrapper_class: type, indices: Any = None) -> list[bool]:
            return [False for _ in self._get_indices(indices)]

        def get_images(self) -> Sequence[np.ndarray | None]:
            return [None for _ in range(self.num_envs)]

    return NativeVecEnv


def sb3_vec_env(env: Any, num_envs: int | None = None, *, seed: int | None = None, **kwargs: Any) -> Any:
    """An SB3 `VecEnv` over a gymnasium vector env, or over `gym.make_vec(env, num_envs, **kwargs)`
    when `env` is an id (the id's native vector env where it has one). `seed` seeds the first reset."""
    if isinstance(env, str):
        import gymnasium as gym

        import rlvr  # noqa: F401  (registers the ids)

        env = gym.make_vec(env, num_envs=1 if num_envs is None else num_envs, **kwargs)
    elif num_envs is not None or kwargs:
        raise ValueError("num_envs and make_vec keywords go with an env id, not with a built vector env")
    venv = vec_env_class()(env)
    if seed is not None:
        venv.seed(seed)
    return venv


def __getattr__(name: str) -> Any:
    if name == "NativeVecEnv":  # the class itself, for isinstance checks; imports SB3
        return vec_env_class()
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = ["SB3_HINT", "sb3_vec_env", "vec_env_class"]
