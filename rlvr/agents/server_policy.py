"""`ServerPolicy`: rollouts from an inference server over HTTP, gradients from a local learner.

The sampling half of RL runs on any OpenAI-compatible server that returns token ids and log-probs
(vLLM's `vllm serve`); the learner (a `TransformersPolicy`, same tokenizer) stays in this process:

- `sample` encodes prompts with the learner's tokenizer and sends each as token ids to
  `/v1/completions` with `n` = samples per prompt, `logprobs: 0`, `return_token_ids` and
  `return_tokens_as_token_ids`, the stop ids, and a per-prompt seed. Every returned id and log-prob
  is checked (`rlvr.agents.server_tokens`): n choices, ids in the learner's vocabulary, one finite
  log-prob <= 0 per id, lengths that agree with `finish_reason`, `max_tokens` and `usage`. A server
  that drops `n`, answers text without ids or miscounts raises `OpenAICompatibleError`: a batch is
  never silently wrong. Temperature 0 asks for one greedy sample and repeats it.
- `score` is the learner's (pi_theta with gradients); `model` and `device` are the learner's.
- `after_update()` (the trainer calls it after each update, the SFT warm-up and a resume) pushes
  the learner's weights into the server every `sync_every` calls (`rlvr.agents.server_weights`:
  safetensors into the folder the server serves, then its reload route). The first push happens
  when the policy is built, so sampling starts from the learner's weights, and it doubles as the
  check that the server can reload: without such a route the policy refuses to start unless
  `allow_stale=True`. With `auto_sync` (the default) `sample` also pushes first when the learner's
  parameters changed since the last push (torch's version counters: a checkpoint loaded for
  evaluation, a loop of one's own; fused optimizers do not bump them, so such a loop must call
  `after_update`). Without a reload route the server keeps its weights, the run is off-policy by a growing number
  of updates (`staleness`, logged after every update), and only the importance ratio against the
  sampled pi_old corrects for it, within the clip range.

Log-probs must be of the raw temperature-1 distribution (the `Policy` contract): vLLM's server
returns those with `--logprobs-mode raw_logprobs`, its default. `logprob_mismatch(batch)` measures
|server log-prob - learner log-prob| over a batch; right after a sync it should be rounding noise.

Transport is `OpenAICompatibleAgent`'s: one deadline per request (`timeout_s`), retries with
backoff on connection errors, 429 and 5xx, bounded bodies, no redirects, so the API key
(`api_key`, else $RLVR_SERVER_API_KEY) only ever goes to `base_url`'s origin.
"""

from __future__ import annotations

import copy
import logging
import os
import warnings
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlvr.agents.hf import TransformersPolicy
from rlvr.agents.openai_compat import OpenAICompatibleAgent
from rlvr.agents.openai_payload import PayloadError, load_json
from rlvr.agents.policy import SampleBatch
from rlvr.agents.server_tokens import TokenChoice, read_token_choices
from rlvr.agents.server_weights import WEIGHT_SYNCS, WeightPusher, WeightSyncUnsupported
from rlvr.agents.vllm_policy import VLLMPolicy, request_seed

try:
    import torch
except ImportError:  # the `train` extra is not installed: construction says so
    torch = None

API_KEY_ENV_VAR = "RLVR_SERVER_API_KEY"
"""Where the server's API key is read from when none is given (never from a config file)."""
logger = logging.getLogger(__name__)


class _RawCompletions(OpenAICompatibleAgent):
    """`OpenAICompatibleAgent`'s transport (retries, deadline, bounds) returning the parsed answer whole."""

    def _parse(self, raw: bytes) -> Any:  # type: ignore[override]
        try:
            return load_json(raw)
        except PayloadError as error:
            failure = self._error(f"response from {self.url} {error}; it starts {self._quote(raw)}")
        raise failure


class ServerPolicy:
    """Samples on an OpenAI-compatible server, scores and trains on `learner` (see the module doc).

    `weight_sync`: 'vllm' or 'sglang' (reload the weights written to `weights_dir`, the folder the
    server serves) or 'none' (never push; needs `allow_stale=True`). `stop_token_ids` default to the
    learner's. `max_new_tokens`, `temperature`, `top_p` and `seed` are the defaults of `sample`.
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        learner: Any,
        *,
        api_key: str | None = None,
        weight_sync: str = "vllm",
        weights_dir: str | Path | None = None,
        sync_every: int = 1,
        auto_sync: bool = True,
        allow_stale: bool = False,
        stop_token_ids: Iterable[int] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        timeout_s: float = 600.0,
        max_retries: int = 2,
        concurrency: int = 16,
        max_response_bytes: int = 64 << 20,
    ) -> None:
        if torch is None:
            raise ImportError("ServerPolicy needs torch and transformers for its learner: pip install 'rlvr[train]'")
        if weight_sync not in WEIGHT_SYNCS:
            raise ValueError(f"weight_sync must be one of {list(WEIGHT_SYNCS)}, got {weight_sync!r}")
        if sync_every < 1:
            raise ValueError(f"sync_every must be >= 1, got {sync_every}")
        if auto_sync and sync_every > 1:
            raise ValueError("sync_every > 1 needs auto_sync=False (auto_sync pushes before any sample after a change)")
        if weight_sync == "none" and not allow_stale:
            raise ValueError("weight_sync='none' leaves the server's weights fixed while the learner trains "
                             "(off-policy); pass allow_stale=True to accept that")
        if weight_sync != "none" and weights_dir is None:
            raise ValueError(f"weight_sync={weight_sync!r} needs weights_dir: the folder the server loads its model from")
        self.learner = learner
        key = api_key if api_key is not None else os.environ.get(API_KEY_ENV_VAR, "")
        self._client = _RawCompletions(base_url, model, api_key=key, endpoint="completions", temperature=None,
                                       max_tokens=None, timeout_s=timeout_s, max_retries=max_retries,
                                       concurrency=concurrency, max_response_bytes=max_response_bytes)
        self.url, self.server_model = self._client.url, model
        self.tokenizer, self.chat_template = learner.tokenizer, getattr(learner, "chat_template", None)
        self.stop_token_ids = sorted(set(stop_token_ids) if stop_token_ids is not None else learner.stop_token_ids)
        self._ignore_eos = stop_token_ids is not None  # given stop ids are the whole stop set
        self.pad_token_id = learner.pad_token_id
        self.vocab_size = _vocab_size(learner.model)
        self.max_new_tokens, self.temperature, self.top_p, self.seed = max_new_tokens, temperature, top_p, seed
        self.sync_every, self.auto_sync, self.allow_stale = sync_every, auto_sync, allow_stale
        self.update_count = 0
        """`after_update` calls so far."""
        self.staleness = 0
        """Learner updates the server's weights lag behind (0 right after a push)."""
        self._act_calls = 0
        self._pushes = True  # False on copies (a trainer's frozen reference): they never push
        self._pusher = None
        self._synced_fingerprint: tuple | None = None
        if weight_sync != "none":
            self._pusher = WeightPusher(base_url, weight_sync, weights_dir, key, timeout_s)
            self._first_push()
        else:
            self._warn_stale("weight_sync='none'")

    def __repr__(self) -> str:
        sync = self._pusher.weight_sync if self._pusher is not None else "none"
        return f"{type(self).__name__}(url={self.url!r}, model={self.server_model!r}, weight_sync={sync!r})"

    # ---- weights ----------------------------------------------------------------------------------
    def _first_push(self) -> None:
        try:
            self.sync_weights()
        except WeightSyncUnsupported as error:
            if not self.allow_stale:
                raise WeightSyncUnsupported(
                    f"{error}. Start vLLM with VLLM_SERVER_DEV_MODE=1 (or pick the route the server has), or "
                    "accept training against the server's fixed weights, off-policy by a growing number of "
                    "updates (allow_stale=True; config server_allow_stale: true)"
                ) from None
            self._pusher = None
            self._warn_stale(str(error))

    def _warn_stale(self, why: str) -> None:
        warnings.warn(f"{why}: the server's weights will not follow the learner; samples get staler by one "
                      "update per step (logged as 'staleness')", stacklevel=3)

    def sync_weights(self) -> None:
        """Push the learner's current weights into the server now."""
        if self._pusher is None:
            raise RuntimeError("this ServerPolicy has no weight sync (weight_sync='none' or no reload route)")
        self._pusher.push(self.model)
        self.staleness = 0
        self._synced_fingerprint = self._learner_fingerprint()

    def after_update(self) -> None:
        """Tell the policy the learner's weights changed: pushes on every `sync_every`-th call."""
        if not self._pushes:
            return
        self.update_count += 1
        self.staleness += 1
        if self._pusher is not None and self.staleness >= self.sync_every:
            self.sync_weights()
        elif self._pusher is None:
            logger.info("server weights are %d update(s) behind the learner (no weight sync)", self.staleness)

    _learner_fingerprint = VLLMPolicy._learner_fingerprint

    def _sync_if_stale(self) -> None:
        # weights changed outside after_update (a checkpoint loaded for evaluation, a loop of one's own)
        if self.auto_sync and self._pushes and self._pusher is not None and \
                self._learner_fingerprint() != self._synced_fingerprint:
            self.sync_weights()

    @property
    def stats(self) -> dict[str, Any]:
        """Requests, retries and token counts of the transport; weight pushes, their seconds, staleness."""
        pusher = self._pusher
        return {**self._client.stats, "weight_pushes": pusher.pushes if pusher else 0,
                "weight_push_seconds": pusher.seconds if pusher else 0.0, "staleness": self.staleness}

    # ---- the learner's side -----------------------------------------------------------------------
    @property
    def model(self) -> Any:
        """The learner's model: what the optimizer trains and what a sync pushes."""
        return self.learner.model

    @model.setter
    def model(self, model: Any) -> None:
        self.learner.model = model

    @property
    def device(self) -> Any:
        return self.learner.device

    def __copy__(self) -> ServerPolicy:
        """A copy with its own shallow learner copy that shares the server but never pushes into it
        (a trainer's frozen KL reference is `copy.copy(policy)` with a new `model`)."""
        clone = object.__new__(type(self))
        clone.__dict__.update(self.__dict__)
        clone.learner = copy.copy(self.learner)
        clone._pushes = False
        return clone

    def score(self, prompt_ids: Sequence[Sequence[int]], completion_ids: Any, completion_mask: Any = None,
              need: Iterable[str] = ("logprobs",)) -> dict[str, Any]:
        """pi_theta: the learner's `score` (the server computes no gradients)."""
        return self.learner.score(prompt_ids, completion_ids, completion_mask, need=need)

    logprob_mismatch = VLLMPolicy.logprob_mismatch

    # prompts and Agent: the learner's own code, so both read prompts alike
    encode = TransformersPolicy.encode
    _require_tokenizer = TransformersPolicy._require_tokenizer
    _encode_messages = TransformersPolicy._encode_messages
    act = TransformersPolicy.act

    # ---- sampling ---------------------------------------------------------------------------------
    def sample(
        self,
        prompts: Sequence[Any],
        num_samples: int = 1,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> SampleBatch:
        """`num_samples` completions per prompt from the server, rows grouped by prompt, raw log-probs.

        One request per prompt with n=num_samples and seed `request_seed(seed, prompt)`; requests run
        concurrently. Temperature 0 is greedy: n=1, its completion repeated `num_samples` times.
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
        n = 1 if greedy else num_samples
        bodies = [self._body(ids, n, max_new_tokens, 0.0 if greedy else float(temperature),
                             1.0 if greedy else float(top_p), None if greedy or seed is None else request_seed(seed, i))
                  for i, ids in enumerate(encoded)]
        choices: list[TokenChoice] = []
        for i, (ids, payload) in enumerate(zip(encoded, self._client._map(bodies), strict=True)):
            try:
                read = read_token_choices(payload, n=n, prompt_ids=ids, max_tokens=max_new_tokens,
                                          vocab_size=self.vocab_size, stop_ids=self.stop_token_ids)
            except PayloadError as error:
                raise self._client._error(f"response from {self.url} to prompt {i} {error}") from None
            choices.extend(read * num_samples if greedy else read)
        rows = [ids for ids in encoded for _ in range(num_samples)]
        prompt_index = [index for index in range(len(encoded)) for _ in range(num_samples)]
        return self._to_batch(rows, prompt_index, choices)

    def _body(self, prompt_ids: list[int], n: int, max_tokens: int, temperature: float, top_p: float,
              seed: int | None) -> dict[str, Any]:
        body = {"model": self.server_model, "prompt": prompt_ids, "n": n, "max_tokens": max_tokens,
                "temperature": temperature, "top_p": top_p, "logprobs": 0, "return_token_ids": True,
                "return_tokens_as_token_ids": True, "stop_token_ids": self.stop_token_ids,
                "ignore_eos": self._ignore_eos}
        if seed is not None:
            body["seed"] = seed
        return body

    def _to_batch(self, rows: list[list[int]], prompt_index: list[int], choices: list[TokenChoice]) -> SampleBatch:
        width = max(1, max((len(choice.ids) for choice in choices), default=1))
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        logprobs = torch.zeros((len(rows), width), dtype=torch.float32)
        lengths = torch.tensor([len(choice.ids) for choice in choices], dtype=torch.long)
        mask = torch.arange(width)[None, :] < lengths[:, None]
        if mask.any():
            ids[mask] = torch.tensor([token for choice in choices for token in choice.ids], dtype=torch.long)
            logprobs[mask] = torch.tensor([value for choice in choices for value in choice.logprobs], dtype=torch.float32)
        texts = [""] * len(rows)
        if self.tokenizer is not None:
            texts = self.tokenizer.batch_decode([choice.ids for choice in choices], skip_special_tokens=True)
        return SampleBatch(prompt_ids=[list(row) for row in rows], prompt_index=prompt_index, completion_ids=ids,
                           completion_mask=mask, logprobs=logprobs, texts=texts,
                           finished=[choice.finished for choice in choices])


def _vocab_size(model: Any) -> int:
    """Rows of the learner's input embedding: ids at or past it cannot be scored."""
    embeddings = model.get_input_embeddings() if hasattr(model, "get_input_embeddings") else None
    if embeddings is not None and hasattr(embeddings, "num_embeddings"):
        return int(embeddings.num_embeddings)
    return int(model.config.vocab_size)
