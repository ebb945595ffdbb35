"""Tests for `rlvr/MultiSelectCalc-v0`: select-all-that-apply arithmetic with soft partial credit.

Option values are checked with an evaluator of our own (Python's `ast` over the printed
expression, a whitelist of integer literals and + - * /, exact `Fraction`s), independent of the
generator. The hand-labelled responses in `data/multi_select_labels.jsonl` were decided by the
rule in their header line before the reader was written.
"""

from __future__ import annotations

import ast
import json
import pathlib
import time
from fractions import Fraction

import gymnasium as gym
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the ids)
from rlvr.envs.multi_select_calc import MultiSelectCalcEnv, MultiSelectCalcTask
from rlvr.rewards.choices import MAX_CHOICE_ANSWER_CHARS, read_choices, select_all_credit, select_all_reward

LABELS = pathlib.Path(__file__).parent / "data" / "multi_select_labels.jsonl"
LETTERS = "ABCDEFGHIJ"
ENV_ID = "rlvr/MultiSelectCalc-v0"


def independent_value(expression: str) -> tuple[Fraction, int]:
    """(exact value, number of binary operations) of a printed option, via Python's parser."""
    operations = 0

    def walk(node: ast.AST) -> Fraction:
        nonlocal operations
        if isinstance(node, ast.Constant) and type(node.value) is int:
            return Fraction(node.value)
        if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub) and isinstance(node.operand, ast.Constant):
            return -walk(node.operand)
        assert isinstance(node, ast.BinOp) and type(node.op) in (ast.Add, ast.Sub, ast.Mult, ast.Div), ast.dump(node)
        operations += 1
        left, right = walk(node.left), walk(node.right)
        if isinstance(node.op, ast.Add):
            return left + right
        if isinstance(node.op, ast.Sub):
            return left - right
        if isinstance(node.op, ast.Mult):
            return left * right
        assert right != 0, f"division by zero in {expression}"
        return left / right

    value = walk(ast.parse(expression, mode="eval").body)
    return value, operations


def problem_with(gold: str, choices: int, task: MultiSelectCalcTask | None = None):
    """A hand-made problem: `choices` options, the letters in `gold` ("A, C") correct."""
    task = task or MultiSelectCalcTask()
    options = [f"{i} + 1" for i in range(choices)]
    return task.make_problem("q", {"target": "7", "options": options}, gold,
                             task.difficulty({"choices": choices, "max_correct": choices}),
                             {"gold": gold.split(", "), "values": [str(i + 1) for i in range(choices)]})


def rule(chosen: set[str], gold: set[str]) -> float:
    """The credit rule, from sets: any wrong pick earns 0, else the share of the gold chosen."""
    return 0.0 if chosen - gold else len(chosen & gold) / len(gold)


# ---------------------------------------------------------------------------------- worked numbers


@pytest.mark.parametrize(("response", "partial", "exact"), [
    ("A", 0.5, 0.0), ("A, C", 1.0, 1.0), ("A, B", 0.0, 0.0), ("", 0.0, 0.0), ("C", 0.5, 0.0),
    ("Answer: A, B, C", 0.0, 0.0), ("Answer: none", 0.0, 0.0),
])
def test_worked_numbers_for_gold_a_c(response, partial, exact):
    for mode, expected in (("partial", partial), ("exact", exact)):
        task = MultiSelectCalcTask(reward_mode=mode)
        score = task.score(problem_with("A, C", 4, task), response)
        assert score.reward == pytest.approx(expected), (mode, response)
        assert score.components["credit"] == pytest.approx(partial)
        assert score.components["correct"] == exact
        assert score.correct == (exact == 1.0)


def test_partial_credit_with_three_gold():
    task = MultiSelectCalcTask()
    problem = problem_with("A, C, D", 5, task)
    assert task.score(problem, "Answer: D").reward == pytest.approx(1 / 3)
    assert task.score(problem, "Answer: A, D").reward == pytest.approx(2 / 3)
    assert task.score(problem, "Answer: A, C, D").reward == 1.0
    assert task.score(problem, "Answer: A, C, D, E").reward == 0.0


def test_info_reports_correct_credit_chosen_and_gold():
    env = gym.make(ENV_ID, num_ops=2, choices=4, min_correct=2, max_correct=2)
    env.reset(seed=3)
    gold = env.unwrapped.problem.answer.split(", ")
    _, reward, terminated, _, info = env.step(f"Answer: {gold[0]}")
    assert terminated and reward == 0.5
    assert info["chosen"] == [gold[0]] and info["gold"] == ", ".join(gold)
    assert info["components"]["credit"] == 0.5 and info["components"]["correct"] == 0.0 and not info["correct"]
    env.reset()
    _, reward, *_, info = env.step("I think A or B")
    assert reward == 0.0 and info["chosen"] is None and info["error"] == "hedged answer"
    assert set(info["components"]) == {"correct", "credit", "hits", "wrong"}
    exact = gym.make(ENV_ID, num_ops=2, choices=4, min_correct=2, max_correct=2, reward_mode="exact")
    exact.reset(seed=3)
    assert exact.step(f"Answer: {gold[0]}")[1] == 0.0


# ---------------------------------------------------------------------------------- the labels


def label_rows() -> list[dict]:
    lines = LABELS.read_text(encoding="utf-8").splitlines()
    header = json.loads(lines[0])
    assert set(header) == {"rule"} and len(header["rule"]) > 200
    return [json.loads(line) for line in lines[1:]]


def test_the_labels_file_has_the_cases_it_promises():
    rows = label_rows()
    assert len(rows) >= 40
    notes = " ".join(row["note"] for row in rows)
    for case in ("lowercase", "prose after", "inside earlier words", "repeated", "not an option", "hedge",
                 "empty", "over 100,000"):
        assert case in notes, case


@pytest.mark.parametrize("row", label_rows(), ids=lambda row: row["note"])
def test_every_label(row):
    response = row["response"]
    if "pad" in row:
        response = row["pad"]["text"] * row["pad"]["times"] + response
    reading = read_choices(response, row["choices"])
    assert (None if reading.chosen is None else sorted(reading.chosen)) == row["chosen"], reading
    gold = ", ".join(row["gold"])
    for mode in ("partial", "exact"):
        task = MultiSelectCalcTask(reward_mode=mode)
        score = task.score(problem_with(gold, row["choices"], task), response)
        assert score.reward == pytest.approx(row[mode]), (mode, score)
        assert score.components["credit"] == pytest.approx(row["partial"])
        assert score.components["correct"] == row["exact"]
        assert (score.chosen is None) == (row["chosen"] is None)
        if row["chosen"] is None:
            assert score.error, "an unread answer says why"


# ---------------------------------------------------------------------------------- properties


def _render(chosen: list[str], style: int, lower: bool) -> str:
    if not chosen:
        return "Answer: none"
    letters = [c.lower() for c in chosen] if lower else chosen
    forms = [", ".join(letters), ",".join(letters), " and ".join(letters), "{" + ", ".join(letters) + "}",
             "".join(chosen), f"<answer>{'; '.join(letters)}</answer>", f"\\boxed{{{', '.join(letters)}}}"]
    return "Let me check each option.\n" + (forms[style] if style >= 4 else f"Answer: {forms[style]}")


@st.composite
def gold_and_chosen(draw):
    count = draw(st.integers(2, 10))
    letters = list(LETTERS[:count])
    gold = draw(st.lists(st.sampled_from(letters), min_size=1, unique=True))
    chosen = draw(st.lists(st.sampled_from(letters), unique=True))
    return count, sorted(gold), chosen


@settings(max_examples=300, deadline=None)
@given(gold_and_chosen(), st.integers(0, 6), st.booleans())
def test_credit_equals_the_rule_from_sets(case, style, lower):
    count, gold, chosen = case
    response = _render(chosen, style, lower)
    expected = rule(set(chosen), set(gold))
    for mode in ("partial", "exact"):
        task = MultiSelectCalcTask(reward_mode=mode)
        score = task.score(problem_with(", ".join(gold), count, task), response)
        assert score.chosen == tuple(sorted(chosen)), (response, score)
        want = expected if mode == "partial" else float(set(chosen) == set(gold))
        assert score.reward == pytest.approx(want)
    assert select_all_credit(set(chosen), set(gold)) == pytest.approx(expected)
    assert select_all_reward([response], gold=[", ".join(gold)], choices=[count]) == [pytest.approx(expected)]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=400))
def test_any_string_in_a_score_out(text):
    task = MultiSelectCalcTask()
    problem = problem_with("A, C", 4, task)
    for response in (text, f"Answer: {text}", f"<answer>{text}</answer>"):
        score = task.score(problem, response)
        assert 0.0 <= score.reward <= 1.0 and set(score.components) == {"correct", "credit", "hits", "wrong"}


@pytest.mark.parametrize("response", [
    "A, " * 40_000, "A" * 99_000, "(" * 99_000, "{" * 99_000, "Answer: " * 12_000, "answer is " * 9_000,
    "Answer: " + "A " * 49_000, " " * 99_000 + "x", "\n" * 99_000 + "Answer: A", "<answer>" * 12_000,
    "\\boxed{" * 14_000, "A or " * 20_000, "A" * 300_000,
])
def test_hostile_long_inputs_are_read_in_time(response):
    task = MultiSelectCalcTask()
    problem = problem_with("A, C", 4, task)
    start = time.perf_counter()
    score = task.score(problem, response)
    assert time.perf_counter() - start < 1.0
    assert score.reward in (0.0, 0.5) and (score.chosen is None or score.chosen == ("A",))


def test_answers_over_the_cap_are_refused_unread():
    task = MultiSelectCalcTask()
    problem = problem_with("A, C", 4, task)
    long = "<answer>A" + " " * MAX_CHOICE_ANSWER_CHARS + "C</answer>"
    score = task.score(problem, long)
    assert score.reward == 0.0 and score.chosen is None and "more than" in score.error


# ---------------------------------------------------------------------------------- generation

KNOB_CASES = [
    {"num_ops": 1, "choices": 2, "min_correct": 1, "max_correct": 1},
    {"num_ops": 1, "choices": 10, "min_correct": 1, "max_correct": 10},
    {"num_ops": 2, "choices": 4, "min_correct": 2, "max_correct": 4},
    {},
    {"num_ops": 4, "choices": 6, "min_correct": 1, "max_correct": 6},
    {"num_ops": 6, "choices": 3, "min_correct": 3, "max_correct": 3},
    {"num_ops": 10, "choices": 4, "min_correct": 1, "max_correct": 2},
]


@pytest.mark.parametrize("knobs", KNOB_CASES, ids=str)
def test_oracle_earns_full_reward_and_options_have_the_values_they_claim(knobs):
    task, exact = MultiSelectCalcTask(), MultiSelectCalcTask(reward_mode="exact")
    difficulty = task.difficulty(knobs)
    for seed in range(6 if difficulty["num_ops"] >= 6 else 15):
        problem = task.problem_at(seed, 0, knobs)
        target = Fraction(problem.content["target"])
        options = problem.content["options"]
        gold = problem.answer.split(", ")
        assert len(options) == difficulty["choices"] == len(set(options))
        assert difficulty["min_correct"] <= len(gold) <= difficulty["max_correct"]
        for letter, expression in zip(LETTERS, options, strict=False):
            value, operations = independent_value(expression)
            assert operations == difficulty["num_ops"], expression
            assert (value == target) == (letter in gold), (expression, value, target, gold)
            assert f"{letter}. {expression}" in problem.prompt
        assert f"equal {problem.content['target']}?" in problem.prompt
        solution = task.solve(problem)
        for mode_task in (task, exact):
            score = mode_task.score(problem, solution)
            assert score.reward == 1.0 and score.correct and score.chosen == tuple(gold)
        # mutations of the oracle's answer: a letter dropped keeps partial credit, a wrong one added loses all
        wrong = next(letter for letter in LETTERS[: len(options)] if letter not in gold) if len(gold) < len(options) else None
        if len(gold) > 1:
            assert task.score(problem, f"Answer: {', '.join(gold[1:])}").reward == pytest.approx((len(gold) - 1) / len(gold))
        if wrong:
            assert task.score(problem, f"Answer: {', '.join([*gold, wrong])}").reward == 0.0


def test_distractors_include_near_misses_and_far_values():
    task = MultiSelectCalcTask()
    gaps = []
    for seed in range(40):
        problem = task.problem_at(seed, 0, {"choices": 6, "max_correct": 2})
        target = Fraction(problem.content["target"])
        gold = problem.answer.split(", ")
        gaps += [abs(independent_value(e)[0] - target) for letter, e in zip(LETTERS, problem.content["options"],
                                                                             strict=False) if letter not in gold]
    assert all(gap > 0 for gap in gaps)
    assert any(gap <= 5 for gap in gaps) and any(gap > 5 for gap in gaps)


def test_gold_positions_and_counts_vary():
    task = MultiSelectCalcTask()
    answers = [task.problem_at(seed, 0, {"choices": 5, "min_correct": 1, "max_correct": 3}).answer for seed in range(60)]
    counts = {len(a.split(", ")) for a in answers}
    firsts = {a[0] for a in answers}
    assert counts == {1, 2, 3} and len(firsts) >= 4


def test_deterministic_under_a_seed():
    task = MultiSelectCalcTask()
    assert task.problem_at(7, 3) == task.problem_at(7, 3)
    assert task.problem_at(7, 3).problem_id != task.problem_at(8, 3).problem_id
    streams = []
    for _ in range(2):
        env = gym.make(ENV_ID)
        prompt, info = env.reset(seed=11)
        stream = [(prompt, info["problem_id"])]
        for _ in range(3):
            prompt, info = env.reset()
            stream.append((prompt, info["problem_id"]))
        streams.append(stream)
    assert streams[0] == streams[1]
    assert len({problem_id for _, problem_id in streams[0]}) == 4


def test_env_plays_the_oracle_to_full_reward():
    env = gym.make(ENV_ID, num_ops=3, choices=6)
    for seed in range(5):
        env.reset(seed=seed)
        _, reward, terminated, truncated, info = env.step(env.unwrapped.oracle_action())
        assert reward == 1.0 and terminated and not truncated and info["correct"]


# ---------------------------------------------------------------------------------- knob validation


@pytest.mark.parametrize(("knobs", "message"), [
    ({"min_correct": 3, "max_correct": 2}, "min_correct <= max_correct"),
    ({"choices": 3, "max_correct": 4}, "max_correct <= choices"),
    ({"choices": 2, "min_correct": 3, "max_correct": 3}, "max_correct <= choices"),
    ({"min_correct": 0}, "must be >= 1"),
    ({"choices": 11}, "must be <= 10"),
    ({"choices": 1, "max_correct": 1}, "must be >= 2"),
    ({"num_ops": 0}, "must be >= 1"),
    ({"num_ops": 11}, "must be <= 10"),
])
def test_knob_validation_errors(knobs, message):
    with pytest.raises(ValueError, match=message):
        MultiSelectCalcTask().difficulty(knobs)
    with pytest.raises(ValueError, match=message):
        gym.make(ENV_ID, **knobs)
    env = gym.make(ENV_ID)
    with pytest.raises(ValueError, match=message):
        env.reset(seed=0, options={"difficulty": knobs})


def test_a_bad_reward_mode_and_knob_type_are_errors():
    with pytest.raises(ValueError, match="reward_mode must be one of"):
        MultiSelectCalcEnv(reward_mode="soft")
    with pytest.raises(TypeError, match="expects int"):
        MultiSelectCalcTask().difficulty({"choices": "4"})


def test_nothing_is_evaluated_as_code():
    sources = [pathlib.Path(rlvr.__file__).parent / path for path in
               ("envs/multi_select_calc.py", "envs/arithmetic/targeted.py", "envs/arithmetic/drawer.py",
                "rewards/choices.py")]
    for source in sources:
        tree = ast.parse(source.read_text(encoding="utf-8"))
        called = {node.func.id for node in ast.walk(tree) if isinstance(node, ast.Call) and isinstance(node.func, ast.Name)}
        assert not called & {"eval", "exec", "compile"}, source
