"""Scripted players of the elicitation envs, and the loops that play them.

Single-agent questioners (`rlvr/TwentyQuestions-v0`, `OpinionPoll-v0`, `StudentAssess-v0`): both
share the env's guessing rule (`ElicitationEnv.should_guess`: guess the most likely target once it
is `oracle_confidence` sure, when no question is left, or when no question carries information)
and differ only in which question they ask: the greedy one asks the question of largest expected
information gain (the env's oracle), the random one a uniformly random question drawn from its
own generator. `evaluate` plays many episodes with one of them; `benchmarks/elicitation_baselines.py`
prints both over many seeds.

Two-player answerers (`rlvr/TwentyQuestions2P-v0`): `lying_answer` and `noisy_answer`, beside the
oracle's `greedy_question` and `truthful_answer` (which live with the env, since its
`oracle_action` uses them); `play` runs one episode with any two of them.

>>> from rlvr.envs.elicitation import TwentyQuestionsEnv
>>> summary = evaluate(TwentyQuestionsEnv(), "greedy", episodes=5)
>>> summary.episodes, 0.0 <= summary.success_rate <= 1.0
(5, True)
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.env import ElicitationEnv
from rlvr.envs.elicitation.two_player_env import QUESTIONER, TwentyQuestionsTwoPlayerEnv


def greedy_action(env: ElicitationEnv, rng: np.random.Generator) -> Any:
    """The greedy expected-information-gain questioner (the env's oracle)."""
    return env.oracle_action()


def random_action(env: ElicitationEnv, rng: np.random.Generator) -> Any:
    """A uniformly random question, with the same guessing rule as the oracle."""
    _, best_gain = bayes.greedy_question(env.posterior, env.model.likelihood)
    if env.should_guess(best_gain):
        return env.encode("guess", int(np.argmax(env.posterior)))
    return env.encode("ask", int(rng.integers(env.model.likelihood.shape[0])))


QUESTIONERS: dict[str, Callable[[ElicitationEnv, np.random.Generator], Any]] = {
    "greedy": greedy_action,
    "random": random_action,
}


@dataclass(frozen=True)
class Summary:
    """How a questioner did over many episodes."""

    episodes: int
    success_rate: float
    """Share of episodes that ended correct (right guess, or right MAP at the budget)."""
    mean_questions: float
    mean_return: float
    mean_final_entropy: float


def evaluate(env: ElicitationEnv, questioner: str, episodes: int, seed: int = 0) -> Summary:
    """Play `episodes` episodes (env stream `seed`, problems 0..episodes-1) with one questioner."""
    if questioner not in QUESTIONERS:
        raise KeyError(f"questioner must be one of {list(QUESTIONERS)}, got {questioner!r}")
    choose = QUESTIONERS[questioner]
    rng = np.random.default_rng(seed)
    successes, questions, returns, entropies = 0, 0, 0.0, 0.0
    for episode in range(episodes):
        env.reset(seed=seed if episode == 0 else None)
        done, info = False, {}
        while not done:
            _, reward, terminated, truncated, info = env.step(choose(env, rng))
            returns += reward
            done = terminated or truncated
        successes += bool(info["correct"])
        questions += info["questions_used"]
        entropies += info["entropy"]
    return Summary(episodes, successes / episodes, questions / episodes, returns / episodes, entropies / episodes)


# ---------------------------------------------------------------------- two-player answerers
TwoPlayerPolicy = Callable[[TwentyQuestionsTwoPlayerEnv, np.random.Generator], Any]
"""A two-player twenty-questions player: (env, generator) -> its action for the current turn."""


def lying_answer(env: TwentyQuestionsTwoPlayerEnv, rng: np.random.Generator | None = None) -> Any:
    """Always answers the opposite of the truth."""
    return env.encode_answer(1 - env.truth(env.pending))


def noisy_answer(env: TwentyQuestionsTwoPlayerEnv, rng: np.random.Generator) -> Any:
    """Flips the true answer with probability eps: the answerer the questioner's model assumes."""
    truth = env.truth(env.pending)
    return env.encode_answer(1 - truth if rng.random() < float(env.problem.content["eps"]) else truth)


def play(env: TwentyQuestionsTwoPlayerEnv, questioner: TwoPlayerPolicy, answerer: TwoPlayerPolicy, seed: int | None = None,
         rng: np.random.Generator | None = None) -> dict[str, Any]:
    """Play one episode with two policies; returns correctness, questions used and both returns."""
    rng = rng if rng is not None else np.random.default_rng(seed)
    env.reset(seed=seed)
    returns = {a: 0.0 for a in env.possible_agents}
    for agent in env.agent_iter():
        _, reward, terminated, truncated, _ = env.last()
        returns[agent] += reward
        if terminated or truncated:
            env.step(None)
            continue
        env.step((questioner if agent == QUESTIONER else answerer)(env, rng))
    return {"correct": env.correct, "questions_used": env.questions_used, "returns": returns,
            "truthful_answers": env.truthful_answers}
