"""Contracts every rlvr environment is built on: problems, scores, tasks, envs, spaces, seeding."""

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob, resolve_difficulty
from rlvr.core.hints import did_you_mean
from rlvr.core.problem import SPLITS, Problem, Score, make_problem_id, split_of
from rlvr.core.seeding import problem_rng
from rlvr.core.spaces import UnicodeText
from rlvr.core.stream import TaskSource
from rlvr.core.task import Task
from rlvr.core.task_env import TaskEnv
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv
from rlvr.core.token_env import TokenEnv, TokenState

__all__ = [
    "SPLITS",
    "EnvCard",
    "Knob",
    "Problem",
    "PromptTemplate",
    "Score",
    "Task",
    "TaskEnv",
    "TaskSource",
    "TextEnv",
    "TokenEnv",
    "TokenState",
    "UnicodeText",
    "did_you_mean",
    "make_problem_id",
    "problem_rng",
    "resolve_difficulty",
    "split_of",
]
