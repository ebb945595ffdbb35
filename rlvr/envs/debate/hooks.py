"""Training hooks for debate: one debater's turns, and which characters of a transcript it wrote.

`DebateParallelEnv` records every message a debater sends as a `Turn`: the chat messages it was
prompted with, the text it answered, and the reward it earned at that step. From those:

- `agent_turns(env, agent)`: that debater's turns in order, each with `reward` (the step's own
  reward, 0 before the last round) and `return_` (the reward from that turn to the end of the
  episode), which is what a policy-gradient trainer credits each generation with.
- `transcript_spans(env)`: one text holding the question and every message, and for each debater
  the character spans `(start, end)` of `text` it produced, so that after tokenisation a token
  mask follows from the tokenizer's offsets. Everything outside the spans is written by the env.

A structured (dict) action is rendered as `answer: ...\\nconfidence: ...\\nrationale: ...`;
anything that is neither a string nor a dict as its `repr`, cut to `MAX_MESSAGE_CHARS`. Under
init='diverse' every round-0 sample is its own turn (with its `sample` index).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.core.task_env import action_repr
from rlvr.envs.debate.protocol import MAX_MESSAGE_CHARS


@dataclass
class Turn:
    """One message a debater sent, with the prompt it answered and what it earned."""

    agent: str
    round: int
    messages: list[dict[str, str]]
    """The chat messages the debater was prompted with (its `info["messages"]` before acting)."""
    response: str
    """The text it sent (a dict action rendered, see the module doc)."""
    reward: float = 0.0
    return_: float = 0.0
    sample: int | None = None
    """Index within a round-0 list of samples (init='diverse'); None for a single message."""


def response_text(action: Any) -> str:
    """The text of an action as a debater wrote it.

    >>> response_text({"answer": "7", "confidence": 0.8})
    'answer: 7\\nconfidence: 0.8'
    """
    if isinstance(action, str):
        return action[:MAX_MESSAGE_CHARS]
    if isinstance(action, Mapping):
        lines = [f"{key}: {_text(action[key])}" for key in ("answer", "confidence", "rationale") if key in action]
        return "\n".join(lines)[:MAX_MESSAGE_CHARS]
    return action_repr(action, MAX_MESSAGE_CHARS)


def _text(value: Any) -> str:
    """A field as written: strings as they are, anything else as a bounded repr (never raises)."""
    return value[:MAX_MESSAGE_CHARS] if isinstance(value, str) else action_repr(value, MAX_MESSAGE_CHARS)


def agent_turns(env: Any, agent: str) -> list[Turn]:
    """Every turn `agent` took in the current episode, in order (see the module doc)."""
    raw = getattr(env, "unwrapped", env)
    if agent not in raw.possible_agents:
        raise KeyError(f"unknown agent {agent!r}; expected one of {raw.possible_agents}")
    return [turn for turn in raw.turns if turn.agent == agent]


def transcript_spans(env: Any) -> tuple[str, dict[str, list[tuple[int, int]]]]:
    """(text, spans): the episode as one text and, per debater, the spans it wrote."""
    raw = getattr(env, "unwrapped", env)
    parts: list[str] = []
    length = 0
    spans: dict[str, list[tuple[int, int]]] = {agent: [] for agent in raw.possible_agents}

    def add(piece: str) -> None:
        nonlocal length
        parts.append(piece)
        length += len(piece)

    add(f"[question]\n{raw.problem.prompt if raw.problem is not None else ''}\n")
    current_round = None
    for turn in raw.turns:
        if turn.round != current_round:
            current_round = turn.round
            add(f"\n--- round {turn.round + 1}\n")
        label = turn.agent if turn.sample is None else f"{turn.agent} (sample {turn.sample})"
        add(f"[{label}]\n")
        spans[turn.agent].append((length, length + len(turn.response)))
        add(turn.response)
        add("\n")
    return "".join(parts), spans
