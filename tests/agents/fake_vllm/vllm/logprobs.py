"""Fake `vllm.logprobs`: one entry of a position's {token id: Logprob} map."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Logprob:
    logprob: float
    rank: int | None = None
    decoded_token: str | None = None
