"""Preference-style tasks verifiable by code: pluralistic user groups, game-theoretic welfare,
microeconomics with exact answers, and multiple choice with abstention."""

from rlvr.envs.preference.abstain import AbstainQAEnv, AbstainQATask
from rlvr.envs.preference.gtalign import GTAlignEnv, GTAlignTask
from rlvr.envs.preference.microecon import MicroEconEnv, MicroEconTask, market_answers
from rlvr.envs.preference.pluralistic import PluralisticEnv, PluralisticTask, features, group_rewards

__all__ = [
    "AbstainQAEnv",
    "AbstainQATask",
    "GTAlignEnv",
    "GTAlignTask",
    "MicroEconEnv",
    "MicroEconTask",
    "PluralisticEnv",
    "PluralisticTask",
    "features",
    "group_rewards",
    "market_answers",
]
