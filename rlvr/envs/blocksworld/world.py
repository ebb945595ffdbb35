"""A STRIPS BlocksWorld: states, the four actions, a bounded action parser and an optimal planner.

A state gives, for each block, what it rests on: another block's index, `TABLE` or `HAND` (at
most one block is held). The predicates follow from it: on(x, y), ontable(x), clear(x) (nothing
on x and x not held), holding(x), handempty. The actions and their preconditions:

    pick up X        handempty, clear X, ontable X        -> holding X
    unstack X from Y handempty, clear X, on(X, Y)          -> holding X, clear Y
    put down X       holding X                             -> ontable X, clear X, handempty
    stack X on Y     holding X, clear Y                    -> on(X, Y), clear X, handempty

A goal is a tuple of facts `("on", x, y)` or `("ontable", x)`; it holds when every fact does.

`parse_action` reads one action line. Accepted, case-insensitively, with "the" and "block"
ignored anywhere and one trailing period allowed: "pick up A" (also "pickup", "pick-up"),
"put down A" ("putdown", "put-down"), "unstack A from B" ("from on top of", "from top of",
"off", "off of"), "stack A on B" ("onto", "on top of", "upon"), and the PDDL forms
"(pick-up a)", "(put-down a)", "(unstack a b)", "(stack a b)". A line has at most
`MAX_ACTION_CHARS` characters; anything else is an error that quotes the line.

`optimal_plan` is an A* search whose heuristic counts the blocks that must still move (two
actions each, one for a held block); it never overestimates, so the plan is optimal.
"""

from __future__ import annotations

import heapq
import itertools
import re
import string
from collections.abc import Sequence

TABLE = -1
HAND = -2
MAX_BLOCKS = 12
MAX_ACTION_CHARS = 200
BLOCK_NAMES = string.ascii_uppercase[:MAX_BLOCKS]

State = tuple[int, ...]
Fact = tuple
Action = tuple
"""("pick up", x) | ("put down", x) | ("unstack", x, y) | ("stack", x, y) with block indices."""

_FILLER = re.compile(r"\b(?:the|block)\b")
_SYNONYMS = (
    (re.compile(r"\bpick-?up\b"), "pick up"),
    (re.compile(r"\bput-?down\b"), "put down"),
    (re.compile(r"\bfrom\s+(?:on\s+)?top\s+of\b|\boff(?:\s+of)?\b"), "from"),
    (re.compile(r"\bon\s+top\s+of\b|\bonto\b|\bupon\b"), "on"),
)
_WORD = r"([a-z])"
_PATTERNS = (
    (re.compile(rf"^pick up {_WORD}$"), "pick up"),
    (re.compile(rf"^put down {_WORD}$"), "put down"),
    (re.compile(rf"^unstack {_WORD} from {_WORD}$"), "unstack"),
    (re.compile(rf"^stack {_WORD} on {_WORD}$"), "stack"),
    (re.compile(rf"^\(pick up {_WORD}\)$"), "pick up"),
    (re.compile(rf"^\(put down {_WORD}\)$"), "put down"),
    (re.compile(rf"^\(unstack {_WORD} {_WORD}\)$"), "unstack"),
    (re.compile(rf"^\(stack {_WORD} {_WORD}\)$"), "stack"),
)


def holding(state: State) -> int | None:
    """The held block, or None when the hand is empty."""
    return state.index(HAND) if HAND in state else None


def is_clear(state: State, block: int) -> bool:
    return state[block] != HAND and block not in state


def towers(state: State) -> list[list[int]]:
    """Towers bottom to top, ordered by their bottom block (the held block is in none)."""
    result = []
    for bottom in (b for b, below in enumerate(state) if below == TABLE):
        tower = [bottom]
        while tower[-1] in state:
            tower.append(state.index(tower[-1]))
        result.append(tower)
    return result


def state_from_towers(towers_bottom_up: Sequence[Sequence[int]], blocks: int) -> State:
    state = [HAND] * blocks
    for tower in towers_bottom_up:
        for level, block in enumerate(tower):
            state[block] = TABLE if level == 0 else tower[level - 1]
    if HAND in state:
        raise ValueError(f"towers {towers_bottom_up} do not place all {blocks} blocks")
    return tuple(state)


def facts_of(state: State) -> tuple[Fact, ...]:
    """The on/ontable facts of a state, sorted."""
    return tuple(sorted(("ontable", b) if below == TABLE else ("on", b, below)
                        for b, below in enumerate(state) if below != HAND))


def goal_holds(state: State, goal: Sequence[Fact]) -> bool:
    for fact in goal:
        if fact[0] == "on" and state[fact[1]] != fact[2]:
            return False
        if fact[0] == "ontable" and state[fact[1]] != TABLE:
            return False
    return True


def apply_action(state: State, action: Action) -> State | str:
    """The next state, or why the action's preconditions fail (names as letters)."""
    kind, x = action[0], action[1]
    y = action[2] if len(action) > 2 else None
    name = BLOCK_NAMES
    held = holding(state)
    if kind in ("pick up", "unstack"):
        if held is not None:
            return f"the hand is not empty (it holds {name[held]})"
        if not is_clear(state, x):
            return f"{name[x]} is not clear"
        if kind == "pick up" and state[x] != TABLE:
            return f"{name[x]} is not on the table (use unstack)"
        if kind == "unstack" and state[x] != y:
            return f"{name[x]} is not on {name[y]}"
        return state[:x] + (HAND,) + state[x + 1:]
    if held != x:
        return f"the hand does not hold {name[x]}" + ("" if held is None else f" (it holds {name[held]})")
    if kind == "put down":
        return state[:x] + (TABLE,) + state[x + 1:]
    if x == y or not is_clear(state, y):
        return f"{name[y]} is not clear"
    return state[:x] + (y,) + state[x + 1:]


def legal_actions(state: State) -> list[Action]:
    """Every applicable action, in a fixed order."""
    held = holding(state)
    blocks = range(len(state))
    if held is not None:
        return [("put down", held)] + [("stack", held, y) for y in blocks if y != held and is_clear(state, y)]
    return [("pick up", x) if state[x] == TABLE else ("unstack", x, state[x]) for x in blocks if is_clear(state, x)]


def format_action(action: Action) -> str:
    names = [BLOCK_NAMES[b] for b in action[1:]]
    if action[0] == "unstack":
        return f"unstack {names[0]} from {names[1]}"
    if action[0] == "stack":
        return f"stack {names[0]} on {names[1]}"
    return f"{action[0]} {names[0]}"


def parse_action(text: str, blocks: int) -> Action | str:
    """The action one line names, or why it cannot be read (see the module doc for the forms).

    >>> parse_action("Unstack the A block from on top of the B block.", 3)
    ('unstack', 0, 1)
    >>> parse_action("(pick-up c)", 3)
    ('pick up', 2)
    >>> parse_action("pick up D", 3)
    'unknown block D; the blocks are A, B, C'
    """
    if not isinstance(text, str):
        return f"an action must be a string, got {type(text).__name__}"
    if len(text) > MAX_ACTION_CHARS:
        return f"an action has at most {MAX_ACTION_CHARS} characters, got {len(text)}"
    normal = text.strip().lower().rstrip(".").strip()
    normal = _FILLER.sub(" ", normal)
    for pattern, replacement in _SYNONYMS:
        normal = pattern.sub(replacement, normal)
    normal = re.sub(r"\s+", " ", normal).strip().replace("( ", "(").replace(" )", ")")
    for pattern, kind in _PATTERNS:
        match = pattern.match(normal)
        if match is None:
            continue
        indices = []
        for letter in match.groups():
            index = BLOCK_NAMES.find(letter.upper())
            if not 0 <= index < blocks:
                return f"unknown block {letter.upper()}; the blocks are {', '.join(BLOCK_NAMES[:blocks])}"
            indices.append(index)
        return (kind, *indices)
    return (f"cannot read an action from {text[:80]!r}; expected 'pick up X', 'put down X', "
            "'unstack X from Y' or 'stack X on Y'")


def _must_move(state: State, goal: Sequence[Fact]) -> set[int]:
    """Blocks that some action must still move for the goal to hold (a lower bound on the work)."""
    moving: set[int] = set()
    for fact in goal:
        x = fact[1]
        if fact[0] == "ontable":
            if state[x] != TABLE:
                moving.add(x)
            continue
        y = fact[2]
        if state[x] != y:
            moving.add(x)
            # y must end up clear for x: whatever sits on y now has to go.
            moving.update(b for b, below in enumerate(state) if below == y and b != x)
    # Moving a block first needs everything above it moved away.
    for tower in towers(state):
        for level, block in enumerate(tower):
            if block in moving:
                moving.update(tower[level + 1:])
                break
    return moving


def heuristic(state: State, goal: Sequence[Fact]) -> int:
    """Admissible: two actions per block that must move, one if it is already in the hand; zero
    exactly when the goal holds (no block must move)."""
    moving = _must_move(state, goal)
    if not moving:
        return 0
    held = holding(state)
    # A held block must be set down before anything else can move, and it is set down only once.
    return 2 * len(moving) if held is None else 1 + 2 * len(moving - {held})


def optimal_plan(state: State, goal: Sequence[Fact], max_expansions: int = 2_000_000) -> list[Action] | None:
    """A shortest action sequence reaching the goal (deterministic), or None if none exists.

    Ties go to deeper nodes, then to the order of `legal_actions`, so the plan is reproducible.
    """
    goal = tuple(goal)
    counter = itertools.count()
    best_cost = {state: 0}
    parent: dict[State, tuple[State, Action] | None] = {state: None}
    frontier = [(heuristic(state, goal), 0, next(counter), state)]
    expansions = 0
    while frontier:
        _, negative_cost, _, current = heapq.heappop(frontier)
        cost = -negative_cost
        if cost > best_cost[current]:
            continue
        if goal_holds(current, goal):
            plan: list[Action] = []
            while parent[current] is not None:
                current, action = parent[current]
                plan.append(action)
            return plan[::-1]
        expansions += 1
        if expansions > max_expansions:
            raise RuntimeError(f"optimal_plan: gave up after {max_expansions} expansions")
        for action in legal_actions(current):
            child = apply_action(current, action)
            if cost + 1 < best_cost.get(child, 1 << 30):
                best_cost[child] = cost + 1
                parent[child] = (current, action)
                heapq.heappush(frontier, (cost + 1 + heuristic(child, goal), -(cost + 1), next(counter), child))
    return None


def describe_state(state: State) -> list[str]:
    """English sentences for every predicate that holds."""
    name = BLOCK_NAMES
    lines = []
    for block, below in enumerate(state):
        if below == TABLE:
            lines.append(f"{name[block]} is on the table.")
        elif below >= 0:
            lines.append(f"{name[block]} is on top of {name[below]}.")
    clear = [name[b] for b in range(len(state)) if is_clear(state, b)]
    if clear:
        lines.append(f"{', '.join(clear)} {'is' if len(clear) == 1 else 'are'} clear.")
    held = holding(state)
    lines.append("The hand is empty." if held is None else f"The hand is holding {name[held]}.")
    return lines


def describe_goal(goal: Sequence[Fact]) -> str:
    parts = [f"{BLOCK_NAMES[f[1]]} is on top of {BLOCK_NAMES[f[2]]}" if f[0] == "on"
             else f"{BLOCK_NAMES[f[1]]} is on the table" for f in goal]
    return ", ".join(parts[:-1]) + (" and " if len(parts) > 1 else "") + parts[-1]
