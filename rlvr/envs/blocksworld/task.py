"""`BlocksWorldTask` (played by `BlocksWorldEnv`, `rlvr/BlocksWorld-v0`, in `env.py`): write a whole plan.

A problem gives an initial arrangement of lettered blocks and a goal (a list of "X is on top of
Y" facts). The response is the whole plan, one action per line, inside `<plan> </plan>` tags (the
last such block counts; without tags the whole response is the plan). Leading numbering ("1.",
"2)") and bullets ("-", "*") are stripped, blank lines skipped; every other line must be one
action (forms in `world.py`), at most `MAX_PLAN_LINES` of them.

Scoring simulates the plan: an unreadable line or an action whose preconditions fail earns 0 with
the reason (line number, action, failed precondition); otherwise the reward is 1 if the goal holds
after the last action, minus `overlength_penalty` per action beyond the optimal length (floored at
0). Components: "correct" (goal reached), "executable" (every action legal), "optimal" (goal
reached in the optimal number of actions).

Generation: the initial state is a random permutation of the blocks cut into towers (each gap cut
with probability 1/2); the goal state comes from `plan_length / 2` random block moves (a move
takes a clear block to the table or onto another clear block, never the block just moved); the
goal is that state's "on" facts. The shortest plan is then found by A* (`optimal_plan`) and the
draw is kept only when its length equals `plan_length` exactly (plans from and to an empty hand
have even length, so `plan_length` must be even). `solve` returns that optimal plan.

>>> import numpy as np
>>> task = BlocksWorldTask()
>>> problem = task.sample(np.random.default_rng(0), {"blocks": 3, "plan_length": 4})
>>> task.score(problem, task.solve(problem)).reward
1.0
>>> task.score(problem, "<plan>put down A</plan>").error
'line 1 (put down A): the hand does not hold A'
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.blocksworld.world import (
    BLOCK_NAMES,
    MAX_BLOCKS,
    TABLE,
    Fact,
    State,
    apply_action,
    describe_goal,
    describe_state,
    facts_of,
    format_action,
    goal_holds,
    is_clear,
    optimal_plan,
    parse_action,
    state_from_towers,
    towers,
)

MAX_GENERATION_ATTEMPTS = 500
MAX_PLAN_LINES = 200
_PLAN_BLOCK = re.compile(r"<plan>(.*?)</plan>", re.IGNORECASE | re.DOTALL)
_LINE_PREFIX = re.compile(r"^\s*(?:[-*\u2022]\s*|\(?[0-9]{1,3}[.):]\s*|step\s+[0-9]{1,3}\s*[.:)]\s*)", re.IGNORECASE)

PLAN_TEMPLATE = PromptTemplate(
    instruction="Write the whole plan inside <plan> </plan> tags, one action per line, for example:\n"
    "<plan>\nunstack A from B\nput down A\npick up B\nstack B on A\n</plan>"
)
RULES = (
    "I am playing with a set of blocks. I can do these actions: pick up a block, unstack a block from "
    "on top of another block, put down a block, stack a block on top of another block. I can hold one "
    "block at a time, and only pick up or unstack a block when my hand is empty and the block is clear "
    "(nothing on it and not held). Pick up takes a block from the table; unstack takes it from the "
    "block it is on. I can put down or stack only the block I hold, and stack it only on a clear block."
)


def encode_state(state: State) -> list[list[str]]:
    """Towers bottom to top, as letters (the JSON-able form problems store)."""
    return [[BLOCK_NAMES[b] for b in tower] for tower in towers(state)]


def decode_state(towers_letters: list[list[str]], blocks: int) -> State:
    return state_from_towers([[BLOCK_NAMES.index(b) for b in tower] for tower in towers_letters], blocks)


def decode_goal(goal: list[list[str]]) -> tuple[Fact, ...]:
    """Stored goal facts (["on", "A", "B"] / ["ontable", "A"]) as index facts."""
    return tuple((fact[0], *(BLOCK_NAMES.index(b) for b in fact[1:])) for fact in goal)


def problem_world(problem: Problem) -> tuple[State, tuple[Fact, ...]]:
    """(initial state, goal facts) of a problem."""
    content = problem.content
    return decode_state(content["initial"], content["blocks"]), decode_goal(content["goal"])


def plan_lines(response: str) -> list[str] | str:
    """The plan's action lines (see the module doc), or why there are too many."""
    blocks = _PLAN_BLOCK.findall(response)
    body = blocks[-1] if blocks else response
    lines = []
    for raw in body.splitlines():
        line = _LINE_PREFIX.sub("", raw, count=1).strip()
        if line:
            lines.append(line)
        if len(lines) > MAX_PLAN_LINES:
            return f"a plan has at most {MAX_PLAN_LINES} actions"
    return lines


def random_initial_state(rng: np.random.Generator, blocks: int) -> State:
    order = rng.permutation(blocks).tolist()
    cuts = rng.random(blocks - 1) < 0.5
    stacks, current = [], [order[0]]
    for block, cut in zip(order[1:], cuts, strict=True):
        if cut:
            stacks.append(current)
            current = []
        current.append(block)
    stacks.append(current)
    return state_from_towers(stacks, blocks)


def random_moves(rng: np.random.Generator, state: State, moves: int) -> State:
    """Apply `moves` random block moves (clear block -> table or another clear block)."""
    last = None
    for _ in range(moves):
        clear = [b for b in range(len(state)) if is_clear(state, b)]
        options = [(block, target) for block in clear if block != last
                   for target in [TABLE] * (state[block] != TABLE) + [b for b in clear if b != block]]
        if not options:
            break
        block, target = options[int(rng.integers(len(options)))]
        state = state[:block] + (target,) + state[block + 1:]
        last = block
    return state


class BlocksWorldTask(Task):
    """Plan BlocksWorld moves from an initial arrangement to a goal (see the module doc)."""

    name: ClassVar[str] = "blocksworld"
    version: ClassVar[int] = 0
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("blocks", 4, "number of blocks (letters A, B, ...)", low=2, high=MAX_BLOCKS),
        Knob("plan_length", 4, "length of the optimal plan in actions (even; at most 2 * blocks)", low=2, high=24),
    )
    default_template: ClassVar[PromptTemplate] = PLAN_TEMPLATE

    def __init__(self, template: PromptTemplate | None = None, *, overlength_penalty: float = 0.0) -> None:
        super().__init__(template)
        if not 0.0 <= overlength_penalty <= 1.0:
            raise ValueError(f"overlength_penalty must be in [0, 1], got {overlength_penalty!r}")
        self.overlength_penalty = float(overlength_penalty)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        blocks, length = difficulty["blocks"], difficulty["plan_length"]
        if length % 2 or length > 2 * blocks:
            raise ValueError(f"plan_length must be even and at most 2 * blocks = {2 * blocks} (a plan from and "
                             f"to an empty hand moves each block at most twice), got {length}")
        for _ in range(MAX_GENERATION_ATTEMPTS):
            initial = random_initial_state(rng, blocks)
            goal = tuple(fact for fact in facts_of(random_moves(rng, initial, length // 2)) if fact[0] == "on")
            if not goal or goal_holds(initial, goal):
                continue
            plan = optimal_plan(initial, goal)
            if plan is not None and len(plan) == length:
                return self._build(difficulty, initial, goal, plan)
        raise RuntimeError(f"{self.name}: no problem with {blocks} blocks and an optimal plan of {length} actions in "
                           f"{MAX_GENERATION_ATTEMPTS} draws; lower plan_length or add blocks")

    def _build(self, difficulty: Mapping[str, Any], initial: State, goal: tuple[Fact, ...], plan: list) -> Problem:
        blocks = len(initial)
        names = ", ".join(BLOCK_NAMES[:blocks])
        question = (f"{RULES}\n\nThe blocks are {names}. As initial conditions I have:\n"
                    + "\n".join(describe_state(initial))
                    + f"\n\nMy goal is to have that {describe_goal(goal)}.")
        content = {
            "blocks": blocks,
            "initial": encode_state(initial),
            "goal": [[fact[0], *(BLOCK_NAMES[b] for b in fact[1:])] for fact in goal],
        }
        solution = [format_action(action) for action in plan]
        return self.make_problem(question, content, "\n".join(solution), difficulty,
                                 {"optimal_length": len(plan), "solution": solution})

    def score(self, problem: Problem, response: str) -> Score:
        if not isinstance(response, str):
            return Score.zero(f"a response must be a string, got {type(response).__name__}",
                              executable=0.0, optimal=0.0)
        lines = plan_lines(response)
        if isinstance(lines, str):
            return Score.zero(lines, executable=0.0, optimal=0.0)
        state, goal = problem_world(problem)
        for number, line in enumerate(lines, start=1):
            action = parse_action(line, len(state))
            if isinstance(action, str):
                return Score.zero(f"line {number}: {action}", f"{number - 1} actions", executable=0.0, optimal=0.0)
            outcome = apply_action(state, action)
            if isinstance(outcome, str):
                return Score.zero(f"line {number} ({format_action(action)}): {outcome}", f"{number - 1} actions",
                                  executable=0.0, optimal=0.0)
            state = outcome
        return self.score_outcome(problem, state, len(lines))

    def score_outcome(self, problem: Problem, state: State, actions: int) -> Score:
        """The score of a legal plan of `actions` actions that ended in `state`."""
        goal = decode_goal(problem.content["goal"])
        optimal = int(problem.metadata["optimal_length"])
        parsed = f"{actions} actions"
        if not goal_holds(state, goal):
            return Score.zero(f"the goal does not hold after the plan's {actions} actions", parsed,
                              executable=1.0, optimal=0.0)
        reward = max(0.0, 1.0 - self.overlength_penalty * max(0, actions - optimal))
        return Score(reward, {"correct": 1.0, "executable": 1.0, "optimal": float(actions <= optimal)}, parsed)

    def solve(self, problem: Problem) -> str:
        return "<plan>\n" + "\n".join(problem.metadata["solution"]) + "\n</plan>"
