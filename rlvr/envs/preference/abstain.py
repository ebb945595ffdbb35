"""`AbstainQATask` and `AbstainQAEnv` (`rlvr/AbstainQA-v0`): multiple choice with "I don't know".

Questions come from two generators, both with answers known by construction:
- `arithmetic`: "What is 47 * 86?" with distractors near the true value (off by a small amount or
  a digit); answerable by computation, harder with more digits;
- `facts`: a table of fictional entities (invented names, so no model has seen them) with
  attributes; the prompt lists some facts and asks about one. With probability
  `unanswerable_rate` the asked fact is left out of the list: then nothing in the prompt
  determines the answer, and abstaining is the best policy whenever l_w > l_c / (n - 1) for n
  substantive options.

The last option is always "I don't know". Reward is ternary: `reward_correct` (l_c) for the gold
option, -`penalty_wrong` (-l_w) for another option, 0 for "I don't know"; a response with no
readable choice is scored as wrong (with the reason), so garbage never pays as well as an honest
abstention. The
Distributional Correctness Score of a model's option distribution is
`rlvr.rewards.distributional.dcs_from_logprobs(logprobs, problem.answer, problem.metadata["abstain"],
problem.metadata["letters"])`.
"""

from __future__ import annotations

import string
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.rewards.distributional import abstention_score

IDK = "I don't know"
SOURCES = ("arithmetic", "facts", "mixed")
_SYLLABLES = ("ka", "lo", "mi", "ren", "tha", "vo", "zel", "qua", "dor", "isk", "nu", "bra", "fen", "ol")
_ATTRIBUTES = {
    "home city": ("Varnis", "Oltheim", "Quessa", "Drumor", "Pellan", "Ysgard", "Tovik", "Marrow Bay"),
    "favourite colour": ("amber", "teal", "crimson", "ochre", "violet", "silver", "olive", "indigo"),
    "profession": ("cartographer", "glassblower", "beekeeper", "archivist", "ferryman", "luthier", "tanner",
                   "astronomer"),
    "pet": ("heron", "tortoise", "ferret", "goat", "owl", "gecko", "hound", "carp"),
}


class AbstainQATask(Task):
    """Multiple choice with an "I don't know" option and a ternary reward (see the module doc)."""

    name: ClassVar[str] = "abstainqa"
    version: ClassVar[int] = 1  # 1: answers read by rlvr.rewards.answers (think tails, tags, boxes)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("source", "mixed", "question generator", choices=SOURCES),
        Knob("options", 4, "substantive options (the 'I don't know' option comes on top)", low=2, high=8),
        Knob("digits", 2, "digits of each arithmetic operand", low=1, high=6),
        Knob("entities", 4, "fictional entities in a facts problem", low=1, high=12),
        Knob("unanswerable_rate", 0.3, "chance that a facts question's fact is left out of the prompt", low=0.0, high=1.0),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Answer with one option letter in <answer> </answer> tags. A wrong answer costs more than "
        "saying you don't know."
    )

    def __init__(self, template: PromptTemplate | None = None, *, reward_correct: float = 1.0,
                 penalty_wrong: float = 1.0) -> None:
        super().__init__(template)
        if reward_correct <= 0 or penalty_wrong < 0:
            raise ValueError(f"need reward_correct > 0 and penalty_wrong >= 0, got {reward_correct}, {penalty_wrong}")
        self.reward_correct, self.penalty_wrong = float(reward_correct), float(penalty_wrong)

    @property
    def reward_range(self) -> tuple[float, float]:
        """-penalty_wrong for a wrong or unreadable answer, 0 for "I don't know", reward_correct when right."""
        return -self.penalty_wrong, self.reward_correct

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        source = difficulty["source"]
        if source == "mixed":
            source = SOURCES[int(rng.integers(2))]
        if source == "arithmetic":
            question, gold, distractors, answerable = self._arithmetic(rng, difficulty)
        else:
            question, gold, distractors, answerable = self._facts(rng, difficulty)
        choices = [gold, *distractors]
        order = rng.permutation(len(choices))
        values = [choices[i] for i in order]
        letters = string.ascii_uppercase[: len(values) + 1]
        options = {letter: value for letter, value in zip(letters, [*values, IDK], strict=True)}
        gold_letter = letters[values.index(gold)]
        listed = "\n".join(f"{letter}. {value}" for letter, value in options.items())
        content = {"source": source, "question": question, "options": options, "answerable": answerable}
        metadata = {"letters": letters, "abstain": letters[-1], "gold_text": gold}
        return self.make_problem(f"{question}\n\n{listed}", content, gold_letter, difficulty, metadata)

    def _arithmetic(self, rng: np.random.Generator, d: Mapping[str, Any]) -> tuple[str, str, list[str], bool]:
        low, high = 10 ** (d["digits"] - 1) if d["digits"] > 1 else 0, 10 ** d["digits"] - 1
        x, y = (int(v) for v in rng.integers(low, high + 1, size=2))
        op = "+-*"[int(rng.integers(3))]
        value = x + y if op == "+" else x - y if op == "-" else x * y
        distractors: list[str] = []
        scale = max(1, abs(value) // 10)
        while len(distractors) < d["options"] - 1:
            # near misses: off by a small amount or by a power of ten, never the true value
            offset = int(rng.integers(1, scale + 10)) * (1 if rng.random() < 0.5 else -1)
            candidate = str(value + offset)
            if candidate not in distractors:
                distractors.append(candidate)
        return f"What is {x} {op} {y}?", str(value), distractors, True

    def _facts(self, rng: np.random.Generator, d: Mapping[str, Any]) -> tuple[str, str, list[str], bool]:
        names: list[str] = []
        while len(names) < d["entities"]:
            parts = rng.choice(len(_SYLLABLES), size=3)
            name = "".join(_SYLLABLES[i] for i in parts).capitalize()
            if name not in names:
                names.append(name)
        attributes = list(_ATTRIBUTES)
        attribute = attributes[int(rng.integers(len(attributes)))]
        pool = _ATTRIBUTES[attribute]
        table = {name: pool[int(rng.integers(len(pool)))] for name in names}
        asked = names[int(rng.integers(len(names)))]
        answerable = bool(rng.random() >= d["unanswerable_rate"])
        facts = [f"The {attribute} of {n} is {v}." for n, v in table.items() if answerable or n != asked]
        others = [v for v in pool if v != table[asked]]
        picks = rng.choice(len(others), size=min(d["options"] - 1, len(others)), replace=False)
        distractors = [others[int(i)] for i in sorted(picks)]
        known = " ".join(facts) if facts else "(no facts are given)"
        return f"Facts: {known}\nQuestion: What is the {attribute} of {asked}?", table[asked], distractors, answerable

    def score(self, problem: Problem, response: str) -> Score:
        score = abstention_score(response, problem.answer, problem.content["options"], problem.metadata["abstain"],
                                 reward_correct=self.reward_correct, penalty_wrong=self.penalty_wrong)
        components = {**score.components, "answerable": float(problem.content["answerable"])}
        return Score(score.reward, components, score.parsed_answer, score.error)

    def solve(self, problem: Problem) -> str:
        return f"<answer>{problem.answer}</answer>"


class AbstainQAEnv(TextEnv):
    """`rlvr/AbstainQA-v0`: one multiple-choice question an episode, "I don't know" allowed
    (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = AbstainQATask
    task_options: ClassVar[tuple[str, ...]] = ("reward_correct", "penalty_wrong")
    card = EnvCard(
        summary="Multiple choice with an 'I don't know' option: arithmetic or fictional-fact questions, "
        "some unanswerable from the prompt; the Distributional Correctness Score is available as a metric "
        "from option log-probs.",
        observation="text prompt: question and lettered options, the last being \"I don't know\"",
        action="text response: one option letter (or the option's text) in <answer></answer> tags",
        reward="reward_correct (1) for the gold option, -penalty_wrong (-1) for another or an unreadable "
        "answer, 0 for \"I don't know\"; components: correct, abstained, wrong, format, answerable",
        task=task_class,
    )

