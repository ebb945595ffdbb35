"""The elicitation tasks: their base `ElicitationTask`, and twenty questions, opinion polling and
student assessment.

- `TwentyQuestionsTask`: K fictional entities with M yes/no attributes (each attribute has its own
  prevalence, so some questions are worth more than others); the answerer flips each answer with
  probability eps.
- `OpinionPollTask`: a respondent from one of C latent groups answers Likert questions 1..5 from
  group-conditional categorical tables; the target is the group.
- `StudentAssessTask`: a 2PL item response model, P(correct) = sigmoid(a_j (theta - b_j)), with
  theta on an evenly spaced grid over [-3, 3] (uniform prior); the target is the grid cell.

Each problem's content holds the whole model (tables rounded to fixed decimals so the problem id
is stable) and the hidden target, drawn from the problem's own generator.
"""

from __future__ import annotations

from abc import abstractmethod
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.elicitation.model import ELICITATION_TEMPLATE, MAX_ACTION_CHARS, MAX_BUDGET, BeliefModel


class ElicitationTask(Task):
    """Base of the elicitation tasks: a hidden target behind a question-answer model.

    Used alone (without an env) the task scores one final guess: the response `guess: <name>`
    (or the bare name) is correct when it names the hidden target. The questioning itself lives
    in `ElicitationEnv`.
    """

    default_template: ClassVar[PromptTemplate] = ELICITATION_TEMPLATE
    question_word: ClassVar[str] = "question"
    target_word: ClassVar[str] = "answer"

    @abstractmethod
    def model(self, problem: Problem) -> BeliefModel:
        """The belief model of a problem (built from its content alone)."""

    @abstractmethod
    def shape(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int]:
        """(targets N, questions Q, answers A) that problems at this difficulty have."""

    def final_guess(self, difficulty: Mapping[str, Any]) -> bool:
        """Whether the env takes a final guess (else the episode ends when the budget is spent)."""
        return bool(difficulty.get("final_guess", True))

    def target_index(self, problem: Problem) -> int:
        return int(problem.content["target"])

    def score(self, problem: Problem, response: str) -> Score:
        model = self.model(problem)
        text = response if isinstance(response, str) else None
        if text is not None and len(text) <= MAX_ACTION_CHARS and ":" not in text:
            text = f"guess: {text}"
        parsed = model.parse_action(text if text is not None else response)
        if isinstance(parsed, str):
            return Score.zero(parsed)
        kind, index = parsed
        if kind != "guess":
            return Score.zero(f"'ask: ...' is a question, not a final {self.target_word}")
        name = model.target_names[index]
        correct = index == self.target_index(problem)
        return Score.binary(correct, parsed_answer=name,
                            error=None if correct else f"{name!r} is not the hidden {self.target_word}")

    def solve(self, problem: Problem) -> str:
        return f"guess: {problem.answer}"


ATTRIBUTE_WORDS = (
    "glowing", "furry", "winged", "aquatic", "striped", "venomous", "nocturnal", "horned",
    "scaly", "edible", "magnetic", "hollow", "singing", "spiky", "translucent", "burrowing",
    "floating", "metallic", "fragrant", "tiny", "ancient", "two-headed", "crystalline", "mossy",
)
_CONSONANTS = "bdfgklmnprstvz"
_VOWELS = "aeiou"
_TABLE_DECIMALS = 4
_FINAL_GUESS_DOC = "take a final guess after the questions (else the episode ends at the budget)"


def _budget_knob(default: int) -> Knob:
    return Knob("budget", default, "questions allowed per episode", low=1, high=MAX_BUDGET)


def fictional_names(rng: np.random.Generator, count: int) -> list[str]:
    """`count` distinct made-up names of two or three consonant-vowel syllables."""
    names: list[str] = []
    while len(names) < count:
        syllables = int(rng.integers(2, 4))
        name = "".join(_CONSONANTS[rng.integers(len(_CONSONANTS))] + _VOWELS[rng.integers(len(_VOWELS))]
                       for _ in range(syllables)).capitalize()
        if name not in names:
            names.append(name)
    return names


def _rounded_distributions(raw: np.ndarray) -> list:
    """Rows rounded to fixed decimals and renormalised, as nested lists (JSON-stable content)."""
    rounded = np.maximum(np.round(raw, _TABLE_DECIMALS), 10.0**-_TABLE_DECIMALS)
    return np.round(rounded / rounded.sum(axis=-1, keepdims=True), _TABLE_DECIMALS + 2).tolist()


def _normalised(table: Any) -> np.ndarray:
    array = np.asarray(table, dtype=float)
    return array / array.sum(axis=-1, keepdims=True)


class TwentyQuestionsTask(ElicitationTask):
    name = "elicitation-twenty-questions"
    version = 0
    question_word = "attribute"
    target_word = "entity"
    knobs = (
        Knob("entities", 8, "K: number of candidate entities", low=2, high=64),
        Knob("attributes", 12, "M: number of yes/no attributes", low=1, high=len(ATTRIBUTE_WORDS)),
        Knob("eps", 0.05, "probability that the answerer flips an answer", low=0.0, high=0.49),
        _budget_knob(10),
        Knob("bonus", 1.0, "reward for a correct guess within the budget", low=0.0),
    )

    def shape(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int]:
        return difficulty["entities"], difficulty["attributes"], 2

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        count, width = difficulty["entities"], difficulty["attributes"]
        if 2**width < count:
            raise ValueError(f"{width} yes/no attributes cannot tell {count} entities apart; "
                             f"need attributes >= {int(np.ceil(np.log2(count)))}")
        prevalence = rng.uniform(0.15, 0.85, size=width)
        rows: list[str] = []
        while len(rows) < count:  # distinct rows: every entity must be identifiable in principle
            row = "".join("1" if value else "0" for value in rng.random(width) < prevalence)
            if row not in rows:
                rows.append(row)
        entities = fictional_names(rng, count)
        attributes = [str(w) for w in rng.choice(ATTRIBUTE_WORDS, size=width, replace=False)]
        target = int(rng.integers(count))
        content = {"entities": entities, "attributes": attributes, "table": rows,
                   "eps": difficulty["eps"], "target": target}
        header = " ".join(attributes)
        table = "\n".join(f"{name}: " + " ".join("yes" if bit == "1" else "no" for bit in row)
                          for name, row in zip(entities, rows, strict=True))
        question = (
            f"I am thinking of one of {count} entities. Their attributes ({header}) are:\n{table}\n"
            f"Ask about an attribute by name; each answer is flipped with probability {difficulty['eps']}. "
            f"You may ask at most {difficulty['budget']} questions, then you must guess the entity "
            f"(a wrong guess ends the game)."
        )
        return self.make_problem(question, content, entities[target], difficulty)

    def model(self, problem: Problem) -> BeliefModel:
        content = problem.content
        eps = float(content["eps"])
        bits = np.array([[c == "1" for c in row] for row in content["table"]], dtype=float).T  # (M, K)
        yes = bits * (1 - eps) + (1 - bits) * eps
        likelihood = np.stack([yes, 1 - yes], axis=-1)
        count = len(content["entities"])
        return BeliefModel(tuple(content["entities"]), tuple(content["attributes"]), ("yes", "no"),
                           np.full(count, 1.0 / count), likelihood)


class OpinionPollTask(ElicitationTask):
    name = "elicitation-opinion-poll"
    version = 0
    target_word = "group"
    knobs = (
        Knob("classes", 4, "C: number of latent respondent groups", low=2, high=12),
        Knob("questions", 12, "number of Likert questions to choose from", low=1, high=40),
        Knob("concentration", 0.5, "Dirichlet concentration of the answer tables "
             "(smaller: groups answer more decisively)", low=0.01, high=100.0),
        _budget_knob(8),
        Knob("final_guess", False, _FINAL_GUESS_DOC, choices=(False, True)),
        Knob("bonus", 1.0, "reward for a correct final guess", low=0.0),
    )

    def shape(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int]:
        return difficulty["classes"], difficulty["questions"], 5

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        classes, questions = difficulty["classes"], difficulty["questions"]
        raw = rng.dirichlet(np.full(5, difficulty["concentration"]), size=(questions, classes))
        tables = _rounded_distributions(raw)
        groups = [f"group {chr(ord('A') + c)}" for c in range(classes)]
        names = [f"q{j + 1}" for j in range(questions)]
        target = int(rng.integers(classes))
        content = {"groups": groups, "questions": names, "tables": tables, "target": target}
        lines = []
        for j, name in enumerate(names):
            rows = "; ".join(f"{groups[c]}: " + " ".join(f"{v:.2f}" for v in tables[j][c]) for c in range(classes))
            lines.append(f"{name}: {rows}")
        question = (
            f"A respondent belongs to one of {classes} equally likely groups. Each question is answered "
            f"on a scale 1..5; P(answer 1..5 | group) per question:\n" + "\n".join(lines) + "\n"
            f"Ask up to {difficulty['budget']} questions by name to find the respondent's group."
        )
        return self.make_problem(question, content, groups[target], difficulty)

    def model(self, problem: Problem) -> BeliefModel:
        content = problem.content
        count = len(content["groups"])
        return BeliefModel(tuple(content["groups"]), tuple(content["questions"]), ("1", "2", "3", "4", "5"),
                           np.full(count, 1.0 / count), _normalised(content["tables"]))


class StudentAssessTask(ElicitationTask):
    name = "elicitation-student-assess"
    version = 0
    question_word = "item"
    target_word = "level"
    knobs = (
        Knob("grid_size", 7, "number of ability cells on the grid over [-3, 3]", low=2, high=41),
        Knob("items", 30, "number of test items to choose from", low=1, high=200),
        Knob("discrimination", 3.0, "largest item discrimination a (drawn from [0.8, this])", low=0.8, high=10.0),
        _budget_knob(12),
        Knob("final_guess", False, _FINAL_GUESS_DOC, choices=(False, True)),
        Knob("bonus", 1.0, "reward for a correct final guess", low=0.0),
    )

    def shape(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int]:
        return difficulty["grid_size"], difficulty["items"], 2

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        cells, items = difficulty["grid_size"], difficulty["items"]
        slopes = np.round(rng.uniform(0.8, difficulty["discrimination"], size=items), 3).tolist()
        offsets = np.round(rng.uniform(-3.0, 3.0, size=items), 3).tolist()
        grid = np.round(np.linspace(-3.0, 3.0, cells), 4).tolist()
        target = int(rng.integers(cells))
        content = {"grid": grid, "a": slopes, "b": offsets, "target": target}
        levels = [f"level {g + 1}" for g in range(cells)]
        item_lines = "\n".join(f"item {j + 1}: a={a}, b={b}" for j, (a, b) in enumerate(zip(slopes, offsets, strict=True)))
        question = (
            f"A student's ability theta is one of {cells} equally likely levels: "
            + ", ".join(f"{name} (theta={t})" for name, t in zip(levels, grid, strict=True))
            + ". The student answers item j correctly with probability 1/(1+exp(-a_j (theta - b_j))).\n"
            f"{item_lines}\nAsk up to {difficulty['budget']} items by name (e.g. 'ask: item 3') to find the level."
        )
        return self.make_problem(question, content, levels[target], difficulty)

    def model(self, problem: Problem) -> BeliefModel:
        content = problem.content
        theta = np.asarray(content["grid"], dtype=float)
        a = np.asarray(content["a"], dtype=float)[:, None]
        b = np.asarray(content["b"], dtype=float)[:, None]
        correct = 1.0 / (1.0 + np.exp(-a * (theta[None, :] - b)))  # (J, G)
        likelihood = np.stack([correct, 1.0 - correct], axis=-1)
        return BeliefModel(tuple(f"level {g + 1}" for g in range(len(theta))),
                           tuple(f"item {j + 1}" for j in range(a.shape[0])), ("correct", "incorrect"),
                           np.full(len(theta), 1.0 / len(theta)), likelihood)
