"""A vLLM-shaped generation server over a local tiny model, on 127.0.0.1 in a background thread.

It answers what `ServerPolicy` asks of vLLM's server:

- `POST /v1/completions` with a token-id prompt: the model samples (`TransformersPolicy.sample`)
  and the answer carries `token_ids`, `prompt_token_ids`, `logprobs.tokens` as 'token_id:<id>'
  strings, `logprobs.token_logprobs`, `finish_reason` and `usage`, as vLLM's does;
- `POST /collective_rpc {"method": "reload_weights"}`: loads the safetensors in `served_dir` into
  the model (vLLM's development route), `POST /reset_prefix_cache`: 200;
- `POST /update_weights_from_disk {"model_path": ...}`: SGLang's reload of that folder.

Tests make it hostile: `tamper(payload)` rewrites each completions answer before it is sent,
`delay_s` holds every completions answer, `reload_status` answers the reload routes with that
status. Every request is recorded (path, lower-cased headers, JSON body), every answer sent too.
"""

from __future__ import annotations

import contextlib
import json
import threading
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import torch


@pytest.fixture(autouse=True)
def one_thread(no_proxy_no_key):
    """Imported into a test module, applies to each of its tests: tiny tensors gain nothing from more threads (idle
    OpenMP workers spin on a busy machine), and loopback requests must bypass any proxy."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


SHAPE = (32, 1, 2, 64)
"""A smaller tiny model than the default: hidden size, layers, heads, MLP width."""


def tiny_policy(seed: int) -> Any:
    """A float32 CPU `TransformersPolicy` over a small tiny model with random weights from `seed`."""
    from rlvr.agents.hf import TransformersPolicy
    from rlvr.agents.tiny import TinyModelConfig, build_tiny_model

    model, tokenizer = build_tiny_model(seed=seed, shape=TinyModelConfig(*SHAPE))
    return TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=6)


class FakeTokenServer:
    """`with FakeTokenServer(policy, served_dir) as server:`; `server.url` is its '/v1' base URL."""

    def __init__(self, policy: Any, served_dir: str | Path | None = None,
                 tamper: Callable[[dict[str, Any]], Any] | None = None, delay_s: float = 0.0,
                 reload_status: int | None = None) -> None:
        self.policy, self.served_dir = policy, Path(served_dir) if served_dir is not None else None
        self.tamper, self.delay_s, self.reload_status = tamper, delay_s, reload_status
        self.requests: list[tuple[str, dict[str, str], Any]] = []
        self.answers: list[dict[str, Any]] = []
        self.reloads = 0
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True  # a held answer must not hold up shutdown
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def __enter__(self) -> FakeTokenServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closing.set()  # a held answer ends now instead of sampling at interpreter exit
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def complete(self, body: dict[str, Any]) -> dict[str, Any]:
        """vLLM's answer to one completions request (before any tampering)."""
        prompt, n = body["prompt"], int(body.get("n", 1))
        with self.lock:
            batch = self.policy.sample([prompt], num_samples=n, max_new_tokens=int(body["max_tokens"]),
                                       temperature=float(body.get("temperature", 1.0)),
                                       top_p=float(body.get("top_p", 1.0)), seed=body.get("seed"))
        choices = []
        for i, (ids, row) in enumerate(zip(batch.completion_lists(), batch.logprobs.tolist(), strict=True)):
            choices.append({
                "index": i, "text": batch.texts[i], "token_ids": ids, "prompt_token_ids": list(prompt),
                "logprobs": {"tokens": [f"token_id:{token}" for token in ids], "token_logprobs": row[: len(ids)],
                             "top_logprobs": [{f"token_id:{token}": value} for token, value in zip(ids, row[: len(ids)], strict=True)],
                             "text_offset": list(range(len(ids)))},
                "finish_reason": "stop" if batch.finished[i] else "length",
            })
        usage = {"prompt_tokens": len(prompt), "completion_tokens": sum(len(c["token_ids"]) for c in choices)}
        # reversed on purpose: clients must order choices by their index
        return {"id": "cmpl-fake", "object": "text_completion", "model": body.get("model"),
                "choices": choices[::-1], "usage": usage}

    def reload(self, folder: Path) -> None:
        """Load the safetensors in `folder` into the model, as vLLM's reload_weights does."""
        from safetensors.torch import load_file

        state: dict[str, torch.Tensor] = {}
        for path in sorted(folder.glob("*.safetensors")):
            state.update(load_file(path))
        with self.lock, torch.no_grad():
            missing, unexpected = self.policy.model.load_state_dict(state, strict=False)
            if unexpected or set(missing) - {"lm_head.weight"}:  # the tied head is saved once
                raise ValueError(f"weights do not fit the model: missing {missing}, unexpected {unexpected}")
            self.reloads += 1


def _handler_for(fake: FakeTokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            body = json.loads(raw) if raw else None
            with fake.lock:
                fake.requests.append((self.path, {k.lower(): v for k, v in self.headers.items()}, body))
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):  # the client gave up (a timeout test)
                self._answer(body)

        def _answer(self, body: Any) -> None:
            path = self.path.split("?")[0]
            if path == "/v1/completions":
                if fake.closing.wait(fake.delay_s):
                    return None
                payload = fake.complete(body)
                fake.answers.append(json.loads(json.dumps(payload)))
                if fake.tamper is not None:
                    payload = fake.tamper(payload)
                return self._send(200, payload)
            if path in ("/collective_rpc", "/update_weights_from_disk", "/reset_prefix_cache"):
                if fake.reload_status is not None:
                    return self._send(fake.reload_status, {"detail": f"fake answers {fake.reload_status}"})
                if path == "/collective_rpc":
                    if body != {"method": "reload_weights"}:
                        return self._send(400, {"detail": f"unknown rpc {body}"})
                    fake.reload(fake.served_dir)
                    return self._send(200, {"results": [None]})
                if path == "/update_weights_from_disk":
                    fake.reload(Path(body["model_path"]))
                    return self._send(200, {"success": True, "message": "Succeeded to update model weights."})
                return self._send(200, {})
            return self._send(404, {"detail": "Not Found"})

        def _send(self, status: int, payload: Any) -> None:
            data = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

    return Handler
