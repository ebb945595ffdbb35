"""`RemoteEnv`: a Gymnasium env whose steps run on an `rlvr serve` server, over WebSocket or HTTP.

    env = RemoteEnv("http://127.0.0.1:8000", "rlvr/Countdown-v0", number_max=50)
    observation, info = env.reset(seed=0)
    observation, reward, terminated, truncated, info = env.step("(3 + 5) * 2")

Its spaces are rebuilt from the server's description of the remote env's spaces, so
`check_env`, Stable-Baselines3 or any Gymnasium code treats it like the local env. Keyword
arguments are the remote env's constructor keywords (difficulty knobs, `split`, task options).

What a hostile or broken server can do to it is bounded:
- every call has a deadline (`timeout` seconds: connect, send, and the whole answer);
- an answer is read up to `max_response_bytes` (a larger declared or actual size is refused,
  compressed bodies are refused, no redirect is followed) and parsed as bounded JSON;
- spaces are rebuilt under the client's own size limits, and observations must fit them.
Any of these failures, or a server that cannot be reached, raises `RemoteEnvError` (a
`ConnectionError`) naming the URL; an error the server reports about the request (an unknown
keyword, a bad action) raises `RemoteRequestError`, also a `ValueError`, with the server's code.
"""

from __future__ import annotations

import contextlib
import math
import time
import urllib.parse
from typing import Any

import gymnasium as gym

from rlvr.serve import wire
from rlvr.serve.wire import WireError


class RemoteEnvError(ConnectionError):
    """The server could not be reached, timed out, broke the protocol or ended the session."""

    def __init__(self, message: str, url: str, code: str = "CONNECTION", status: int | None = None) -> None:
        super().__init__(f"{message} ({url})")
        self.url, self.code, self.status = url, code, status


class RemoteRequestError(RemoteEnvError, ValueError):
    """The server refused what was asked (bad keywords, action or options; unknown id)."""


_SESSION_OVER = ("STEP_TIMEOUT", "SESSION_CLOSED", "UNKNOWN_SESSION", "CAPACITY_REACHED", "INTERNAL_ERROR")


def _raise_reported(error: Any, url: str, status: int | None) -> None:
    error = error if isinstance(error, dict) else {}
    code, message = str(error.get("code", "UNKNOWN"))[:40], str(error.get("message", "no message"))[:2000]
    kind = RemoteEnvError if code in _SESSION_OVER or (status or 400) >= 500 else RemoteRequestError
    raise kind(f"server error {code}: {message}", url, code, status)


def _extra(module: str) -> Any:
    """Import a package of the `serve` extra, or say how to install it."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(f'RemoteEnv needs {module}, which is not installed: pip install "rlvr[serve]"',
                          name=module) from error


class _Http:
    def __init__(self, url: str, timeout: float, max_bytes: int) -> None:
        httpx = _extra("httpx")

        self.url, self.timeout, self.max_bytes, self._httpx = url, timeout, max_bytes, httpx
        # trust_env=False: no proxy or netrc from the environment; identity: no compressed bodies
        self.client = httpx.Client(base_url=url, timeout=timeout, follow_redirects=False, trust_env=False,
                                   headers={"accept-encoding": "identity"})

    def call(self, method: str, path: str, body: Any = None) -> dict[str, Any]:
        url, deadline = self.url + path, time.monotonic() + self.timeout
        content = None if body is None else wire.dumps(body).encode()
        try:
            with self.client.stream(method, path, content=content,
                                    headers={"content-type": "application/json"}) as response:
                declared = response.headers.get("content-length", "")
                if declared.isdigit() and int(declared) > self.max_bytes:
                    raise RemoteEnvError(f"answer of {declared} bytes exceeds the {self.max_bytes}-byte limit", url)
                if response.headers.get("content-encoding", "identity") != "identity":
                    raise RemoteEnvError("answer is compressed; expected identity encoding", url)
                data = bytearray()
                for chunk in response.iter_raw():
                    data += chunk
                    if len(data) > self.max_bytes:
                        raise RemoteEnvError(f"answer exceeds the {self.max_bytes}-byte limit", url)
                    if time.monotonic() > deadline:
                        raise RemoteEnvError(f"answer took over {self.timeout} s", url, "TIMEOUT")
                status = response.status_code
        except self._httpx.TimeoutException:
            raise RemoteEnvError(f"no answer within {self.timeout} s", url, "TIMEOUT") from None
        except self._httpx.HTTPError as error:
            raise RemoteEnvError(f"cannot reach the server: {type(error).__name__}: {error}", url) from None
        return _parsed(bytes(data), url, status, self.max_bytes)

    def close(self) -> None:
        self.client.close()


def _parsed(data: bytes | str, url: str, status: int | None, limit: int) -> dict[str, Any]:
    try:
        value = wire.expect_object(wire.parse_json(data, limit, "answer"), "the answer")
    except WireError as error:
        raise RemoteEnvError(f"answer is not the rlvr wire format (status {status}): {error}", url, "PROTOCOL",
                             status) from None
    if status is not None and status >= 400 or value.get("type") == "error":
        _raise_reported(value.get("error", value.get("data")), url, status)
    return value


class _WebSocket:
    def __init__(self, url: str, timeout: float, max_bytes: int) -> None:
        _extra("websockets")
        from websockets.exceptions import ConnectionClosed, WebSocketException
        from websockets.sync.client import connect

        self.url, self.timeout, self.max_bytes, self._errors = url, timeout, max_bytes, (WebSocketException, OSError)
        self._closed = ConnectionClosed
        # entered as a context manager: what websockets 15 to 17 all accept without a warning
        self._stack = contextlib.ExitStack()
        try:
            self.socket = self._stack.enter_context(connect(
                url, open_timeout=timeout, close_timeout=min(timeout, 5.0), max_size=max_bytes, compression=None,
                proxy=None))
        except TimeoutError:
            raise RemoteEnvError(f"no WebSocket handshake within {timeout} s", url, "TIMEOUT") from None
        except self._errors as error:
            raise RemoteEnvError(f"cannot open a WebSocket: {type(error).__name__}: {error}", url) from None

    def call(self, message: dict[str, Any]) -> dict[str, Any]:
        # a server that refuses a session says why and closes: its message is still there to read
        with contextlib.suppress(self._closed):
            self.socket.send(wire.dumps(message))
        try:
            answer = self.socket.recv(timeout=self.timeout)
        except TimeoutError:
            raise RemoteEnvError(f"no answer within {self.timeout} s", self.url, "TIMEOUT") from None
        except self._errors as error:
            raise RemoteEnvError(f"WebSocket failed: {type(error).__name__}: {error}"[:500], self.url) from None
        return _parsed(answer, self.url, None, self.max_bytes)

    def close(self) -> None:
        with contextlib.suppress(*self._errors):
            self.socket.send(wire.dumps({"type": "close"}))
        with contextlib.suppress(*self._errors):
            self._stack.close()


class RemoteEnv(gym.Env):
    """A served env as a local `gymnasium.Env` (see the module doc).

    `url` is the server (http://host:port); `env_id` the id to play (None: the only id a
    one-id server serves, WebSocket only); `transport` "ws" (one connection per env, the faster)
    or "http" (one request per call); `timeout` bounds each call in seconds; `**kwargs` go to the
    remote env's constructor.
    """

    metadata = {"render_modes": []}

    def __init__(self, url: str, env_id: str | None = None, *, transport: str = "ws", timeout: float = 30.0,
                 max_response_bytes: int = wire.MAX_RESPONSE, **kwargs: Any) -> None:
        parsed = urllib.parse.urlsplit(url)
        if parsed.scheme not in ("http", "https", "ws", "wss") or not parsed.netloc or parsed.query:
            raise ValueError(f"expected a server URL such as http://127.0.0.1:8000, got {url!r}")
        if transport not in ("ws", "http"):
            raise ValueError(f"transport must be 'ws' or 'http', got {transport!r}")
        if isinstance(timeout, bool) or not isinstance(timeout, int | float) or not (math.isfinite(timeout) and timeout > 0):
            raise ValueError(f"timeout must be a positive number of seconds, got {timeout!r}")
        if env_id is None and transport == "http":
            raise ValueError("transport='http' needs an env_id")
        http_url = urllib.parse.urlunsplit(("https" if parsed.scheme in ("https", "wss") else "http", parsed.netloc,
                                            parsed.path.rstrip("/"), "", ""))
        self.url, self.transport = http_url, transport
        self._http: _Http | None = None
        self._ws: _WebSocket | None = None
        if transport == "http":
            self._http = _Http(http_url, timeout, max_response_bytes)
            state = self._http.call("POST", "/sessions", {"env_id": env_id, "kwargs": kwargs})
        else:
            ws_url = "ws" + http_url[4:] + (f"/envs/{env_id}/ws" if env_id else "/ws")
            if kwargs:
                ws_url += "?" + urllib.parse.urlencode({"kwargs": wire.dumps(kwargs)})
            self._ws = _WebSocket(ws_url, timeout, max_response_bytes)
            state = self._ws.call({"type": "state"}).get("data")
        try:
            state = wire.expect_object(state, "the session state")
            self.session_id = str(state["session_id"])
            self.env_id = str(state["env_id"])
            self.observation_space = wire.build_space(state["observation_space"])
            self.action_space = wire.build_space(state["action_space"])
            steps = state.get("max_episode_steps")
            self.max_episode_steps = steps if isinstance(steps, int) and not isinstance(steps, bool) else None
        except (WireError, KeyError) as error:
            self.close()
            problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise RemoteEnvError(f"the server's session state is not the rlvr wire format: {problem}", self.url,
                                 "PROTOCOL") from None

    def _call(self, kind: str, data: Any = None) -> dict[str, Any]:
        if self._http is not None:
            if kind == "state":
                return self._http.call("GET", f"/sessions/{self.session_id}/state")
            body = {"action": data} if kind == "step" else data
            return self._http.call("POST", f"/sessions/{self.session_id}/{kind}", body)
        if self._ws is None:
            raise RemoteEnvError("the env is closed", self.url, "SESSION_CLOSED")
        answer = self._ws.call({"type": kind} if data is None else {"type": kind, "data": data})
        if not isinstance(answer.get("data"), dict):
            raise RemoteEnvError(f"expected an answer with a data object, got {wire.dumps(answer)[:100]}", self.url,
                                 "PROTOCOL")
        return answer["data"]

    def reset(self, *, seed: int | None = None, options: dict[str, Any] | None = None) -> tuple[Any, dict[str, Any]]:
        super().reset(seed=seed)
        body = {key: value for key, value in (("seed", seed), ("options", options)) if value is not None}
        observation, _, _, _, info = self._result(self._call("reset", body))
        return observation, info

    def step(self, action: Any) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        try:
            payload = wire.wrap(self.action_space, action)
        except (TypeError, ValueError, KeyError) as error:
            raise ValueError(f"expected an action of {self.action_space}, got {action!r:.80} ({error})") from None
        return self._result(self._call("step", payload))

    def state(self) -> dict[str, Any]:
        """The server's view of the session: ids, keywords, episode, step count, spaces."""
        return self._call("state")

    def _result(self, result: dict[str, Any]) -> tuple[Any, float, bool, bool, dict[str, Any]]:
        try:
            observation = wire.unwrap(self.observation_space, result["observation"], "observation")
            reward = result.get("reward")
            reward = 0.0 if reward is None else float(reward)  # a reset's reward is null
            terminated, truncated, info = result["terminated"], result["truncated"], result["info"]
            if not (isinstance(terminated, bool) and isinstance(truncated, bool) and isinstance(info, dict)):
                raise WireError("expected terminated and truncated booleans and an info object")
        except (WireError, KeyError, TypeError, ValueError) as error:
            problem = f"no field {error}" if isinstance(error, KeyError) else str(error)
            raise RemoteEnvError(f"the server's result is not the rlvr wire format: {problem}"[:500], self.url,
                                 "PROTOCOL") from None
        return observation, reward, terminated, truncated, info

    def close(self) -> None:
        if self._http is not None:
            # a session already gone (expired, server stopped) leaves nothing to free
            with contextlib.suppress(RemoteEnvError):
                self._http.call("DELETE", f"/sessions/{getattr(self, 'session_id', '')}")
            self._http.close()
            self._http = None
        if self._ws is not None:
            self._ws.close()
            self._ws = None

    def __enter__(self) -> RemoteEnv:
        return self

    def __exit__(self, *exc: Any) -> None:
        self.close()
