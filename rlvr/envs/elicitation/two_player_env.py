"""Two-player twenty questions (PettingZoo AEC): the answerer is an agent too.

Agents `questioner` and `answerer` alternate. The questioner asks about an attribute or guesses
the entity, as in `rlvr/TwentyQuestions-v0`; after each question the answerer, who sees the hidden
entity and its attribute row, replies yes or no. Nothing forces the answerer to tell the truth.

Rewards (all verifiable from the problem's latent table):
- questioner: the exact information gain `H(before) - H(after)` in bits of its own posterior when
  an answer arrives, plus the `bonus` knob for a right guess. The posterior assumes the answerer
  flips each answer with probability `eps` (the task knob), i.e. it is the single-agent posterior
  fed with the answers the answerer actually gave. An answer that every remaining candidate rules
  out (possible only with eps = 0) leaves the posterior as it was, pays 0 and is flagged in
  `info["contradiction"]`.
- answerer, `answerer_reward="truthful"` (default): 1 for each answer that matches the hidden
  entity's row of the table, 0 for a lie or an unreadable answer. `"team"`: the questioner's
  reward, paid at the same moments (a cooperative game).
Every step's `info` carries both components (`gain`, `bonus`, `truthful`).

Turns and ends: questioner, answerer, questioner, ... A guess ends the game for both; so does a
question asked after `budget` questions (unsolved). An unreadable questioner action earns 0 with
the reason and uses a question (the game ends once more than `budget` are used); an unreadable
answer uses the question, is not shown to the questioner as evidence, and earns the answerer 0.

`action_mode="discrete"`: questioner `Discrete(M + K)` (ask j, then guess M + k), answerer
`Discrete(2)` (0 yes, 1 no); observations are float32 boxes: questioner `Dict(prior, likelihood,
answer_counts, questions_left)` as in the single-agent env, answerer `Dict(entity_attributes,
question)` (the hidden row and a one-hot of the pending question). `action_mode="text"`: actions
`ask: <attribute>` / `guess: <entity>` and `yes` / `no`; observations are prompts.

The game is turn-based (the answerer must see the question before it answers), so it has no
parallel form. The oracle's two players are here (`oracle_action` uses them): `greedy_question`
and `truthful_answer`. Other scripted players (`lying_answer`, `noisy_answer`) and the episode
loop `play` are agents: `rlvr.agents.elicitation`.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces
from pettingzoo import AECEnv

from rlvr.core.observations import TextObservation
from rlvr.core.problem import Problem, check_split
from rlvr.core.seeding import fresh_seed
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import action_repr, internal_error
from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.model import MAX_ACTION_CHARS, MAX_BUDGET, BeliefModel, normalise_name
from rlvr.envs.elicitation.task import TwentyQuestionsTask

QUESTIONER, ANSWERER = "questioner", "answerer"
ACTION_MODES = ("discrete", "text")
ANSWERER_REWARDS = ("truthful", "team")
MAX_OBSERVATION_CHARS = 1 << 16
YES, NO = 0, 1


class TwentyQuestionsTwoPlayerEnv(AECEnv):
    """Twenty questions between a questioner agent and an answerer agent (see the module doc)."""

    metadata = {"name": "rlvr_twenty_questions_2p_v0", "render_modes": ["ansi"], "is_parallelizable": False}

    def __init__(self, *, action_mode: str = "discrete", answerer_reward: str = "truthful",
                 oracle_confidence: float = 0.95, difficulty: Mapping[str, Any] | None = None,
                 split: str | None = None, seed: int | None = None, render_mode: str | None = None,
                 **knobs: Any) -> None:
        super().__init__()
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        if answerer_reward not in ANSWERER_REWARDS:
            raise ValueError(f"answerer_reward must be one of {ANSWERER_REWARDS}, got {answerer_reward!r}")
        if render_mode not in (None, "ansi"):
            raise ValueError(f"render_mode must be None or 'ansi', got {render_mode!r}")
        if not 0.0 < oracle_confidence <= 1.0:
            raise ValueError(f"oracle_confidence must be in (0, 1], got {oracle_confidence!r}")
        self.task = TwentyQuestionsTask()
        self.difficulty = self.task.difficulty(difficulty, knobs)
        self.split = check_split(split)
        self.action_mode, self.answerer_reward = action_mode, answerer_reward
        self.oracle_confidence, self.render_mode = oracle_confidence, render_mode
        entities, attributes, answers = self.task.shape(self.difficulty)
        self.possible_agents = [QUESTIONER, ANSWERER]
        if action_mode == "discrete":
            box = lambda shape, high=1.0: spaces.Box(0.0, high, shape, dtype=np.float32)  # noqa: E731
            self._observation_spaces = {
                QUESTIONER: spaces.Dict({"prior": box((entities,)), "likelihood": box((attributes, entities, answers)),
                                         "answer_counts": box((attributes, answers), float(MAX_BUDGET)),
                                         "questions_left": box((1,), float(MAX_BUDGET))}),
                ANSWERER: spaces.Dict({"entity_attributes": box((attributes,)), "question": box((attributes,))}),
            }
            self._action_spaces = {QUESTIONER: spaces.Discrete(attributes + entities), ANSWERER: spaces.Discrete(2)}
        else:
            text = UnicodeText(MAX_OBSERVATION_CHARS)
            self._observation_spaces = {QUESTIONER: text, ANSWERER: text}
            self._action_spaces = {a: UnicodeText(MAX_ACTION_CHARS) for a in self.possible_agents}
        self._initial_seed, self._stream_seed, self._index = seed, None, -1
        self._rng = np.random.default_rng(seed)
        self.problem: Problem | None = None
        self.model: BeliefModel | None = None
        self.agents: list[str] = []

    def observation_space(self, agent: str) -> spaces.Space:
        return self._observation_spaces[agent]

    def action_space(self, agent: str) -> spaces.Space:
        return self._action_spaces[agent]

    # ------------------------------------------------------------------ episode
    @property
    def budget(self) -> int:
        return int(self.difficulty["budget"])

    @property
    def reward_range(self) -> dict[str, tuple[float, float]]:
        """Per agent: the questioner's gain is within +-log2(K) bits for K entities and a right guess
        pays `bonus`; the truthful answerer earns 0 or 1 an answer, a team answerer what the questioner does."""
        bits = math.log2(self.task.shape(self.difficulty)[0])
        questioner = (-bits, max(bits, float(self.difficulty["bonus"])))
        return {QUESTIONER: questioner, ANSWERER: questioner if self.answerer_reward == "team" else (0.0, 1.0)}

    @property
    def target(self) -> int:
        return int(self.problem.content["target"])

    def truth(self, question: int) -> int:
        """The answer (YES or NO) the hidden entity's row of the latent table gives to a question."""
        return YES if self.problem.content["table"][self.target][question] == "1" else NO

    def reset(self, seed: int | None = None, options: Mapping[str, Any] | None = None) -> None:
        options = dict(options or {})
        if seed is None and self._stream_seed is None and self._initial_seed is not None:
            seed = self._initial_seed
        if seed is not None:
            self._rng = np.random.default_rng(np.random.SeedSequence([int(seed), 1]))
            self._stream_seed, self._index = int(seed), -1
        elif self._stream_seed is None:
            self._stream_seed = fresh_seed(self._rng)
        # PettingZoo's api test resets with options of its own, so unknown keys are ignored.
        self._index = int(options["index"]) if "index" in options else self._index + 1
        self.problem = self.task.problem_at(self._stream_seed, self._index, self.difficulty, self.split)
        self.model = self.task.model(self.problem)
        self.posterior = self.model.prior.copy()
        self._counts = np.zeros(self.model.likelihood.shape[0::2])
        self.questions_used, self.total_gain, self.truthful_answers = 0, 0.0, 0
        self.pending: int | None = None
        self.correct = False
        self.lines: list[str] = []
        self.agents = list(self.possible_agents)
        self.rewards = {a: 0.0 for a in self.agents}
        self._cumulative_rewards = {a: 0.0 for a in self.agents}
        self.terminations = {a: False for a in self.agents}
        self.truncations = {a: False for a in self.agents}
        self.infos = {a: self._info(a) for a in self.agents}
        self.agent_selection = QUESTIONER

    def step(self, action: Any) -> None:
        agent = self.agent_selection
        if self.terminations[agent] or self.truncations[agent]:
            self._was_dead_step(action)
            return
        self._cumulative_rewards[agent] = 0.0
        self.rewards = {a: 0.0 for a in self.agents}
        try:
            extra = self._questioner_step(action) if agent == QUESTIONER else self._answerer_step(action)
        except Exception as error:  # the last-resort guard: a bug in reading an action must not end training
            extra = {"error": internal_error(error), "components": {"gain": 0.0, "bonus": 0.0, "truthful": 0.0}}
        for name in self.agents:
            self.infos[name] = {**self._info(name), **extra}
        self._accumulate_rewards()

    def oracle_action(self, agent: str | None = None) -> Any:
        """The greedy questioner's next action or the truthful answer to the pending question, for
        `agent` (default: whose turn it is); None when it is not that agent's turn or the game is over."""
        if self.problem is None or not self.agents:
            return None
        agent = self.agent_selection if agent is None else agent
        if agent != self.agent_selection or self.terminations.get(agent) or self.truncations.get(agent):
            return None
        return greedy_question(self) if agent == QUESTIONER else truthful_answer(self)

    def _pay(self, questioner: float, truthful: float) -> None:
        self.rewards[QUESTIONER] += questioner
        self.rewards[ANSWERER] += questioner if self.answerer_reward == "team" else truthful

    def _end(self, correct: bool) -> None:
        self.terminations = {a: True for a in self.agents}
        self.correct = correct

    def _questioner_step(self, action: Any) -> dict[str, Any]:
        decoded = self.decode_question(action)
        if isinstance(decoded, str):
            self.questions_used += 1
            self.lines.append(f"(invalid question: {decoded[:120]})")
            if self.questions_used > self.budget:
                self._end(False)
            return {"error": decoded, "components": {"gain": 0.0, "bonus": 0.0, "truthful": 0.0}}
        kind, index = decoded
        if kind == "guess":
            correct = index == self.target
            name = self.model.target_names[index]
            self.lines.append(f"guess: {name} -> {'right' if correct else 'wrong'}")
            bonus = float(self.difficulty["bonus"]) if correct else 0.0
            self._pay(bonus, 0.0)
            self._end(correct)
            return {"parsed_answer": name, "correct": correct, "error": None if correct else f"{name!r} is not the hidden entity",
                    "components": {"gain": 0.0, "bonus": bonus, "truthful": 0.0}}
        if self.questions_used >= self.budget:
            self._end(False)
            return {"error": f"the budget of {self.budget} questions is spent; a guess was due",
                    "components": {"gain": 0.0, "bonus": 0.0, "truthful": 0.0}}
        self.pending, self.questions_used = index, self.questions_used + 1
        self.agent_selection = ANSWERER
        return {"question": self.model.question_names[index], "error": None,
                "components": {"gain": 0.0, "bonus": 0.0, "truthful": 0.0}}

    def _answerer_step(self, action: Any) -> dict[str, Any]:
        question, self.pending = self.pending, None
        self.agent_selection = QUESTIONER
        answer = self.decode_answer(action)
        name = self.model.question_names[question]
        if isinstance(answer, str):
            self.lines.append(f"ask: {name} -> (no answer)")
            return {"question": name, "error": answer, "components": {"gain": 0.0, "bonus": 0.0, "truthful": 0.0}}
        truthful = float(answer == self.truth(question))
        self.truthful_answers += int(truthful)
        table = self.model.likelihood[question]
        contradiction = not float(self.posterior @ table[:, answer]) > 0
        gain = 0.0
        if not contradiction:
            before = bayes.entropy_bits(self.posterior)
            self.posterior = bayes.update(self.posterior, table, answer)
            gain = before - bayes.entropy_bits(self.posterior)
            self._counts[question, answer] += 1
        self.total_gain += gain
        self.lines.append(f"ask: {name} -> {self.model.answer_names[answer]}")
        self._pay(gain, truthful)
        return {"question": name, "answer": self.model.answer_names[answer], "contradiction": contradiction,
                "error": "the answer contradicts every remaining candidate" if contradiction else None,
                "components": {"gain": gain, "bonus": 0.0, "truthful": truthful}}

    # ------------------------------------------------------------------ decoding
    def decode_question(self, action: Any) -> tuple[str, int] | str:
        """("ask", j) or ("guess", k) from a questioner action, or why it cannot be read."""
        if self.action_mode == "text":
            return self.model.parse_action(action)
        index = _as_index(action, self._action_spaces[QUESTIONER].n)
        if isinstance(index, str):
            return index
        attributes = self.model.likelihood.shape[0]
        return ("ask", index) if index < attributes else ("guess", index - attributes)

    def decode_answer(self, action: Any) -> int | str:
        """YES or NO from an answerer action, or why it cannot be read."""
        if self.action_mode == "discrete":
            return _as_index(action, 2)
        if not isinstance(action, str) or len(action) > MAX_ACTION_CHARS:
            return f"an answer must be 'yes' or 'no' (at most {MAX_ACTION_CHARS} characters), got {action_repr(action, 40)}"
        word = normalise_name(action).rstrip(".!")
        if word in ("yes", "no"):
            return YES if word == "yes" else NO
        return f"an answer must be 'yes' or 'no', got {action[:40]!r}"

    def encode_question(self, kind: str, index: int) -> Any:
        if self.action_mode == "text":
            names = self.model.question_names if kind == "ask" else self.model.target_names
            return f"{kind}: {names[index]}"
        return index if kind == "ask" else self.model.likelihood.shape[0] + index

    def encode_answer(self, answer: int) -> Any:
        return answer if self.action_mode == "discrete" else ("yes" if answer == YES else "no")

    # ------------------------------------------------------------------ views
    def observe(self, agent: str) -> Any:
        if self.action_mode == "text":
            return TextObservation(self._questioner_text() if agent == QUESTIONER else self._answerer_text())
        if agent == QUESTIONER:
            left = min(max(self.budget - self.questions_used, 0), MAX_BUDGET)
            return {"prior": self.model.prior.astype(np.float32), "likelihood": self.model.likelihood.astype(np.float32),
                    "answer_counts": np.minimum(self._counts, MAX_BUDGET).astype(np.float32),
                    "questions_left": np.array([left], dtype=np.float32)}
        row = np.array([c == "1" for c in self.problem.content["table"][self.target]], dtype=np.float32)
        question = np.zeros_like(row)
        if self.pending is not None:
            question[self.pending] = 1.0
        return {"entity_attributes": row, "question": question}

    def _questioner_text(self) -> str:
        text = self.problem.prompt + "\n(The answers come from another player.)"
        if self.lines:
            text += "\n\nTranscript:\n" + "\n".join(self.lines)
        return (text + f"\nQuestions left: {max(self.budget - self.questions_used, 0)}")[-MAX_OBSERVATION_CHARS:]

    def _answerer_text(self) -> str:
        row = self.problem.content["table"][self.target]
        facts = ", ".join(f"{n}: {'yes' if b == '1' else 'no'}" for n, b in zip(self.model.question_names, row, strict=True))
        text = (f"You answer a game of twenty questions. The hidden entity is {self.model.target_names[self.target]} "
                f"({facts}). Reply with exactly 'yes' or 'no'.")
        if self.pending is not None:
            text += f"\nQuestion: is it {self.model.question_names[self.pending]}?"
        return text

    def _info(self, agent: str) -> dict[str, Any]:
        info = {"questions_used": self.questions_used, "questions_left": max(self.budget - self.questions_used, 0),
                "entropy": bayes.entropy_bits(self.posterior), "total_gain": self.total_gain,
                "truthful_answers": self.truthful_answers, "problem_id": self.problem.problem_id}
        if self.terminations.get(agent):
            info.update(correct=self.correct, gold=self.problem.answer)
        return info

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        return self._questioner_text()

    def close(self) -> None:
        pass


def _as_index(action: Any, size: int) -> int | str:
    if isinstance(action, np.ndarray) and action.size == 1:
        action = action.reshape(()).item()
    if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
        return f"a discrete action must be an integer, got {type(action).__name__}"
    if not 0 <= int(action) < size:
        return f"action {action_repr(action)} is outside [0, {size})"
    return int(action)


# ---------------------------------------------------------------------- the oracle's players
def greedy_question(env: TwentyQuestionsTwoPlayerEnv, rng: np.random.Generator | None = None) -> Any:
    """The greedy information-gain questioner on the questioner's own posterior.

    It guesses the most likely entity once that is `oracle_confidence` sure, when no question is
    left, or when no question carries information; else it asks the question of largest
    expected information gain (lowest index on ties).
    """
    question, gain = bayes.greedy_question(env.posterior, env.model.likelihood)
    if (float(env.posterior.max()) >= env.oracle_confidence or env.questions_used >= env.budget
            or gain <= bayes.GAIN_TOLERANCE):
        return env.encode_question("guess", int(np.argmax(env.posterior)))
    return env.encode_question("ask", question)


def truthful_answer(env: TwentyQuestionsTwoPlayerEnv, rng: np.random.Generator | None = None) -> Any:
    """Answers the pending question as the latent table says."""
    return env.encode_answer(env.truth(env.pending))
