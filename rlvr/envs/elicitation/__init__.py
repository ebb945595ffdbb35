"""Elicitation envs: adaptive questioning of a noisy answerer, rewarded by exact information gain.

`rlvr/TwentyQuestions-v0`, `rlvr/OpinionPoll-v0` and `rlvr/StudentAssess-v0` share one env
(`ElicitationEnv`), one Bayesian module (`bayes`) and one greedy oracle; `baselines` compares the
greedy questioner with random questions.
"""

from rlvr.envs.elicitation.env import ElicitationEnv, OpinionPollEnv, StudentAssessEnv, TwentyQuestionsEnv
from rlvr.envs.elicitation.model import BeliefModel, ElicitationTask
from rlvr.envs.elicitation.tasks import OpinionPollTask, StudentAssessTask, TwentyQuestionsTask

__all__ = [
    "BeliefModel",
    "ElicitationEnv",
    "ElicitationTask",
    "OpinionPollEnv",
    "OpinionPollTask",
    "StudentAssessEnv",
    "StudentAssessTask",
    "TwentyQuestionsEnv",
    "TwentyQuestionsTask",
]
