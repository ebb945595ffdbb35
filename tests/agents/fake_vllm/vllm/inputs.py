"""Fake `vllm.inputs`: `TokensPrompt` is a TypedDict, as in vLLM."""

from __future__ import annotations

from typing import TypedDict


class TokensPrompt(TypedDict):
    """A prompt given as token ids."""

    prompt_token_ids: list[int]
