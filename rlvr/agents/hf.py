"""`TransformersPolicy`: any Hugging Face causal LM as a trainable `Policy`, on CPU or GPU.

Sampling is our own batched loop rather than `model.generate`, because RL needs the exact
log-probability of every sampled token and per-row stop handling we control:

1. prompts are left-padded into one batch; position ids are the cumulative sum of the attention
   mask minus one, so rotary positions of a padded prompt equal those of the same prompt alone;
2. one prefill pass fills a `DynamicCache`, then each step feeds one token per row and reuses it;
3. the next token is drawn from softmax(logits / temperature), cut to the top-p nucleus, with the
   exponential-race trick (argmax of p / Exp(1) noise) driven by a seeded `torch.Generator`, so a
   seed gives the same samples on the same device;
4. a row stops at its first stop token (EOS); later positions hold the pad id, mask false.

`decode="static"` swaps step 2's growing cache for a pre-sized `StaticCache` whose one-token step
is compiled (CUDA graphs on CUDA; `rlvr.agents.static_decode`): the same tokens and log-probs up
to float rounding, far fewer kernel launches per step. Steps 1, 3 and 4 are shared by both paths.

Log-probs returned by `sample` and `score` are of the raw model distribution: log-softmax of the
logits at temperature 1, whatever temperature and top-p shaped the sampling (see
`rlvr.agents.policy`). `score` runs one forward pass over prompt + completion with the same
padding and position ids, and computes only the quantities asked for.

torch is imported when this module is; transformers only when a model is loaded or run. Without
torch the module still imports (so listing the package works) and constructing a policy raises an
ImportError that names the `train` extra.
"""

from __future__ import annotations

import inspect
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

from rlvr.agents.policy import SampleBatch, check_needs
from rlvr.agents.static_decode import StaticDecoder
from rlvr.agents.token_ops import distinct_rows, pick_tokens, select_cache_rows, token_statistics

try:
    import torch
except ImportError:  # the `train` extra is not installed; fail on use, with a hint, not on import
    torch = None

DECODE_PATHS = ("dynamic", "static")
_STOP_CHECK_EVERY = 4
"""Decode steps between checks that every row has stopped: each check waits for the device."""
_STATS_CHUNK_ELEMENTS = 1 << 27
"""Logit elements turned into float32 statistics at once in `score` (bounds the extra memory)."""


def _require_torch() -> None:
    if torch is None:
        raise ImportError("TransformersPolicy needs torch and transformers: pip install 'rlvr[train]'")


def resolve_device(device: str) -> str:
    """'auto' -> 'cuda' when a GPU is visible, else 'cpu'; other names pass through."""
    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    return device


def resolve_dtype(dtype: str | Any, device: str) -> Any:
    """'auto' -> bfloat16 on CUDA, float32 elsewhere; 'bfloat16' / 'float16' / 'float32' by name."""
    if not isinstance(dtype, str):
        return dtype
    if dtype == "auto":
        return torch.bfloat16 if str(device).startswith("cuda") else torch.float32
    names = {"bfloat16": torch.bfloat16, "float16": torch.float16, "float32": torch.float32}
    if dtype not in names:
        raise ValueError(f"dtype must be 'auto' or one of {sorted(names)}, got {dtype!r}")
    return names[dtype]


class TransformersPolicy:
    """A local causal LM (path or model object) with its tokenizer, as an `Agent` and a `Policy`.

    `chat_template`: None applies the tokenizer's template to prompts given as chat messages (and
    in `act`, when the tokenizer has a template, to the env's `info["messages"]`); True applies it
    to plain text prompts too (as one user message); False never applies it. `stop_token_ids`
    defaults to the tokenizer's and the generation config's EOS ids. The `max_new_tokens`,
    `temperature`, `top_p` and `seed` given here are the defaults of `sample` and `act`.
    `decode`: 'dynamic' (a growing `DynamicCache`, eager) or 'static' (a pre-sized `StaticCache`
    and a compiled step); `compile` (static only): None compiles on CUDA alone, True on any device,
    False never (see `rlvr.agents.static_decode`).
    """

    def __init__(
        self,
        model_or_path: Any,
        tokenizer: Any = None,
        device: str = "auto",
        dtype: str | Any = "auto",
        chat_template: bool | None = None,
        stop_token_ids: Iterable[int] | None = None,
        max_new_tokens: int = 256,
        temperature: float = 1.0,
        top_p: float = 1.0,
        seed: int | None = None,
        decode: str = "dynamic",
        compile: bool | None = None,
    ) -> None:
        _require_torch()
        if decode not in DECODE_PATHS:
            raise ValueError(f"decode must be one of {DECODE_PATHS}, got {decode!r}")
        self.device = resolve_device(device)
        self.dtype = resolve_dtype(dtype, self.device)
        if isinstance(model_or_path, (str, Path)):
            from transformers import AutoModelForCausalLM

            model = AutoModelForCausalLM.from_pretrained(model_or_path, dtype=self.dtype, local_files_only=True)
            if tokenizer is None:
                tokenizer = model_or_path
        else:
            model = model_or_path
        if isinstance(tokenizer, (str, Path)):
            from transformers import AutoTokenizer

            tokenizer = AutoTokenizer.from_pretrained(tokenizer, local_files_only=True)
        self.model = model.to(device=self.device, dtype=self.dtype)
        self.tokenizer = tokenizer
        self.chat_template = chat_template
        self.max_new_tokens, self.temperature, self.top_p, self.seed = max_new_tokens, temperature, top_p, seed
        self._act_calls = 0
        self.stop_token_ids = sorted(set(stop_token_ids) if stop_token_ids is not None else self._default_stop_ids())
        self.pad_token_id = self._default_pad_id()
        forward_parameters = inspect.signature(self.model.forward).parameters
        # transformers 5.2x renamed forward's `past_key_values` to `cache`; 5.17 knows only the old name
        self._cache_argument = "cache" if "cache" in forward_parameters else "past_key_values"
        self._can_keep_last_logits = "logits_to_keep" in forward_parameters
        self.decode = decode
        self._static = StaticDecoder(self.model, self._cache_argument, compile) if decode == "static" else None

    def _default_stop_ids(self) -> set[int]:
        ids: set[int] = set()
        for source in (getattr(self.tokenizer, "eos_token_id", None), self.model.generation_config.eos_token_id):
            if isinstance(source, int):
                ids.add(source)
            elif source is not None:
                ids.update(int(value) for value in source)
        return ids

    def _default_pad_id(self) -> int:
        for candidate in (getattr(self.tokenizer, "pad_token_id", None), self.model.config.pad_token_id):
            if candidate is not None:
                return int(candidate)
        return self.stop_token_ids[0] if self.stop_token_ids else 0

    # ---- prompts -------------------------------------------------------------------------------
    def encode(self, prompts: Sequence[Any]) -> list[list[int]]:
        """Token ids of each prompt: text, chat messages, or ids (passed through)."""
        encoded = []
        for prompt in prompts:
            if isinstance(prompt, str):
                if self.chat_template:
                    encoded.append(self._encode_messages([{"role": "user", "content": prompt}]))
                else:
                    encoded.append(self._require_tokenizer()(prompt)["input_ids"])
            elif len(prompt) > 0 and isinstance(prompt[0], dict):
                encoded.append(self._encode_messages(prompt))
            else:
                encoded.append([int(token) for token in prompt])
            if not encoded[-1]:
                raise ValueError(f"prompt {len(encoded) - 1} encodes to no tokens: {prompt!r}")
        return encoded

    def _require_tokenizer(self) -> Any:
        if self.tokenizer is None:
            raise ValueError("this policy has no tokenizer: give prompts as lists of token ids")
        return self.tokenizer

    def _encode_messages(self, messages: Sequence[dict[str, str]]) -> list[int]:
        tokenizer = self._require_tokenizer()
        if self.chat_template is False or not getattr(tokenizer, "chat_template", None):
            raise ValueError(
                "got chat messages, but the tokenizer has no chat template (or chat_template=False): "
                "give the prompt as text"
            )
        text = tokenizer.apply_chat_template(list(messages), tokenize=False, add_generation_prompt=True)
        # the template writes any BOS itself
        return tokenizer(text, add_special_tokens=False)["input_ids"]

    def _left_pad(self, rows: Sequence[Sequence[int]]) -> tuple[Any, Any]:
        width = max(len(row) for row in rows)
        # one flat tensor and one scatter instead of a small tensor per row
        lengths = torch.tensor([len(row) for row in rows], dtype=torch.long)
        mask = (torch.arange(width) >= (width - lengths)[:, None]).long()
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        ids[mask.bool()] = torch.tensor([token for row in rows for token in row], dtype=torch.long)
        return ids.to(self.device), mask.to(self.device)

    # ---- sampling ------------------------------------------------------------------------------
    def sample(
        self,
        prompts: Sequence[Any],
        num_samples: int = 1,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> SampleBatch:
        """`num_samples` completions per prompt, rows grouped by prompt, with raw-model log-probs."""
        max_new_tokens = self.max_new_tokens if max_new_tokens is None else max_new_tokens
        temperature = self.temperature if temperature is None else temperature
        top_p = self.top_p if top_p is None else top_p
        if num_samples < 1 or max_new_tokens < 1:
            raise ValueError(f"num_samples and max_new_tokens must be >= 1, got {num_samples} and {max_new_tokens}")
        if not 0.0 < top_p <= 1.0:
            raise ValueError(f"top_p must be in (0, 1], got {top_p}")
        encoded = self.encode(prompts)
        rows = [ids for ids in encoded for _ in range(num_samples)]
        prompt_index = [index for index in range(len(encoded)) for _ in range(num_samples)]
        generator = torch.Generator(device=self.device)
        if seed is None:
            generator.seed()
        else:
            generator.manual_seed(int(seed))
        with torch.no_grad():
            tokens, logprobs, mask, finished = self._decode(rows, max_new_tokens, temperature, top_p, generator)
        texts = [""] * len(rows)
        if self.tokenizer is not None:
            kept = [row[: int(length)] for row, length in zip(tokens.tolist(), mask.sum(-1).tolist(), strict=True)]
            texts = self.tokenizer.batch_decode(kept, skip_special_tokens=True)
        return SampleBatch(
            prompt_ids=[list(row) for row in rows],
            prompt_index=prompt_index,
            completion_ids=tokens,
            completion_mask=mask,
            logprobs=logprobs,
            texts=texts,
            finished=finished.tolist(),
        )

    def _forward(self, input_ids: Any, attention_mask: Any, position_ids: Any, cache: Any, last_only: bool) -> Any:
        kwargs = {self._cache_argument: cache, "use_cache": True}
        if last_only and self._can_keep_last_logits:
            kwargs["logits_to_keep"] = 1
        output = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs)
        return output.logits[:, -1]

    def _decode(self, rows, max_new_tokens, temperature, top_p, generator):
        from transformers import DynamicCache

        # G samples of a prompt share its prefill: run each distinct prompt once, then copy its
        # cache rows (the prompt is most of the tokens in short-answer RL)
        unique, row_of = distinct_rows(rows)
        input_ids, attention_mask = self._left_pad(unique)
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        logits = self._forward(input_ids, attention_mask, positions, cache, last_only=True)
        index = torch.tensor(row_of, dtype=torch.long, device=self.device)
        logits, attention_mask, positions = logits[index], attention_mask[index], positions[index]
        if self._static is not None:
            advance = self._static.start(cache, index, attention_mask, positions[:, -1:] + 1, max_new_tokens)
        else:
            if len(unique) < len(rows):
                select_cache_rows(cache, index)
            advance = self._dynamic_steps(cache, attention_mask, positions[:, -1:] + 1)
        batch = len(rows)
        stop_ids = torch.tensor(self.stop_token_ids, dtype=torch.long, device=self.device)
        done = torch.zeros(batch, dtype=torch.bool, device=self.device)
        all_tokens, all_logprobs, all_masks = [], [], []
        for step in range(max_new_tokens):
            logits = logits.float()
            sampled = pick_tokens(logits, temperature, top_p, generator)
            logprob = token_statistics(logits, sampled, ("logprobs",))["logprobs"]
            active = ~done
            all_tokens.append(torch.where(active, sampled, self.pad_token_id))
            all_logprobs.append(torch.where(active, logprob, 0.0))
            all_masks.append(active)
            done = done | torch.isin(sampled, stop_ids)
            if step == max_new_tokens - 1 or (step % _STOP_CHECK_EVERY == _STOP_CHECK_EVERY - 1 and bool(done.all())):
                break
            logits = advance(all_tokens[-1])
        tokens, logprobs, mask = (torch.stack(parts, dim=1) for parts in (all_tokens, all_logprobs, all_masks))
        # steps taken after every row stopped (between checks) hold only padding: drop them
        length = int(mask.any(0).nonzero().max()) + 1
        return tokens[:, :length], logprobs[:, :length], mask[:, :length], done

    def _dynamic_steps(self, cache: Any, attention_mask: Any, next_position: Any) -> Any:
        """`advance(tokens [B]) -> logits [B, V]` over a growing `DynamicCache`: the mask gains a column a step."""

        def advance(tokens: Any) -> Any:
            nonlocal attention_mask, next_position
            attention_mask = torch.cat([attention_mask, attention_mask.new_ones(len(tokens), 1)], dim=-1)
            logits = self._forward(tokens[:, None], attention_mask, next_position, cache, last_only=True)
            next_position = next_position + 1
            return logits

        return advance

    def after_update(self) -> None:
        """The learner's weights changed: nothing to do, this policy samples from them directly."""

    # ---- scoring -------------------------------------------------------------------------------
    def score(
        self,
        prompt_ids: Sequence[Sequence[int]],
        completion_ids: Any,
        completion_mask: Any = None,
        need: Iterable[str] = ("logprobs",),
    ) -> dict[str, Any]:
        """Per-token float32 tensors [rows, T] for the completion tokens (0 where masked).

        One forward pass over left-padded prompt + right-padded completion, position ids from the
        attention mask as in `sample`. Runs under the caller's grad mode.
        """
        need = check_needs(need)
        completion_ids, completion_mask = self._as_padded(completion_ids, completion_mask)
        if len(prompt_ids) != completion_ids.shape[0]:
            raise ValueError(f"expected one prompt per completion row ({completion_ids.shape[0]}), got {len(prompt_ids)}")
        completion_ids = completion_ids.to(self.device)
        completion_mask = completion_mask.to(self.device)
        unique, row_of = distinct_rows(prompt_ids)
        hidden: list[Any] = []  # `hidden_state`: the output layer's inputs, caught in the same pass
        hook = None if "hidden_state" not in need else self.model.get_output_embeddings().register_forward_pre_hook(
            lambda module, args: hidden.append(args[0]))
        try:  # the shared-prompt path splits the pass in two, so hidden states take the plain one
            if len(unique) < len(prompt_ids) and hook is None:
                logits = self._completion_logits_shared(unique, row_of, completion_ids, completion_mask)
            else:
                logits = self._completion_logits(prompt_ids, completion_ids, completion_mask)
        finally:
            if hook is not None:
                hook.remove()
        length = completion_ids.shape[1]
        rows_per_chunk = max(1, _STATS_CHUNK_ELEMENTS // max(1, length * logits.shape[-1]))
        chunks = [
            token_statistics(logits[start : start + rows_per_chunk], completion_ids[start : start + rows_per_chunk], need)
            for start in range(0, logits.shape[0], rows_per_chunk)
        ]
        stats = {name: torch.cat([chunk[name] for chunk in chunks]) * completion_mask
                 for name in need if name != "hidden_state"}
        if hook is not None:  # aligned with the logits: the state that predicts each completion token
            stats["hidden_state"] = hidden[-1][:, -(length + 1) : -1].float() * completion_mask.unsqueeze(-1)
        return {name: stats[name] for name in need}

    def _completion_logits(self, prompt_ids: Sequence[Sequence[int]], completion_ids: Any, completion_mask: Any) -> Any:
        """Logits [rows, T, V] predicting each completion token: one pass over prompt + completion."""
        prompt_tensor, prompt_mask = self._left_pad(prompt_ids)
        length = completion_ids.shape[1]
        input_ids = torch.cat([prompt_tensor, completion_ids], dim=1)
        attention_mask = torch.cat([prompt_mask, completion_mask.long()], dim=1)
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)
        kwargs = {"use_cache": False}
        if self._can_keep_last_logits:
            kwargs["logits_to_keep"] = length + 1  # the logits that predict the completion tokens
        logits = self.model(input_ids=input_ids, attention_mask=attention_mask, position_ids=positions, **kwargs).logits
        return logits[:, -(length + 1) : -1]

    def _completion_logits_shared(self, unique: list[list[int]], row_of: list[int], completion_ids: Any,
                                  completion_mask: Any) -> Any:
        """The same logits with each distinct prompt run once: its keys and values (with their
        gradient paths) are copied to the rows that share it, and only completions run per row.
        With G samples per prompt this skips G - 1 of every G prompt passes, forward and backward."""
        from transformers import DynamicCache

        prompt_tensor, prompt_mask = self._left_pad(unique)
        positions = (prompt_mask.cumsum(-1) - 1).clamp(min=0)
        cache = DynamicCache()
        first = self._forward(prompt_tensor, prompt_mask, positions, cache, last_only=True)
        index = torch.tensor(row_of, dtype=torch.long, device=self.device)
        select_cache_rows(cache, index)
        first = first[index][:, None]  # the logits of each row's first completion token
        if completion_ids.shape[1] == 1:
            return first
        inputs = completion_ids[:, :-1]
        attention_mask = torch.cat([prompt_mask[index], completion_mask[:, :-1].long()], dim=1)
        positions = (attention_mask.cumsum(-1) - 1).clamp(min=0)[:, -inputs.shape[1] :]
        kwargs = {self._cache_argument: cache, "use_cache": True}
        rest = self.model(input_ids=inputs, attention_mask=attention_mask, position_ids=positions, **kwargs).logits
        return torch.cat([first.to(rest.dtype), rest], dim=1)

    def _as_padded(self, completion_ids: Any, completion_mask: Any) -> tuple[Any, Any]:
        if torch.is_tensor(completion_ids):
            if completion_mask is None:
                completion_mask = torch.ones_like(completion_ids, dtype=torch.bool)
            return completion_ids.long(), completion_mask.bool()
        rows = [list(row) for row in completion_ids]
        width = max(1, max((len(row) for row in rows), default=1))
        ids = torch.full((len(rows), width), self.pad_token_id, dtype=torch.long)
        mask = torch.zeros((len(rows), width), dtype=torch.bool)
        for index, row in enumerate(rows):
            ids[index, : len(row)] = torch.tensor(row, dtype=torch.long)
            mask[index, : len(row)] = True
        return ids, mask

    # ---- Agent ---------------------------------------------------------------------------------
    def act(self, observations: Sequence[Any], infos: Sequence[dict[str, Any]]) -> list[str]:
        """One completion per text observation (the env's chat messages when a template applies)."""
        use_messages = self.chat_template is True or (
            self.chat_template is None and getattr(self.tokenizer, "chat_template", None)
        )
        prompts = [
            info["messages"] if use_messages and isinstance(info, dict) and info.get("messages") else observation
            for observation, info in zip(observations, infos, strict=True)
        ]
        seed = None if self.seed is None else self.seed + self._act_calls
        self._act_calls += 1
        return self.sample(prompts, num_samples=1, seed=seed).texts
