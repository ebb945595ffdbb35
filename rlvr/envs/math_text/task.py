"""`MathTask` (`rlvr/Math-v0`, env in `env.py`): free-form math answers verified by code.

Problems come from the built-in generator (see `families`; marked `source="generated"` in the
metadata) or from a local JSONL/Parquet file with question/answer columns (`data_path=`; marked
`source="file"`). For a file, problem i of seed s is a seeded choice among its rows, so identical
rows are the same problem (same `problem_id`) and splits stay disjoint by content.

Scoring extracts the answer (`extraction=` modes, in order: `\\boxed{}`, an "Answer:" line, the
last number) and checks it with `score_math`: exact Fractions for numbers, math-verify otherwise.
For generated problems whose answer is a number, an answer that is itself an expression
("3/4 + 5/6", "\\gcd(84, 126)") scores zero: the verifiers evaluate expressions, so restating the
question would otherwise pass.
"""

from __future__ import annotations

import os
from collections.abc import Mapping, Sequence
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.math_text.families import FAMILIES, GENERATORS
from rlvr.envs.math_text.files import MAX_FILE_BYTES, MAX_ROWS, load_rows
from rlvr.rewards.math import MODES, check_extraction, extract_answer, read_value, score_math
from rlvr.rewards.math.pool import check_timeout

DEFAULT_TIMEOUT = 2.0


class FamiliesKnob(Knob):
    """A knob whose value is a non-empty tuple of distinct family names from `FAMILIES`."""

    def check(self, value: Any) -> Any:
        value = super().check(value)
        bad = [family for family in value if family not in FAMILIES]
        if not value or bad or len(set(value)) != len(value):
            raise ValueError(
                f"difficulty knob {self.name!r} expects a non-empty tuple of distinct names from {FAMILIES}, "
                f"got {value!r}"
            )
        return value


class MathTask(Task):
    """Free-form math questions with exact answers, generated or read from a local file."""

    name: ClassVar[str] = "math"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        FamiliesKnob("families", FAMILIES, f"generated problem families to draw from, a subset of {FAMILIES}"),
        Knob("max_value", 12, "size of the numbers the generator draws", low=2, high=10**6),
    )

    def __init__(
        self,
        template: PromptTemplate | None = None,
        *,
        data_path: str | os.PathLike[str] | None = None,
        question_column: str = "question",
        answer_column: str = "answer",
        extraction: Sequence[str] = MODES,
        timeout: float = DEFAULT_TIMEOUT,
        max_rows: int = MAX_ROWS,
        max_bytes: int = MAX_FILE_BYTES,
    ) -> None:
        super().__init__(template)
        self.extraction = check_extraction(extraction)
        self.timeout = check_timeout(timeout)  # refuse -1, NaN, inf here, not at the first step
        self.data_path = None if data_path is None else os.fspath(data_path)
        self.rows: list[tuple[str, str]] | None = None
        if self.data_path is not None:
            self.rows = load_rows(self.data_path, question_column, answer_column, max_rows=max_rows, max_bytes=max_bytes)
            # File problems have no generator knobs: naming one is then an "unknown knob" error.
            self.knobs = ()

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        if self.rows is not None:
            row = int(rng.integers(len(self.rows)))
            question, answer = self.rows[row]
            metadata = {"source": "file", "file": os.path.basename(self.data_path), "row": row, "answer_kind": "free"}
        else:
            families = difficulty["families"]
            drawn = GENERATORS[families[int(rng.integers(len(families)))]](rng, difficulty["max_value"])
            question, answer = drawn.question, drawn.answer
            metadata = {"source": "generated", "family": drawn.family, "answer_kind": drawn.answer_kind}
        return self.make_problem(
            question, content={"question": question, "answer": answer}, answer=answer,
            difficulty=difficulty, metadata=metadata,
        )

    def score(self, problem: Problem, response: str) -> Score:
        if problem.metadata.get("answer_kind") == "number":
            extraction = extract_answer(response, self.extraction)
            if extraction.error is None and extraction.answer is not None:
                _, reason = read_value(extraction.answer)
                if reason is not None:
                    return Score.zero(reason, extraction.answer, format=1.0)
            # Otherwise score_math reports the extraction's own error.
        return score_math(str(problem.answer), response, modes=self.extraction, timeout=self.timeout)

    def solve(self, problem: Problem) -> str:
        return f"The answer is \\boxed{{{problem.answer}}}."
