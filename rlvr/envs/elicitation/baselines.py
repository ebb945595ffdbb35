"""Baseline questioners and the numbers they reach: greedy information gain vs random questions.

Both questioners share the env's guessing rule (`ElicitationEnv.should_guess`: guess the most
likely target once it is `oracle_confidence` sure, when no question is left, or when no question
carries information) and differ only in which question they ask: the greedy one asks the question
of largest expected information gain, the random one a uniformly random question drawn from its
own generator. Run as a script to print both over many seeds:

    python -m rlvr.envs.elicitation.baselines --episodes 500
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from rlvr.envs.elicitation import bayes
from rlvr.envs.elicitation.env import ElicitationEnv, OpinionPollEnv, StudentAssessEnv, TwentyQuestionsEnv


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


ENVS = {"twenty-questions": TwentyQuestionsEnv, "opinion-poll": OpinionPollEnv, "student-assess": StudentAssessEnv}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    for name, env_class in ENVS.items():
        for questioner in QUESTIONERS:
            summary = evaluate(env_class(), questioner, args.episodes, args.seed)
            print(f"{name:17s} {questioner:6s} success={summary.success_rate:.3f} "
                  f"questions={summary.mean_questions:.2f} return={summary.mean_return:.3f} "
                  f"final_entropy={summary.mean_final_entropy:.3f}")


if __name__ == "__main__":
    main()
