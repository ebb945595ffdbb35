"""Countdown: use each given number exactly once to write an expression equal to a target.

`CountdownTask` (`task.py`) generates and scores; `CountdownEnv` (`env.py`, `rlvr/Countdown-v0`)
serves one problem an episode. Reading the answer and the exhaustive solver are the arithmetic
kit's (`rlvr.envs.arithmetic`), shared with Game24.
"""

from rlvr.envs.countdown.env import CountdownEnv
from rlvr.envs.countdown.task import CountdownTask

__all__ = ["CountdownEnv", "CountdownTask"]
