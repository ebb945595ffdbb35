"""Export a registered env's problems as a dataset file (JSONL or Parquet).

    export_dataset("rlvr/Countdown-v0", n=1000, seed=0, out="countdown.jsonl", split="train")

Row i is `task.problem_at(seed, i, difficulty, split)` of the task named on the id's registry
card, so a file can be regenerated exactly and its problem ids match what the env serves. Where
the registry entry sets keyword arguments that are difficulty knobs of that task (as
`rlvr/KGPathLong-v0` sets `hops`), they are applied first and `difficulty` overrides them.

Columns: prompt, answer (the gold answer; JSON text when it is not already a string),
problem_id, difficulty (JSON), metadata (JSON), task, messages (JSON list of {role, content}).
The format follows the file name: `.jsonl` or `.parquet` (Parquet needs pyarrow:
`pip install 'rlvr[data]'`).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Mapping
from typing import Any

from rlvr.core.problem import Problem, check_split
from rlvr.core.task import Task
from rlvr.registration import EnvEntry, entry, load

COLUMNS = ("prompt", "answer", "problem_id", "difficulty", "metadata", "task", "messages")
FORMATS = (".jsonl", ".parquet")


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def problem_row(problem: Problem) -> dict[str, str]:
    """One dataset row: every column a string (structured ones as JSON text)."""
    answer = problem.answer if isinstance(problem.answer, str) else _json(problem.answer)
    return {
        "prompt": problem.prompt,
        "answer": answer,
        "problem_id": problem.problem_id,
        "difficulty": _json(dict(problem.difficulty)),
        "metadata": _json(dict(problem.metadata)),
        "task": problem.task,
        "messages": _json([dict(m) for m in problem.messages]),
    }


def task_for(env_id: str) -> tuple[Task, dict[str, Any]]:
    """(the id's task, the registry kwargs that are knobs of it) for a single-agent id."""
    item: EnvEntry = entry(env_id)
    if item.kind != "gymnasium":
        raise ValueError(f"{env_id} is a {item.kind} env; export takes single-agent ids only")
    if not item.card.task:
        raise ValueError(f"{env_id} names no task on its registry card, so it has no problem stream to export")
    task = load(item.card.task)()
    knob_names = {knob.name for knob in task.knobs}
    return task, {name: value for name, value in item.kwargs.items() if name in knob_names}


def iter_rows(
    env_id: str, n: int, seed: int, split: str | None = None, difficulty: Mapping[str, Any] | None = None
) -> Iterator[dict[str, str]]:
    """Rows 0..n-1 of stream `seed` (see the module doc)."""
    check_split(split)
    task, registry_knobs = task_for(env_id)
    resolved = task.difficulty(registry_knobs, difficulty)
    for index in range(n):
        yield problem_row(task.problem_at(seed, index, resolved, split))


def export_dataset(
    env_id: str,
    n: int,
    seed: int,
    out: str,
    split: str | None = None,
    difficulty: dict | None = None,
) -> int:
    """Write `n` problems of `env_id` to `out` (.jsonl or .parquet); returns the rows written."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    extension = os.path.splitext(out)[1].lower()
    if extension not in FORMATS:
        raise ValueError(f"the output file must end in one of {FORMATS}, got {out!r}")
    if extension == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError("writing .parquet needs pyarrow: pip install 'rlvr[data]' (or pyarrow), "
                              "or write .jsonl instead") from exc
    rows = iter_rows(env_id, n, seed, split, difficulty)
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    if extension == ".jsonl":
        written = 0
        with open(out, "w", encoding="utf-8") as handle:
            for row in rows:
                handle.write(json.dumps(row, ensure_ascii=False) + "\n")
                written += 1
        return written
    table_rows = list(rows)
    schema = pa.schema([(column, pa.string()) for column in COLUMNS])
    columns = {column: [row[column] for row in table_rows] for column in COLUMNS}
    pq.write_table(pa.table(columns, schema=schema), out)
    return len(table_rows)


def read_dataset(path: str) -> list[dict[str, str]]:
    """Rows of a file written by `export_dataset` (for checks and round trips)."""
    if path.lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


__all__ = ["COLUMNS", "export_dataset", "iter_rows", "problem_row", "read_dataset", "task_for"]
