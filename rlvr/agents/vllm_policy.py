"""`VLLMPolicy`: rollouts from a vLLM engine, gradients from a learner policy, weights kept in step.

On a GPU, RL spends most of its time sampling. vLLM samples much faster than a plain decoding loop
(paged KV cache, continuous batching, CUDA graphs) but gives no gradients, so this policy splits
the work between two copies of one model:

- `sample` and `act` run on the vLLM engine. Their log-probs are pi_old, the behaviour policy;
- `score` runs on the `learner`, usually a `TransformersPolicy` that holds the trainable copy.
  These log-probs are pi_theta, with gradients. `model` and `device` are the learner's, so a
  trainer builds its optimizer over the learner's parameters;
- `sync_weights` copies the learner's parameters into the engine.

    learner = TransformersPolicy("/models/qwen", device="cuda", dtype="bfloat16")
    policy = VLLMPolicy("/models/qwen", learner=learner, gpu_memory_utilization=0.4)
    Trainer(config, policy=policy).train()

Log-probs. The `Policy` contract asks for log-probs of the raw temperature-1 distribution. vLLM
gives them when the engine runs with `logprobs_mode="raw_logprobs"` (an engine setting since
vLLM 0.10.2, and its default; there is no per-request switch) and each request asks for
`logprobs=0` (the sampled token only). An engine built here gets that mode; one passed in is
checked. Two engines never agree to the last bit (other kernels, fused layers, rounding), so even
with equal weights vLLM's pi_old and the learner's pi_theta differ slightly, and the first
importance ratio is 1 only up to that noise. Watch it with `logprob_mismatch(batch)`: the max and
mean |sample log-prob - learner score log-prob| over the generated tokens. In float32 it should
stay near rounding (1e-4 is a fair bar); in bfloat16 means around 1e-2 are normal. A large or
growing mismatch means stale weights or misaligned tokens.

Weight sync, two routes, tried in this order:
1. in process: `llm.llm_engine.model_executor.driver_worker[.worker].model_runner.model
   .load_weights(...)`. This works on the V0 engine, and on V1 when its engine core runs in this
   process (`VLLM_ENABLE_V1_MULTIPROCESSING=0`, which a policy that builds its own engine sets
   unless `in_process=False`): a device-to-device copy, parameter by parameter;
2. `llm.collective_rpc(function, args=(weights,))` on V1 with the engine core in another process.
   The weights travel through vLLM's RPC in CPU buckets. This is slower, and shipping the function
   needs `VLLM_ALLOW_INSECURE_SERIALIZATION=1`.
If neither route exists, syncing raises a RuntimeError that names both. After a sync the prefix
cache is reset, because its KV entries were computed with the old weights. The weights are the
learner's named parameters under Hugging Face names, which vLLM's `load_weights` maps onto its
own fused layers. Quantized engines, which need vLLM's layer-wise reload, are not supported.

When to sync. rlvr's `Trainer` calls `after_update()` after each RL step's updates, after the SFT
warm-up and after loading a checkpoint; it syncs on every `sync_every`-th call. With `auto_sync`
(the default) `sample` also syncs first when the learner's parameters changed since the last sync,
as torch's per-tensor version counters tell: that catches ordinary in-place updates in a loop of
your own, but not fused optimizers (`AdamW(fused=True)` does not bump the counters), so a custom
loop with one must call `after_update()` or `sync_weights()` itself. With `auto_sync=False` and
`sync_every=k` the engine lags up to k-1 updates (off-policy by design: the importance ratio
against the sampled pi_old corrects for it, within the clip range).

vllm is imported when a policy is built, so this module imports without it. Without vllm,
construction raises an ImportError that names the `vllm` extra.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlvr.agents.hf import TransformersPolicy
from rlvr.agents.policy import SampleBatch
from rlvr.agents.vllm_engine import (
    engine_accepts_logprobs_mode,
    engine_logprobs_mode,
    push_weights,
    weight_route,
)

try:
    import torch
except ImportError:  # the `train` extra is not installed: fail on use, with a hint
    torch = None

RAW_LOGPROBS_MODE = "raw_logprobs"
def import_vllm() -> Any:
    """The vllm module, or an ImportError that says how to install it."""
    try:
        import vllm
    except ImportError as error:
        raise ImportError("VLLMPolicy needs vLLM (a CUDA GPU): pip install 'rlvr[vllm]'") from error
    return vllm


def request_seed(seed: int, request_index: int) -> int:
    """Seed of request `request_index` of a `sample` call made with `seed`: one per (seed, index).

    Each prompt gets its own stream, so a prompt's samples do not depend on which other prompts
    share the batch, and no two prompts draw from the same noise.

    >>> request_seed(0, 0) == request_seed(0, 0), request_seed(0, 0) == request_seed(0, 1)
    (True, False)
    >>> 0 <= request_seed(-5, 3) < 2**31
    True
    """
    import numpy as np

    entropy = [int(seed) & (2**64 - 1), int(request_index)]
    return int(np.random.SeedSequence(entropy).generate_state(1, dtype=np.uint32)[0] >> 1)


class VLLMPolicy:
    """A vLLM engine that samples, and a learner policy that scores and trains (see the module doc).

    `llm_or_path`: a local model folder (the engine is built here) or an existing `vllm.LLM`.
    `tokenizer`: an object, a path, or None for the learner's tokenizer (else the model folder's,
    else the engine's). `chat_template` and the sampling defaults mean what they mean for
    `TransformersPolicy`. Given `stop_token_ids` are the whole stop set (the engine then ignores
    the model's EOS); by default they are the learner's and the tokenizer's EOS ids, and the
    engine also stops at the model's EOS. The engine settings (`dtype`, `gpu_memory_utilization`,
    `engine_seed`, `enable_prefix_caching`, `max_model_len`, `engine_kwargs`) apply only when the
    engine is built here; dtype 'auto' takes the learner's, so both copies compute alike.
    """

    def __init__(
        self,
        llm_or_path: Any,
        tokenizer: Any = None,
        learner: Any = None,
        *,
        chat_template: bool | None = None,
        stop_token_ids: Iterable[int] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.5,
        engine_seed: int = 0,
        enable_prefix_caching: bool = True,
        max_model_len: int | None = None,
        in_process: bool = True,
        engine_kwargs: dict[str, Any] | None = None,
        auto_sync: bool = True,
        sync_every: int = 1,
    ) -> None:
        if torch is None:
            raise ImportError("VLLMPolicy needs torch and transformers: pip install 'rlvr[train]'")
        if sync_every < 1:
            raise ValueError(f"sync_every must be >= 1, got {sync_every}")
        if auto_sync and sync_every > 1:
            raise ValueError("sync_every > 1 needs auto_sync=False (auto_sync syncs before every sample)")
        self._vllm = import_vllm()
        self.learner = learner
        if isinstance(llm_or_path, (str, Path)):
            if in_process:  # keep the engine core here, so weights sync by a direct copy
                os.environ.setdefault("VLLM_ENABLE_V1_MULTIPROCESSING", "0")
            settings = {
                "model": str(llm_or_path),
                "dtype": self._engine_dtype(dtype),
                "gpu_memory_utilization": gpu_memory_utilization,
                "seed": engine_seed,
                "enable_prefix_caching": enable_prefix_caching,
                **({"max_model_len": max_model_len} if max_model_len is not None else {}),
            }
            if engine_accepts_logprobs_mode(self._vllm):
                settings["logprobs_mode"] = RAW_LOGPROBS_MODE
            self.llm = self._vllm.LLM(**{**settings, **(engine_kwargs or {})})
        else:
            self.llm = llm_or_path
        mode = engine_logprobs_mode(self.llm)
        if mode is not None and mode != RAW_LOGPROBS_MODE:
            raise ValueError(f"the engine returns {mode!r} log-probs; the Policy contract needs logprobs_mode='raw_logprobs'")
        self.tokenizer = self._resolve_tokenizer(tokenizer, llm_or_path)
        self.chat_template = chat_template
        self.max_new_tokens, self.temperature, self.top_p, self.seed = max_new_tokens, temperature, top_p, seed
        self.stop_token_ids = sorted(set(stop_token_ids) if stop_token_ids is not None else self._default_stop_ids())
        # given stop ids are the whole stop set, as for TransformersPolicy; by default the engine
        # also keeps stopping at whatever it takes for the model's EOS
        self._ignore_eos = stop_token_ids is not None
        self.pad_token_id = self._default_pad_id()
        self.auto_sync, self.sync_every = auto_sync, sync_every
        self.sync_count = 0
        """Weight pushes into the engine so far."""
        self.update_count = 0
        """`after_update` calls so far."""
        self._updates_since_sync = 0
        self._synced_fingerprint: tuple | None = None  # unknown: the first auto-sync pushes
        self._act_calls = 0
        self._weight_route: tuple[str, Any] | None = None

    def _engine_dtype(self, dtype: str) -> str:
        learner_dtype = getattr(self.learner, "dtype", None)
        if dtype == "auto" and isinstance(learner_dtype, torch.dtype):
            return str(learner_dtype).removeprefix("torch.")
        return dtype

    def _resolve_tokenizer(self, tokenizer: Any, llm_or_path: Any) -> Any:
        source = tokenizer
        if source is None:
            learner_tokenizer = getattr(self.learner, "tokenizer", None)
            if learner_tokenizer is not None:
                return learner_tokenizer
            source = llm_or_path if isinstance(llm_or_path, (str, Path)) else None
            if source is None:
                return self.llm.get_tokenizer() if hasattr(self.llm, "get_tokenizer") else None
        if isinstance(source, (str, Path)):
            from transformers import AutoTokenizer

            return AutoTokenizer.from_pretrained(source, local_files_only=True)
        return source

    def _default_stop_ids(self) -> set[int]:
        ids = set(getattr(self.learner, "stop_token_ids", None) or ())
        eos = getattr(self.tokenizer, "eos_token_id", None)
        if eos is not None:
            ids.add(int(eos))
        return ids

    def _default_pad_id(self) -> int:
        for candidate in (getattr(self.tokenizer, "pad_token_id", None), getattr(self.learner, "pad_token_id", None)):
            if candidate is not None:
                return int(candidate)
        return self.stop_token_ids[0] if self.stop_token_ids else 0

    # ---- the learner's side ----------------------------------------------------------------------
    def _require_learner(self) -> Any:
        if self.learner is None:
            raise ValueError("VLLMPolicy has no learner: vLLM gives no gradients, so pass learner=TransformersPolicy(...)")
        return self.learner

    @property
    def model(self) -> Any:
        """The learner's model: what the optimizer trains and what `sync_weights` pushes."""
        if self.learner is None:  # AttributeError, so hasattr(policy, "model") stays a question
            raise AttributeError("VLLMPolicy has no learner, hence no trainable model: pass learner=...")
        return self.learner.model

    @model.setter
    def model(self, model: Any) -> None:
        self._require_learner().model = model

    @property
    def device(self) -> Any:
        """The learner's device (`sample` returns CPU tensors)."""
        return getattr(self.learner, "device", "cpu")

    def __copy__(self) -> VLLMPolicy:
        """A copy with its own shallow learner copy, sharing the engine but never pushing into it.

        A trainer's frozen KL reference is `copy.copy(policy)` with a new `model`: that must not
        replace the live learner's model nor overwrite the engine's weights.
        """
        import copy

        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.learner = copy.copy(self.learner)
        clone.auto_sync = False
        return clone

    def score(
        self,
        prompt_ids: Sequence[Sequence[int]],
        completion_ids: Any,
        completion_mask: Any = None,
        need: Iterable[str] = ("logprobs",),
    ) -> dict[str, Any]:
        """pi_theta: the learner's `score` (vLLM computes no gradients)."""
        return self._require_learner().score(prompt_ids, completion_ids, completion_mask, need=need)

    def logprob_mismatch(self, batch: SampleBatch) -> dict[str, float]:
        """|engine sample log-prob - learner score log-prob| over the generated tokens: max, mean, count."""
        with torch.no_grad():
            scored = self.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask)["logprobs"]
        mask = batch.completion_mask.to(scored.device)
        difference = (scored.float() - batch.logprobs.to(scored.device))[mask].abs()
        if difference.numel() == 0:
            return {"max_abs": 0.0, "mean_abs": 0.0, "tokens": 0}
        return {"max_abs": float(difference.max()), "mean_abs": float(difference.mean()), "tokens": int(difference.numel())}

    # ---- weight sync -----------------------------------------------------------------------------
    def _learner_fingerprint(self) -> tuple:
        # in-place updates bump a tensor's version; a swapped tensor or model changes its identity
        return tuple((id(p), p.data_ptr(), p._version) for p in self.model.parameters())

    def load_weights(self, named_tensors: Iterable[tuple[str, Any]]) -> None:
        """Push (Hugging Face name, tensor) pairs into the engine, then reset its prefix cache."""
        if self._weight_route is None:
            self._weight_route = weight_route(self.llm)
        push_weights(self.llm, self._weight_route, named_tensors)

    def sync_weights(self) -> None:
        """Push the learner's current parameters into the engine now."""
        self.load_weights(self.model.named_parameters())
        self.sync_count += 1
        self._updates_since_sync = 0
        self._synced_fingerprint = self._learner_fingerprint()

    def after_update(self) -> None:
        """Tell the policy an optimizer step happened: syncs on every `sync_every`-th call."""
        self.update_count += 1
        self._updates_since_sync += 1
        if self._updates_since_sync >= self.sync_every:
            self.sync_weights()

    def _sync_if_stale(self) -> None:
        if self.auto_sync and self.learner is not None and self._learner_fingerprint() != self._synced_fingerprint:
            self.sync_weights()

    # ---- prompts and Agent: TransformersPolicy's own, so both copies read prompts alike -----
    # (these read only tokenizer, chat_template, seed, _act_calls and sample)
    encode = TransformersPolicy.encode
    _require_tokenizer = TransformersPolicy._require_tokenizer
    _encode_messages = TransformersPolicy._encode_messages
    act = TransformersPolicy.act

    # ---- sampling --------------------------------------------------------------------------------
    def sample(
        self,
        prompts: Sequence[Any],
        num_samples: int = 1,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> SampleBatch:
        """`num_samples` completions per prompt from the engine, rows grouped by prompt, raw log-probs.

        One request per prompt with n=num_samples, seeded with `request_seed(seed, prompt)`.
        Temperature 0 is greedy: one request per prompt (vLLM refuses n > 1 there), its completion
        repeated `num_samples` times.
        """
        max_new_tokens = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        temperature = self.temperature if temperature is None else temperature
        top_p = self.top_p if top_p is None else top_p
        if num_samples < 1 or max_new_tokens < 1:
            raise ValueError(f"num_samples and max_new_tokens must be >= 1, got {num_samples} and {max_new_tokens}")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        encoded = self.encode(prompts)
        self._sync_if_stale()
        greedy = temperature <= 0
        requests = [self._vllm.inputs.TokensPrompt(prompt_token_ids=ids) for ids in encoded]
        params = [
            self._vllm.SamplingParams(
                n=1 if greedy else num_samples,
                temperature=0.0 if greedy else float(temperature),
                top_p=1.0 if greedy else float(top_p),
                max_tokens=int(max_new_tokens),
                seed=None if greedy or seed is None else request_seed(seed, index),
                logprobs=0,  # the sampled token's log-prob only
                stop_token_ids=list(self.stop_token_ids),
                ignore_eos=self._ignore_eos,
                detokenize=False,  # texts are decoded below, exactly as TransformersPolicy does
            )
            for index in range(len(encoded))
        ]
        outputs = self.llm.generate(requests, params, use_tqdm=False)
        if len(outputs) != len(encoded):
            raise RuntimeError(f"the engine answered {len(outputs)} of {len(encoded)} requests")
        completions = []
        for request in outputs:
            answers = sorted(request.outputs, key=lambda completion: getattr(completion, "index", 0))
            answers = answers[:1] * num_samples if greedy else answers
            if len(answers) != num_samples:
                raise RuntimeError(f"expected {num_samples} completions per request, the engine gave {len(answers)}")
            completions.extend(answers)
        rows = [ids for ids in encoded for _ in range(num_samples)]
        prompt_index = [index for index in range(len(encoded)) for _ in range(num_samples)]
        return self._to_batch(rows, prompt_index, completions)

    def _to_batch(self, rows: list[list[int]], prompt_index: list[int], completions: list[Any]) -> SampleBatch:
        tokens = [[int(token) for token in completion.token_ids] for completion in completions]
        width = max(1, max((len(row) for row in tokens), default=1))
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        logprobs = torch.zeros((len(rows), width), dtype=torch.float32)
        for row, (completion, row_tokens) in enumerate(zip(completions, tokens, strict=True)):
            if row_tokens:
                ids[row, : len(row_tokens)] = torch.tensor(row_tokens, dtype=torch.long)
                mask[row, : len(row_tokens)] = True
                logprobs[row, : len(row_tokens)] = torch.tensor(_sampled_logprobs(completion, row_tokens))
        texts = [""] * len(rows)
        if self.tokenizer is not None:
            texts = self.tokenizer.batch_decode(tokens, skip_special_tokens=True)
        return SampleBatch(
            prompt_ids=[list(row) for row in rows],
            prompt_index=prompt_index,
            completion_ids=ids,
            completion_mask=mask,
            logprobs=logprobs,
            texts=texts,
            finished=[completion.finish_reason == "stop" for completion in completions],
        )


def _sampled_logprobs(completion: Any, tokens: list[int]) -> list[float]:
    """The log-prob of each sampled token, from vLLM's per-position {token id: Logprob} maps."""
    positions = completion.logprobs
    if positions is None:
        raise RuntimeError("the engine returned no log-probs: requests must ask for logprobs=0")
    if len(positions) != len(tokens):
        raise RuntimeError(f"the engine returned {len(positions)} log-prob positions for {len(tokens)} tokens")
    values = []
    for position, token in zip(positions, tokens, strict=True):
        entry = position[token]
        values.append(float(getattr(entry, "logprob", entry)))
    return values
