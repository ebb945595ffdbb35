"""Elicitation envs: adaptive questioning of a noisy answerer, rewarded by exact information gain.

`rlvr/TwentyQuestions-v0`, `rlvr/OpinionPoll-v0` and `rlvr/StudentAssess-v0` share one env
(`ElicitationEnv`, `env.py`), one Bayesian module (`bayes`) and one greedy oracle; their tasks are
in `task.py`. `rlvr/TwentyQuestions2P-v0` (`two_player_env.py`) makes the answerer an agent too.
Scripted questioners and answerers (random questions, lying or noisy answers) are agents:
`rlvr.agents.elicitation`.
"""

from rlvr.envs.elicitation.env import ElicitationEnv, OpinionPollEnv, StudentAssessEnv, TwentyQuestionsEnv
from rlvr.envs.elicitation.model import BeliefModel
from rlvr.envs.elicitation.task import (
    ElicitationTask,
    OpinionPollTask,
    StudentAssessTask,
    TwentyQuestionsTask,
)

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
