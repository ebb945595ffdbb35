"""`SearchQATask`: multi-hop questions answered from a document corpus, scored by code.

A generated problem is drawn from the problem's rng: a knowledge graph (`rlvr.envs.knowledge`'s
`graph`), a path of `hops` steps with a unique tail at each step (`paths.sample_path`), the
question asking for the path's last entity (`render_question`), and a corpus of one document per
entity plus distractor documents (`corpus.kg_documents`), shuffled and numbered doc_0, doc_1, ...
The content holds the question, the path and every document, so a problem is self-contained
and its id covers its corpus. Prompt templates get `{question}` (the question and the budget
line) and `{bare_question}` (the question sentence alone, for short templates).

Users can bring their own files instead: `corpus_path` (JSONL {"id", "title", "text"}) and
`questions_path` (JSONL {"question", "answer", "path_entities"?}); problems are then questions
drawn from that file and searched in that corpus. Such questions have no rubrics, so the
`rubric` and `cgrpo` reward modes need generated problems.

`score(problem, response)` scores a whole written trajectory: the final answer call (the only
call, or the last <answer> block with the last <cite> block), the agent's text for entity
credit, citations checked against the corpus. The env (`env.py`) scores the same way but only
credits citations of documents the episode opened. Reward modes are in `rewards.py`:
"em", "f1", "entity" (1 when correct, else `entity_weight` * entity share), "rubric", "cgrpo".

>>> import numpy as np
>>> task = SearchQATask(reward_mode="cgrpo")
>>> problem = task.sample(np.random.default_rng(0), {"hops": 2})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.knowledge.graph import describe_triple, generate_graph
from rlvr.envs.knowledge.paths import HopsKnob, render_question, sample_path
from rlvr.envs.search import rewards
from rlvr.envs.search.calls import MAX_ACTION_CHARS, ToolCall, parse_call, split_citations
from rlvr.envs.search.corpus import (
    SNIPPET_CHARS,
    Corpus,
    Document,
    kg_documents,
    load_corpus,
    number_documents,
    read_jsonl,
)
from rlvr.rewards.qa import exact_match, f1_score

REWARD_MODES = ("em", "f1", "entity", "rubric", "cgrpo")
DEFAULT_ENTITY_WEIGHT = 0.5
MAX_QUESTIONS = 1_000_000
MAX_GRAPHS = 50
PATH_ATTEMPTS = 50
CORPUS_CACHE = 8
MAX_RESPONSE_CHARS = 200_000
_LAST_ANSWER = re.compile(r"<answer>(.*?)</answer>", re.IGNORECASE | re.DOTALL)
_LAST_CITE = re.compile(r"<cite>(.*?)</cite>", re.IGNORECASE | re.DOTALL)

INSTRUCTION = (
    "Answer the question by searching a document collection. One tool call per turn, either as tags "
    "(<search>query</search>, <open>doc_id</open>, <answer>name</answer> with <cite>doc_id, doc_id</cite>) "
    'or as JSON ({"name": "search", "arguments": {"query": "...", "k": 3}}, {"name": "open", "arguments": '
    '{"doc_id": "..."}}, {"name": "answer", "arguments": {"text": "...", "citations": ["..."]}}). '
    "Cite the documents you opened that support each step."
)


class SearchQATask(Task):
    """Multi-hop search questions over a corpus (see the module doc)."""

    name: ClassVar[str] = "search-qa"
    version: ClassVar[int] = 0
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        HopsKnob("hops", (1, 2, 3), "path lengths to draw questions from"),
        Knob("entities_per_type", 4, "entities of each type in the problem's graph (documents per type)",
             low=2, high=100),
        Knob("distractor_docs", 8, "documents about unrelated entities added to the corpus", low=0, high=500),
        Knob("tool_budget", 12, "search/open/malformed calls allowed before the episode ends", low=1, high=1000),
        Knob("search_k", 3, "results a search returns when the call gives no k", low=1, high=50),
        Knob("snippet_chars", SNIPPET_CHARS, "characters of each document's text a search result shows "
             "(0: ids and titles only, so reading a document takes an open call)", low=0, high=SNIPPET_CHARS),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(instruction=INSTRUCTION)

    def __init__(self, template: PromptTemplate | None = None, *, reward_mode: str = "em",
                 entity_weight: float = DEFAULT_ENTITY_WEIGHT, corpus_path: str | Path | None = None,
                 questions_path: str | Path | None = None) -> None:
        super().__init__(template)
        if reward_mode not in REWARD_MODES:
            raise ValueError(f"reward_mode must be one of {REWARD_MODES}, got {reward_mode!r}")
        if not 0.0 <= entity_weight <= 1.0:
            raise ValueError(f"entity_weight must be in [0, 1], got {entity_weight!r}")
        if (corpus_path is None) != (questions_path is None):
            raise ValueError("give both corpus_path and questions_path, or neither")
        if corpus_path is not None and reward_mode in ("rubric", "cgrpo"):
            raise ValueError(f"reward_mode {reward_mode!r} needs rubrics, which only generated problems have; "
                             "use 'em', 'f1' or 'entity' with your own files")
        self.reward_mode, self.entity_weight = reward_mode, float(entity_weight)
        self._cache: dict[str, Corpus] = {}
        self.user_corpus: Corpus | None = None
        self.questions: list[dict[str, Any]] = []
        self.corpus_fingerprint = ""
        if corpus_path is not None:
            self.user_corpus = load_corpus(corpus_path)
            self.corpus_fingerprint = hashlib.blake2b(
                "\x00".join(f"{d.id}\x01{d.title}\x01{d.text}" for d in self.user_corpus.documents).encode(),
                digest_size=8).hexdigest()
            self.questions = [_check_question(q, n, questions_path)
                              for n, q in enumerate(read_jsonl(questions_path, MAX_QUESTIONS, "questions"), 1)]
            if not self.questions:
                raise ValueError(f"{questions_path}: no questions")

    # ------------------------------------------------------------------ generation
    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        d = difficulty
        if self.user_corpus is not None:
            record = self.questions[int(rng.integers(len(self.questions)))]
            content = {"question": record["question"], "answer": record["answer"],
                       "path_entities": record["path_entities"], "corpus": self.corpus_fingerprint}
            return self._problem(content, d)
        for _ in range(MAX_GRAPHS):
            graph = generate_graph(rng, d["entities_per_type"])
            hops = d["hops"][int(rng.integers(len(d["hops"])))]
            for _ in range(PATH_ATTEMPTS):
                path = sample_path(rng, graph, hops)
                if path is not None:
                    titled = kg_documents(rng, graph, d["distractor_docs"], d["entities_per_type"])
                    documents = number_documents(titled, rng)
                    content = {"question": render_question(path[0][0], [r for _, r, _ in path]),
                               "answer": path[-1][2], "path": [list(step) for step in path],
                               "path_entities": [path[0][0], *(t for _, _, t in path)],
                               "documents": [[doc.id, doc.title, doc.text] for doc in documents]}
                    return self._problem(content, d)
        raise RuntimeError(f"{self.name}: no {d['hops']}-hop path with unique tails in {MAX_GRAPHS} graphs of "
                           f"{d['entities_per_type']} entities per type; use more entities or fewer hops")

    def _problem(self, content: dict[str, Any], d: Mapping[str, Any]) -> Problem:
        text = (f"Question: {content['question']}\n\nYou may make {d['tool_budget']} search/open calls; a "
                f"search returns {d['search_k']} results unless it asks for another k.")
        # `bare_question`: the question sentence alone, for short prompt templates (the budget
        # still holds whether or not the prompt states it)
        return self.make_problem(text, content, content["answer"], d, bare_question=content["question"])

    def corpus(self, problem: Problem) -> Corpus:
        """The problem's corpus, indexed (cached for the last few problems)."""
        if "documents" not in problem.content:
            if self.user_corpus is None or problem.content.get("corpus") != self.corpus_fingerprint:
                raise ValueError("this problem's corpus is a user file this task was not built with")
            return self.user_corpus
        cached = self._cache.get(problem.problem_id)
        if cached is None:
            cached = Corpus(Document(*doc) for doc in problem.content["documents"])
            if len(self._cache) >= CORPUS_CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[problem.problem_id] = cached
        return cached

    # ------------------------------------------------------------------ scoring
    def score(self, problem: Problem, response: str) -> Score:
        if not isinstance(response, str):
            return Score.zero(f"expected the response as a string, got {type(response).__name__}")
        if len(response) > MAX_RESPONSE_CHARS:
            return Score.zero(f"expected at most {MAX_RESPONSE_CHARS} characters, got {len(response)}")
        call = final_answer(response)
        if isinstance(call, str):
            return Score.zero(call)
        return self.score_answer(problem, call, response, set(self.corpus(problem).by_id))

    def score_answer(self, problem: Problem, call: ToolCall, agent_text: str, citable: set[str]) -> Score:
        """Score an answer call; only citations in `citable` count (the env passes the opened ids)."""
        content, answer = problem.content, call.arguments.get("text", "")
        correct = exact_match(answer, content["answer"])
        f1 = f1_score(answer, content["answer"])
        share = rewards.entity_share(agent_text, content["path_entities"][1:])
        cited = [c for c in dict.fromkeys(call.arguments.get("citations", [])) if c in citable]
        supported_share = rubric = 0.0
        if "path" in content:
            corpus = self.corpus(problem)
            path = [tuple(step) for step in content["path"]]
            identified = rewards.named_entities(agent_text, content["path_entities"]) | {content["path_entities"][0]}
            flags = rewards.supported_rubrics(path, [describe_triple(*step) for step in path], identified,
                                              [corpus.by_id[c].text for c in cited])
            supported_share, rubric = rewards.rubric_reward(path, flags, content["answer"])
        reward = {"em": correct, "f1": f1, "rubric": rubric, "cgrpo": rewards.cgrpo_reward(bool(correct), rubric),
                  "entity": 1.0 if correct else self.entity_weight * share}[self.reward_mode]
        components = {"correct": correct, "em": correct, "f1": f1, "entity_share": share,
                      "rubric_supported": supported_share, "rubric": rubric, "citations": float(len(cited))}
        error = None if correct else f"the answer {answer[:60]!r} does not match the gold answer"
        return Score(round(float(reward), 12), components, answer, error)

    def solve(self, problem: Problem) -> str:
        """Every hop named, then the answer citing each hop's head document."""
        content = problem.content
        if "path" not in content:
            return f"<answer>{content['answer']}</answer>"
        titles = {title: doc_id for doc_id, title, _ in content["documents"]}
        lines = [describe_triple(*step) for step in content["path"]]
        cites = ", ".join(titles[head] for head, _, _ in content["path"])
        return "\n".join(lines) + f"\n<answer>{content['answer']}</answer><cite>{cites}</cite>"


def final_answer(response: str) -> ToolCall | str:
    """The response's answer call: the whole response as one call, else its last <answer> block
    with its last <cite> block."""
    call = parse_call(response[:MAX_ACTION_CHARS]) if len(response) <= MAX_ACTION_CHARS else None
    if isinstance(call, ToolCall):
        return call if call.name == "answer" else f"expected a final answer call, got a {call.name} call"
    answers = _LAST_ANSWER.findall(response)
    if not answers or not answers[-1].strip():
        return call or "expected a final <answer>...</answer> (or a JSON answer call), found none"
    cites = _LAST_CITE.findall(response)
    return ToolCall("answer", {"text": answers[-1].strip(), "citations": split_citations(cites[-1]) if cites else []})


def _check_question(record: dict[str, Any], number: int, path: Any) -> dict[str, Any]:
    question, answer = record.get("question"), record.get("answer")
    entities = record.get("path_entities", record.get("path", []))
    if not isinstance(question, str) or not question.strip() or not isinstance(answer, str) or not answer.strip():
        raise ValueError(f"{path}: question {number} needs non-empty strings 'question' and 'answer', "
                         f"got keys {sorted(record)}")
    if not isinstance(entities, list) or not all(isinstance(e, str) for e in entities):
        raise ValueError(f"{path}: question {number}: 'path_entities' must be a list of names, got {entities!r}")
    return {"question": question, "answer": answer, "path_entities": entities}
