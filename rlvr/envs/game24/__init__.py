"""Game of 24: make 24 from four numbers (1..13 by default), each used once, exactly.

`Game24Env` (`rlvr/Game24-v0`) takes the whole expression in one response; `Game24StepEnv`
(`rlvr/Game24Step-v0`) takes one "a op b = c (left: ...)" step a turn.
"""

from rlvr.envs.game24.env import Game24Env
from rlvr.envs.game24.step_env import Game24StepEnv, next_step, read_left_note
from rlvr.envs.game24.task import Game24Task, problem_pool

__all__ = ["Game24Env", "Game24StepEnv", "Game24Task", "next_step", "problem_pool", "read_left_note"]
