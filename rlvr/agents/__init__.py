"""Agents that act in rlvr envs: the batched protocol, random and oracle agents, model policies.

`Policy`, `SampleBatch`, `TransformersPolicy`, `build_tiny_model` and `OpenAICompatibleAgent` (any
OpenAI-compatible server, for evaluation) are loaded on first use, so importing this package never
imports torch or transformers.
"""

from importlib import import_module
from typing import Any

from rlvr.agents.base import Agent
from rlvr.agents.simple import OracleAgent, RandomAgent

_LAZY_EXPORTS = {
    "Policy": "rlvr.agents.policy",
    "SampleBatch": "rlvr.agents.policy",
    "TransformersPolicy": "rlvr.agents.hf",
    "build_tiny_model": "rlvr.agents.tiny",
    "build_char_tokenizer": "rlvr.agents.tiny",
    "policy_judge": "rlvr.agents.judge_adapter",
    "OpenAICompatibleAgent": "rlvr.agents.openai_compat",
    "OpenAICompatibleError": "rlvr.agents.openai_compat",
    "VLLMPolicy": "rlvr.agents.vllm_policy",
}

__all__ = ["Agent", "OracleAgent", "RandomAgent", *_LAZY_EXPORTS]


def __getattr__(name: str) -> Any:
    if name in _LAZY_EXPORTS:
        return getattr(import_module(_LAZY_EXPORTS[name]), name)
    raise AttributeError(f"module 'rlvr.agents' has no attribute {name!r}")
