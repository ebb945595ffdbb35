"""`KGPathTask` (`rlvr/KGPath-v0`, env in `env.py`): multi-hop questions over a fictional graph.

Each problem draws its own small graph from the problem rng (`entities_per_type` entities of
each type, see `rlvr.envs.knowledge.graph`), so a problem is fully defined by its content and its id is a hash of
that content, with no shared state. An L-hop relation path is sampled from a random head E0:
each step takes a relation that leads from the current entity to exactly one entity not yet on
the path (so following the relation sequence from E0 reaches exactly one tail, and every
intermediate entity is determined too). The question nests each relation's phrase: "What is the
country where the birthplace of the founder of Kobo Labs is located?".

The prompt is self-contained: it lists the path's facts and `distractor_facts` other facts of the
same graph (facts about entities on the path first, then others), shuffled with the problem rng.
With `answer_format="multiple_choice"` it also lists `choices` options: the answer and entities of
the same type (those the facts mention first), in a random order, labelled A, B, ...; the answer may be the letter, "B) name" or
the option's text, and what is scored is the entity chosen, never its position.

Hops: `hops` is a tuple of path lengths drawn uniformly (an int means one length). Defaults train
on 1-3 hops; `hops=(4, 5)` is the held-out longer-path test (registered as `rlvr/KGPathLong-v0`).

Reward modes (`reward_mode=`), every one logging the components correct, path_coverage,
entity_coverage, path_alignment and repetition (formulas in `scoring.py`):
- "binary" (default): 1 if the answer is the gold entity, else 0;
- "paper": (+0.1 if correct else -1.0) + path_alignment, in [-1, 1.6];
- "paper_entity": the same mix with entity coverage in place of path coverage (and, for the
  hits bonus, the length of the in-order run of entities in place of hits);
- "entity": correct * (0.5 + 0.5 * entity_coverage), in [0, 1].
In the paper modes an unreadable answer is a wrong answer (-1.0 + alignment), so refusing to
answer never beats answering.

The oracle (`solve`, what an SFT warm-up imitates) writes in `solution_style=`:
- "steps" (default): one line per hop naming the entities, the relation and the fact, then the
  answer in tags (about 80 characters a hop);
- "chain": the path on one line, each relation's name between the entities it joins, then an
  "Answer:" line: "Kobo Labs -founded by-> Zaper Vu -born in-> Velholm\nAnswer: Velholm"
  (about 25 characters a hop, for small models). Both mention every path item, so each scores the
  full reward in every mode.

>>> import numpy as np
>>> task = KGPathTask()
>>> problem = task.sample(np.random.default_rng(0), {"hops": 2})
>>> task.score(problem, task.solve(problem)).reward
1.0
>>> task.score(problem, "<answer>nobody</answer>").reward
0.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import networkx as nx
import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.kg import scoring
from rlvr.envs.knowledge.graph import describe_triple, entities_of_type, generate_graph, triples
from rlvr.envs.knowledge.mentions import normalise
from rlvr.envs.knowledge.paths import HopsKnob, Path, relation_forms, render_question, sample_path

REWARD_MODES = ("binary", "paper", "paper_entity", "entity")
ANSWER_FORMATS = ("free", "multiple_choice")
SOLUTION_STYLES = ("steps", "chain")
CORRECT_BONUS, WRONG_PENALTY = 0.1, -1.0
PATH_ATTEMPTS_PER_GRAPH = 50
MAX_GRAPHS = 50
LETTERS = "ABCDEFGHIJ"
_LETTER = re.compile(r"^\(?([A-Za-z])(?:[).:]|\s|$)[\s.):]*(.*)$", re.DOTALL)


def _answer_key(text: str) -> str:
    """What two answers must share to name the same entity: normalised words, no leading 'the'."""
    return normalise(text).removeprefix(" the ").strip()


def _lower_first(sentence: str) -> str:
    return sentence[:1].lower() + sentence[1:] if sentence.startswith("The ") else sentence


class KGPathTask(Task):
    """Answer a multi-hop question from the facts in the prompt (see the module doc)."""

    name: ClassVar[str] = "kg-path"
    version: ClassVar[int] = 0
    knobs: ClassVar[tuple[Knob, ...]] = (
        HopsKnob("hops", (1, 2, 3), "path lengths to draw from (train 1-3; (4, 5) for the long-path test)"),
        Knob("distractor_facts", 8, "facts shown besides the path's (fewer when the graph has fewer)",
             low=0, high=500),
        Knob("entities_per_type", 6, "entities of each type in the problem's graph", low=2, high=200),
        Knob("answer_format", "free", "free-form name or lettered options", choices=ANSWER_FORMATS),
        Knob("choices", 4, "options shown in multiple_choice format", low=2, high=len(LETTERS)),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Reason step by step through the facts, naming each entity and relation you use, then "
        "give only the final answer (the entity's name, or the option's letter when options are listed) "
        "in <answer> </answer> tags."
    )

    def __init__(self, template: PromptTemplate | None = None, *, reward_mode: str = "binary",
                 solution_style: str = "steps") -> None:
        super().__init__(template)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if solution_style not in SOLUTION_STYLES:
            raise ValueError(f"solution_style must be one of {SOLUTION_STYLES}, got {solution_style!r}")
        self.reward_mode = reward_mode
        self.solution_style = solution_style

    @property
    def reward_range(self) -> tuple[float, float]:
        """[0, 1] in the binary and entity modes; outcome + path alignment in the paper modes."""
        if self.reward_mode.startswith("paper"):
            return WRONG_PENALTY, CORRECT_BONUS + scoring.PATH_ALIGNMENT_CAP
        return 0.0, 1.0

    # ------------------------------------------------------------------ generation
    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        d = difficulty
        if d["answer_format"] == "multiple_choice" and d["choices"] > d["entities_per_type"]:
            raise ValueError(f"choices={d['choices']} needs entities_per_type >= choices, got "
                             f"entities_per_type={d['entities_per_type']}")
        for _ in range(MAX_GRAPHS):
            graph = generate_graph(rng, d["entities_per_type"])
            hops = d["hops"][int(rng.integers(len(d["hops"])))]
            for _ in range(PATH_ATTEMPTS_PER_GRAPH):
                path = sample_path(rng, graph, hops)
                if path is not None:
                    return self._build(rng, graph, path, d)
        raise RuntimeError(f"{self.name}: no {d['hops']}-hop path with a unique tail in {MAX_GRAPHS} graphs of "
                           f"{d['entities_per_type']} entities per type; use more entities or fewer hops")

    def _build(self, rng: np.random.Generator, graph: nx.MultiDiGraph, path: Path,
               d: Mapping[str, Any]) -> Problem:
        gold = set(path)
        on_path = {e for h, _, t in path for e in (h, t)}
        others = [f for f in triples(graph) if f not in gold]
        near = [f for f in others if f[0] in on_path or f[2] in on_path]
        far = [f for f in others if not (f[0] in on_path or f[2] in on_path)]
        # facts about path entities are the confusable ones, so they come first
        distractors = ([near[int(i)] for i in rng.permutation(len(near))]
                       + [far[int(i)] for i in rng.permutation(len(far))])[: d["distractor_facts"]]
        facts = list(path) + distractors
        facts = [facts[int(i)] for i in rng.permutation(len(facts))]
        head, answer = path[0][0], path[-1][2]
        relations = [r for _, r, _ in path]
        question = render_question(head, relations)
        fact_lines = "\n".join(f"- {describe_triple(*f)}" for f in facts)
        content: dict[str, Any] = {
            "facts": [list(f) for f in facts],
            "path": [list(f) for f in path],
            "question": question,
            "answer_format": d["answer_format"],
        }
        text = f"Facts:\n{fact_lines}\n\nQuestion: {question}"
        gold_answer = answer
        if d["answer_format"] == "multiple_choice":
            answer_type = graph.nodes[answer]["type"]
            shown = {e for h, _, t in facts for e in (h, t)}
            pool = [e for e in entities_of_type(graph, answer_type) if e != answer]
            # entities the facts mention first, so options cannot be ruled out by absence alone
            seen, unseen = [e for e in pool if e in shown], [e for e in pool if e not in shown]
            picks = ([seen[int(i)] for i in rng.permutation(len(seen))]
                     + [unseen[int(i)] for i in rng.permutation(len(unseen))])[: d["choices"] - 1]
            options = [picks[int(i)] for i in rng.permutation(len(picks))]
            options.insert(int(rng.integers(len(options) + 1)), answer)
            content["options"] = options
            text += "\n\nOptions:\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
            gold_answer = LETTERS[options.index(answer)]
        metadata = {"answer_entity": answer, "hops": len(path), "path_entities": [head, *(t for _, _, t in path)]}
        return self.make_problem(text, content, gold_answer, d, metadata)

    def with_options(self, problem: Problem, options: list[str]) -> Problem:
        """The same multiple-choice problem with its options in another order."""
        old = list(problem.content.get("options") or [])
        if sorted(old) != sorted(options):
            raise ValueError(f"options must be a reordering of {old}, got {options}")
        content = {**problem.content, "options": list(options)}
        text = problem.metadata["question"].split("\n\nOptions:\n")[0]
        text += "\n\nOptions:\n" + "\n".join(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))
        answer = LETTERS[options.index(problem.metadata["answer_entity"])]
        metadata = {k: v for k, v in problem.metadata.items() if k != "question"}
        return self.make_problem(text, content, answer, problem.difficulty, metadata)

    # ------------------------------------------------------------------ scoring
    def choose_entity(self, problem: Problem, answer: str) -> tuple[str | None, str | None]:
        """(entity the answer names, None) or (None, why it names none)."""
        options = problem.content.get("options")
        said = _answer_key(answer)
        if not options:
            return (answer, None) if said else (None, "empty answer")
        named = [o for o in options if _answer_key(o) == said]
        if named:
            return named[0], None
        letters = LETTERS[: len(options)]
        match = _LETTER.match(answer.strip())
        if match and match.group(1).upper() in letters:
            option = options[letters.index(match.group(1).upper())]
            rest = match.group(2)
            if rest.strip() and _answer_key(rest) != _answer_key(option):
                return None, f"the letter picks {option!r} but the text says {rest[:40]!r}"
            return option, None
        return None, f"expected an option letter (A-{letters[-1]}) or an option's text, got {answer[:40]!r}"

    def score(self, problem: Problem, response: str) -> Score:
        if not isinstance(response, str):
            return self._combine(False, None, f"response must be a string, got {type(response).__name__}", None)
        if len(response) > scoring.MAX_RESPONSE_CHARS:
            return self._combine(False, None, f"response has {len(response)} characters, more than the limit "
                                 f"{scoring.MAX_RESPONSE_CHARS}", None)
        split = scoring.split_answer(response)
        chosen, error = (None, split.error) if split.answer is None else self.choose_entity(problem, split.answer)
        gold = problem.metadata["answer_entity"]
        correct = chosen is not None and _answer_key(chosen) == _answer_key(gold)
        if chosen is not None and not correct:
            error = f"the answer names {chosen[:60]!r}, not the gold entity"
        return self._combine(correct, split.answer, error, (problem, split.reasoning))

    def _combine(self, correct: bool, parsed: str | None, error: str | None, reasoning: Any) -> Score:
        coverage = entity_coverage = alignment = 0.0
        repetition = 1.0
        if reasoning is not None:
            problem, text = reasoning
            normalised = scoring.normalise(text)
            entities = list(problem.metadata["path_entities"])
            relations = [relation_forms(r) for _, r, _ in problem.content["path"]]
            hits, items = scoring.path_hits(normalised, entities, relations)
            coverage = hits / items
            repetition = scoring.repetition_factor(text)
            alignment = scoring.path_alignment(coverage, hits, repetition)
            entity_coverage = scoring.entity_order_coverage(text, entities, normalised)
        components = {"correct": float(correct), "path_coverage": coverage, "entity_coverage": entity_coverage,
                      "path_alignment": alignment, "repetition": repetition}
        outcome = CORRECT_BONUS if correct else WRONG_PENALTY
        if self.reward_mode == "paper":
            reward = outcome + alignment
        elif self.reward_mode == "paper_entity":
            hits_bonus = int(entity_coverage * len(problem.metadata["path_entities"])) if reasoning else 0
            reward = outcome + scoring.path_alignment(entity_coverage, hits_bonus, repetition)
        elif self.reward_mode == "entity":
            reward = float(correct) * (0.5 + 0.5 * entity_coverage)
        else:
            reward = float(correct)
        return Score(round(reward, 12), components, parsed, None if correct else error)

    def solve(self, problem: Problem) -> str:
        """Every hop spelled out, then the answer, in the task's `solution_style` (module doc)."""
        path = problem.content["path"]
        if self.solution_style == "chain":
            hops = "".join(f" -{relation.replace('_', ' ')}-> {tail}" for _, relation, tail in path)
            return f"{path[0][0]}{hops}\nAnswer: {problem.answer}"
        lines = [f"Step {i}: {h} --{r}--> {t}, because {_lower_first(describe_triple(h, r, t))}"
                 for i, (h, r, t) in enumerate(problem.content["path"], 1)]
        gold = problem.metadata["answer_entity"]
        lines.append(f"So the answer is {gold}.")
        return "\n".join(lines) + f"\n<answer>{problem.answer}</answer>"
