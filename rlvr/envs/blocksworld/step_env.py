"""`BlocksWorldStepEnv` (`rlvr/BlocksWorldStep-v0`): BlocksWorld one action a turn.

Each action is one line such as "unstack A from B" or "pick up C" (forms in `world.py`). The
observation is the prompt, the actions taken so far and the current state in words; keeping the
history makes the MDP a tree. The episode ends with reward 1 (minus `overlength_penalty` per
action beyond the optimal length) as soon as the goal holds.

An illegal action (unreadable, unknown block, failed precondition) earns 0 with the reason in
`info["error"]`; with `illegal_action="end"` (the default) it ends the episode, with
`illegal_action="continue"` the state is unchanged and the episode goes on (the attempt counts
towards the step limit, not the plan length). After `step_limit` turns (default: four times the
optimal length plus 4) the episode is truncated with reward 0. `oracle_action()` gives the first
action of an optimal plan from the current state, held block included.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.core.problem import Problem, Score
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import TaskEnv
from rlvr.core.templates import PromptTemplate
from rlvr.envs.blocksworld.task import BlocksWorldTask, decode_goal, problem_world
from rlvr.envs.blocksworld.world import (
    MAX_ACTION_CHARS,
    State,
    apply_action,
    describe_state,
    format_action,
    goal_holds,
    optimal_plan,
    parse_action,
)

MAX_OBSERVATION_CHARS = 1 << 16
ILLEGAL_ACTION_MODES = ("end", "continue")

STEP_TEMPLATE = PromptTemplate(
    instruction="Act one action per turn: write exactly one action such as 'unstack A from B', "
    "'put down A', 'pick up C' or 'stack C on A'. The episode ends when the goal holds."
)


@dataclass(frozen=True)
class BlocksWorldStepState:
    problem: Problem | None
    state: State
    actions: tuple[str, ...]
    turns: int
    done: bool
    score: Score | None


class BlocksWorldStepEnv(TaskEnv):
    """`rlvr/BlocksWorldStep-v0`: BlocksWorld one action a turn over `BlocksWorldTask` problems (doc
    card: `card`; rules: the module doc)."""

    task_class = BlocksWorldTask
    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    card = EnvCard(
        summary="Multi-turn BlocksWorld: one action a turn ('unstack A from B', 'pick up C'); the oracle "
        "gives the next action of an optimal plan from any state.",
        observation="text: prompt, actions so far and the current state",
        action="text: one action",
        reward="1 when the goal first holds (minus overlength_penalty per action beyond optimal); an "
        "illegal action earns 0 with the reason in info and ends the episode (illegal_action='end') or "
        "leaves the state unchanged (illegal_action='continue'); truncated with 0 at step_limit",
        task=task_class,
    )

    def __init__(
        self,
        task: BlocksWorldTask | None = None,
        *,
        illegal_action: str = "end",
        step_limit: int | None = None,
        overlength_penalty: float = 0.0,
        render_mode: str | None = None,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: PromptTemplate | None = None,
        **knobs: Any,
    ) -> None:
        if task is None:
            task = BlocksWorldTask(template or STEP_TEMPLATE, overlength_penalty=overlength_penalty)
        elif overlength_penalty:
            raise TypeError("give overlength_penalty to the task, not the env, when passing a task")
        super().__init__(task, difficulty=difficulty, split=split, template=template, **knobs)
        if illegal_action not in ILLEGAL_ACTION_MODES:
            raise ValueError(f"illegal_action must be one of {ILLEGAL_ACTION_MODES}, got {illegal_action!r}")
        if step_limit is not None and step_limit < 1:
            raise ValueError(f"step_limit must be a positive integer or None, got {step_limit!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.illegal_action, self.step_limit, self.render_mode = illegal_action, step_limit, render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self._state: State = ()
        self._actions: tuple[str, ...] = ()
        self._turns = 0
        self._done, self._score = True, None

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        self._state = problem_world(problem)[0]
        self._actions, self._turns, self._done, self._score = (), 0, False, None
        return self._observation(), self._problem_info()

    def _limit(self) -> int:
        return self.step_limit or 4 * int(self.problem.metadata["optimal_length"]) + 4

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        self._turns += 1
        parsed = parse_action(action, len(self._state))
        outcome = parsed if isinstance(parsed, str) else apply_action(self._state, parsed)
        if isinstance(outcome, str):
            reason = outcome if isinstance(parsed, str) else f"{format_action(parsed)}: {outcome}"
            if self.illegal_action == "end":
                return self._finish(Score.zero(reason, None, executable=0.0, optimal=0.0), truncated=False)
            if self._turns >= self._limit():
                return self._finish(Score.zero(f"{reason}; step limit of {self._limit()} turns reached", None,
                                               executable=0.0, optimal=0.0), truncated=True)
            info = {**self._problem_info(), "error": reason, "illegal": True, "correct": False}
            return self._observation(), 0.0, False, False, info
        self._state = outcome
        self._actions = (*self._actions, format_action(parsed))
        if goal_holds(self._state, decode_goal(self.problem.content["goal"])):
            return self._finish(self.task.score_outcome(self.problem, self._state, len(self._actions)), False)
        if self._turns >= self._limit():
            return self._finish(Score.zero(f"step limit of {self._limit()} turns reached before the goal", None,
                                           executable=1.0, optimal=0.0), truncated=True)
        info = {**self._problem_info(), "error": None, "illegal": False, "correct": False}
        return self._observation(), 0.0, False, False, info

    def oracle_action(self) -> str | None:
        """The first action of an optimal plan from the current state (None once the episode is over)."""
        if self._done or self.problem is None:
            return None
        plan = optimal_plan(self._state, decode_goal(self.problem.content["goal"]))
        return format_action(plan[0]) if plan else None

    def _finish(self, score: Score, truncated: bool):
        self._done, self._score = True, score
        info = {**self._problem_info(), "gold": self.problem.answer, **score.info(),
                "actions": list(self._actions), "illegal": score.error is not None and not truncated}
        return self._observation(), float(score.reward), not truncated, truncated, info

    def _observation(self) -> str:
        text = self.problem.prompt
        if self._actions:
            text += "\n\nActions so far:\n" + "\n".join(self._actions)
        text += "\n\nCurrent state:\n" + "\n".join(describe_state(self._state))
        return text[-MAX_OBSERVATION_CHARS:]

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        return self._observation()

    # ------------------------------------------------------------------ tree search
    def get_state(self) -> BlocksWorldStepState:
        return BlocksWorldStepState(self.problem, self._state, self._actions, self._turns, self._done, self._score)

    def set_state(self, saved: BlocksWorldStepState) -> None:
        self.problem, self._state, self._actions = saved.problem, saved.state, saved.actions
        self._turns, self._done, self._score = saved.turns, saved.done, saved.score

    def clone(self) -> BlocksWorldStepEnv:
        twin = copy.copy(self)
        twin._np_random = copy.deepcopy(self._np_random)
        return twin
