"""Tests for `rlvr/Math-v0`: generated free-form problems and user files, scored by `score_math`.

Each generated family is checked against an independent solution worked out from the question
text alone (substitution, `math.gcd`, Python's parser, test points for intervals).
"""

from __future__ import annotations

import ast
import json
import math
import re
import sys
from fractions import Fraction

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the ids)
from rlvr.core.formatting import format_number
from rlvr.envs.math_text import FAMILIES, MathEnv, MathTask, MissingColumnError

INT = r"-?\d+"


def problems(family: str, count: int, max_value: int = 12):
    task = MathTask()
    return [task.problem_at(seed, 0, {"families": (family,), "max_value": max_value}) for seed in range(count)]


def fraction_expression_value(latex: str) -> Fraction:
    """Evaluate '\\frac{a}{b} + 3 \\times \\frac{c}{d}' with Python's parser over Fractions."""
    python = re.sub(r"\\frac\{(\d+)\}\{(\d+)\}", r"(\1/\2)", latex).replace("\\times", "*").replace("\\div", "/")

    def walk(node):
        if isinstance(node, ast.Expression):
            return walk(node.body)
        if isinstance(node, ast.Constant):
            return Fraction(node.value)
        operations = {ast.Add: "__add__", ast.Sub: "__sub__", ast.Mult: "__mul__", ast.Div: "__truediv__"}
        return getattr(walk(node.left), operations[type(node.op)])(walk(node.right))

    return walk(ast.parse(python, mode="eval"))


def latex_value(text: str) -> Fraction:
    """'5', '-5', '\\frac{7}{3}' or '-\\frac{7}{3}' as a Fraction."""
    match = re.fullmatch(r"(-?)\\frac\{(\d+)\}\{(\d+)\}", text)
    if match:
        return (-1 if match[1] else 1) * Fraction(int(match[2]), int(match[3]))
    return Fraction(text)


def side_value(side: str) -> tuple[int, int]:
    """(coefficient, constant) of '3x - 5', '-x', 'x + 2' or '7'."""
    match = re.fullmatch(r"(?:(-?\d*)x)?\s*(?:([+-])?\s*(\d+))?", side.strip())
    assert match, side
    coefficient_text, sign, constant = match.groups()
    if "x" not in side:
        return 0, int(side)
    coefficient = {"": 1, "-": -1}.get(coefficient_text)
    coefficient = int(coefficient_text) if coefficient is None else coefficient
    return coefficient, (int(constant) * (-1 if sign == "-" else 1)) if constant else 0


def test_linear_equation_answers_satisfy_the_equation():
    for problem in problems("linear_equation", 40):
        left, right = re.fullmatch(r"Solve for x: (.*) = (.*)\.", problem.metadata["question"]).groups()
        (a, b), (c, d) = side_value(left), side_value(right)
        x = Fraction(problem.answer)
        assert a * x + b == c * x + d, (problem.metadata["question"], problem.answer)


def test_fraction_arithmetic_answers_match_an_independent_evaluation():
    for problem in problems("fraction_arithmetic", 40):
        latex = re.search(r"\$(.*)\$", problem.metadata["question"]).group(1)
        assert Fraction(problem.answer) == fraction_expression_value(latex)
        assert problem.answer == str(Fraction(problem.answer))  # reduced


def test_percentage_and_gcd_lcm_answers():
    for problem in problems("percentage", 40):
        question = problem.metadata["question"]
        if question.startswith("What is"):
            percent, whole = map(int, re.findall(INT, question))
            assert Fraction(problem.answer) == Fraction(percent * whole, 100)
        else:
            part, whole = re.match(r"([\d.]+) is what percent of (\d+)", question).groups()
            assert Fraction(part) * 100 == Fraction(problem.answer) * int(whole)
    for problem in problems("gcd_lcm", 40):
        first, second = map(int, re.findall(INT, problem.metadata["question"]))
        expected = math.gcd(first, second) if "greatest" in problem.metadata["question"] else math.lcm(first, second)
        assert problem.answer == str(expected)


def test_linear_inequality_intervals_contain_exactly_the_solutions():
    relations = {"<": Fraction.__lt__, "\\le": Fraction.__le__, ">": Fraction.__gt__, "\\ge": Fraction.__ge__}
    for problem in problems("linear_inequality", 40):
        side, relation, bound = re.search(r"\$(.*) (<|\\le|>|\\ge) (-?\d+)\$", problem.metadata["question"]).groups()
        a, b = side_value(side)
        opening, low, high, closing = re.fullmatch(r"([\[(])(.*), (.*)([\])])", problem.answer).groups()
        endpoint = low if high == "\\infty" else high
        endpoint = latex_value(endpoint)
        for x in (endpoint - 1, endpoint - Fraction(1, 1000), endpoint, endpoint + Fraction(1, 1000), endpoint + 1):
            solves = relations[relation](Fraction(a) * x + b, Fraction(int(bound)))
            if high == "\\infty":
                inside = x > endpoint or (x == endpoint and opening == "[")
            else:
                inside = x < endpoint or (x == endpoint and closing == "]")
            assert solves == inside, (problem.metadata["question"], problem.answer, x)


def test_format_number_is_exact():
    for value in (Fraction(175, 2), Fraction(-3, 40), Fraction(1, 3), Fraction(-12), Fraction(1, 1024)):
        assert Fraction(format_number(value, decimals=True)) == value


@pytest.mark.parametrize("family", FAMILIES)
def test_oracle_scores_correct_and_mutations_score_zero(family):
    task = MathTask()
    for problem in problems(family, 15):
        assert problem.metadata["source"] == "generated" and problem.metadata["family"] == family
        assert task.score(problem, task.solve(problem)).reward == 1.0
        if problem.metadata["answer_kind"] == "number":
            gold = Fraction(problem.answer)
            for wrong in (gold + 1, gold - Fraction(1, 7)):
                score = task.score(problem, f"\\boxed{{{format_number(wrong, decimals=True)}}}")
                assert score.reward == 0.0, (problem.answer, wrong)
        else:  # flip the bracket at the finite endpoint: open <-> closed
            flipped = problem.answer.translate(str.maketrans("()[]", "[]()"))
            flipped = flipped.replace("[-\\infty", "(-\\infty").replace("\\infty]", "\\infty)")
            assert task.score(problem, f"\\boxed{{{flipped}}}").reward == 0.0, flipped


def test_restating_the_question_earns_nothing():
    task = MathTask()
    problem = task.make_problem(
        "What is the greatest common divisor of 84 and 126?", {"q": 1}, "42", task.difficulty(),
        metadata={"answer_kind": "number"},
    )
    assert task.score(problem, "\\boxed{42}").correct
    for echo in ("\\boxed{\\gcd(84, 126)}", "\\boxed{84 - 42}", "\\boxed{2 \\cdot 21}"):
        score = task.score(problem, echo)
        assert score.reward == 0.0 and "expression" in score.error, echo
    assert task.score(problem, "Answer: 42 or 84").reward == 0.0  # hedged


def test_extraction_modes_are_configurable():
    problem = MathTask().problem_at(0, 0, {"families": ("gcd_lcm",)})
    bare = f"The result is {problem.answer}"
    assert MathTask().score(problem, bare).correct
    assert not MathTask(extraction=("boxed",)).score(problem, bare).correct
    assert MathTask(extraction=("answer_line",)).score(problem, f"Answer: {problem.answer}").correct
    assert not MathTask(extraction=("answer_line",)).score(problem, f"\\boxed{{{problem.answer}}}").correct
    with pytest.raises(ValueError, match="extraction"):
        MathEnv(extraction=("last-number",))


def write_jsonl(path, rows):
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


ROWS = [
    {"question": "How many sides has a hexagon?", "answer": "6"},
    {"question": "Simplify $\\sqrt{12}$.", "answer": "2\\sqrt{3}"},
    {"question": "What is 1/2 + 1/3?", "answer": "5/6"},
    {"question": "Give the solution set of $x^2 < 4$.", "answer": "(-2, 2)"},
    {"question": "How many primes are below 10?", "answer": 4},
]


def test_jsonl_file_source(tmp_path):
    path = write_jsonl(tmp_path / "rows.jsonl", ROWS)
    env = MathEnv(data_path=path)
    questions = {row["question"] for row in ROWS}
    seen = set()
    for seed in range(30):
        prompt, info = env.reset(seed=seed)
        problem = env.unwrapped.problem
        assert problem.metadata["source"] == "file" and problem.metadata["question"] in questions
        assert problem.metadata["question"] in prompt
        seen.add(problem.metadata["question"])
        _, reward, _, _, step_info = env.step(env.task.solve(problem))
        assert reward == 1.0, (problem.answer, step_info["error"])
    assert len(seen) >= 4
    env.reset(seed=5)
    _, reward, _, _, info = env.step("\\boxed{7}")
    assert reward == 0.0 and info["gold"] == env.problem.answer


def test_file_source_determinism_identity_and_custom_columns(tmp_path):
    rows = [{"q": f"What is {n} + {n}?", "a": str(2 * n)} for n in range(20)] + [{"q": "What is 0 + 0?", "a": "0"}]
    path = write_jsonl(tmp_path / "custom.jsonl", rows)
    task = MathTask(data_path=path, question_column="q", answer_column="a")
    first = [task.problem_at(3, i).problem_id for i in range(15)]
    assert first == [task.problem_at(3, i).problem_id for i in range(15)]
    assert first != [task.problem_at(4, i).problem_id for i in range(15)]
    by_question = {}
    for i in range(200):  # the duplicated row appears under one id whichever index drew it
        problem = task.problem_at(0, i)
        by_question.setdefault(problem.metadata["question"], set()).add(problem.problem_id)
    assert all(len(ids) == 1 for ids in by_question.values())
    assert len(by_question) == 20


def test_file_errors_are_clear(tmp_path):
    missing = write_jsonl(tmp_path / "missing.jsonl", [{"question": "q", "solution": "1"}])
    with pytest.raises(MissingColumnError, match=r"line 1: no column 'answer'; the row has \['question', 'solution'\]"):
        MathEnv(data_path=missing)
    with pytest.raises(MissingColumnError, match="did you mean: answer"):
        MathEnv(data_path=write_jsonl(tmp_path / "ok.jsonl", ROWS), answer_column="answr")
    bad_json = tmp_path / "bad.jsonl"
    bad_json.write_text('{"question": "q", "answer": "1"}\n{"question": \n', encoding="utf-8")
    with pytest.raises(ValueError, match="line 2: not valid JSON"):
        MathTask(data_path=bad_json)
    with pytest.raises(ValueError, match="line 1: 'answer' must be a string or a number, got bool"):
        MathTask(data_path=write_jsonl(tmp_path / "b.jsonl", [{"question": "q", "answer": True}]))
    with pytest.raises(ValueError, match="'question' must be a non-empty string"):
        MathTask(data_path=write_jsonl(tmp_path / "e.jsonl", [{"question": " ", "answer": "1"}]))
    with pytest.raises(ValueError, match="more than max_rows=3"):
        MathTask(data_path=write_jsonl(tmp_path / "many.jsonl", ROWS), max_rows=3)
    with pytest.raises(ValueError, match="over the limit of 10"):
        MathTask(data_path=write_jsonl(tmp_path / "big.jsonl", ROWS), max_bytes=10)
    with pytest.raises(ValueError, match="holds no rows"):
        MathTask(data_path=write_jsonl(tmp_path / "empty.jsonl", []))
    with pytest.raises(ValueError, match="cannot tell the format"):
        MathTask(data_path=write_jsonl(tmp_path / "rows.csv", ROWS))
    with pytest.raises(FileNotFoundError, match="nowhere.jsonl"):
        MathTask(data_path=tmp_path / "nowhere.jsonl")
    with pytest.raises(TypeError, match=r"unexpected keyword argument 'max_value'.*difficulty knobs \[\]"):
        MathEnv(data_path=write_jsonl(tmp_path / "k.jsonl", ROWS), max_value=5)
    with pytest.raises(TypeError, match="to the task"):
        MathEnv(MathTask(), data_path=tmp_path / "k.jsonl")
    with pytest.raises(TypeError, match="data_path"):
        MathEnv(datapath="x.jsonl")


def test_parquet_file_source(tmp_path):
    pyarrow = pytest.importorskip("pyarrow")
    import pyarrow.parquet as parquet

    table = pyarrow.table({"problem": [r["question"] for r in ROWS], "solution": [str(r["answer"]) for r in ROWS]})
    path = tmp_path / "rows.parquet"
    parquet.write_table(table, path)
    task = MathTask(data_path=path, question_column="problem", answer_column="solution")
    assert {task.problem_at(s, 0).metadata["question"] for s in range(40)} <= {r["question"] for r in ROWS}
    problem = task.problem_at(0, 0)
    assert task.score(problem, task.solve(problem)).correct
    with pytest.raises(MissingColumnError, match=r"no column 'question'; its columns are \['problem', 'solution'\]"):
        MathTask(data_path=path)


def test_parquet_without_pyarrow_is_a_clear_error(tmp_path, monkeypatch):
    path = tmp_path / "rows.parquet"
    path.write_bytes(b"PAR1")
    monkeypatch.setitem(sys.modules, "pyarrow", None)
    monkeypatch.setitem(sys.modules, "pyarrow.parquet", None)
    with pytest.raises(ImportError, match="pip install pyarrow"):
        MathTask(data_path=path)


def test_generated_problems_are_deterministic_and_splits_disjoint():
    task = MathTask()
    assert [task.problem_at(9, i).prompt for i in range(10)] == [task.problem_at(9, i).prompt for i in range(10)]
    assert [task.problem_at(9, i).prompt for i in range(10)] != [task.problem_at(10, i).prompt for i in range(10)]
    ids = {}
    for split in ("train", "eval"):
        env = MathEnv(split=split)
        env.reset(seed=1)
        ids[split] = {env.reset()[1]["problem_id"] for _ in range(50)}
        assert env.problem.split == split
    assert not ids["train"] & ids["eval"]


def test_file_splits_are_disjoint(tmp_path):
    rows = [{"question": f"What is {n} squared?", "answer": str(n * n)} for n in range(60)]
    path = write_jsonl(tmp_path / "squares.jsonl", rows)
    seen = {}
    for split in ("train", "eval"):
        task = MathTask(data_path=path)
        seen[split] = {task.problem_at(0, i, split=split).problem_id for i in range(40)}
    assert seen["train"] and seen["eval"] and not seen["train"] & seen["eval"]


def test_check_env_passes():
    check_env(gym.make("rlvr/Math-v0").unwrapped)


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.one_of(
        st.text(max_size=300),
        st.builds(lambda s: f"\\boxed{{{s}}}", st.text(max_size=60)),
        st.builds(lambda s: f"Answer: {s}", st.text(alphabet="0123456789-/.,+ ()[]x^*\\{}", max_size=40)),
    ),
    st.sampled_from(FAMILIES),
)
def test_any_string_gets_a_reward_in_unit_interval(response, family):
    task = MathTask()
    problem = task.problem_at(0, 0, {"families": (family,)})
    score = task.score(problem, response)
    assert 0.0 <= score.reward <= 1.0
    assert score.correct or score.error


def test_file_env_pickles(tmp_path):
    import pickle

    env = MathEnv(data_path=write_jsonl(tmp_path / "rows.jsonl", ROWS), extraction=("boxed",))
    clone = pickle.loads(pickle.dumps(env))
    assert clone.reset(seed=2)[0] == env.reset(seed=2)[0]
    assert clone.task.extraction == ("boxed",) and clone.task.rows == env.task.rows
