"""Free-form math: `MathTask` and `MathEnv` (`rlvr/Math-v0`).

    import gymnasium as gym
    import rlvr
    env = gym.make("rlvr/Math-v0")                                  # built-in generator
    env = gym.make("rlvr/Math-v0", data_path="problems.jsonl")      # your own question/answer rows

Modules: `task` (the task and env), `families` (the built-in generator), `files` (JSONL/Parquet
loading), `answers` (extraction modes and the single-value check).
"""

from rlvr.envs.math_text.answers import EXTRACTION_MODES, read_value
from rlvr.envs.math_text.families import FAMILIES
from rlvr.envs.math_text.files import MissingColumnError, load_rows
from rlvr.envs.math_text.task import MathEnv, MathTask

__all__ = ["EXTRACTION_MODES", "FAMILIES", "MathEnv", "MathTask", "MissingColumnError", "load_rows", "read_value"]
