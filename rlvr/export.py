"""Export a registered env's problems as a dataset file (JSONL or Parquet).

    export_dataset("rlvr/Countdown-v0", n=1000, seed=0, out="countdown.jsonl")   # split "train"

Row i is problem i of stream `seed` of the id as `rlvr.registration.resolve` gives it: the task,
prompt template, difficulty defaults and split that `gym.make(env_id, **env_kwargs)` plays, so the
file's problem ids are the ones the env serves after `reset(seed=seed)` (and a file can be
regenerated exactly). `difficulty` names the knobs it changes; `env_kwargs` are other constructor
keywords (e.g. `data_path` for `rlvr/Math-v0`).

Split: only `train` problems by default, so an exported training set never holds eval or test
problems; `split="eval"` / `"test"` picks another, `"all"` (or None) every problem. Each row says
its split.

Columns (all text; structured ones are JSON):
- `prompt`, `messages`: the prompt as text and as chat messages;
- `problem`: the whole `Problem` as JSON. It is what our verifiers score: `problem_from_json(row
  ["problem"])` gives the Problem back and `task.score(problem, response)` works on it, and
  `rlvr.integrations.trl.RlvrReward(env_id)` scores completions against this column as is
  (`reward(completions=[...], problem=[row["problem"], ...])`).
- `answer`: the gold field of the problem (JSON text when it is not a string). What it holds
  depends on the family, as `answer_kind` says (see `ANSWER_KINDS`): for `target` families
  (Countdown, Game of 24, MathTree) it is the number the expression must reach, not the response
  a model should give, so an answer-matching reward (e.g. `math_reward(..., answer=...)`) is the
  wrong check there (it pays the bare target and refuses the right expression): score through the
  `problem` column instead.
- `answer_kind`: `gold`, `solution`, `target` or `optimum` (see `ANSWER_KINDS`; `TASK_ANSWER_KINDS`
  gives every registered task's);
- `problem_id`, `split`, `task`, `difficulty`, `metadata`.

Writes are atomic: the id, knobs, split and output name are checked before anything is written,
rows go to a temporary file in the same folder, and only a complete file replaces `out`; an error
leaves an existing file as it was.
"""

from __future__ import annotations

import json
import os
import secrets
import stat
from collections.abc import Callable, Iterator, Mapping
from typing import IO, Any

from rlvr.core.problem import Problem, problem_to_json
from rlvr.core.progress import progress_bar
from rlvr.core.stream import ALL_SPLITS, TaskSource, split_option
from rlvr.registration import resolve

COLUMNS = ("prompt", "answer", "answer_kind", "problem_id", "split", "task", "difficulty", "metadata",
           "messages", "problem")
FORMATS = (".jsonl", ".parquet")
DEFAULT_SPLIT = "train"

ANSWER_KINDS: Mapping[str, str] = {
    "gold": "the value a correct response states; the task checks the response's answer against it",
    "solution": "one correct solution (a plan, a filled grid); the verifier checks the rules, so other valid "
                "solutions score 1 too",
    "target": "the number the response's expression must equal; the response is the expression (which "
              "must use the given numbers), so score it through the `problem` column, not by comparing "
              "with this value",
    "optimum": "the best reward a response can reach; there is no single answer string to compare with",
    "unspecified": "a task this table does not list: read the task's own documentation",
}
"""What the `answer` column holds, by kind."""

TASK_ANSWER_KINDS: Mapping[str, str] = {
    **dict.fromkeys(("math", "random_calc", "multi_select_calc", "microecon", "prontoqa", "kg-path", "gtalign",
                     "abstainqa", "web_of_lies", "boolean_expr", "dyck", "cryptarithm", "search-qa",
                     "elicitation-twenty-questions", "elicitation-opinion-poll",
                     "elicitation-student-assess"), "gold"),
    **dict.fromkeys(("blocksworld", "sudoku", "futoshiki", "skyscraper", "kukurasu", "calcudoko",
                     "star_placement"), "solution"),
    **dict.fromkeys(("countdown", "game24", "mathtree"), "target"),
    "pluralistic": "optimum",
}
"""The answer kind of every registered task, by task name (a test keeps it complete)."""


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, ensure_ascii=False, default=str)


def problem_row(problem: Problem) -> dict[str, str]:
    """One dataset row: every column a string (structured ones as JSON text)."""
    answer = problem.answer if isinstance(problem.answer, str) else _json(problem.answer)
    return {
        "prompt": problem.prompt,
        "answer": answer,
        "answer_kind": TASK_ANSWER_KINDS.get(problem.task, "unspecified"),
        "problem_id": problem.problem_id,
        "split": problem.split,
        "task": problem.task,
        "difficulty": _json(dict(problem.difficulty)),
        "metadata": _json(dict(problem.metadata)),
        "messages": _json([dict(m) for m in problem.messages]),
        "problem": problem_to_json(problem),
    }


def task_source(env_id: str, split: str | None = DEFAULT_SPLIT, difficulty: Mapping[str, Any] | None = None,
                env_kwargs: Mapping[str, Any] | None = None) -> TaskSource:
    """The id's problem stream with these settings (errors name what was expected)."""
    kwargs = dict(env_kwargs or {})
    if "difficulty" in kwargs or "split" in kwargs:
        raise ValueError("give difficulty= and split= as export arguments, not inside env_kwargs")
    split = split_option(split)  # a bad split fails before the env is built
    return resolve(env_id, **kwargs, difficulty=dict(difficulty or {}), split=split)


def iter_rows(env_id: str, n: int, seed: int, split: str | None = DEFAULT_SPLIT,
              difficulty: Mapping[str, Any] | None = None,
              env_kwargs: Mapping[str, Any] | None = None) -> Iterator[dict[str, str]]:
    """Rows 0..n-1 of stream `seed` (see the module doc)."""
    source = task_source(env_id, split, difficulty, env_kwargs)
    for problem in source.problems(seed, n):
        yield problem_row(problem)


def _check_arguments(n: Any, seed: Any, out: Any) -> str:
    """The output format, once n, seed and the output path are known to be usable."""
    if not isinstance(n, int) or isinstance(n, bool) or n < 0:
        raise ValueError(f"n must be a non-negative integer, got {n!r}")
    if not isinstance(seed, int) or isinstance(seed, bool) or seed < 0:
        raise ValueError(f"seed must be a non-negative integer, got {seed!r}")
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a file path, got {type(out).__name__}")
    extension = os.path.splitext(os.fspath(out))[1].lower()
    if extension not in FORMATS:
        raise ValueError(f"the output file must end in one of {FORMATS}, got {os.fspath(out)!r}")
    if os.path.isdir(out):
        raise ValueError(f"the output path {os.fspath(out)!r} is a folder; give a file name ending in "
                         f"{extension}")
    return extension


def _write_atomically(out: str, write: Callable[[IO[bytes]], None]) -> None:
    """Write through `write` into a temporary file beside `out`, then rename it over `out`.

    The temporary file is opened like a normal new file (mode 0o666 less the umask) or takes the
    mode of the file it replaces; on any error it is removed and `out` is left as it was.
    """
    directory = os.path.dirname(os.path.abspath(out))
    os.makedirs(directory, exist_ok=True)
    temporary = os.path.join(directory, f".{os.path.basename(out)}.{secrets.token_hex(6)}.tmp")
    descriptor = os.open(temporary, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o666)
    try:
        with os.fdopen(descriptor, "wb") as handle:
            write(handle)
            handle.flush()
            os.fsync(handle.fileno())
        if os.path.exists(out):
            os.chmod(temporary, stat.S_IMODE(os.stat(out).st_mode))
        os.replace(temporary, out)
    except BaseException:
        if os.path.exists(temporary):
            os.unlink(temporary)
        raise


def export_dataset(env_id: str, n: int, seed: int, out: str | os.PathLike, split: str | None = DEFAULT_SPLIT,
                   difficulty: Mapping[str, Any] | None = None,
                   env_kwargs: Mapping[str, Any] | None = None, progress: bool | None = False) -> int:
    """Write `n` problems of `env_id` to `out` (.jsonl or .parquet); returns the rows written.

    `split` is 'train' (the default), 'eval', 'test' or 'all' (None means 'all' too). `progress`:
    a bar over the problems on stderr (None: when stderr is a terminal; `rlvr export` passes None).
    """
    extension = _check_arguments(n, seed, out)
    if extension == ".parquet":
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as exc:
            raise ImportError("writing .parquet needs pyarrow: pip install 'rlvr[data]' (or pyarrow), "
                              "or write .jsonl instead") from exc
    # every check that can fail on the arguments happens here, before the output is touched
    source = task_source(env_id, split, difficulty, env_kwargs)
    bar = progress_bar(n, progress, f"exporting {env_id}", unit="problem", minimum=PROGRESS_MIN_ROWS)
    rows = (_counted(problem_row(problem), bar) for problem in source.problems(seed, n))
    written = 0

    def write_jsonl(handle: IO[bytes]) -> None:
        nonlocal written
        for row in rows:
            handle.write((json.dumps(row, ensure_ascii=False) + "\n").encode("utf-8"))
            written += 1

    def write_parquet(handle: IO[bytes]) -> None:
        nonlocal written
        table_rows = list(rows)
        schema = pa.schema([(column, pa.string()) for column in COLUMNS])
        columns = {column: [row[column] for row in table_rows] for column in COLUMNS}
        pq.write_table(pa.table(columns, schema=schema), handle)
        written = len(table_rows)

    try:
        _write_atomically(os.fspath(out), write_jsonl if extension == ".jsonl" else write_parquet)
    finally:
        if bar is not None:
            bar.close()
    return written


PROGRESS_MIN_ROWS = 1000
"""Exports of fewer problems show no bar (they take moments)."""


def _counted(row: dict[str, str], bar: Any) -> dict[str, str]:
    if bar is not None:
        bar.update(1)
    return row


def read_dataset(path: str | os.PathLike) -> list[dict[str, str]]:
    """Rows of a file written by `export_dataset` (for checks and round trips)."""
    if os.fspath(path).lower().endswith(".parquet"):
        import pyarrow.parquet as pq

        return pq.read_table(path).to_pylist()
    with open(path, encoding="utf-8") as handle:
        return [json.loads(line) for line in handle if line.strip()]


__all__ = ["ALL_SPLITS", "ANSWER_KINDS", "COLUMNS", "DEFAULT_SPLIT", "TASK_ANSWER_KINDS", "export_dataset",
           "iter_rows", "problem_row", "read_dataset", "task_source"]
