"""Tests for `rlvr.export`: round trips through JSONL and Parquet, ids that match the task's stream."""

from __future__ import annotations

import json

import pytest

from rlvr.export import COLUMNS, export_dataset, read_dataset, task_for
from rlvr.registration import entry, load

IDS = ["rlvr/Countdown-v0", "rlvr/ProntoQA-v0", "rlvr/KGPathLong-v0", "rlvr/BlocksWorld-v0"]


@pytest.mark.parametrize("env_id", IDS)
@pytest.mark.parametrize("extension", [".jsonl", ".parquet"])
def test_round_trip_matches_problem_at(tmp_path, env_id, extension):
    if extension == ".parquet":
        pytest.importorskip("pyarrow")
    out = tmp_path / f"data{extension}"
    assert export_dataset(env_id, 5, 11, str(out), split="train") == 5
    rows = read_dataset(str(out))
    assert len(rows) == 5 and all(set(row) == set(COLUMNS) for row in rows)
    task = load(entry(env_id).card.task)()
    knobs = {k: v for k, v in entry(env_id).kwargs.items() if k in {knob.name for knob in task.knobs}}
    for index, row in enumerate(rows):
        problem = task.problem_at(11, index, knobs, "train")
        assert row["problem_id"] == problem.problem_id
        assert row["prompt"] == problem.prompt
        assert json.loads(row["messages"]) == [dict(m) for m in problem.messages]
        assert json.loads(row["difficulty"]) == json.loads(json.dumps(dict(problem.difficulty)))
        assert isinstance(json.loads(row["metadata"]), dict) and row["task"] == task.name
    again = tmp_path / f"again{extension}"
    export_dataset(env_id, 5, 11, str(again), split="train")
    assert [r["problem_id"] for r in read_dataset(str(again))] == [r["problem_id"] for r in rows]


def test_registry_kwargs_become_difficulty_and_overrides_win(tmp_path):
    out = tmp_path / "long.jsonl"
    export_dataset("rlvr/KGPathLong-v0", 3, 0, str(out))
    assert all(json.loads(r["difficulty"])["hops"] == [4, 5] for r in read_dataset(str(out)))
    export_dataset("rlvr/KGPathLong-v0", 3, 0, str(out), difficulty={"hops": (2, 3)})
    assert all(json.loads(r["difficulty"])["hops"] == [2, 3] for r in read_dataset(str(out)))
    task, knobs = task_for("rlvr/KGPathLong-v0")
    assert knobs == {"hops": (4, 5)}


def test_split_and_seed(tmp_path):
    from rlvr.core.problem import split_of

    out = tmp_path / "eval.jsonl"
    export_dataset("rlvr/Countdown-v0", 8, 3, str(out), split="eval")
    rows = read_dataset(str(out))
    assert all(split_of(r["problem_id"]) == "eval" for r in rows)
    other = tmp_path / "other.jsonl"
    export_dataset("rlvr/Countdown-v0", 8, 4, str(other), split="eval")
    assert [r["problem_id"] for r in rows] != [r["problem_id"] for r in read_dataset(str(other))]


def test_bad_arguments_are_clear_errors(tmp_path):
    with pytest.raises(ValueError, match="must end in one of"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.csv"))
    with pytest.raises(KeyError, match="did you mean"):
        export_dataset("rlvr/Countdwn-v0", 2, 0, str(tmp_path / "x.jsonl"))
    with pytest.raises(ValueError, match="single-agent"):
        export_dataset("rlvr/Debate-v0", 2, 0, str(tmp_path / "x.jsonl"))
    with pytest.raises(ValueError, match="split"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.jsonl"), split="validation")
    with pytest.raises(KeyError, match="unknown difficulty knob"):
        export_dataset("rlvr/Countdown-v0", 2, 0, str(tmp_path / "x.jsonl"), difficulty={"numbers": 3})
