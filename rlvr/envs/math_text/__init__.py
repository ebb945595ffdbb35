"""Free-form math: `MathTask` and `MathEnv` (`rlvr/Math-v0`).

    import gymnasium as gym
    import rlvr
    env = gym.make("rlvr/Math-v0")                                  # built-in generator
    env = gym.make("rlvr/Math-v0", data_path="problems.jsonl")      # your own question/answer rows

Modules: `task` (the task), `env` (the env), `families` (the built-in generator), `files` (JSONL/Parquet
loading). Answers are read by `rlvr.rewards.math` (extraction modes, the single-value check).
"""

from rlvr.envs.math_text.env import MathEnv
from rlvr.envs.math_text.families import FAMILIES
from rlvr.envs.math_text.files import MissingColumnError, load_rows
from rlvr.envs.math_text.task import MathTask

__all__ = ["FAMILIES", "MathEnv", "MathTask", "MissingColumnError", "load_rows"]
