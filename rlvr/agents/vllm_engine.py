"""What `VLLMPolicy` needs from a vLLM engine's insides: its log-prob mode, and the two routes that
push new weights into it (in process, or by `collective_rpc` in CPU buckets; see
`rlvr.agents.vllm_policy` for when each applies)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from typing import Any

try:
    import torch
except ImportError:  # the `train` extra is not installed: VLLMPolicy raises on construction
    torch = None

_RPC_BUCKET_BYTES = 256 << 20
"""Bytes of weights per collective_rpc call: bounds the serialized copy held at once."""
_IN_PROCESS_MODEL_PATHS = (
    ("llm_engine", "model_executor", "driver_worker", "worker", "model_runner", "model"),
    ("llm_engine", "model_executor", "driver_worker", "model_runner", "model"),
    ("llm_engine", "engine_core", "engine_core", "model_executor", "driver_worker", "worker", "model_runner", "model"),
)
"""Where an engine in this process keeps its model: V1 in-process and V0 with a worker wrapper,
older V0, and V1 when `LLMEngine` has no `model_executor` shortcut."""


def _follow(root: Any, path: Sequence[str]) -> Any:
    for name in path:
        root = getattr(root, name, None)
        if root is None:
            return None
    return root


def engine_logprobs_mode(llm: Any) -> str | None:
    """The engine's `logprobs_mode` where this vLLM version reports one."""
    for path in (("llm_engine", "model_config"), ("llm_engine", "vllm_config", "model_config")):
        mode = getattr(_follow(llm, path), "logprobs_mode", None)
        if mode is not None:
            return str(getattr(mode, "value", mode))
    return None


def engine_accepts_logprobs_mode(vllm: Any) -> bool:
    """Whether this vLLM's `EngineArgs` knows `logprobs_mode` (True when it cannot tell)."""
    import dataclasses

    engine_args = getattr(vllm, "EngineArgs", None)
    if engine_args is None or not dataclasses.is_dataclass(engine_args):
        return True  # cannot tell: pass it, and let an old engine say so
    return any(field.name == "logprobs_mode" for field in dataclasses.fields(engine_args))


def _load_weights_on_worker(worker: Any, weights: list[tuple[str, Any]]) -> int:
    """Run inside each vLLM worker by `collective_rpc`: load one bucket of named weights."""
    model = worker.model_runner.model if hasattr(worker, "model_runner") else worker.get_model()
    model.load_weights(weights)
    return len(weights)


def _cpu_buckets(named_tensors: Iterable[tuple[str, Any]], max_bytes: int) -> Iterator[list[tuple[str, Any]]]:
    bucket, size = [], 0
    for name, tensor in named_tensors:
        bucket.append((name, tensor.detach().cpu()))
        size += tensor.numel() * tensor.element_size()
        if size >= max_bytes:
            yield bucket
            bucket, size = [], 0
    if bucket:
        yield bucket


def weight_route(llm: Any) -> tuple[str, Any]:
    """('in_process', model) or ('collective_rpc', llm.collective_rpc); a clear error when neither."""
    for path in _IN_PROCESS_MODEL_PATHS:
        model = _follow(llm, path)
        if callable(getattr(model, "load_weights", None)):
            return "in_process", model
    if not callable(getattr(llm, "collective_rpc", None)):
        raise RuntimeError(
            "cannot push weights into this vLLM engine: it has no in-process model "
            "(llm.llm_engine.model_executor.driver_worker...model_runner.model.load_weights) "
            "and no llm.collective_rpc; use a vLLM version with either"
        )
    return "collective_rpc", llm.collective_rpc


def push_weights(llm: Any, route: tuple[str, Any], named_tensors: Iterable[tuple[str, Any]]) -> None:
    """Load (Hugging Face name, tensor) pairs into the engine by `route`, then reset its prefix cache."""
    kind, target = route
    with torch.no_grad():
        if kind == "in_process":
            target.load_weights((name, tensor.detach()) for name, tensor in named_tensors)
        else:
            for bucket in _cpu_buckets(named_tensors, _RPC_BUCKET_BYTES):
                target(_load_weights_on_worker, args=(bucket,))
    if callable(getattr(llm, "reset_prefix_cache", None)):
        llm.reset_prefix_cache()
