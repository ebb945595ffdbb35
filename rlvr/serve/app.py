"""The ASGI app of `rlvr serve` (FastAPI, run by uvicorn) and a way to run it.

`build_app(config)` returns the app; `serve(...)` runs it in the foreground (the `rlvr serve`
command); `ServerThread` runs it on a loopback port in a background thread (tests, benchmarks,
notebooks). FastAPI and uvicorn are imported when called, so `rlvr.serve` imports without the
`serve` extra. The routes and messages are described in `rlvr.serve` and docs/serving.md.

Bodies are read by `_read_body`, never by the framework: a declared Content-Length over the limit
is refused before any byte is read, and a chunked body is cut off at the limit. Every error is
`{"error": {"code": ..., "message": ...}}` with a 4xx/5xx status (malformed JSON is a 400, never a
500); over WebSocket it is `{"type": "error", "data": {"code": ..., "message": ...}}`.
"""

# No `from __future__ import annotations`: FastAPI reads the routes' annotations (Request,
# WebSocket) at definition time, and those names are imported inside build_app.
import asyncio
import contextlib
import os
import socket
import sys
import threading
from collections.abc import AsyncIterator
from typing import Any

from rlvr.serve import wire
from rlvr.serve.sessions import ServeConfig, Session, Sessions
from rlvr.serve.wire import WireError

WS_TYPES = ("reset", "step", "state", "close")


def build_app(config: ServeConfig) -> Any:
    """The FastAPI app serving `config.ids` under `config`'s limits; `app.state.sessions` holds them."""
    from fastapi import FastAPI, Request, WebSocket
    from fastapi.responses import Response
    from starlette.websockets import WebSocketDisconnect

    sessions = Sessions(config)

    @contextlib.asynccontextmanager
    async def lifespan(app: Any) -> AsyncIterator[None]:
        sweeper = asyncio.create_task(sessions.sweeper())
        try:
            yield
        finally:
            sweeper.cancel()
            sessions.close_all()

    app = FastAPI(title="rlvr env server", lifespan=lifespan, docs_url=None, redoc_url=None, openapi_url=None)
    app.state.sessions = sessions

    def reply(body: Any, status: int = 200) -> Response:
        return Response(wire.dumps(body), status_code=status, media_type="application/json")

    @app.exception_handler(WireError)
    async def wire_error(request: Request, error: WireError) -> Response:
        return reply(error.body(), error.status)

    @app.exception_handler(Exception)
    async def unexpected(request: Request, error: Exception) -> Response:  # a bug: say so, keep serving
        return reply({"error": {"code": "INTERNAL_ERROR", "message": f"{type(error).__name__}: {error}"[:500]}}, 500)

    async def read_json(request: Request, empty: Any = None) -> Any:
        body = await _read_body(request, config.max_body)
        return empty if not body.strip() else wire.parse_json(body, config.max_body)

    @app.get("/health")
    async def health() -> Response:
        return reply(sessions.health())

    @app.get("/envs")
    async def envs() -> Response:
        return reply({"ids": list(config.ids)})

    @app.post("/sessions")
    async def open_session(request: Request) -> Response:
        body = wire.expect_object(await read_json(request), "the session request")
        wire.expect_keys(body, ("env_id", "kwargs"), "the session request")
        session = await sessions.open(body.get("env_id"), body.get("kwargs"), "http")
        return reply(sessions.state(session), 201)

    @app.post("/sessions/{sid}/reset")
    async def reset(sid: str, request: Request) -> Response:
        session = sessions.get(sid)
        return reply(await sessions.reset(session, await read_json(request, {})))

    @app.post("/sessions/{sid}/step")
    async def step(sid: str, request: Request) -> Response:
        session = sessions.get(sid)
        body = wire.expect_object(await read_json(request), "the step request")
        wire.expect_keys(body, ("action", "timeout_s", "request_id"), "the step request")
        return reply(await sessions.step(session, body.get("action")))

    @app.get("/sessions/{sid}/state")
    async def state(sid: str) -> Response:
        return reply(sessions.state(sessions.get(sid)))

    @app.delete("/sessions/{sid}")
    async def close(sid: str) -> Response:
        sessions.get(sid)  # 404 / 410 for an unknown or closed one
        return reply({"closed": sessions.close(sid)})

    async def websocket_session(socket: WebSocket, env_id: str | None) -> None:
        await socket.accept()
        session: Session | None = None
        try:
            if env_id is None:
                if len(config.ids) != 1:
                    raise WireError(f"this server serves {len(config.ids)} ids: connect to /envs/ID/ws, "
                                    f"e.g. /envs/{config.ids[0]}/ws", "UNKNOWN_ENV", 404)
                env_id = config.ids[0]
            kwargs = socket.query_params.get("kwargs")
            session = await sessions.open(env_id, wire.parse_json(kwargs, 4096, "kwargs") if kwargs else None, "ws")
            receiving = None
            while True:
                # wait for the next message without cancelling the receive (that could drop one)
                receiving = receiving or asyncio.ensure_future(socket.receive())
                done, _ = await asyncio.wait({receiving}, timeout=config.session_ttl)
                if not done:
                    sessions.sweep()  # closes this one if it is still idle
                    if session.closed:
                        receiving.cancel()
                        raise WireError(f"session {session.id} is closed: {session.closed}", "SESSION_CLOSED", 410)
                    continue
                message, receiving = receiving.result(), None
                if message["type"] == "websocket.disconnect":
                    return
                text = message.get("text")
                if text is None:
                    text = (message.get("bytes") or b"").decode("utf-8", "replace")
                try:
                    answer = await _ws_message(sessions, session, wire.parse_json(text, config.max_body, "message"))
                except WireError as error:
                    if error.code in ("STEP_TIMEOUT", "SESSION_CLOSED"):
                        raise
                    answer = {"type": "error", "data": error.body()["error"]}
                if answer is None:  # {"type": "close"}
                    return
                await socket.send_text(wire.dumps(answer))
        except WireError as error:  # the session cannot go on: say why, then close
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await socket.send_text(wire.dumps({"type": "error", "data": error.body()["error"]}))
        except WebSocketDisconnect:
            pass
        finally:
            if session is not None:
                sessions.close(session.id, "its WebSocket closed")
            with contextlib.suppress(RuntimeError, WebSocketDisconnect, OSError):
                await socket.close()

    @app.websocket("/ws")
    async def ws_only_id(socket: WebSocket) -> None:
        await websocket_session(socket, None)

    @app.websocket("/envs/{env_id:path}/ws")
    async def ws_of_id(socket: WebSocket, env_id: str) -> None:
        await websocket_session(socket, env_id)

    return app


async def _ws_message(sessions: Sessions, session: Session, message: Any) -> dict[str, Any] | None:
    message = wire.expect_object(message, "the message")
    kind = message.get("type")
    if kind not in WS_TYPES:
        raise WireError(f"unknown message type {kind!r:.40}; expected one of {list(WS_TYPES)}", "UNKNOWN_TYPE")
    wire.expect_keys(message, ("type", "data"), f"a {kind} message")
    data = message.get("data")
    if kind == "reset":
        return {"type": "observation", "data": await sessions.reset(session, data)}
    if kind == "step":
        return {"type": "observation", "data": await sessions.step(session, data)}
    if kind == "state":
        return {"type": "state", "data": sessions.state(session)}
    return None


async def _read_body(request: Any, limit: int) -> bytes:
    """The request body, refused (413) once it is known to exceed `limit` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None:
        if not declared.isdigit():
            raise WireError(f"expected a numeric Content-Length, got {declared[:40]!r}", "INVALID_REQUEST")
        if int(declared) > limit:
            raise WireError(f"expected a request body of at most {limit} bytes, got {int(declared)}", "TOO_LARGE", 413)
    chunks, size = [], 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise WireError(f"expected a request body of at most {limit} bytes, got more", "TOO_LARGE", 413)
        chunks.append(chunk)
    return b"".join(chunks)


def _uvicorn_server(app: Any, max_body: int, log_level: str) -> Any:
    import uvicorn

    # ws_max_size makes uvicorn refuse a bigger WebSocket message before handing it over
    return uvicorn.Server(uvicorn.Config(app, log_level=log_level, ws_max_size=max_body, timeout_graceful_shutdown=5,
                                         lifespan="on"))


def _bind(host: str, port: int) -> socket.socket:
    """The listening socket, bound here so a taken port is an OSError naming it (uvicorn would exit)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    try:
        return socket.create_server((host, port), family=family)
    except OSError as error:
        reason = os.strerror(error.errno) if error.errno else str(error)
        raise OSError(f"cannot listen on {host}:{port}: {reason}") from None


def serve(config: ServeConfig, host: str = "127.0.0.1", port: int = 8000, log_level: str = "info") -> None:
    """Serve in the foreground until interrupted."""
    server = _uvicorn_server(build_app(config), config.max_body, log_level)
    listening = _bind(host, port)
    count = len(config.ids)
    print(f"rlvr serve: {count} env id{'s' * (count != 1)} on http://{host}:{port} (GET /envs lists them; "
          "WebSocket sessions at /envs/ID/ws)", file=sys.stderr)
    server.run(sockets=[listening])


class ServerThread:
    """The server on a loopback port (0: any free one) in a daemon thread, with its `url`:
    `with ServerThread(ServeConfig.of(["rlvr/Countdown-v0"])) as server: RemoteEnv(server.url, ...)`."""

    def __init__(self, config: ServeConfig, host: str = "127.0.0.1", port: int = 0, log_level: str = "warning"):
        self.app = build_app(config)
        self.server = _uvicorn_server(self.app, config.max_body, log_level)
        self._socket = _bind(host, port)
        self._thread = threading.Thread(target=self.server.run, kwargs={"sockets": [self._socket]},
                                        name="rlvr-serve", daemon=True)
        bound = self._socket.getsockname()  # (host, port), with two more fields for IPv6
        self.url = f"http://{bound[0] if len(bound) == 2 else f'[{bound[0]}]'}:{bound[1]}"

    @property
    def sessions(self) -> Sessions:
        return self.app.state.sessions

    def start(self, timeout: float = 30.0) -> "ServerThread":
        self._thread.start()
        started = threading.Event()
        for _ in range(int(timeout / 0.01)):
            if self.server.started:
                started.set()
                break
            if not self._thread.is_alive():
                break
            started.wait(0.01)
        if not started.is_set():
            raise RuntimeError(f"the server did not start within {timeout} s")
        return self

    def stop(self, timeout: float = 10.0) -> None:
        self.server.should_exit = True
        if self._thread.is_alive():
            self._thread.join(timeout)
        self._socket.close()

    def __enter__(self) -> "ServerThread":
        return self.start()

    def __exit__(self, *exc: Any) -> None:
        self.stop()
