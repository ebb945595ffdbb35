"""Tests for `rlvr.export`: the env's own problems, a train split by default, a `problem` column
our verifiers score, documented answers, and writes that never lose an existing file."""

from __future__ import annotations

import json
import os

import gymnasium as gym
import pytest

import rlvr
from rlvr.cli import main as cli
from rlvr.core.problem import problem_from_json, split_of
from rlvr.export import ANSWER_KINDS, COLUMNS, TASK_ANSWER_KINDS, export_dataset, iter_rows, read_dataset
from rlvr.registration import resolve

GYM_IDS = rlvr.ids("gymnasium")
EXTENSIONS = [".jsonl", pytest.param(".parquet", marks=pytest.mark.skipif(
    __import__("importlib").util.find_spec("pyarrow") is None, reason="needs pyarrow"))]


def env_stream(env_id: str, seed: int, count: int, **kwargs) -> list[tuple[str, str]]:
    """(problem id, prompt) of `reset(seed=seed)` then `reset()` count-1 times on gym.make."""
    env = gym.make(env_id, disable_env_checker=True, **kwargs)
    _, info = env.reset(seed=seed)
    served = [(info["problem_id"], env.unwrapped.problem.prompt)]
    for _ in range(count - 1):
        _, info = env.reset()
        served.append((info["problem_id"], env.unwrapped.problem.prompt))
    env.close()
    return served


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_exported_problems_are_the_ones_the_env_serves(env_id):
    """Export, `resolve` and the env are one stream: same ids and prompts for seed s, every id."""
    seed, count = 7, 4
    exported = [(row["problem_id"], row["prompt"]) for row in iter_rows(env_id, count, seed, split="all")]
    assert exported == env_stream(env_id, seed, count)
    train = [(row["problem_id"], row["prompt"]) for row in iter_rows(env_id, count, seed)]
    assert train == env_stream(env_id, seed, count, split="train")


def test_mathtree_step_export_matches_its_env_not_the_plain_task():
    """The measured failure: the export drew MathTree's default (target-mode) problems."""
    rows = list(iter_rows("rlvr/MathTreeStep-v0", 3, 0, split="all"))
    env = gym.make("rlvr/MathTreeStep-v0").unwrapped
    assert all(json.loads(r["difficulty"])["mode"] == "countdown" == env.difficulty["mode"] for r in rows)
    assert all(json.loads(r["difficulty"])["number_count"] == 4 for r in rows)
    assert "Work one step per turn" in rows[0]["prompt"]


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_round_trip_and_columns(tmp_path, extension):
    out = tmp_path / f"data{extension}"
    assert export_dataset("rlvr/KGPathLong-v0", 5, 11, str(out)) == 5
    rows = read_dataset(str(out))
    assert len(rows) == 5 and all(set(row) == set(COLUMNS) for row in rows)
    source = resolve("rlvr/KGPathLong-v0", split="train")
    for row, problem in zip(rows, source.problems(11, 5), strict=True):
        assert row["problem_id"] == problem.problem_id and row["prompt"] == problem.prompt
        assert json.loads(row["messages"]) == [dict(m) for m in problem.messages]
        assert json.loads(row["difficulty"])["hops"] == [4, 5]  # the registry's knobs
        assert row["split"] == "train" and row["task"] == "kg-path" and row["answer"] == problem.answer
        assert problem_from_json(row["problem"]) == problem_from_json(json.dumps(problem.to_record()))
    again = tmp_path / f"again{extension}"
    export_dataset("rlvr/KGPathLong-v0", 5, 11, str(again))
    assert read_dataset(str(again)) == rows


def test_default_split_is_train_and_rows_name_their_split(tmp_path):
    """The measured leak: the default export mixed train/eval/test with no split column."""
    default, mixed = tmp_path / "default.jsonl", tmp_path / "all.jsonl"
    export_dataset("rlvr/Countdown-v0", 60, 0, default)
    export_dataset("rlvr/Countdown-v0", 60, 0, mixed, split="all")
    assert {row["split"] for row in read_dataset(default)} == {"train"}
    rows = read_dataset(mixed)
    assert all(row["split"] == split_of(row["problem_id"]) for row in rows)
    assert {row["split"] for row in rows} == {"train", "eval", "test"}  # 60 draws: P(no eval or test) < 1e-4
    for split in ("eval", "test"):
        path = tmp_path / f"{split}.jsonl"
        export_dataset("rlvr/Countdown-v0", 5, 3, path, split=split)
        assert {row["split"] for row in read_dataset(path)} == {split}
    assert export_dataset("rlvr/Countdown-v0", 3, 0, tmp_path / "none.jsonl", split=None) == 3


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_countdown_export_is_scored_through_the_problem_column(tmp_path, extension):
    """The measured failure: the answer column holds the target, so an answer-matching reward paid
    the bare target and refused the right expression. The `problem` column scores both right."""
    from rlvr.integrations.trl import RlvrReward

    out = tmp_path / f"countdown{extension}"
    export_dataset("rlvr/Countdown-v0", 4, 0, out)
    rows = read_dataset(out)
    reward = RlvrReward("rlvr/Countdown-v0")
    problems = [problem_from_json(row["problem"]) for row in rows]
    oracle = [reward.task.solve(problem) for problem in problems]
    column = [row["problem"] for row in rows]
    assert reward(completions=oracle, problem=column) == [1.0] * 4
    targets = [f"<answer>{row['answer']}</answer>" for row in rows]
    assert reward.for_component("correct")(completions=targets, problem=column) == [0.0] * 4
    assert reward(completions=targets, problem=column) == [0.1] * 4  # the task's format credit, no more
    assert reward(completions=["I do not know"] * 4, problem=column) == [0.0] * 4
    assert all(row["answer_kind"] == "target" for row in rows)
    for problem, solution in zip(problems, oracle, strict=True):
        assert reward.task.score(problem, solution).reward == 1.0


def test_every_task_has_a_documented_answer_kind_and_the_documentation_holds():
    """`answer_kind` claims are checked against each task's verifier on its first problem."""
    wrappings = ("{}", "\\boxed{{{}}}", "<answer>{}</answer>")
    for env_id in GYM_IDS:
        row = next(iter_rows(env_id, 1, 0))
        problem, task = problem_from_json(row["problem"]), resolve(env_id).task
        kind = TASK_ANSWER_KINDS.get(problem.task)
        assert kind in ANSWER_KINDS and kind != "unspecified" and row["answer_kind"] == kind, env_id
        solution = task.solve(problem)
        assert solution is not None and task.score(problem, solution).correct, env_id
        stated = [task.score(problem, w.format(row["answer"])).correct for w in wrappings]
        if kind in ("gold", "solution"):
            assert any(stated), f"{env_id}: a response stating the answer {row['answer']!r} should score"
        elif kind == "target":
            assert solution != row["answer"], env_id
        else:
            assert float(row["answer"]) == pytest.approx(problem.metadata["best_reward"], abs=1e-6)


@pytest.mark.parametrize("extension", EXTENSIONS)
def test_an_error_leaves_an_existing_file_untouched(tmp_path, extension, monkeypatch):
    """The measured data loss: the .jsonl was truncated before the id and knobs were checked."""
    out = tmp_path / f"keep{extension}"
    export_dataset("rlvr/Countdown-v0", 3, 0, out)
    before = out.read_bytes()
    bad_calls = [
        dict(env_id="rlvr/Countdwn-v0"),
        dict(env_id="rlvr/Debate-v0"),
        dict(difficulty={"numbers": 3}),
        dict(split="validation"),
        dict(n=-1),
        dict(seed=-5),
        dict(env_kwargs={"colour": "red"}),
    ]
    for bad in bad_calls:
        arguments = {"env_id": "rlvr/Countdown-v0", "n": 3, "seed": 0, "out": str(out), **bad}
        with pytest.raises((KeyError, TypeError, ValueError)):
            export_dataset(**arguments)
        assert out.read_bytes() == before, bad

    # a failure halfway through generating: the rows written so far never reach `out`
    from rlvr.core.task import Task

    real, calls = Task.problem_at, []

    def failing(self, *args, **kwargs):
        calls.append(1)
        if len(calls) > 2:
            raise RuntimeError("generator failed")
        return real(self, *args, **kwargs)

    monkeypatch.setattr(Task, "problem_at", failing)
    with pytest.raises(RuntimeError, match="generator failed"):
        export_dataset("rlvr/Countdown-v0", 10, 1, out)
    assert out.read_bytes() == before
    assert sorted(os.listdir(tmp_path)) == [out.name]  # no temporary file left behind


def test_the_replacement_keeps_the_file_mode(tmp_path):
    out = tmp_path / "mode.jsonl"
    out.write_text("old\n")
    os.chmod(out, 0o640)
    export_dataset("rlvr/Countdown-v0", 2, 0, out)
    assert os.stat(out).st_mode & 0o777 == 0o640 and len(read_dataset(out)) == 2


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="must end in one of"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.csv"))
    with pytest.raises(KeyError, match="did you mean"):
        export_dataset("rlvr/Countdwn-v0", 2, 0, str(tmp_path / "x.jsonl"))
    with pytest.raises(ValueError, match=r"single-agent.*rlvr\.make_multi"):
        export_dataset("rlvr/Debate-v0", 2, 0, str(tmp_path / "x.jsonl"))
    with pytest.raises(ValueError, match="split"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.jsonl"), split="validation")
    with pytest.raises(KeyError, match="unknown difficulty knob"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.jsonl"), difficulty={"numbers": 3})
    (tmp_path / "dir.jsonl").mkdir()
    with pytest.raises(ValueError, match="is a folder"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "dir.jsonl"))
    assert not (tmp_path / "x.jsonl").exists()


def test_cli_export_defaults_to_train_and_keeps_a_file_on_error(tmp_path, capsys):
    out = tmp_path / "cli.jsonl"
    assert cli(["export", "rlvr/Countdown-v0", "--n", "6", "--out", str(out), "--set", "number_count=3"]) == 0
    rows = read_dataset(out)
    assert {row["split"] for row in rows} == {"train"} and "split train" in capsys.readouterr().out
    assert all(json.loads(row["difficulty"])["number_count"] == 3 for row in rows)
    before = out.read_bytes()
    assert cli(["export", "rlvr/Countdown-v0", "--n", "6", "--out", str(out), "--set", "number_cuont=3"]) == 2
    assert "did you mean: number_count" in capsys.readouterr().err and out.read_bytes() == before
    assert cli(["export", "rlvr/Countdown-v0", "--n", "30", "--out", str(out), "--split", "all"]) == 0
    assert {row["split"] for row in read_dataset(out)} > {"train"}


def test_a_progress_bar_on_request_only_and_the_same_file_either_way(tmp_path, capsys):
    from rlvr.export import PROGRESS_MIN_ROWS

    quiet, shown = tmp_path / "quiet.jsonl", tmp_path / "shown.jsonl"
    export_dataset("rlvr/RandomCalc-v0", PROGRESS_MIN_ROWS, 0, quiet, progress=None)  # stderr: no terminal
    assert capsys.readouterr().err == ""
    export_dataset("rlvr/RandomCalc-v0", PROGRESS_MIN_ROWS, 0, shown, progress=True)
    assert f"{PROGRESS_MIN_ROWS}/{PROGRESS_MIN_ROWS}" in capsys.readouterr().err
    assert quiet.read_bytes() == shown.read_bytes()
    export_dataset("rlvr/RandomCalc-v0", PROGRESS_MIN_ROWS - 1, 0, shown, progress=True)  # over in moments
    assert capsys.readouterr().err == ""
    assert cli(["export", "rlvr/RandomCalc-v0", "--n", "3", "--out", str(quiet), "--no-progress"]) == 0
    assert capsys.readouterr().out.strip() == f"wrote 3 problems of rlvr/RandomCalc-v0 (split train) to {quiet}"
