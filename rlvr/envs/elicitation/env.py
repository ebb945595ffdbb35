"""Elicitation envs: ask questions of a noisy answerer, be paid in information.

`ElicitationEnv` plays any `ElicitationTask`. Each step asks a question or makes a guess:

- Asking question q draws the answer from `P(answer | hidden target, q)` with the env's seeded
  generator (`self.np_random`) and pays the realised information gain
  `H(posterior before) - H(posterior after)` in bits (exact enumeration; it can be negative when
  a noisy answer contradicts the evidence). Repeating a question draws a fresh, independent answer.
- With a final guess (always in twenty questions; the `final_guess` knob elsewhere) a guess ends
  the episode: the `bonus` knob when it names the hidden target, 0 otherwise. After `budget`
  questions the next action must be a guess; asking then ends the episode unsolved.
- Without a final guess the episode ends after `budget` questions and `info["correct"]` says
  whether the posterior's most likely target (MAP) is the hidden one (logged, not paid).
- An action that cannot be read (text that names no question, a guess where none is allowed, an
  out-of-range id) earns 0 with the reason in `info["error"]` and uses up one question.

`action_mode="discrete"` (default): `Discrete(Q + N)` (questions first, then guesses; `Discrete(Q)`
without a final guess) and a `Dict` observation of float32 boxes, fixed in shape per env: `prior`
(N,), `likelihood` (Q, N, A), `answer_counts` (Q, A) and `questions_left` (1,). So the shape knobs
cannot change per episode in this mode. `action_mode="text"`: actions are `ask: <question>` /
`guess: <target>`, the observation is the prompt plus the transcript so far.

`oracle_action()` is the greedy questioner: it guesses the MAP target once its posterior
probability reaches `oracle_confidence` (default 0.95), when no question is left, or when no
question carries information; otherwise it asks the question of largest expected information
gain (the mutual information between target and answer).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from rlvr.core.cards import EnvCard
from rlvr.core.spaces import UnicodeText
from rlvr.core.task_env import TaskEnv, action_repr, check_render_mode, internal_error
from rlvr.core.templates import PromptTemplate
from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.model import MAX_ACTION_CHARS, MAX_BUDGET, BeliefModel
from rlvr.envs.elicitation.task import (
    ElicitationTask,
    OpinionPollTask,
    StudentAssessTask,
    TwentyQuestionsTask,
)

ACTION_MODES = ("discrete", "text")
MAX_OBSERVATION_CHARS = 1 << 16


class ElicitationEnv(TaskEnv):
    """Adaptive questioning over an `ElicitationTask` (see the module doc)."""

    oracle_is_exact = False  # a noisy answerer can mislead even the best questioner

    metadata = {"render_modes": ["ansi"], "render_fps": 1}

    def __init__(
        self,
        task: ElicitationTask | None = None,
        *,
        action_mode: str = "discrete",
        oracle_confidence: float = 0.95,
        render_mode: str | None = None,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: PromptTemplate | None = None,
        **knobs: Any,
    ) -> None:
        super().__init__(task, difficulty=difficulty, split=split, template=template, **knobs)
        if action_mode not in ACTION_MODES:
            raise ValueError(f"action_mode must be one of {ACTION_MODES}, got {action_mode!r}")
        check_render_mode(render_mode)  # a TypeError too, which SB3's make_vec_env expects
        if not 0.0 < oracle_confidence <= 1.0:
            raise ValueError(f"oracle_confidence must be in (0, 1], got {oracle_confidence!r}")
        self.action_mode, self.render_mode, self.oracle_confidence = action_mode, render_mode, oracle_confidence
        self._layout = self._layout_of(self.difficulty)
        targets, questions, answers, final_guess = self._layout
        if action_mode == "discrete":
            self.action_space = spaces.Discrete(questions + targets if final_guess else questions)
            box = lambda shape, high=1.0: spaces.Box(0.0, high, shape, dtype=np.float32)  # noqa: E731
            self.observation_space = spaces.Dict({
                "prior": box((targets,)),
                "likelihood": box((questions, targets, answers)),
                "answer_counts": box((questions, answers), float(MAX_BUDGET)),
                "questions_left": box((1,), float(MAX_BUDGET)),
            })
        else:
            self.action_space = UnicodeText(MAX_ACTION_CHARS)
            self.observation_space = UnicodeText(MAX_OBSERVATION_CHARS)
        self.model: BeliefModel | None = None
        self.posterior = np.zeros(0)
        self._counts = np.zeros((questions, answers))
        self.questions_used, self.total_gain = 0, 0.0
        self._lines: list[str] = []
        self._done = True
        self._last_reward, self._last_error = 0.0, None

    # ------------------------------------------------------------------ setup
    def _layout_of(self, difficulty: Mapping[str, Any]) -> tuple[int, int, int, bool]:
        return (*self.task.shape(difficulty), self.task.final_guess(difficulty))

    @property
    def budget(self) -> int:
        return int(self.difficulty["budget"])

    @property
    def reward_range(self) -> tuple[float, float]:
        """A question pays H(before) - H(after), within +-log2(N) bits for N targets; a right guess
        pays the `bonus` knob; anything else 0."""
        bits = math.log2(self.task.shape(self.difficulty)[0])
        return -bits, max(bits, float(self.difficulty["bonus"]))

    @property
    def final_guess(self) -> bool:
        return self._layout[3]

    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        if options and options.get("difficulty"):
            layout = self._layout_of(self.task.difficulty(self.difficulty, options["difficulty"]))
            self._check_layout(layout, "difficulty")
        super().reset(seed=seed)
        problem = self._choose_problem(seed, options)
        self.model = self.task.model(problem)
        shape = (*self.model.likelihood.shape[1::-1], self.model.likelihood.shape[2])
        self._check_layout((*shape, self.task.final_guess(problem.difficulty)), "problem")
        self.posterior = self.model.prior.copy()
        self._counts = np.zeros(self.model.likelihood.shape[0::2])
        self.questions_used, self.total_gain, self._lines, self._done = 0, 0.0, [], False
        self._last_reward, self._last_error = 0.0, None
        return self._observation(), {**self._problem_info(), **self._belief_info()}

    def _check_layout(self, layout: tuple[int, int, int, bool], source: str) -> None:
        if self.action_mode == "discrete" and layout != self._layout:
            raise ValueError(
                f"in action_mode='discrete' the spaces are fixed at construction: (targets, questions, "
                f"answers, final_guess) = {self._layout}, but the {source} asks for {layout}; build a new env"
            )

    # ------------------------------------------------------------------ stepping
    def decode(self, action: Any) -> tuple[str, int] | str:
        """("ask", q) or ("guess", n) from an action of either mode, or why it is invalid."""
        if self.action_mode == "text":
            parsed = self.model.parse_action(action)
        else:
            if isinstance(action, np.ndarray) and action.size == 1:
                action = action.reshape(()).item()
            if isinstance(action, bool) or not isinstance(action, (int, np.integer)):
                return f"a discrete action must be an integer, got {type(action).__name__}"
            if not 0 <= int(action) < self.action_space.n:
                return f"action {action_repr(action)} is outside [0, {self.action_space.n})"
            questions = self.model.likelihood.shape[0]
            parsed = ("ask", int(action)) if action < questions else ("guess", int(action) - questions)
        if not isinstance(parsed, str) and parsed[0] == "guess" and not self.final_guess:
            return "this env takes no guesses (final_guess=False); ask questions until the budget is spent"
        return parsed

    def step(self, action: Any):
        if self._done or self.model is None:
            raise RuntimeError("step() called on a finished episode; call reset() first")
        try:
            decoded = self.decode(action)
        except Exception as error:  # the last-resort guard: a bug in reading an action must not end training
            decoded = internal_error(error)
        if isinstance(decoded, str):
            return self._invalid(decoded)
        kind, index = decoded
        if kind == "guess":
            correct = index == self.task.target_index(self.problem)
            name = self.model.target_names[index]
            self._lines.append(f"guess: {name} -> {'right' if correct else 'wrong'}")
            error = None if correct else f"{name!r} is not the hidden {self.task.target_word}"
            return self._finish(float(self.difficulty["bonus"]) if correct else 0.0, correct, error, name)
        if self.questions_used >= self.budget:
            return self._finish(0.0, False, f"the budget of {self.budget} questions is spent; a guess was due", None)
        return self._ask(index)

    def _ask(self, question: int):
        table = self.model.likelihood[question]
        answer = int(self.np_random.choice(table.shape[1], p=table[self.task.target_index(self.problem)]))
        before = bayes.entropy_bits(self.posterior)
        self.posterior = bayes.update(self.posterior, table, answer)
        gain = before - bayes.entropy_bits(self.posterior)
        self._counts[question, answer] += 1
        self.questions_used += 1
        self.total_gain += gain
        self._lines.append(f"ask: {self.model.question_names[question]} -> {self.model.answer_names[answer]}")
        extra = {"question": self.model.question_names[question], "answer": self.model.answer_names[answer]}
        if not self.final_guess and self.questions_used >= self.budget:
            return self._finish_at_budget(gain, None, extra)
        return self._continue(gain, None, extra)

    def _invalid(self, reason: str):
        self.questions_used += 1
        self._lines.append(f"(invalid action: {reason[:120]})")
        if self.final_guess and self.questions_used > self.budget:
            return self._finish(0.0, False, reason, None)
        if not self.final_guess and self.questions_used >= self.budget:
            return self._finish_at_budget(0.0, reason, {})
        return self._continue(0.0, reason, {})

    def _continue(self, reward: float, error: str | None, extra: dict[str, Any]):
        self._last_reward, self._last_error = reward, error
        info = {**self._problem_info(), **self._belief_info(), **extra, "gain": reward, "error": error,
                "correct": False, "components": {"correct": 0.0, "gain": reward}}
        return self._observation(), float(reward), False, False, info

    def _finish_at_budget(self, reward: float, error: str | None, extra: dict[str, Any]):
        guess = int(np.argmax(self.posterior))
        correct = guess == self.task.target_index(self.problem)
        error = error or (None if correct else "the most likely target after the budget is not the hidden one")
        return self._finish(reward, correct, error, self.model.target_names[guess], extra, gain=reward)

    def _finish(self, reward: float, correct: bool, error: str | None, parsed: str | None,
                extra: dict[str, Any] | None = None, gain: float = 0.0):
        self._done, self._last_reward, self._last_error = True, reward, error
        info = {**self._problem_info(), **self._belief_info(), **(extra or {}), "gold": self.problem.answer,
                "parsed_answer": parsed, "error": error, "correct": correct, "total_gain": self.total_gain,
                "components": {"correct": float(correct), "gain": gain}}
        return self._observation(), float(reward), True, False, info

    # ------------------------------------------------------------------ views
    def _belief_info(self) -> dict[str, Any]:
        return {"questions_used": self.questions_used, "questions_left": max(self.budget - self.questions_used, 0),
                "entropy": bayes.entropy_bits(self.posterior), "map_target": self.model.target_names[int(np.argmax(self.posterior))]}

    def _observation(self) -> Any:
        if self.action_mode == "text":
            return self._transcript()[-MAX_OBSERVATION_CHARS:]
        left = min(max(self.budget - self.questions_used, 0), MAX_BUDGET)
        return {
            "prior": self.model.prior.astype(np.float32),
            "likelihood": self.model.likelihood.astype(np.float32),
            "answer_counts": np.minimum(self._counts, MAX_BUDGET).astype(np.float32),
            "questions_left": np.array([left], dtype=np.float32),
        }

    def _transcript(self) -> str:
        text = self.problem.prompt
        if self._lines:
            text += "\n\nTranscript:\n" + "\n".join(self._lines)
        return text + f"\nQuestions left: {max(self.budget - self.questions_used, 0)}"

    def render(self) -> str | None:
        if self.render_mode != "ansi" or self.problem is None:
            return None
        return self._transcript()

    # ------------------------------------------------------------------ baselines
    def encode(self, kind: str, index: int) -> Any:
        """The action of this env's mode that asks question `index` or guesses target `index`."""
        if self.action_mode == "text":
            names = self.model.question_names if kind == "ask" else self.model.target_names
            return f"{kind}: {names[index]}"
        return index if kind == "ask" else self.model.likelihood.shape[0] + index

    def should_guess(self, best_gain: float) -> bool:
        """The documented guessing rule shared by the oracle and the random baseline."""
        return self.final_guess and (
            float(self.posterior.max()) >= self.oracle_confidence
            or self.questions_used >= self.budget
            or best_gain <= bayes.GAIN_TOLERANCE
        )

    def oracle_action(self) -> Any:
        """The greedy expected-information-gain questioner's next action (None when done)."""
        if self._done or self.model is None:
            return None
        question, gain = bayes.greedy_question(self.posterior, self.model.likelihood)
        if self.should_guess(gain):
            return self.encode("guess", int(np.argmax(self.posterior)))
        return self.encode("ask", question)


class TwentyQuestionsEnv(ElicitationEnv):
    """`rlvr/TwentyQuestions-v0`: find one of K entities by asking about M noisy yes/no attributes
    (doc card: `card`)."""

    task_class = TwentyQuestionsTask
    card = EnvCard(
        summary="Twenty questions with a noisy answerer: find one of K fictional entities by asking about M "
        "yes/no attributes (answers flipped with probability eps), then guess within a budget.",
        observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
        "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
        action="Discrete(M + K): ask attribute j or guess entity k; text: 'ask: <attribute>' / 'guess: "
        "<entity>'",
        reward="exact Bayesian information gain H(before) - H(after) in bits per question, plus the bonus "
        "knob for a right guess; a wrong guess ends the episode with 0; unreadable actions earn 0 with the "
        "reason and use a question",
        task=task_class,
    )


class OpinionPollEnv(ElicitationEnv):
    """`rlvr/OpinionPoll-v0`: find a respondent's latent group from Likert answers (doc card: `card`)."""

    task_class = OpinionPollTask
    card = EnvCard(
        summary="Opinion polling: find a respondent's latent group among C by asking Likert questions "
        "(answers 1..5 drawn from group-conditional tables) within a question budget.",
        observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
        "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
        action="Discrete(Q) question ids (Discrete(Q + C) with final_guess=True); text: 'ask: q3' / 'guess: "
        "group B'",
        reward="drop in posterior entropy of the group (bits) per question; the episode ends at the budget "
        "(correct = the posterior's most likely group is the hidden one), or with final_guess=True at a "
        "guess paid the bonus knob when right",
        task=task_class,
    )


class StudentAssessEnv(ElicitationEnv):
    """`rlvr/StudentAssess-v0`: place a student's ability on a grid with 2PL test items (doc card: `card`)."""

    task_class = StudentAssessTask
    card = EnvCard(
        summary="Adaptive testing under a 2PL item response model, P(correct) = sigmoid(a_j (theta - b_j)): "
        "find the student's ability cell on a grid over [-3, 3] by choosing items within a budget.",
        observation="Dict(prior, likelihood, answer_counts, questions_left) float32 boxes "
        "(action_mode='discrete'), or the prompt plus the transcript (action_mode='text')",
        action="Discrete(J) item ids (Discrete(J + G) with final_guess=True); text: 'ask: item 3' / 'guess: "
        "level 4'",
        reward="drop in posterior entropy of the ability cell (bits) per item; the episode ends at the "
        "budget (correct = the posterior's most likely cell is the hidden one), or with final_guess=True at "
        "a guess paid the bonus knob when right",
        task=task_class,
    )
