"""A local stand-in for an OpenAI-compatible server, for testing HTTP agents without a model.

It serves POST /v1/chat/completions and /v1/completions on 127.0.0.1 (a free port) from a
background thread. Its "model" is a plain function of the prompt text: by default it finds an
arithmetic expression line in the prompt and answers its exact value in \\boxed{} (parsed with a
small parser of its own, never `eval`). Tests queue failure modes for the next requests
(`fail_next("500", "429", ...)`) and read back every request it received (`requests`).
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_EXPRESSION_LINE = re.compile(r"[0-9+\-*/^(). ]*[0-9][0-9+\-*/^(). ]*")
_TOKEN = re.compile(r"\s*(\d+|[-+*/^()])")
FAILURE_MODES = ("500", "429", "400", "hang", "malformed", "no_choices", "no_content", "oversize", "oversize_undeclared")


def exact_value(expression: str) -> Fraction:
    """The exact value of integer arithmetic with + - * / ^ and parentheses (^ binds tightest).

    A small recursive-descent parser: `ast` is avoided because CPython 3.11 can corrupt its
    shared parser state when several server threads parse at once.
    """
    tokens = _TOKEN.findall(expression)
    if "".join(tokens) != re.sub(r"\s+", "", expression):
        raise ValueError(f"not plain arithmetic: {expression!r}")
    position = 0

    def take(expected: str | None = None) -> str:
        nonlocal position
        if position >= len(tokens) or (expected is not None and tokens[position] != expected):
            raise ValueError(f"malformed arithmetic: {expression!r}")
        position += 1
        return tokens[position - 1]

    def peek() -> str | None:
        return tokens[position] if position < len(tokens) else None

    def sum_() -> Fraction:
        value = product()
        while peek() in ("+", "-"):
            value = value + product() if take() == "+" else value - product()
        return value

    def product() -> Fraction:
        value = factor()
        while peek() in ("*", "/"):
            value = value * factor() if take() == "*" else value / factor()
        return value

    def factor() -> Fraction:
        if peek() == "-":
            take()
            return -factor()
        if peek() == "(":
            take()
            base = sum_()
            take(")")
        else:
            base = Fraction(int(take()))
        if peek() == "^":
            take()
            return base ** factor()
        return base

    value = sum_()
    if position != len(tokens):
        raise ValueError(f"trailing tokens in {expression!r}")
    return value


def solve_arithmetic(prompt: str, error: int = 0) -> str:
    """Answer the first arithmetic line of the prompt (off by `error`), or say it found none."""
    for line in prompt.splitlines():
        if _EXPRESSION_LINE.fullmatch(line.strip()) and re.search(r"[-+*/^]", line):
            return f"The value is \\boxed{{{exact_value(line.strip()) + error}}}."
    return "I found no expression."


def answer_wrong(prompt: str) -> str:
    return solve_arithmetic(prompt, error=1)


@dataclass
class RecordedRequest:
    path: str
    headers: dict[str, str]
    body: Any


class StubOpenAIServer:
    """Start with `with StubOpenAIServer() as server:`; `server.url` is the base URL ('.../v1').

    answer: prompt text -> response text. delay: prompt text -> seconds to wait before answering.
    max_n: how many choices one request may get (None honours `n`; 1 is a server ignoring `n`).
    retry_after: the Retry-After header sent with a 429. hang_s: how long a "hang" request waits.
    """

    def __init__(
        self,
        answer: Callable[[str], str] = solve_arithmetic,
        delay: Callable[[str], float] | None = None,
        max_n: int | None = None,
        retry_after: str | None = None,
        hang_s: float = 1.0,
        oversize_bytes: int = 100_000,
    ) -> None:
        self.answer, self.delay, self.max_n = answer, delay, max_n
        self.retry_after, self.hang_s, self.oversize_bytes = retry_after, hang_s, oversize_bytes
        self.requests: list[RecordedRequest] = []
        self.failures: deque[str] = deque()
        self.in_flight = self.max_in_flight = 0
        self.lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        # Daemon handler threads: a "hang" request must not hold up shutdown.
        self._server.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval, once per test.
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def url(self) -> str:
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}/v1"

    def fail_next(self, *modes: str) -> None:
        """Answer the next requests with these failures, one each, in order."""
        unknown = [m for m in modes if m not in FAILURE_MODES]
        if unknown:
            raise ValueError(f"unknown failure modes {unknown}; expected some of {FAILURE_MODES}")
        with self.lock:
            self.failures.extend(modes)

    def __enter__(self) -> StubOpenAIServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def respond(self, path: str, body: dict[str, Any]) -> dict[str, Any]:
        """The success payload for one request, shaped like the OpenAI API's."""
        chat = path.endswith("/chat/completions")
        if chat:
            users = [m["content"] for m in body["messages"] if m.get("role") == "user"]
            text = users[-1] if users else ""
        else:
            text = body["prompt"]
        if self.delay is not None:
            time.sleep(self.delay(text))
        reply = self.answer(text)
        count = int(body.get("n", 1))
        if self.max_n is not None:
            count = min(count, self.max_n)
        choices = [
            {"index": i, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}
            if chat
            else {"index": i, "text": reply, "finish_reason": "stop"}
            for i in range(count)
        ]
        usage = {"prompt_tokens": len(text.split()), "completion_tokens": count * len(reply.split())}
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
        kind = "chat.completion" if chat else "text_completion"
        # Reversed on purpose: clients must order choices by their index, not by position.
        return {"id": "stub-1", "object": kind, "model": body.get("model"), "choices": choices[::-1], "usage": usage}


def _handler_for(stub: StubOpenAIServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def do_POST(self) -> None:
            raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
            try:
                body = json.loads(raw)
            except json.JSONDecodeError:
                body = raw
            with stub.lock:
                stub.requests.append(RecordedRequest(self.path, {k.lower(): v for k, v in self.headers.items()}, body))
                mode = stub.failures.popleft() if stub.failures else None
                stub.in_flight += 1
                stub.max_in_flight = max(stub.max_in_flight, stub.in_flight)
            try:
                self._answer(mode, body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up (a timeout test); nothing to answer
            finally:
                with stub.lock:
                    stub.in_flight -= 1

        def _answer(self, mode: str | None, body: Any) -> None:
            if self.path not in ("/v1/chat/completions", "/v1/completions"):
                return self._send(404, {"error": {"message": f"no route {self.path}"}})
            if mode == "hang":
                time.sleep(stub.hang_s)
            if mode == "500":
                return self._send(500, {"error": {"message": "stub overloaded"}})
            if mode == "429":
                headers = {"Retry-After": stub.retry_after} if stub.retry_after else {}
                return self._send(429, {"error": {"message": "stub rate limit"}}, headers)
            if mode == "400":
                return self._send(400, {"error": {"message": "stub rejects max_tokens", "type": "invalid_request_error"}})
            if mode == "malformed":
                return self._send_raw(200, b'{"choices": [ not json')
            if mode == "no_choices":
                return self._send(200, {"id": "stub-1", "object": "chat.completion"})
            if mode == "no_content":
                return self._send(200, {"choices": [{"index": 0, "message": {"role": "assistant"}}]})
            if mode == "oversize":
                return self._send_raw(200, b"x" * stub.oversize_bytes)
            if mode == "oversize_undeclared":
                return self._send_raw(200, b"x" * stub.oversize_bytes, declare_length=False)
            return self._send(200, stub.respond(self.path, body))

        def _send(self, status: int, payload: Any, headers: dict[str, str] | None = None) -> None:
            self._send_raw(status, json.dumps(payload).encode(), headers=headers)

        def _send_raw(
            self, status: int, data: bytes, headers: dict[str, str] | None = None, declare_length: bool = True
        ) -> None:
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            if declare_length:
                self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

    return Handler
