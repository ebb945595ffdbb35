"""`BlocksWorldEnv` (`rlvr/BlocksWorld-v0`): the whole plan in one response, scored by `BlocksWorldTask`.

The task (generation, plan reading, scoring, the optimal-plan oracle) is in `task.py`; the
one-action-a-turn env `BlocksWorldStepEnv` (`rlvr/BlocksWorldStep-v0`) is in `step_env.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.blocksworld.task import BlocksWorldTask


class BlocksWorldEnv(TextEnv):
    """`rlvr/BlocksWorld-v0`: one BlocksWorld problem per episode, the whole plan in one response
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = BlocksWorldTask
    task_options = ("overlength_penalty",)
    card = EnvCard(
        summary="BlocksWorld planning with our own STRIPS simulator (pick up / unstack / put down / stack): "
        "move lettered blocks from an initial arrangement to goal 'X on Y' facts; difficulty = number of "
        "blocks and the optimal plan length (found by A*, kept only when it equals the knob).",
        observation="text prompt: rules, initial state, goal",
        action="text response: the whole plan in <plan> </plan> tags, one action per line",
        reward="1 if every action is legal and the goal holds at the end (minus overlength_penalty per "
        "action beyond optimal); an unreadable or illegal line earns 0 with the line and failed "
        "precondition in info; components: correct, executable, optimal",
        task=task_class,
    )
