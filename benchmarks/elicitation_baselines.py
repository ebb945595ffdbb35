"""Greedy information-gain questioning against random questions, on the three elicitation envs.

    python benchmarks/elicitation_baselines.py [--episodes 500] [--seed 0]

For each of `rlvr/TwentyQuestions-v0`, `rlvr/OpinionPoll-v0` and `rlvr/StudentAssess-v0` at its
default difficulty, both questioners of `rlvr.agents.elicitation` play the same problems (env
stream `seed`, problems 0..episodes-1) with the same guessing rule; the random questioner is the
baseline the greedy one is measured against, in the same run. Printed per env and questioner:
success rate (right guess, or right most likely target at the budget), mean questions asked,
mean return (bits of information gained plus the guess bonus) and mean final entropy (bits).
"""

from __future__ import annotations

import argparse

from rlvr.agents.elicitation import QUESTIONERS, evaluate
from rlvr.envs.elicitation import OpinionPollEnv, StudentAssessEnv, TwentyQuestionsEnv

ENVS = {"twenty-questions": TwentyQuestionsEnv, "opinion-poll": OpinionPollEnv, "student-assess": StudentAssessEnv}


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--episodes", type=int, default=500)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    if args.episodes < 1:
        parser.error(f"--episodes must be >= 1, got {args.episodes}")
    for name, env_class in ENVS.items():
        for questioner in QUESTIONERS:
            summary = evaluate(env_class(), questioner, args.episodes, args.seed)
            print(f"{name:17s} {questioner:6s} success={summary.success_rate:.3f} "
                  f"questions={summary.mean_questions:.2f} return={summary.mean_return:.3f} "
                  f"final_entropy={summary.mean_final_entropy:.3f}")


if __name__ == "__main__":
    main()
