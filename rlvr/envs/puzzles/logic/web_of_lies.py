"""`WebOfLiesTask` and `WebOfLiesEnv` (`rlvr/WebOfLies-v0`): who tells the truth?

Each of N fictional people either always tells the truth or always lies. The prompt gives one
fact ("Dovak lies.") and statements "X says Y lies." / "X says Y tells the truth.", then asks
"Does Z tell the truth?". The answer is Yes or No (True/False also read), found by the rules of
`answers.answer_text`.

Semantics: "X says S" holds iff (X is truthful) == S. `consistent_answers` enumerates all 2^N
truth assignments, keeps those that satisfy the fact and every statement, and returns the set
of values the asked person takes in them; the scorer recomputes it from the problem's content
(no stored answer is trusted) and a generated problem always has exactly one value there.

Generation: draw a hidden assignment; person 0 is the fact; each later person speaks about a
random earlier one (so the chain determines everyone), then `extra_statements` more statements
between random pairs, all true to the hidden assignment; statements are shown shuffled.

Knobs: `people` (N), `extra_statements`.

>>> consistent_answers(3, (0, False), [(1, 0, True), (2, 1, False)], 2)
{True}
>>> import numpy as np
>>> task = WebOfLiesTask()
>>> problem = task.sample(np.random.default_rng(0))
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from functools import lru_cache
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.envs.puzzles.answers import answer_text, read_truth_value

MAX_PEOPLE = 14
"""2^14 assignments is the most the scorer enumerates."""
_ONSETS = ("b", "d", "f", "g", "k", "l", "m", "n", "p", "r", "s", "t", "v", "z", "th", "sh", "br", "kl")
_VOWELS = ("a", "e", "i", "o", "u", "ae", "ou")
_CODAS = ("", "n", "r", "l", "s", "k", "m", "x")


def draw_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct pronounceable fictional names (two syllables)."""
    names: list[str] = []
    while len(names) < count:
        parts = [_ONSETS[int(rng.integers(len(_ONSETS)))] + _VOWELS[int(rng.integers(len(_VOWELS)))]
                 for _ in range(2)]
        name = ("".join(parts) + _CODAS[int(rng.integers(len(_CODAS)))]).capitalize()
        if name not in names:
            names.append(name)
    return names


def consistent_answers(
    people: int, fact: Sequence[Any], statements: Sequence[Sequence[Any]], asked: int
) -> set[bool]:
    """Values person `asked` takes over every assignment meeting the fact and the statements.

    `fact` is (person, truthful); each statement is (speaker, subject, claims_truthful)."""
    return set(_consistent(people, (int(fact[0]), bool(fact[1])),
                           tuple((int(a), int(b), bool(c)) for a, b, c in statements), int(asked)))


@lru_cache(maxsize=4096)
def _consistent(people: int, fact: tuple, statements: tuple, asked: int) -> frozenset[bool]:
    if not 1 <= people <= MAX_PEOPLE:
        raise ValueError(f"people must be in [1, {MAX_PEOPLE}], got {people}")
    values = set()
    for mask in range(1 << people):
        def truthful(person: int, mask: int = mask) -> bool:
            return bool(mask >> person & 1)
        if truthful(fact[0]) != fact[1]:
            continue
        if all(truthful(speaker) == (truthful(subject) == claim) for speaker, subject, claim in statements):
            values.add(truthful(asked))
    return frozenset(values)


def _statement_text(names: Sequence[str], speaker: int, subject: int, claim: bool) -> str:
    return f"{names[speaker]} says {names[subject]} {'tells the truth' if claim else 'lies'}."


class WebOfLiesTask(Task):
    """Decide whether one person in a web of truth-tellers and liars tells the truth."""

    name: ClassVar[str] = "web_of_lies"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("people", 5, "number of people", low=2, high=MAX_PEOPLE),
        Knob("extra_statements", 0, "statements beyond the chain that already decides everyone", low=0, high=30),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Give only Yes or No in <answer> </answer> tags, for example <answer>Yes</answer>."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        people = difficulty["people"]
        names = draw_names(rng, people)
        truthful = [bool(v) for v in rng.random(people) < 0.5]
        statements = []
        for speaker in range(1, people):
            subject = int(rng.integers(speaker))
            statements.append((speaker, subject, truthful[speaker] == truthful[subject]))
        for _ in range(difficulty["extra_statements"]):
            speaker, subject = (int(v) for v in rng.choice(people, size=2, replace=False))
            statements.append((speaker, subject, truthful[speaker] == truthful[subject]))
        order = rng.permutation(len(statements))
        statements = [statements[i] for i in order]
        asked = int(rng.integers(1, people))
        fact = (0, truthful[0])
        lines = [f"{names[0]} {'tells the truth' if fact[1] else 'lies'}."]
        lines += [_statement_text(names, *s) for s in statements]
        question = ("Each person below either always tells the truth or always lies.\n\n"
                    + " ".join(lines) + f"\n\nQuestion: Does {names[asked]} tell the truth?")
        content = {"names": names, "fact": list(fact), "statements": [list(s) for s in statements], "asked": asked}
        return self.make_problem(question, content, "Yes" if truthful[asked] else "No", difficulty)

    def _gold(self, content: Mapping[str, Any]) -> bool | None:
        values = consistent_answers(len(content["names"]), content["fact"], content["statements"], content["asked"])
        return next(iter(values)) if len(values) == 1 else None

    def score(self, problem: Problem, response: str) -> Score:
        text, error = answer_text(response)
        if text is None:
            return Score.zero(error or "no answer found")
        answer, error = read_truth_value(text)
        if answer is None:
            return Score.zero(f"expected Yes or No: {error}", parsed_answer=text)
        gold = self._gold(problem.content)
        parsed = "Yes" if answer else "No"
        if gold is None:
            return Score.zero("the statements do not decide the answer", parsed_answer=parsed)
        return Score.binary(answer is gold, parsed, None if answer is gold else "the statements imply the opposite")

    def solve(self, problem: Problem) -> str | None:
        gold = self._gold(problem.content)
        return None if gold is None else f"<answer>{'Yes' if gold else 'No'}</answer>"


class WebOfLiesEnv(TextEnv):
    """`rlvr/WebOfLies-v0`: one web of statements per episode, one response per episode (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = WebOfLiesTask
    card = EnvCard(
        summary="Web of lies: N fictional people each always tell the truth or always lie; one fact and "
        "statements 'X says Y lies'; does Z tell the truth? The answer is unique by enumeration of all 2^N "
        "assignments.",
        observation="text prompt",
        action="text response: Yes or No in <answer></answer> tags",
        reward="1 if the answer is the one every consistent assignment gives, else 0; components: correct",
        task=task_class,
    )
