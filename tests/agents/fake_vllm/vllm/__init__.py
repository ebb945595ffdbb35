"""Fake `vllm`: the names `rlvr.agents.vllm_policy` uses, over the tiny model, on CPU.

`LLM` loads a Hugging Face checkpoint folder (the tiny model saved with `build_tiny_model(path)`)
and samples one token at a time with full forward passes, so its log-probs are the model's own
and can be compared with a learner's `score`. It records what it was asked: constructor settings,
sampling parameters, weights loaded, prefix-cache resets. `LLM.layout` picks which weight-loading
hooks an engine exposes, to exercise every route of the adapter (see `_llm.LAYOUTS`).
"""

from . import inputs, logprobs, outputs
from ._llm import LLM, EngineArgs
from .sampling_params import SamplingParams

__version__ = "0.0.0+fake"
__all__ = ["LLM", "EngineArgs", "SamplingParams", "inputs", "logprobs", "outputs"]
