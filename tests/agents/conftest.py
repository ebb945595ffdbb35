"""Fixtures for the model-policy tests: the tiny model built in code, shared per module (seconds)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="module")
def tiny():
    """(model, tokenizer) of the tiny Llama-style model with fixed random weights."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from rlvr.agents.tiny import build_tiny_model

    return build_tiny_model(seed=0)


@pytest.fixture(scope="module")
def policy(tiny):
    """A float32 CPU policy over the tiny model."""
    from rlvr.agents.hf import TransformersPolicy

    model, tokenizer = tiny
    return TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=12)


@pytest.fixture
def no_proxy_no_key(monkeypatch):
    """Requests to 127.0.0.1 must not go through a proxy, and no key may leak in from the shell."""
    for name in ("http_proxy", "HTTP_PROXY", "https_proxy", "HTTPS_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)
    for name in ("RLVR_OPENAI_API_KEY", "OPENAI_API_KEY"):
        monkeypatch.delenv(name, raising=False)
