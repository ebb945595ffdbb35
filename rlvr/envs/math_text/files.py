"""Loading question/answer rows from a user's local JSONL or Parquet file, bounded and checked.

Every row must have a non-empty string question and an answer that is a string or a number
(numbers are written with `str`). Problems come out as (question, answer) pairs in file order.
Limits on the file size and the row count turn a wrong path (a 40 GB dump) into a clear error
instead of an exhausted machine. Parquet needs pyarrow (`pip install pyarrow`, or the `data`
extra); JSONL needs nothing.
"""

from __future__ import annotations

import json
import math
import os
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from rlvr.core.hints import did_you_mean

MAX_FILE_BYTES = 1 << 30
"""Default cap on the data file's size (1 GiB)."""
MAX_ROWS = 2_000_000
"""Default cap on the number of rows."""


class MissingColumnError(KeyError):
    """A wanted column is absent; printed as the plain message (KeyError would quote it)."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


JSONL_SUFFIXES = (".jsonl", ".ndjson")
PARQUET_SUFFIXES = (".parquet", ".pq")


def load_rows(
    path: str | os.PathLike[str],
    question_column: str = "question",
    answer_column: str = "answer",
    *,
    max_rows: int = MAX_ROWS,
    max_bytes: int = MAX_FILE_BYTES,
) -> list[tuple[str, str]]:
    """(question, answer) pairs from a JSONL or Parquet file, in file order."""
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"math data file not found: {str(path)!r}")
    size = path.stat().st_size
    if size > max_bytes:
        raise ValueError(f"{path.name} is {size} bytes, over the limit of {max_bytes}; pass a larger max_bytes")
    suffix = path.suffix.lower()
    if suffix in JSONL_SUFFIXES:
        records = _jsonl_records(path, question_column, answer_column, max_rows)
    elif suffix in PARQUET_SUFFIXES:
        records = _parquet_records(path, question_column, answer_column, max_rows)
    else:
        raise ValueError(
            f"cannot tell the format of {path.name!r}: expected a suffix among "
            f"{[*JSONL_SUFFIXES, *PARQUET_SUFFIXES]}, got {suffix or 'none'!r}"
        )
    rows = [_check_row(path.name, where, record, question_column, answer_column) for where, record in records]
    if not rows:
        raise ValueError(f"{path.name} holds no rows; a math data file needs at least one question/answer row")
    return rows


def _jsonl_records(path: Path, question: str, answer: str, max_rows: int) -> Iterable[tuple[str, Any]]:
    records = []
    with path.open("r", encoding="utf-8") as handle:
        for line_number, line in enumerate(handle, start=1):
            if not line.strip():
                continue
            if len(records) >= max_rows:
                raise ValueError(f"{path.name} has more than max_rows={max_rows} rows; pass a larger max_rows")
            try:
                records.append((f"line {line_number}", json.loads(line)))
            except json.JSONDecodeError as error:
                raise ValueError(f"{path.name}, line {line_number}: not valid JSON ({error.msg})") from None
    return records


def _parquet_records(path: Path, question: str, answer: str, max_rows: int) -> Iterable[tuple[str, Any]]:
    try:
        import pyarrow.parquet as parquet
    except ImportError:
        raise ImportError(
            f"reading the Parquet file {path.name!r} needs pyarrow: pip install pyarrow "
            "(or pip install 'rlvr[data]'), or convert the file to JSONL"
        ) from None
    source = parquet.ParquetFile(path)
    columns = list(source.schema_arrow.names)
    for wanted in (question, answer):
        if wanted not in columns:
            raise MissingColumnError(
                f"{path.name} has no column {wanted!r}; its columns are {columns}" + did_you_mean(wanted, columns)
            )
    if source.metadata.num_rows > max_rows:
        raise ValueError(
            f"{path.name} has {source.metadata.num_rows} rows, more than max_rows={max_rows}; pass a larger max_rows"
        )
    table = source.read(columns=[question, answer])
    questions, answers = table.column(question).to_pylist(), table.column(answer).to_pylist()
    return [(f"row {i}", {question: q, answer: a}) for i, (q, a) in enumerate(zip(questions, answers, strict=True))]


def _check_row(file_name: str, where: str, record: Any, question: str, answer: str) -> tuple[str, str]:
    if not isinstance(record, dict):
        raise ValueError(f"{file_name}, {where}: expected a JSON object, got {type(record).__name__}")
    for wanted in (question, answer):
        if wanted not in record:
            raise MissingColumnError(
                f"{file_name}, {where}: no column {wanted!r}; the row has {sorted(record)}"
                + did_you_mean(wanted, record)
            )
    question_text, answer_value = record[question], record[answer]
    if not isinstance(question_text, str) or not question_text.strip():
        raise ValueError(f"{file_name}, {where}: {question!r} must be a non-empty string, got {question_text!r:.80}")
    if isinstance(answer_value, bool) or not isinstance(answer_value, (str, int, float)):
        raise ValueError(
            f"{file_name}, {where}: {answer!r} must be a string or a number, got {type(answer_value).__name__}"
        )
    if isinstance(answer_value, float) and not math.isfinite(answer_value):
        raise ValueError(f"{file_name}, {where}: {answer!r} must be finite, got {answer_value!r}")
    answer_text = str(answer_value).strip()
    if not answer_text:
        raise ValueError(f"{file_name}, {where}: {answer!r} is empty")
    return question_text, answer_text
