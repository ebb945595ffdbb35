"""rlvr envs over HTTP and WebSocket (`rlvr serve`), and `RemoteEnv`, the Gymnasium client.

Install the `serve` extra (FastAPI, uvicorn, websockets, httpx). docs/serving.md has the full
description; this is the wire format in brief. Every body is JSON; every error is
`{"error": {"code": C, "message": M}}` (HTTP) or `{"type": "error", "data": {"code": C, "message": M}}`
(WebSocket).

HTTP:
    GET    /health                    {"status": "healthy", "sessions": n, "max_sessions": m, ...}
    GET    /envs                      {"ids": [...]}
    POST   /sessions                  {"env_id": ID, "kwargs": {...}} -> 201 state (below)
    POST   /sessions/{sid}/reset      {"seed": s, "options": {"difficulty": {...}, "index": i}} -> result
    POST   /sessions/{sid}/step       {"action": ACTION} -> result
    GET    /sessions/{sid}/state      -> state
    DELETE /sessions/{sid}            -> {"closed": true}

WebSocket, one session per connection (OpenEnv's messages): connect to `/envs/{ID}/ws`
(`?kwargs=<JSON object>` for constructor keywords) or `/ws` on a one-id server, then send
    {"type": "reset", "data": {"seed": s, "options": {...}}}   -> {"type": "observation", "data": result}
    {"type": "step", "data": ACTION}                            -> {"type": "observation", "data": result}
    {"type": "state"}                                           -> {"type": "state", "data": state}
    {"type": "close"}                                           (the server closes the connection)

A result is `{"observation": OBS, "reward": r | null, "done": b, "terminated": b, "truncated": b,
"info": {...}}`. OBS and ACTION are JSON objects: `{"text": "..."}` in a text space, the object of
a Dict space's keys, else `{"value": v}` (see `rlvr.serve.wire`). A state is `{"session_id",
"env_id", "kwargs", "episode_id", "step_count", "done", "max_episode_steps", "observation_space",
"action_space"}` with the spaces described as JSON.
"""

from __future__ import annotations

from typing import Any

__all__ = ["RemoteEnv", "RemoteEnvError", "RemoteRequestError", "ServeConfig", "ServerThread", "build_app", "serve"]

_HOMES = {"RemoteEnv": "client", "RemoteEnvError": "client", "RemoteRequestError": "client",
          "ServeConfig": "sessions", "ServerThread": "app", "build_app": "app", "serve": "app"}


def __getattr__(name: str) -> Any:
    # lazy, so `import rlvr.serve` needs none of the extra's packages until one is used
    if name not in _HOMES:
        raise AttributeError(f"module 'rlvr.serve' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(f"rlvr.serve.{_HOMES[name]}"), name)
