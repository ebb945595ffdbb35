"""BlocksWorld: plan pick-up / unstack / put-down / stack actions from an initial arrangement to a goal.

`BlocksWorldEnv` (`rlvr/BlocksWorld-v0`) takes the whole plan in one response;
`BlocksWorldStepEnv` (`rlvr/BlocksWorldStep-v0`) takes one action a turn.
"""

from rlvr.envs.blocksworld.env import BlocksWorldEnv
from rlvr.envs.blocksworld.step_env import BlocksWorldStepEnv
from rlvr.envs.blocksworld.task import BlocksWorldTask, plan_lines, problem_world
from rlvr.envs.blocksworld.world import apply_action, goal_holds, optimal_plan, parse_action

__all__ = [
    "BlocksWorldEnv",
    "BlocksWorldStepEnv",
    "BlocksWorldTask",
    "apply_action",
    "goal_holds",
    "optimal_plan",
    "parse_action",
    "plan_lines",
    "problem_world",
]
