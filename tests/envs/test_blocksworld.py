"""Tests for `rlvr/BlocksWorld-v0` (whole plan) and `rlvr/BlocksWorldStep-v0` (one action a turn).

Plans are judged again by a simulator written here over sets of predicate strings (STRIPS
preconditions, add and delete lists), and optimal lengths by a plain breadth-first search over
its states, independent of the library's A*.
"""

from __future__ import annotations

import pickle
from collections import deque

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.blocksworld import BlocksWorldEnv, BlocksWorldStepEnv, BlocksWorldTask, parse_action
from rlvr.testing import check_env_conformance, check_task


def initial_facts(problem) -> frozenset[str]:
    facts = {"handempty"}
    for tower in problem.content["initial"]:
        facts.add(f"ontable {tower[0]}")
        facts.update(f"on {upper} {lower}" for lower, upper in zip(tower[:-1], tower[1:], strict=True))
        facts.add(f"clear {tower[-1]}")
    return frozenset(facts)


def goal_facts(problem) -> set[str]:
    return {" ".join(fact) for fact in problem.content["goal"]}


def strips(facts: frozenset[str], words: list[str]) -> frozenset[str] | None:
    """Apply one action given as words (e.g. ["unstack", "A", "B"]); None when not applicable."""
    kind, x = words[0], words[1]
    if kind == "pickup":
        pre, add, delete = {f"clear {x}", f"ontable {x}", "handempty"}, {f"holding {x}"}, None
        delete = pre
    elif kind == "unstack":
        y = words[2]
        pre = {f"clear {x}", f"on {x} {y}", "handempty"}
        add, delete = {f"holding {x}", f"clear {y}"}, pre
    elif kind == "putdown":
        pre, add = {f"holding {x}"}, {f"ontable {x}", f"clear {x}", "handempty"}
        delete = pre
    else:
        y = words[2]
        pre = {f"holding {x}", f"clear {y}"}
        add, delete = {f"on {x} {y}", f"clear {x}", "handempty"}, pre
    if not pre <= facts:
        return None
    return frozenset((facts - delete) | add)


def all_actions(names: list[str]) -> list[list[str]]:
    single = [[kind, x] for kind in ("pickup", "putdown") for x in names]
    double = [[kind, x, y] for kind in ("unstack", "stack") for x in names for y in names if x != y]
    return single + double


def words_of(line: str) -> list[str]:
    """The library's canonical action lines as simulator words (the test reads only this form)."""
    parts = line.split()
    if parts[0] == "pick":
        return ["pickup", parts[2]]
    if parts[0] == "put":
        return ["putdown", parts[2]]
    return [parts[0], parts[1], parts[3]]


def line_of(words: list[str]) -> str:
    kind = words[0]
    if kind in ("pickup", "putdown"):
        return f"{kind[:-2] if kind == 'pickup' else 'put'} {'up' if kind == 'pickup' else 'down'} {words[1]}"
    return f"unstack {words[1]} from {words[2]}" if kind == "unstack" else f"stack {words[1]} on {words[2]}"


def simulate(problem, lines: list[str]) -> bool:
    """True when every action applies and the goal holds at the end."""
    facts = initial_facts(problem)
    for line in lines:
        facts = strips(facts, words_of(line))
        if facts is None:
            return False
    return goal_facts(problem) <= facts


def bfs_length(problem) -> int:
    names = [chr(ord("A") + i) for i in range(problem.content["blocks"])]
    start, goal = initial_facts(problem), goal_facts(problem)
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        facts, depth = queue.popleft()
        if goal <= facts:
            return depth
        for words in all_actions(names):
            child = strips(facts, words)
            if child is not None and child not in seen:
                seen.add(child)
                queue.append((child, depth + 1))
    raise AssertionError("goal unreachable")


def test_simulator_helpers_agree_on_a_worked_example():
    task = BlocksWorldTask()
    problem = task.make_problem("q", {"blocks": 3, "initial": [["B", "A"], ["C"]], "goal": [["on", "B", "A"]]},
                                "", task.difficulty(), {"optimal_length": 4})
    plan = ["unstack A from B", "put down A", "pick up B", "stack B on A"]
    assert simulate(problem, plan) and bfs_length(problem) == 4
    assert task.score(problem, "<plan>\n" + "\n".join(plan) + "\n</plan>").reward == 1.0
    assert task.score(problem, "1. Unstack the A block from on top of the B block.\n2) put-down a\n"
                               "- pick up B\n* (stack b a)").correct
    bad = task.score(problem, "<plan>pick up B\nstack B on A</plan>")
    assert bad.reward == 0.0 and bad.error == "line 1 (pick up B): B is not clear"
    short = task.score(problem, "<plan>unstack A from B\nput down A</plan>")
    assert short.error == "the goal does not hold after the plan's 2 actions" and short.components["executable"] == 1.0


def test_each_failed_precondition_is_named():
    task = BlocksWorldTask()
    problem = task.make_problem("q", {"blocks": 3, "initial": [["B", "A"], ["C"]], "goal": [["on", "B", "A"]]},
                                "", task.difficulty(), {"optimal_length": 4})
    cases = {
        "pick up C\nstack C on B": "line 2 (stack C on B): B is not clear",
        "pick up A": "line 1 (pick up A): A is not on the table (use unstack)",
        "unstack C from A": "line 1 (unstack C from A): C is not on A",
        "unstack A from B\npick up C": "line 2 (pick up C): the hand is not empty (it holds A)",
        "unstack A from B\nstack A on A": "line 2 (stack A on A): A is not clear",
        "unstack A from B\nput down C": "line 2 (put down C): the hand does not hold C (it holds A)",
        "fly": "line 1: cannot read an action",
    }
    for plan, reason in cases.items():
        score = task.score(problem, f"<plan>{plan}</plan>")
        assert score.reward == 0.0 and score.error.startswith(reason), (plan, score.error)


def test_random_action_sequences_match_the_independent_simulator():
    task = BlocksWorldTask()
    rng = np.random.default_rng(1)
    for seed in range(150):
        problem = task.problem_at(seed, 0, {"blocks": 4, "plan_length": 4})
        names = [chr(ord("A") + i) for i in range(4)]
        facts, lines, legal = initial_facts(problem), [], True
        for _ in range(int(rng.integers(1, 12))):
            options = [a for a in all_actions(names) if strips(facts, a) is not None]
            if rng.random() < 0.1:
                options = all_actions(names)
            words = options[int(rng.integers(len(options)))]
            lines.append(line_of(words))
            facts = strips(facts, words)
            if facts is None:
                legal = False
                break
        score = task.score(problem, "<plan>" + "\n".join(lines) + "</plan>")
        assert score.components["executable"] == float(legal), lines
        assert score.correct == (legal and goal_facts(problem) <= facts), lines


def test_oracle_is_optimal_and_mutations_are_judged_by_the_rules():
    task = BlocksWorldTask()
    rng = np.random.default_rng(0)
    for seed in range(60):
        difficulty = {"blocks": 4 + seed % 2, "plan_length": 2 * (1 + seed % 4)}
        problem = task.problem_at(seed, 0, difficulty)
        plan = problem.metadata["solution"]
        assert simulate(problem, plan) and len(plan) == difficulty["plan_length"]
        assert task.score(problem, task.solve(problem)).reward == 1.0
        names = [chr(ord("A") + i) for i in range(problem.content["blocks"])]
        mutations = []
        i = int(rng.integers(len(plan)))
        mutations.append(plan[:i] + plan[i + 1:])
        if len(plan) > 1:
            j = int(rng.integers(len(plan) - 1))
            mutations.append(plan[:j] + [plan[j + 1], plan[j]] + plan[j + 2:])
        actions = all_actions(names)
        changed = line_of(actions[int(rng.integers(len(actions)))])
        mutations.append(plan[:i] + [changed] + plan[i + 1:])
        for mutated in mutations:
            score = task.score(problem, "<plan>\n" + "\n".join(mutated) + "\n</plan>")
            assert score.correct == simulate(problem, mutated), (problem.content, mutated, score)
            if len(mutated) < len(plan):
                assert not score.correct  # shorter than optimal can never reach the goal


@pytest.mark.parametrize("blocks,length", [(3, 2), (3, 6), (4, 4), (4, 8), (5, 6), (5, 8)])
def test_plan_length_knob_is_the_breadth_first_optimum(blocks, length):
    task = BlocksWorldTask()
    for index in range(4):
        problem = task.problem_at(11, index, {"blocks": blocks, "plan_length": length})
        assert problem.content["blocks"] == blocks
        assert bfs_length(problem) == length == problem.metadata["optimal_length"]


def test_bad_knobs_and_infeasible_lengths_are_clear_errors():
    with pytest.raises(ValueError, match="even"):
        BlocksWorldTask().problem_at(0, 0, {"plan_length": 5})
    with pytest.raises(ValueError, match="at most 2 \\* blocks"):
        BlocksWorldTask().problem_at(0, 0, {"blocks": 3, "plan_length": 8})
    with pytest.raises(KeyError, match="did you mean"):
        BlocksWorldTask().problem_at(0, 0, {"block": 3})


def test_overlength_penalty_and_generation_is_seeded():
    task = BlocksWorldTask(overlength_penalty=0.1)
    problem = task.problem_at(3, 0, {"blocks": 4, "plan_length": 4})
    clear_top = next(t[-1] for t in problem.content["initial"] if len(t) == 1)
    detour = [f"pick up {clear_top}", f"put down {clear_top}"] + problem.metadata["solution"]
    score = task.score(problem, "<plan>" + "\n".join(detour) + "</plan>")
    assert score.correct and score.reward == pytest.approx(0.8) and score.components["optimal"] == 0.0
    first = [task.problem_at(5, i).problem_id for i in range(20)]
    assert first == [task.problem_at(5, i).problem_id for i in range(20)]
    assert first != [task.problem_at(6, i).problem_id for i in range(20)]


def test_parser_forms_and_bounds():
    same = ["unstack A from B", "Unstack the A block from on top of the B block.", "UNSTACK a OFF b",
            "unstack block A from top of block B", "(unstack a b)", "  unstack A off of B  "]
    assert {parse_action(text, 3) for text in same} == {("unstack", 0, 1)}
    assert parse_action("stack C onto the A", 3) == ("stack", 2, 0) == parse_action("(stack c a)", 3)
    assert parse_action("pickup b", 3) == ("pick up", 1) == parse_action("Pick up the B block", 3)
    assert parse_action("putdown c", 3) == ("put down", 2) == parse_action("(put-down c)", 3)
    for text, reason in [("pick up A and B", "cannot read"), ("stack A", "cannot read"), ("pick up Q", "unknown block"),
                         ("x" * 300, "at most 200"), ("", "cannot read")]:
        assert reason in parse_action(text, 3), text


def test_task_check_and_env_checker():
    check_task(BlocksWorldTask(), n=20)
    check_task(BlocksWorldTask(), n=10, difficulty={"blocks": 8, "plan_length": 8})
    for env in (BlocksWorldEnv(), BlocksWorldStepEnv(), BlocksWorldStepEnv(illegal_action="continue")):
        check_env(env, skip_render_check=True)


def test_step_env_oracle_plays_optimal_plans_even_after_a_detour():
    env = BlocksWorldStepEnv(blocks=5, plan_length=6)
    for seed in range(15):
        env.reset(seed=seed)
        total, steps, done = 0.0, 0, False
        while not done:
            _, reward, terminated, truncated, info = env.step(env.oracle_action())
            total, steps, done = total + reward, steps + 1, terminated or truncated
        assert total == 1.0 and steps == 6 and info["correct"] and terminated
    # Detour: hold some block first; the oracle must plan from a held state.
    env = BlocksWorldStepEnv(blocks=5, plan_length=6, illegal_action="continue")
    env.reset(seed=3)
    for letter in "ABCDE":
        _, _, _, _, info = env.step(f"pick up {letter}")
        if info["error"] is None:
            break
    assert info["error"] is None and "The hand is holding" in env.unwrapped._observation()
    done = False
    while not done:
        _, reward, terminated, truncated, info = env.step(env.oracle_action())
        done = terminated or truncated
    assert info["correct"] and reward == 1.0 and len(info["actions"]) in (6, 7, 8)


def test_step_env_illegal_actions_give_the_reason():
    env = BlocksWorldStepEnv()
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step("put down A")
    assert (reward, terminated, truncated) == (0.0, True, False)
    assert info["error"] == "put down A: the hand does not hold A" and info["illegal"] and not info["correct"]
    env = BlocksWorldStepEnv(illegal_action="continue", step_limit=3)
    observation, _ = env.reset(seed=0)
    again, reward, terminated, truncated, info = env.step("fly away")
    assert not terminated and not truncated and reward == 0.0 and "cannot read" in info["error"]
    assert again == observation  # the state did not change
    env.step("stack Q on A")
    _, reward, terminated, truncated, info = env.step("stack Q on A")
    assert truncated and not terminated and reward == 0.0 and "step limit" in info["error"]
    with pytest.raises(ValueError, match="illegal_action"):
        BlocksWorldStepEnv(illegal_action="ignore")


def test_step_env_state_round_trips_and_pickles():
    env = BlocksWorldStepEnv(blocks=4, plan_length=6)
    env.reset(seed=4)
    env.step(env.oracle_action())
    state = env.get_state()
    twin = pickle.loads(pickle.dumps(env))
    first = env.step(env.oracle_action())
    assert twin.step(twin.oracle_action())[:4] == first[:4]
    env.set_state(state)
    assert env.step(env.oracle_action())[:4] == first[:4]


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=200))
def test_any_string_is_scored_without_raising(text):
    task = BlocksWorldTask()
    problem = task.problem_at(0, 0)
    score = task.score(problem, text)
    assert score.reward in (0.0, 1.0) and (score.error is None) == score.correct
    env = BlocksWorldStepEnv(illegal_action="continue")
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(text)
    assert reward in (0.0, 1.0) and not truncated


@pytest.mark.parametrize("env_id,entry_point", [
    ("rlvr-test/BlocksWorld-v0", "rlvr.envs.blocksworld.env:BlocksWorldEnv"),
    ("rlvr-test/BlocksWorldStep-v0", "rlvr.envs.blocksworld.step_env:BlocksWorldStepEnv"),
])
def test_env_conformance(env_id, entry_point):
    gymnasium.register(id=env_id, entry_point=entry_point)
    try:
        check_env_conformance(env_id, episodes=8)
    finally:
        gymnasium.registry.pop(env_id)
