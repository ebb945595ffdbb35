"""`DebateParallelEnv`: N debaters answer one verifiable question over R rounds (PettingZoo).

Each step is one round: every live debater sends a message (a string or a dict, see
`protocol`), the question's own task scores it, and each debater then sees the question and its
peers' messages from that round. After round R the group's answer is the majority vote over the
last round's answers (ties by summed confidence, then a draw from the env's seeded generator),
and each debater earns, at that last step only,

    l1 * [a_i = y] + l2 * [vote = y] - l3 * (c_i - [a_i = y])^2        (defaults l1 = l2 = l3 = 1)

with c_i the stated confidence (0.5 when none is stated). A debater whose final message is
unusable (not a string/dict, bad confidence, no answer the task can read, or an `actions`
argument that is not a dict) earns 0, the reason in its info, and its answer counts as none in
the vote. Earlier rounds pay 0; their scores are in
`info`. Options:
- init "vanilla": round 0 is one message per debater. "diverse": in round 0 each debater may send
  a list of samples; from all of them N are kept that hold the most distinct answers
  (`protocol.select_diverse`) and debater k is assigned the k-th kept one (info "round0_source").
- update "vanilla": peers are shown answers and rationales. "confidence": also the stated
  confidences, which the final tie-break uses in both modes.
`info` carries the round-0 majority-vote correctness ("baseline_vote_correct") and the transcript
(one list per round of per-debater records). `info[agent]["messages"]` is the chat turn for that
debater's next message, so a trainer can prompt each debater separately; `agent_turns(agent)`
and `transcript_spans()` give one debater's (prompt, response, reward) turns and the characters of
the transcript it wrote (see `rlvr.envs.debate.hooks`).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from pettingzoo import ParallelEnv

from rlvr.core.hints import did_you_mean
from rlvr.core.observations import TextObservation
from rlvr.core.problem import Problem, Score, check_split
from rlvr.core.seeding import fresh_seed
from rlvr.core.spaces import UnicodeText
from rlvr.core.task import Task
from rlvr.core.task_env import guarded_score, internal_error
from rlvr.envs.debate.hooks import Turn, agent_turns, response_text, transcript_spans
from rlvr.envs.debate.protocol import (
    DEFAULT_CONFIDENCE,
    MAX_MESSAGE_CHARS,
    Message,
    RewardWeights,
    answer_key,
    debate_reward,
    format_transcript,
    majority_vote,
    parse_message,
    select_diverse,
)

INITS = ("vanilla", "diverse")
UPDATES = ("vanilla", "confidence")
RESET_OPTIONS = ("difficulty", "problem", "index")
MAX_TEXT_LENGTH = 1 << 20
MAX_SAMPLES = 64
"""Most round-0 samples one debater may send under init='diverse'."""
FORMAT_INSTRUCTION = (
    "Reply in this form:\nanswer: <your final answer>\nconfidence: <a number from 0 to 1>\n"
    "rationale: <a short justification>"
)


def load_task(task: str | Task) -> Task:
    """A Task object from a task instance or a registered single-agent env id."""
    return task_source(task).task


def task_source(task: str | Task) -> Any:
    """(task, its difficulty defaults) as a `TaskSource`: an id's are what its env plays
    (`rlvr.registration.resolve`), so debaters see that env's problems."""
    from rlvr.core.stream import TaskSource

    if isinstance(task, Task):
        return TaskSource(task)
    from rlvr.registration import ids, resolve  # local: registration imports no env modules

    if not isinstance(task, str) or task not in ids("gymnasium"):
        raise KeyError(
            f"task must be a Task or a registered single-agent env id, got {task!r}; registered: "
            f"{ids('gymnasium')}" + (did_you_mean(task, ids("gymnasium")) if isinstance(task, str) else "")
        )
    return resolve(task)


class DebateParallelEnv(ParallelEnv):
    """The raw parallel debate env; `rlvr.envs.debate_v0` wraps it (and converts it to AEC)."""

    metadata = {"name": "rlvr_debate_v0", "render_modes": ["ansi"], "is_parallelizable": True}

    def __init__(
        self,
        task: str | Task = "rlvr/RandomCalc-v0",
        *,
        num_debaters: int = 3,
        rounds: int = 3,
        init: str = "vanilla",
        update: str = "vanilla",
        weights: RewardWeights | Mapping[str, float] | None = None,
        default_confidence: float = DEFAULT_CONFIDENCE,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        seed: int | None = None,
        render_mode: str | None = None,
        **knobs: Any,
    ) -> None:
        if not isinstance(num_debaters, int) or num_debaters < 1:
            raise ValueError(f"num_debaters must be an int >= 1, got {num_debaters!r}")
        if not isinstance(rounds, int) or rounds < 1:
            raise ValueError(f"rounds must be an int >= 1, got {rounds!r}")
        if init not in INITS:
            raise ValueError(f"init must be one of {INITS}, got {init!r}" + did_you_mean(str(init), INITS))
        if update not in UPDATES:
            raise ValueError(f"update must be one of {UPDATES}, got {update!r}" + did_you_mean(str(update), UPDATES))
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if not 0.0 <= default_confidence <= 1.0:
            raise ValueError(f"default_confidence must be in [0, 1], got {default_confidence!r}")
        source = task_source(task)
        self.task = source.task
        self.num_debaters, self.rounds, self.init, self.update = num_debaters, rounds, init, update
        self.weights = weights if isinstance(weights, RewardWeights) else RewardWeights(**dict(weights or {}))
        self.default_confidence = float(default_confidence)
        self.difficulty = self.task.difficulty(source.difficulty, difficulty, knobs)
        self.split = check_split(split)
        self.render_mode = render_mode
        self.possible_agents = [f"debater_{i}" for i in range(num_debaters)]
        self.agents: list[str] = []
        space = UnicodeText(MAX_TEXT_LENGTH)
        self._observation_spaces = {a: space for a in self.possible_agents}
        # Longer messages are accepted and cut (see protocol.MAX_MESSAGE_CHARS); the space says how
        # long a message is read, which also keeps sampled actions cheap.
        self._action_spaces = {a: UnicodeText(MAX_MESSAGE_CHARS) for a in self.possible_agents}
        self._initial_seed = seed
        self._stream_seed: int | None = None
        self._index = -1
        self._rng = np.random.default_rng(seed)
        self.problem: Problem | None = None
        self.transcript: list[list[dict[str, Any]]] = []
        self.turns: list[Turn] = []
        self._prompts: dict[str, list[dict[str, str]]] = {}
        self.round = 0

    def observation_space(self, agent: str) -> UnicodeText:
        return self._observation_spaces[agent]

    @property
    def reward_range(self) -> tuple[float, float]:
        """Every debater's reward bounds: l1*[a_i = y] + l2*[vote = y] - l3*(c_i - [a_i = y])^2 with
        the indicators in {0, 1} and the squared error in [0, 1], or 0 for an unusable message."""
        w = self.weights
        low = min(0.0, w.own) + min(0.0, w.vote) + min(0.0, -w.brier)
        high = max(0.0, w.own) + max(0.0, w.vote) + max(0.0, -w.brier)
        return low, high

    @property
    def score_time_limit(self) -> float:
        """Longest a step's scoring may take: the task's time limit per message, for every message."""
        per_message = getattr(self.task, "timeout", 0.0)
        per_message = float(per_message) if isinstance(per_message, (int, float)) else 0.0
        messages = self.num_debaters * (MAX_SAMPLES if self.init == "diverse" else 1)  # round 0 may send lists
        return per_message * messages

    def action_space(self, agent: str) -> UnicodeText:
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ episode
    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None):
        options = dict(options or {})
        # PettingZoo's api test resets with options it made up, so unknown keys cannot be an error
        # here; they are ignored and named in every debater's info instead of passing silently.
        ignored = sorted(str(k) for k in options if k not in RESET_OPTIONS)
        if seed is None and self._stream_seed is None and self._initial_seed is not None:
            seed = self._initial_seed
        if seed is not None:
            # Tie-breaks and diverse selection draw from their own stream, apart from the problems.
            self._rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
            self._stream_seed, self._index = int(seed), -1
        elif self._stream_seed is None:
            self._stream_seed = fresh_seed(self._rng)
        if options.get("difficulty"):
            self.difficulty = self.task.difficulty(self.difficulty, options["difficulty"])
        if options.get("problem") is not None:
            if not isinstance(options["problem"], Problem):
                raise TypeError(f"options['problem'] must be a Problem, got {type(options['problem']).__name__}")
            self.problem = options["problem"]
        else:
            self._index = int(options["index"]) if "index" in options else self._index + 1
            self.problem = self.task.problem_at(self._stream_seed, self._index, self.difficulty, self.split)
        self.agents = list(self.possible_agents)
        self.transcript, self.turns, self.round = [], [], 0
        observations = {a: self._observation(a) for a in self.agents}
        infos = {a: self._base_info(a, observations[a]) for a in self.agents}
        self._prompts = {a: infos[a]["messages"] for a in self.agents}
        if ignored:
            for info in infos.values():
                info["ignored_reset_options"] = ignored
        return observations, infos

    def step(self, actions: Mapping[str, Any]):
        if not self.agents or self.problem is None:
            raise RuntimeError("step() called on a finished debate; call reset() first")
        records: dict[str, dict[str, Any]] = {}
        sources: dict[str, dict[str, int]] = {}
        missing = None
        if not isinstance(actions, Mapping):  # every debater's message is then unusable, with this reason
            missing = f"actions must be a dict from agent name to action, got {type(actions).__name__}"
            actions = {}
        turns = self._record_turns(actions)
        if self.round == 0 and self.init == "diverse":
            records, sources = self._diverse_round(actions, missing)
        else:
            for agent in self.agents:
                records[agent] = self._read(agent, actions.get(agent), missing or f"no action given for {agent}")
        round_records = [records[a] for a in self.agents]
        self.transcript.append(round_records)
        keys = [r["key"] for r in round_records]
        confidences = [r["confidence"] for r in round_records]
        vote_key, vote_how = majority_vote(keys, confidences, self._rng)
        vote_correct = any(r["key"] == vote_key and r["correct"] for r in round_records) if vote_key else False
        vote = {"round": self.round, "answer": vote_key, "how": vote_how, "correct": vote_correct}
        if self.round == 0:
            self._baseline = vote
        self.round += 1
        final = self.round >= self.rounds
        rewards = {a: 0.0 for a in self.agents}
        infos: dict[str, dict[str, Any]] = {}
        observations = {}
        for agent in self.agents:
            observations[agent] = self._final_observation(vote) if final else self._observation(agent)
            info = self._base_info(agent, observations[agent])
            info.update(own=dict(records[agent]), vote=dict(vote))
            if agent in sources:
                info["round0_source"] = dict(sources[agent])
            if final:
                rewards[agent], components, error = self._reward(records[agent], vote_correct)
                info.update(components=components, error=error, gold=self.problem.answer)
            infos[agent] = info
        terminations = {a: final for a in self.agents}
        truncations = {a: False for a in self.agents}
        self._prompts = {a: infos[a]["messages"] for a in self.agents}
        for turn in turns:
            turn.reward = rewards[turn.agent]
        if final:
            for turn in self.turns:  # the return credited to a turn: its agent's rewards from then on
                turn.return_ = turn.reward + sum(t.reward for t in self.turns if t.agent == turn.agent and t.round > turn.round)
            self.agents = []
        return observations, rewards, terminations, truncations, infos

    def oracle_action(self, agent: str | None = None) -> str | None:
        """A message with the task oracle's response (the same for every debater; None when the
        debate is over or the task has no oracle)."""
        if self.problem is None or not self.agents:
            return None
        return self.task.solve(self.problem)

    # ------------------------------------------------------------------ training hooks
    def _record_turns(self, actions: Mapping[str, Any]) -> list[Turn]:
        """One `Turn` per message sent this round (one per sample for a diverse round-0 list)."""
        turns = []
        for agent in self.agents:
            action = actions.get(agent)
            if action is None:
                continue
            prompt = [dict(m) for m in self._prompts.get(agent, [])]
            if self.round == 0 and self.init == "diverse" and isinstance(action, (list, tuple)) and action:
                turns += [Turn(agent, self.round, prompt, response_text(sample), sample=j)
                          for j, sample in enumerate(action[:MAX_SAMPLES])]
            else:
                turns.append(Turn(agent, self.round, prompt, response_text(action)))
        self.turns.extend(turns)
        return turns

    def agent_turns(self, agent: str) -> list[Turn]:
        """`agent`'s turns this episode: prompt messages, response text, reward, return."""
        return agent_turns(self, agent)

    def transcript_spans(self) -> tuple[str, dict[str, list[tuple[int, int]]]]:
        """The episode as one text and each debater's character spans in it (see `hooks`)."""
        return transcript_spans(self)

    # ------------------------------------------------------------------ pieces
    def _read(self, agent: str, action: Any, missing: str) -> dict[str, Any]:
        """Score one message and record what peers and the transcript need."""
        try:
            message = parse_message(action) if action is not None else Message(None, None, "", missing)
        except Exception as error:  # the last-resort guard (see rlvr.core.task_env.guarded_score)
            message = Message(None, None, "", internal_error(error))
        record: dict[str, Any] = {"agent": agent, "round": self.round, "answer": None, "key": None,
                                  "stated_confidence": message.confidence, "rationale": message.rationale,
                                  "correct": False, "error": message.error}
        if message.response is not None:
            score = guarded_score(self.task.score, self.problem, message.response)
            try:
                key = answer_key(score.parsed_answer)
            except Exception as error:  # the last-resort guard
                key, score = None, Score.zero(internal_error(error), score.parsed_answer)
            record["answer"] = score.parsed_answer
            record["key"] = key
            record["correct"] = bool(score.correct)
            if record["key"] is None:
                record["error"] = score.error or "no answer found"
            elif not score.correct:
                record["error"] = score.error
        conf = message.confidence
        record["confidence"] = self.default_confidence if conf is None else conf
        record["valid"] = record["key"] is not None
        return record

    def _diverse_round(self, actions: Mapping[str, Any], missing: str | None = None):
        """Round 0 under init='diverse': pool every debater's samples, keep N diverse ones."""
        pool: list[tuple[str, int, dict[str, Any]]] = []
        for agent in self.agents:
            action = actions.get(agent)
            samples = list(action[:MAX_SAMPLES]) if isinstance(action, (list, tuple)) and action else [action]
            for j, sample in enumerate(samples):
                pool.append((agent, j, self._read(agent, sample, missing or f"no action given for {agent}")))
        chosen = select_diverse([rec["key"] for _, _, rec in pool], len(self.agents), self._rng)
        records, sources = {}, {}
        for agent, index in zip(self.agents, chosen, strict=True):
            source_agent, sample, record = pool[index]
            records[agent] = {**record, "agent": agent}
            sources[agent] = {"agent": int(source_agent.rsplit("_", 1)[1]), "sample": sample}
        return records, sources

    def _reward(self, record: Mapping[str, Any], vote_correct: bool) -> tuple[float, dict[str, float], str | None]:
        if not record["valid"]:
            zero = {"own_correct": 0.0, "vote_correct": 0.0, "brier_penalty": 0.0}
            return 0.0, zero, record["error"] or "no usable answer"
        reward = debate_reward(record["correct"], vote_correct, record["confidence"], self.weights)
        return float(reward.total), reward.components(), record["error"]

    def _peer_lines(self, agent: str) -> list[str]:
        lines = []
        for record in self.transcript[-1]:
            if record["agent"] == agent:
                continue
            text = f"[{record['agent']}] answer: {record['answer'] if record['valid'] else '(none)'}"
            if self.update == "confidence":
                text += f"\nconfidence: {record['confidence']:.2f}"
            if record["rationale"]:
                text += f"\nrationale: {record['rationale'][:2000]}"
            lines.append(text)
        return lines

    def _observation(self, agent: str) -> str:
        assert self.problem is not None
        header = f"You are {agent}, one of {self.num_debaters} debaters; this is round {self.round + 1} of {self.rounds}."
        parts = [self.problem.prompt, header]
        if self.transcript:
            own = next(r for r in self.transcript[-1] if r["agent"] == agent)
            parts.append(f"Your previous answer: {own['answer'] if own['valid'] else '(none)'}")
            peers = self._peer_lines(agent)
            if peers:
                parts.append("The other debaters said:\n" + "\n\n".join(peers))
            parts.append("Weigh their arguments, then give your answer.")
        elif self.init == "diverse":
            parts.append("You may send a list of several independent answers; a diverse set is kept.")
        parts.append(FORMAT_INSTRUCTION)
        return TextObservation("\n\n".join(parts))

    def _final_observation(self, vote: Mapping[str, Any]) -> str:
        answer = vote["answer"] if vote["answer"] is not None else "(none)"
        return TextObservation(f"The debate is over. Majority vote: {answer} ({vote['how']}).")

    def _base_info(self, agent: str, observation: str) -> dict[str, Any]:
        assert self.problem is not None
        info: dict[str, Any] = {
            "round": self.round,
            "problem_id": self.problem.problem_id,
            "messages": [{"role": "user", "content": observation}],
            "transcript": [[dict(r) for r in rnd] for rnd in self.transcript],
        }
        if self.transcript:
            info["baseline_vote_correct"] = bool(self._baseline["correct"])
            info["peers"] = [dict(r) for r in self.transcript[-1] if r["agent"] != agent]
        return info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        return format_transcript(self.problem.prompt, self.transcript)

    def close(self) -> None:
        pass
