"""Multi-agent debate with verifiable rewards: the env, its protocol and its training hooks.

Simulated debaters (for experiments without a model) are agents: `rlvr.agents.debate`. The
experiment that compares debate protocols with them is `rlvr.experiments.debate`.
"""

from rlvr.envs.debate.env import DebateParallelEnv, format_transcript, load_task
from rlvr.envs.debate.hooks import Turn, agent_turns, response_text, transcript_spans
from rlvr.envs.debate.protocol import (
    DebateReward,
    Message,
    RewardWeights,
    answer_key,
    debate_reward,
    majority_vote,
    parse_message,
    select_diverse,
)

__all__ = [
    "DebateParallelEnv",
    "DebateReward",
    "Message",
    "RewardWeights",
    "Turn",
    "agent_turns",
    "answer_key",
    "debate_reward",
    "format_transcript",
    "load_task",
    "majority_vote",
    "parse_message",
    "response_text",
    "select_diverse",
    "transcript_spans",
]
