"""`SearchQAEnv` (`rlvr/SearchQA-v0`): answer a multi-hop question with search, open and answer tools.

Each action is one tool call (syntaxes in `calls.py`). `search` returns the top k documents as
(id, title, snippet; the `snippet_chars` knob bounds the snippet, 0 leaves ids and titles), `open`
a whole document, `answer` ends the episode with the task's score
(`task.py`, reward modes in `rewards.py`); only citations of documents the episode opened count.
Tag calls are answered in tags (`<information>...</information>`), JSON calls in JSON.

Every search, open and malformed call uses one unit of the `tool_budget` knob; a malformed call
or an unknown document gets an error observation (`<error>...</error>`, or {"error": ...}) with
the reason in `info["error"]` and the episode goes on. A call beyond the budget ends the episode
(truncated) with reward 0 and the reason. The observation is the prompt followed by the whole
transcript (actions and tool outputs); `info["tool_output"]` holds the latest tool output alone
and `info["reply"]` the same between newlines: what a token-level multi-turn rollout appends after
the call it already holds (the observation's new tail would repeat the call).

`inject(text)` appends text to the transcript without using a turn (REX-RAG's probe: resume a
trajectory from an added hint); injected text is shown to the policy but never credited as the
agent's own naming of entities. `oracle_action()` searches for each hop's head entity, opens its
document, then answers citing them: reward 1 in every reward mode.
"""

from __future__ import annotations

import copy
import json
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.core.problem import Problem, Score
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import TaskEnv, action_repr, guarded_score, internal_error
from rlvr.core.templates import PromptTemplate
from rlvr.envs.search.calls import MAX_ACTION_CHARS, ToolCall, parse_call
from rlvr.envs.search.corpus import MAX_K, SNIPPET_CHARS
from rlvr.envs.search.rewards import normalise
from rlvr.envs.search.task import SearchQATask

MAX_OBSERVATION_CHARS = 1 << 17
MAX_INJECT_CHARS = 20_000


@dataclass(frozen=True)
class SearchQAState:
    problem: Problem | None
    transcript: tuple[tuple[str, str], ...]
    opened: tuple[str, ...]
    searched: tuple[str, ...]
    calls: int
    done: bool
    score: Score | None


class SearchQAEnv(TaskEnv):
    """`rlvr/SearchQA-v0`: a multi-turn search agent over `SearchQATask` problems (doc card: `card`;
    tools and budget: the module doc)."""

    task_class = SearchQATask
    task_options = ("reward_mode", "entity_weight", "corpus_path", "questions_path")
    metadata = {"render_modes": ["ansi"], "render_fps": 1}
    card = EnvCard(
        summary="Multi-hop questions answered by a search agent over a local BM25 corpus generated from a "
        "fictional knowledge graph (one document per entity plus distractors), or the user's own JSONL "
        "corpus and questions; tools search(query, k), open(doc_id), answer(text, citations).",
        observation="text: prompt plus the transcript of calls and tool outputs (info['tool_output'] = "
        "latest output)",
        action="text: one tool call, as Search-R1 tags (<search>, <open>, <answer> + <cite>) or an "
        "OpenAI-style JSON function call",
        reward="reward_mode em | f1 | entity (E-GRPO partial credit) | rubric (CaRR supported and connected "
        "rubrics over cited, opened documents) | cgrpo (0 if wrong, else 0.7 + 0.3 * rubric); malformed "
        "calls use the tool budget; a call beyond it ends the episode with 0",
        task=task_class,
    )

    def __init__(self, task: SearchQATask | None = None, *, render_mode: str | None = None,
                 difficulty: Mapping[str, Any] | None = None, split: str | None = None,
                 template: PromptTemplate | None = None, **knobs: Any) -> None:
        super().__init__(task, difficulty=difficulty, split=split, template=template, **knobs)
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        self.render_mode = render_mode
        self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.action_space = UnicodeText(MAX_ACTION_CHARS)
        self._transcript: tuple[tuple[str, str], ...] = ()
        self._opened: tuple[str, ...] = ()
        self._searched: tuple[str, ...] = ()
        self._calls, self._done, self._score = 0, True, None

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        super().reset(seed=seed)
        self._choose_problem(seed, options)
        self._transcript, self._opened, self._searched = (), (), ()
        self._calls, self._done, self._score = 0, False, None
        return self._observation(), {**self._problem_info(), **self._counters()}

    @property
    def budget(self) -> int:
        return int(self.problem.difficulty["tool_budget"])

    def _counters(self) -> dict[str, Any]:
        return {"tool_calls": self._calls, "tool_budget": self.budget, "opened": list(self._opened)}

    def step(self, action: Any):
        if self._done or self.problem is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        try:
            call = parse_call(action)
        except Exception as error:  # the last-resort guard: a bug in reading an action must not end training
            call = internal_error(error)
        text = action[:MAX_ACTION_CHARS] if isinstance(action, str) else action_repr(action, 200)
        self._transcript = (*self._transcript, ("agent", text))
        if isinstance(call, ToolCall) and call.name == "answer":
            score = guarded_score(self.task.score_answer, self.problem, call, self.agent_text(), set(self._opened))
            return self._finish(score, truncated=False)
        if self._calls >= self.budget:
            reason = f"tool budget of {self.budget} calls used up without an answer"
            return self._finish(Score.zero(reason, None, tool_budget_exhausted=1.0), truncated=True)
        self._calls += 1
        try:
            output, error = self._run(call)
        except Exception as exc:  # the last-resort guard (see guarded_score)
            output, error = f"<error>{internal_error(exc)}</error>", internal_error(exc)
        self._transcript = (*self._transcript, ("tool", output))
        info = {**self._problem_info(), **self._counters(), "tool_output": output, "reply": f"\n{output}\n",
                "error": error,
                "call": call.name if isinstance(call, ToolCall) else None, "correct": False}
        return self._observation(), 0.0, False, False, info

    def _run(self, call: ToolCall | str) -> tuple[str, str | None]:
        """(tool output, error or None) of a search/open call or a malformed one."""
        if isinstance(call, str):
            return f"<error>{call}</error>", call
        as_json = call.syntax == "json"
        corpus = self.task.corpus(self.problem)
        if call.name == "search":
            k = call.arguments.get("k", int(self.problem.difficulty["search_k"]))
            if not 1 <= k <= MAX_K:
                return _error(f"search: k must be in [1, {MAX_K}], got {k}", as_json)
            query = call.arguments["query"]
            self._searched = (*self._searched, normalise(query))
            hits = corpus.search(query, k)
            room = int(self.problem.difficulty.get("snippet_chars", SNIPPET_CHARS))
            if as_json:
                return json.dumps({"results": [{"doc_id": h.doc_id, "title": h.title, "snippet": h.snippet[:room]}
                                               for h in hits]}), None
            lines = [f"[{h.doc_id}] {h.title}" + (f": {h.snippet[:room]}" if room else "") for h in hits]
            lines = lines or ["no document matches the query"]
            return "<information>\n" + "\n".join(lines) + "\n</information>", None
        doc = corpus.get(call.arguments["doc_id"].strip())
        if doc is None:
            return _error(f"open: no document with id {call.arguments['doc_id'][:60]!r}", as_json)
        if doc.id not in self._opened:
            self._opened = (*self._opened, doc.id)
        if as_json:
            return json.dumps({"doc_id": doc.id, "title": doc.title, "text": doc.text}), None
        return f"<information>\n[{doc.id}] {doc.title}\n{doc.text}\n</information>", None

    def inject(self, text: str) -> str:
        """Append `text` to the transcript (not a turn, not the agent's own words); the new observation."""
        if self._done or self.problem is None:
            raise RuntimeError("inject() called on a finished episode; call reset() first")
        if not isinstance(text, str):
            raise TypeError(f"inject() expects a string, got {type(text).__name__}")
        self._transcript = (*self._transcript, ("inject", text[:MAX_INJECT_CHARS]))
        return self._observation()

    def agent_text(self) -> str:
        """Everything the agent wrote this episode (its actions, no tool output, no injected text)."""
        return "\n".join(text for role, text in self._transcript if role == "agent")

    def _finish(self, score: Score, truncated: bool):
        self._done, self._score = True, score
        components = {**score.components, "tool_calls": float(self._calls)}
        info = {**self._problem_info(), **self._counters(), "gold": self.problem.answer, **score.info(),
                "components": components, "tool_output": None, "reason": score.error}
        return self._observation(), float(score.reward), not truncated, truncated, info

    def _observation(self) -> str:
        body = "\n\n".join(text for _, text in self._transcript)
        room = MAX_OBSERVATION_CHARS - len(self.problem.prompt) - 2
        return self.problem.prompt + ("\n\n" + body[-room:] if body else "")

    def oracle_action(self) -> str | None:
        """Next action of the oracle plan: search each hop's head, open its document, answer citing them."""
        if self._done or self.problem is None:
            return None
        content = self.problem.content
        if "path" not in content:
            return f"<answer>{content['answer']}</answer>"
        doc_of = {title: doc_id for doc_id, title, _ in content["documents"]}
        heads = [head for head, _, _ in content["path"]]
        unopened = [h for h in heads if doc_of[h] not in self._opened]
        remaining = self.budget - self._calls
        for head in unopened:
            if remaining <= 0:
                break
            if normalise(head) not in self._searched and remaining > len(unopened):
                return f"<search>{head}</search>"
            return f"<open>{doc_of[head]}</open>"
        cites = ", ".join(doc_of[h] for h in heads if doc_of[h] in self._opened)
        naming = " ".join(h for h in heads if normalise(h) not in normalise(self.agent_text()))
        return f"{naming}\n<answer>{content['answer']}</answer><cite>{cites}</cite>"

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        return self._observation()

    # ------------------------------------------------------------------ tree search
    def get_state(self) -> SearchQAState:
        return SearchQAState(self.problem, self._transcript, self._opened, self._searched, self._calls,
                             self._done, self._score)

    def set_state(self, saved: SearchQAState) -> None:
        self.problem, self._transcript, self._opened = saved.problem, saved.transcript, saved.opened
        self._searched, self._calls, self._done, self._score = saved.searched, saved.calls, saved.done, saved.score

    def clone(self) -> SearchQAEnv:
        twin = copy.copy(self)
        twin._np_random = copy.deepcopy(self._np_random)
        return twin


def _error(message: str, as_json: bool) -> tuple[str, str]:
    return (json.dumps({"error": message}) if as_json else f"<error>{message}</error>"), message
