"""The verifiers-style `load_environment`: export's rows, a rubric that is the task's own verdict."""

from __future__ import annotations

import json

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.core.problem import problem_from_json
from rlvr.export import iter_rows
from rlvr.integrations.verifiers_env import load_environment
from rlvr.registration import ids

SINGLE_AGENT = ids("gymnasium")


def responses(env, row):
    """The oracle's response, the gold answer, nothing, a wrong guess: verdicts of every kind."""
    problem = problem_from_json(row["info"]["problem"])
    solution = env.task.solve(problem)
    return [r for r in (solution, row["answer"], f"<answer>{row['answer']}</answer>", "", "no idea")
            if isinstance(r, str)]


@pytest.mark.parametrize("env_id", SINGLE_AGENT)
def test_every_id_loads_and_its_rubric_is_the_tasks_score(env_id):
    env = load_environment(env_id, num_examples=2, seed=0)
    assert len(env.dataset) == 2
    assert env.rubric.weights[0] == 1.0 and set(env.rubric.weights[1:]) <= {0.0}
    assert len(env.rubric.funcs) == len(env.rubric.weights) == len(env.rubric.components)
    assert env.rubric.components[:2] == [None, "correct"]
    names = [f.__name__ for f in env.rubric.funcs]
    assert len(set(names)) == len(names)  # verifiers logs each function under its name
    for row in env.dataset:
        assert set(row) == {"question", "answer", "info"}
        problem = problem_from_json(row["info"]["problem"])
        assert row["info"]["problem_id"] == problem.problem_id and row["info"]["env_id"] == env_id
        for response in responses(env, row):
            verdict = env.task.score(problem, response)
            # every component the task reports has a rubric function
            assert set(verdict.components) <= set(env.rubric.components[1:])
            for func, component in zip(env.rubric.funcs, env.rubric.components, strict=True):
                expected = verdict.reward if component is None else verdict.components.get(component, 0.0)
                # verifiers passes chat completions; plain text (completion mode) scores the same
                chat = [{"role": "assistant", "content": response}]
                assert func(completion=chat, answer=row["answer"], info=row["info"], prompt="p", state={}) \
                    == pytest.approx(expected)
                assert func(completion=response, answer=row["answer"], info=row["info"]) == pytest.approx(expected)
            assert env.rubric.score(response, row["answer"], row["info"])["reward"] == pytest.approx(verdict.reward)


@pytest.mark.parametrize(("env_id", "split", "knobs"), [
    ("rlvr/Countdown-v0", "train", {"number_count": 3}),
    ("rlvr/Sudoku-v0", "test", {}),
])
def test_rows_equal_rlvr_export_rows(env_id, split, knobs):
    env = load_environment(env_id, 4, 11, split=split, **knobs)
    rows = list(iter_rows(env_id, 4, 11, split=split, difficulty=knobs))
    for mine, row in zip(env.dataset, rows, strict=True):
        assert (mine["question"], mine["answer"]) == (row["prompt"], row["answer"])
        assert mine["info"]["problem"] == row["problem"]
        assert mine["info"]["split"] == row["split"] == split
    assert load_environment(env_id, 4, 11, split=split, **knobs).dataset == env.dataset


def test_the_oracle_gets_the_reward_and_a_wrong_answer_none():
    env = load_environment("rlvr/RandomCalc-v0", 5, 2)
    reward = env.rubric.funcs[0]
    for row in env.dataset:
        solution = env.task.solve(problem_from_json(row["info"]["problem"]))
        assert reward(completion=solution, answer=row["answer"], info=row["info"]) == 1.0
        assert reward(completion=f"\\boxed{{{row['answer']}1}}", answer=row["answer"], info=row["info"]) == 0.0


def test_info_as_json_text_scores_the_same():
    env = load_environment("rlvr/Countdown-v0", 1, 0)
    row = env.dataset[0]
    solution = env.task.solve(problem_from_json(row["info"]["problem"]))
    assert env.rubric.funcs[0](completion=solution, answer=row["answer"], info=json.dumps(row["info"])) == 1.0


HOSTILE_COMPLETIONS = [None, 7, b"x", {"content": "1"}, [{"role": "assistant", "content": 5}],
                       [{"role": "assistant", "content": [{"type": "text", "text": 5}]}], [3, "a"], "9" * 100_000,
                       "x" * 100_000, "<answer>" + "(" * 50_000 + "</answer>"]


def test_hostile_input_scores_zero_without_exceptions():
    env = load_environment("rlvr/Countdown-v0", 1, 0)
    row = env.dataset[0]
    solution = env.task.solve(problem_from_json(row["info"]["problem"]))
    other = load_environment("rlvr/Dyck-v0", 1, 0).dataset[0]["info"]
    bad_infos = [None, "{", "[" * 100_000, {"problem": "{"}, {"problem": 7}, {}, other,
                 {"problem": json.dumps({"task": "countdown"})}]
    for func in env.rubric.funcs:
        for completion in HOSTILE_COMPLETIONS:
            assert func(completion=completion, answer=row["answer"], info=row["info"]) == 0.0, repr(completion)[:60]
        for info in bad_infos:
            assert func(completion=solution, answer=row["answer"], info=info) == 0.0, repr(info)[:60]


@settings(max_examples=50, deadline=None)
@given(text=st.text(max_size=300))
def test_any_text_scores_a_number(text):
    env = _countdown()
    row = env.dataset[0]
    values = env.rubric.score(text, row["answer"], row["info"])
    assert all(isinstance(v, float) for v in values.values())


_CACHE: dict = {}


def _countdown():
    return _CACHE.setdefault("env", load_environment("rlvr/Countdown-v0", 1, 0))


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="num_examples must be a non-negative integer"):
        load_environment("rlvr/RandomCalc-v0", -1)
    with pytest.raises(KeyError, match="did you mean"):
        load_environment("rlvr/RandomCalc-v0", 1, num_opps=2)
    assert load_environment("rlvr/RandomCalc-v0", 0).rubric.components[:2] == [None, "correct"]


def test_hf_dataset_has_the_verifiers_columns():
    pytest.importorskip("datasets")
    dataset = load_environment("rlvr/RandomCalc-v0", 3, 0).to_hf_dataset()
    assert {"question", "answer", "info"} <= set(dataset.column_names) and len(dataset) == 3


def test_a_real_verifiers_single_turn_env_builds():
    """Runs where a verifiers release with the classic API (SingleTurnEnv, Rubric) is installed."""
    vf = pytest.importorskip("verifiers")
    if not hasattr(vf, "SingleTurnEnv"):
        pytest.skip(f"verifiers {getattr(vf, '__version__', '?')} has no SingleTurnEnv (the v1 stack replaced it)")
    env = load_environment("rlvr/RandomCalc-v0", 3, 0)
    vf_env = env.to_verifiers()
    assert len(vf_env.dataset) == 3
