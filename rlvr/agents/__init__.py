"""Agents that act in rlvr envs: the batched protocol, random and oracle agents."""

from rlvr.agents.base import Agent
from rlvr.agents.simple import OracleAgent, RandomAgent

__all__ = ["Agent", "OracleAgent", "RandomAgent"]
