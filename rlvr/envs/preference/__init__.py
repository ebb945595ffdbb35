"""Preference-style tasks verifiable by code: pluralistic user groups, game-theoretic welfare, and
multiple choice with abstention (one module each, holding its Task and its env)."""

from rlvr.envs.preference.abstain import AbstainQAEnv, AbstainQATask
from rlvr.envs.preference.gtalign import GTAlignEnv, GTAlignTask
from rlvr.envs.preference.pluralistic import PluralisticEnv, PluralisticTask, features, group_rewards

__all__ = [
    "AbstainQAEnv",
    "AbstainQATask",
    "GTAlignEnv",
    "GTAlignTask",
    "PluralisticEnv",
    "PluralisticTask",
    "features",
    "group_rewards",
]
