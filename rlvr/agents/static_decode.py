"""The static-cache decode path of `TransformersPolicy` (`decode="static"`): fixed shapes, so the
one-token step can be compiled and, on CUDA, captured in CUDA graphs.

The eager (`decode="dynamic"`) path grows a `DynamicCache` and the attention mask by one column a
step, so every step has new shapes and each of the model's small kernels is launched from Python.
For a 0.5B model at batch 64 on an H100 that launch cost, not the GPU, sets the speed. Here:

1. the prompts are prefilled exactly as on the eager path (distinct prompts once, a `DynamicCache`),
   then their keys and values are copied, row by row for the G samples of each prompt, into a
   transformers `StaticCache` pre-sized to prompt width + max_new_tokens (rounded up to a multiple
   of `LENGTH_BUCKET`, so prompts of different widths in a training run reuse a few shapes);
2. the attention mask is built once at the cache's full width: the prompt's padding mask, then ones.
   Slots past the current step are hidden by the causal mask, because the cache tracks its write
   position on the device (`cumulative_length`, which plays the role of `cache_position`) and the
   mask's query offset is read from it;
3. each step feeds one token per row at explicit position ids; its inputs and outputs have the same
   shapes every step, so `torch.compile(mode="reduce-overhead")` on CUDA replays one CUDA graph
   per step. The cache tensors have static addresses and are kept between calls of the same shape,
   so a graph is recorded once per (batch, cache length) and replayed from then on; the weights
   are read in place, so optimiser steps between calls are seen without re-recording.

Sampling (the seeded exponential race, raw log-probs, stop handling) stays in the caller's loop,
identical for both paths, and outside the graphs: a graph cannot draw from the caller's seeded
`torch.Generator`. On CPU the step runs eagerly unless `compile=True` asks for a plain compile.

Only caches whose every layer is a plain full-attention `StaticLayer` are supported (Llama, Qwen2,
Mistral without a sliding window, ...): sliding-window and linear-attention layers keep a different
layout, and are refused with a message pointing to `decode="dynamic"`.
"""

from __future__ import annotations

from collections import OrderedDict
from collections.abc import Callable
from typing import Any

try:
    import torch
except ImportError:  # the `train` extra is not installed; the policy says so on construction
    torch = None

LENGTH_BUCKET = 64
"""Cache lengths are rounded up to a multiple of this: fewer shapes, fewer recompiles and graphs."""
KEPT_CACHES = 4
"""Static caches (one per batch size and cache length) kept for reuse; the oldest goes first."""


def cache_length(prompt_width: int, max_new_tokens: int, bucket: int = LENGTH_BUCKET) -> int:
    """Slots a cache needs for a prompt of `prompt_width` and `max_new_tokens`, rounded up to `bucket`.

    >>> cache_length(30, 16), cache_length(48, 16), cache_length(49, 16)
    (64, 64, 128)
    """
    return -(-(prompt_width + max_new_tokens) // bucket) * bucket


def _one_token(model: Any, cache_argument: str, input_ids: Any, attention_mask: Any, position_ids: Any,
               cache: Any) -> Any:
    """Logits [B, V] of the next token after one token per row: the function that gets compiled."""
    kwargs = {cache_argument: cache, "use_cache": True}
    return model(input_ids=input_ids, attention_mask=attention_mask, position_ids=position_ids, **kwargs).logits[:, -1]


class StaticDecoder:
    """Decode steps over a pre-sized `StaticCache`, compiled when `compile` says so.

    `compile`: None compiles with CUDA graphs (`mode="reduce-overhead"`) on CUDA and runs eagerly
    elsewhere; True compiles on any device (CUDA graphs on CUDA, inductor's default mode on CPU);
    False never compiles.
    """

    def __init__(self, model: Any, cache_argument: str, compile: bool | None = None) -> None:
        self.model = model
        self.cache_argument = cache_argument
        self.compile = compile
        self._caches: OrderedDict[tuple, Any] = OrderedDict()
        self._step_function: Callable | None = None
        self._graphs = False

    def _step(self, device: Any) -> Callable:
        if self._step_function is None:
            on_cuda = torch.device(device).type == "cuda"
            if self.compile is False or (self.compile is None and not on_cuda):
                self._step_function = _one_token
            else:
                self._graphs = on_cuda
                mode = "reduce-overhead" if on_cuda else "default"
                # symbolic batch and cache length from the start: one compile serves every shape (a
                # batch of one is specialised: a second), and CUDA graphs are recorded per shape.
                # Static shapes would compile per shape; torch's default generalises one dimension
                # at a time (measured: four compiles for five shapes)
                self._step_function = torch.compile(_one_token, mode=mode, dynamic=True)
        return self._step_function

    def _cache(self, batch: int, length: int, prefill_layers: list[Any]) -> Any:
        """A static cache of `batch` rows and `length` slots, reused when one of that shape exists."""
        from transformers import StaticCache
        from transformers.cache_utils import StaticLayer

        first = prefill_layers[0].keys
        key = (batch, length, first.dtype, str(first.device))
        if key in self._caches:
            self._caches.move_to_end(key)
            return self._caches[key]
        cache = StaticCache(config=self.model.config, max_cache_len=length)
        unsupported = sorted({type(layer).__name__ for layer in cache.layers if type(layer) is not StaticLayer})
        if unsupported or len(cache.layers) != len(prefill_layers):
            raise ValueError(
                f"decode='static' needs full-attention layers only (StaticLayer), this model's cache has "
                f"{unsupported or len(cache.layers)}: use decode='dynamic'"
            )
        for layer, prefilled in zip(cache.layers, prefill_layers, strict=True):
            # allocate [batch, kv_heads, length, head_dim] now, with the prefill's dtype and device
            shape = (batch, prefilled.keys.shape[1], 0)
            layer.lazy_initialization(prefilled.keys.new_empty((*shape, prefilled.keys.shape[-1])),
                                      prefilled.values.new_empty((*shape, prefilled.values.shape[-1])))
        self._caches[key] = cache
        while len(self._caches) > KEPT_CACHES:
            self._caches.popitem(last=False)
        return cache

    def start(self, prefill_cache: Any, row_index: Any, attention_mask: Any, next_position: Any,
              max_new_tokens: int) -> Callable[[Any], Any]:
        """Fill a static cache from the prefill and return `advance(tokens [B]) -> logits [B, V]`.

        `prefill_cache` holds the distinct prompts' keys and values (a `DynamicCache` after the
        prefill); row i of the batch takes those of distinct prompt `row_index[i]`. `attention_mask`
        [B, P] is the batch's left-padded prompt mask, `next_position` [B, 1] each row's first
        completion position. The logits a step returns are valid until the next step is called
        (a CUDA graph reuses its output memory).
        """
        layers = getattr(prefill_cache, "layers", None)
        if not layers or getattr(layers[0], "keys", None) is None:
            raise ValueError("decode='static' needs a prefill cache with per-layer keys and values (transformers >= 5)")
        batch, width = attention_mask.shape
        length = cache_length(width, max_new_tokens)
        cache = self._cache(batch, length, layers)
        for layer, prefilled in zip(cache.layers, layers, strict=True):
            # in place: the cache tensors keep the addresses the recorded graphs read
            layer.keys[:, :, :width] = prefilled.keys.index_select(0, row_index)
            layer.values[:, :, :width] = prefilled.values.index_select(0, row_index)
            # slots past the prompt are masked, but a stale non-finite value times a zero weight is NaN
            layer.keys[:, :, width:].zero_()
            layer.values[:, :, width:].zero_()
            layer.cumulative_length.fill_(width)
        full_mask = attention_mask.new_ones(batch, length)
        full_mask[:, :width] = attention_mask
        step_function = self._step(attention_mask.device)
        position = next_position.clone()

        def advance(tokens: Any) -> Any:
            nonlocal position
            if self._graphs:
                # a new step: the previous step's outputs may be overwritten (the caller has read them)
                torch.compiler.cudagraph_mark_step_begin()
            logits = step_function(self.model, self.cache_argument, tokens[:, None], full_mask, position, cache)
            position = position + 1
            return logits

        return advance
