"""The reasoning-gym-style dataset: items as `rlvr export` writes them, scoring that never raises."""

from __future__ import annotations

import json
import time

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.core.problem import problem_from_json
from rlvr.export import export_dataset, iter_rows, read_dataset
from rlvr.integrations.reasoning_gym import RlvrDataset, score_answer, score_entry
from rlvr.registration import ids

SINGLE_AGENT = ids("gymnasium")


def oracle(data: RlvrDataset, entry: dict) -> str | None:
    return data.task.solve(problem_from_json(entry["metadata"]["problem"]))


@pytest.mark.parametrize("env_id", SINGLE_AGENT)
def test_every_id_builds_a_small_dataset_its_oracle_maxes(env_id):
    data = RlvrDataset(env_id, size=3, seed=0)
    items = list(data)
    assert len(data) == len(items) == 3
    assert data[-1] == items[2]
    for index, entry in enumerate(items):
        assert set(entry) == {"question", "answer", "metadata"}
        assert isinstance(entry["question"], str) and isinstance(entry["answer"], str)
        metadata = entry["metadata"]
        assert (metadata["env_id"], metadata["source_dataset"], metadata["source_index"]) == (env_id, env_id, index)
        assert metadata["split"] == "train"
        assert problem_from_json(metadata["problem"]).problem_id == metadata["problem_id"]
        solution = oracle(data, entry)
        if solution is None:
            continue
        verdict = data.task.score(problem_from_json(metadata["problem"]), solution)
        # the oracle's score is the verifier's own reward, clipped; a correct one is the maximum, 1.0
        assert data.score_answer(solution, entry) == pytest.approx(min(1.0, max(0.0, verdict.reward)))
        if verdict.correct and verdict.reward >= 1.0:  # not Pluralistic: its optimum is below 1
            assert data.score_answer(solution, entry) == score_answer(solution, entry) == 1.0
        assert data.score_answer(solution, entry) >= data.score_answer("", entry)


@pytest.mark.parametrize(("env_id", "split", "knobs"), [
    ("rlvr/Countdown-v0", "train", {"number_count": 3}),
    ("rlvr/RandomCalc-v0", "eval", {}),
    ("rlvr/KGPath-v0", "all", {}),
])
def test_items_equal_rlvr_export_rows(tmp_path, env_id, split, knobs):
    data = RlvrDataset(env_id, size=5, seed=7, split=split, **knobs)
    out = tmp_path / "rows.jsonl"
    export_dataset(env_id, n=5, seed=7, out=out, split=split, difficulty=knobs)
    rows = read_dataset(out)
    assert rows == list(iter_rows(env_id, 5, 7, split=split, difficulty=knobs))
    for entry, row in zip(data, rows, strict=True):
        assert entry["question"] == row["prompt"]
        assert entry["answer"] == row["answer"]
        assert entry["metadata"]["problem"] == row["problem"]
        assert entry["metadata"]["problem_id"] == row["problem_id"]
        assert entry["metadata"]["split"] == row["split"]
        assert entry["metadata"]["difficulty"] == json.loads(row["difficulty"])
        if split != "all":
            assert row["split"] == split


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**31), index=st.integers(0, 40))
def test_items_are_deterministic_in_seed_and_index(seed, index):
    first = RlvrDataset("rlvr/RandomCalc-v0", size=41, seed=seed)
    again = RlvrDataset("rlvr/RandomCalc-v0", size=41, seed=seed)
    assert first[index] == again[index]
    assert first[index]["metadata"]["problem_id"] == first.source.problem_at(seed, index).problem_id


def test_a_wrong_answer_scores_zero():
    data = RlvrDataset("rlvr/RandomCalc-v0", size=4, seed=1)
    for entry in data:
        wrong = entry["answer"] + "1"  # 414 -> 4141, 1/14 -> 1/141
        assert data.score_answer(wrong, entry) == 0.0
        assert data.score_answer(f"\\boxed{{{wrong}}}", entry) == 0.0
        # a bare gold answer (as reasoning-gym trainers pass it) and a marked one both score 1
        assert data.score_answer(entry["answer"], entry) == data.score_answer(f"<answer>{entry['answer']}</answer>",
                                                                              entry) == 1.0
    countdown = RlvrDataset("rlvr/Countdown-v0", size=2, seed=0)
    for entry in countdown:
        assert countdown.score_answer("no idea", entry) == 0.0


def test_the_reason_for_a_zero_is_kept():
    data = RlvrDataset("rlvr/RandomCalc-v0", size=1, seed=0)
    assert "metadata" in score_entry("1", {"metadata": {"env_id": "rlvr/RandomCalc-v0"}}).error
    assert "text" in data.score_entry(None, data[0]).error
    assert "rlvr/RandomCalc-v1" in score_entry("1", {"metadata": {"env_id": "rlvr/RandomCalc-v1"}}).error


def _hostile_entries(entry):
    garbled = ["{", "[]", "null", "[" * 100_000, '{"task": "random_calc"}', "9" * 100_000, "", 7]
    for problem in garbled:
        yield {**entry, "metadata": {**entry["metadata"], "problem": problem}}
    yield {**entry, "metadata": "not a dict"}
    yield {"question": "q", "answer": "a"}
    yield ["not", "a", "dict"]
    yield None
    # a valid problem of another task under this task's dataset
    other = RlvrDataset("rlvr/Dyck-v0", size=1, seed=0)[0]
    yield {**entry, "metadata": {**entry["metadata"], "problem": other["metadata"]["problem"]}}


HOSTILE_ANSWERS = [None, 7, 3.5, b"414", ["414"], {"answer": "414"}, "9" * 100_000, "x" * 100_000,
                   "\\boxed{" + "9" * 5000 + "}", "<answer>" + "(" * 50_000 + "</answer>", "\x00\ud800"]


def test_hostile_entries_score_zero_without_exceptions():
    data = RlvrDataset("rlvr/RandomCalc-v0", size=1, seed=0)
    entry = data[0]
    for bad in _hostile_entries(entry):
        start = time.monotonic()
        assert data.score_answer(entry["answer"], bad) == 0.0
        assert score_answer(entry["answer"], bad) == 0.0
        assert time.monotonic() - start < 5
    # the module-level scorer finds the task by the entry's env_id; the dataset's own uses its task
    for env_id in ("rlvr/NoSuchEnv-v0", ["rlvr/RandomCalc-v0"], None, "rlvr/" + "x" * 100_000, "rlvr/Debate-v0"):
        start = time.monotonic()
        bad = {**entry, "metadata": {**entry["metadata"], "env_id": env_id}}
        assert score_answer(entry["answer"], bad) == 0.0
        assert data.score_answer(entry["answer"], bad) == 1.0
        assert time.monotonic() - start < 5


@pytest.mark.parametrize("env_id", ["rlvr/RandomCalc-v0", "rlvr/Countdown-v0", "rlvr/Sudoku-v0", "rlvr/KGPath-v0"])
def test_hostile_answers_score_zero_without_exceptions(env_id):
    data = RlvrDataset(env_id, size=1, seed=0)
    entry = data[0]
    for bad in HOSTILE_ANSWERS:
        start = time.monotonic()
        assert data.score_answer(bad, entry) == 0.0, repr(bad)[:80]
        assert score_answer(bad, entry) == 0.0
        assert time.monotonic() - start < 5


@settings(max_examples=60, deadline=None)
@given(answer=st.one_of(st.text(max_size=300), st.integers(), st.none(), st.binary(max_size=20)))
def test_any_answer_gives_a_score_in_range(answer):
    data = RlvrDataset("rlvr/Countdown-v0", size=1, seed=3)
    value = data.score_answer(answer, data[0])
    assert isinstance(value, float) and 0.0 <= value <= 1.0


def test_bad_arguments_are_clear_errors():
    with pytest.raises(ValueError, match="size must be a non-negative integer"):
        RlvrDataset("rlvr/RandomCalc-v0", size=-1, seed=0)
    with pytest.raises(KeyError, match="RandomCalc"):
        RlvrDataset("rlvr/RandomCalcc-v0", size=1, seed=0)
    with pytest.raises(KeyError, match="num_ops"):
        RlvrDataset("rlvr/RandomCalc-v0", size=1, seed=0, num_opps=2)
    data = RlvrDataset("rlvr/RandomCalc-v0", size=2, seed=0)
    with pytest.raises(IndexError, match="size 2"):
        data[2]
    with pytest.raises(TypeError):
        data["0"]
