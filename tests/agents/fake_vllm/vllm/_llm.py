"""Fake `vllm.LLM` and the engine internals the adapter reaches into for weight loading.

Layouts (`LLM.layout`, set before building an engine):
- "v1_in_process": `llm.llm_engine.model_executor.driver_worker.worker.model_runner.model`
  (vLLM V1 with VLLM_ENABLE_V1_MULTIPROCESSING=0), plus `collective_rpc`;
- "v0": `llm.llm_engine.model_executor.driver_worker.model_runner.model`, no worker wrapper;
- "multiprocess": no model in this process, only `collective_rpc`, whose function and arguments
  are pickled as if they crossed into an engine process;
- "opaque": neither, so the adapter must refuse to sync.
"""

from __future__ import annotations

import inspect
import pickle
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from .logprobs import Logprob
from .outputs import CompletionOutput, RequestOutput
from .sampling_params import SamplingParams

LAYOUTS = ("v1_in_process", "v0", "multiprocess", "opaque")


@dataclass
class EngineArgs:
    """The engine settings the fake accepts (the adapter checks `logprobs_mode` is among them)."""

    model: str = ""
    dtype: str = "auto"
    seed: int = 0
    gpu_memory_utilization: float = 0.9
    enable_prefix_caching: bool | None = None
    max_model_len: int | None = None
    logprobs_mode: str = "raw_logprobs"


class FakeModel:
    """What vLLM's model classes offer the adapter: `load_weights(iterable of (name, tensor))`."""

    def __init__(self, hf_model: Any) -> None:
        self.hf_model = hf_model
        self.load_calls: list[list[str]] = []

    def load_weights(self, weights: Any) -> set[str]:
        import torch

        parameters = dict(self.hf_model.named_parameters())
        loaded = []
        with torch.no_grad():
            for name, tensor in weights:
                if name not in parameters:
                    raise KeyError(f"unknown weight {name!r}")
                parameters[name].copy_(tensor.to(parameters[name].dtype))  # a copy: no aliasing
                loaded.append(name)
        self.load_calls.append(loaded)
        return set(loaded)


class LLM:
    """`LLM(model=folder, ...)`: generates from the checkpoint in `folder`; records its calls."""

    layout = "v1_in_process"

    def __init__(self, model: str, **settings: Any) -> None:
        import torch
        from transformers import AutoModelForCausalLM

        arguments = EngineArgs(model=model, **settings)  # an unknown setting fails here, as in vLLM
        self.init_kwargs = {"model": model, **settings}
        self.model_path = model
        hf_model = AutoModelForCausalLM.from_pretrained(model, dtype=torch.float32, local_files_only=True).eval()
        self.model = FakeModel(hf_model)
        self.eos_token_id = hf_model.config.eos_token_id
        self.generator = torch.Generator().manual_seed(int(arguments.seed))
        self.generate_calls: list[dict[str, Any]] = []
        self.last_outputs: list[RequestOutput] = []
        self.prefix_cache_resets = 0
        self.rpc_calls = 0
        model_config = SimpleNamespace(logprobs_mode=arguments.logprobs_mode, max_model_len=arguments.max_model_len)
        self.llm_engine = SimpleNamespace(model_config=model_config)
        runner = SimpleNamespace(model=self.model)
        self._worker = SimpleNamespace(model_runner=runner)
        if self.layout == "v1_in_process":
            self.llm_engine.model_executor = SimpleNamespace(driver_worker=SimpleNamespace(worker=self._worker))
        elif self.layout == "v0":
            self.llm_engine.model_executor = SimpleNamespace(driver_worker=self._worker)
        elif self.layout not in LAYOUTS:
            raise ValueError(f"unknown fake layout {self.layout!r}")
        if self.layout in ("v0", "opaque"):
            self.collective_rpc = None  # these engines have no RPC to their workers

    def collective_rpc(self, method: Any, timeout: float | None = None, args: tuple = (), kwargs: dict | None = None) -> list:
        self.rpc_calls += 1
        # what vLLM sends to an engine process must pickle; the worker gets copies, not the caller's tensors
        method, args, kwargs = pickle.loads(pickle.dumps((method, args, kwargs or {})))
        if isinstance(method, str):
            return [getattr(self._worker, method)(*args, **kwargs)]
        return [method(self._worker, *args, **kwargs)]

    def reset_prefix_cache(self) -> bool:
        self.prefix_cache_resets += 1
        return True

    def get_tokenizer(self) -> Any:
        from transformers import AutoTokenizer

        return AutoTokenizer.from_pretrained(self.model_path, local_files_only=True)

    def generate(self, prompts: Any, sampling_params: Any = None, use_tqdm: bool = True, **unused: Any) -> list[RequestOutput]:
        import torch

        prompts = [prompts] if isinstance(prompts, dict) else list(prompts)
        if sampling_params is None:
            sampling_params = SamplingParams()
        if isinstance(sampling_params, SamplingParams):
            sampling_params = [sampling_params] * len(prompts)
        if len(sampling_params) != len(prompts):
            raise ValueError("the lengths of prompts and sampling_params must be the same")
        self.generate_calls.append({"prompts": prompts, "params": list(sampling_params)})
        results = []
        with torch.no_grad():
            for number, (prompt, params) in enumerate(zip(prompts, sampling_params, strict=True)):
                generator = self.generator
                if params.seed is not None:
                    generator = torch.Generator().manual_seed(int(params.seed))
                outputs = self._complete(prompt["prompt_token_ids"], params, generator)
                results.append(RequestOutput(str(number), None, list(prompt["prompt_token_ids"]), outputs))
        self.last_outputs = results
        return results

    def _complete(self, prompt_ids: list[int], params: SamplingParams, generator: Any) -> list[CompletionOutput]:
        """The request's n completions, decoded together with a KV cache (one row per completion)."""
        import torch
        from transformers import DynamicCache

        mode = self.llm_engine.model_config.logprobs_mode
        stop_ids = set(params.stop_token_ids) | (set() if params.ignore_eos else {self.eos_token_id})
        cache = DynamicCache()
        logits = self._forward(torch.tensor([list(prompt_ids)] * params.n), cache)
        tokens: list[list[int]] = [[] for _ in range(params.n)]
        entries: list[list[dict[int, Logprob]]] = [[] for _ in range(params.n)]
        done = [False] * params.n
        for _ in range(params.max_tokens):
            raw = torch.log_softmax(logits, dim=-1)
            if params.greedy:
                chosen, processed = logits.argmax(-1), raw
            else:
                probabilities = torch.softmax(logits / params.temperature, dim=-1)
                if params.top_p < 1.0:
                    ordered, order = probabilities.sort(dim=-1, descending=True)
                    outside = (ordered.cumsum(-1) - ordered) >= params.top_p
                    probabilities = torch.zeros_like(probabilities).scatter_(-1, order, ordered.masked_fill(outside, 0.0))
                    probabilities = probabilities / probabilities.sum(-1, keepdim=True)
                chosen = torch.multinomial(probabilities, 1, generator=generator).squeeze(-1)
                processed = probabilities.log()
            reported = raw if mode == "raw_logprobs" else processed
            for row, token in enumerate(chosen.tolist()):
                if done[row]:
                    continue
                values = reported[row]
                entry = {token: Logprob(float(values[token]), rank=int((values > values[token]).sum()) + 1)}
                for rank, other in enumerate(values.topk(params.logprobs or 0).indices.tolist(), start=1):
                    entry.setdefault(other, Logprob(float(values[other]), rank=rank))
                tokens[row].append(token)
                entries[row].append(entry)
                done[row] = token in stop_ids
            if all(done):
                break
            logits = self._forward(chosen[:, None], cache)
        return [
            CompletionOutput(
                index=row,
                text="",  # the adapter asks for detokenize=False and decodes itself
                token_ids=tuple(tokens[row]),
                cumulative_logprob=None,
                logprobs=entries[row] if params.logprobs is not None else None,
                finish_reason="stop" if done[row] else "length",
                stop_reason=tokens[row][-1] if done[row] and tokens[row][-1] in params.stop_token_ids else None,
            )
            for row in range(params.n)
        ]

    def _forward(self, input_ids: Any, cache: Any) -> Any:
        """Logits of the next token per row, float32; `cache` holds the keys and values so far."""
        # transformers renamed forward's `past_key_values` to `cache`; older versions know only the former
        name = "cache" if "cache" in inspect.signature(self.model.hf_model.forward).parameters else "past_key_values"
        output = self.model.hf_model(input_ids=input_ids, use_cache=True, **{name: cache})
        return output.logits[:, -1].float()
