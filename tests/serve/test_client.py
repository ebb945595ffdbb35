"""`RemoteEnv` against servers that misbehave: every failure is a `RemoteEnvError` (a
ConnectionError) naming the URL, within the call's deadline, whatever the server sends."""

from __future__ import annotations

import socket
import time

import pytest

from tests.agents.hostile_http_server import (
    HostileServer,
    dripped_body,
    redirect,
    send,
    send_raw,
    silent_server,
)
from tests.serve.conftest import needs_serve

pytestmark = needs_serve

ID = "rlvr/Countdown-v0"
TEXT = {"type": "text", "min_length": 0, "max_length": 100, "charset": None}
STATE = {"session_id": "s1", "env_id": ID, "kwargs": {}, "observation_space": TEXT, "action_space": TEXT}


def remote(url: str, **options):
    from rlvr.serve import RemoteEnv

    return RemoteEnv(url, ID, transport="http", **options)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_unreachable_server_names_the_url(transport):
    from rlvr.serve import RemoteEnv, RemoteEnvError

    url = f"http://127.0.0.1:{free_port()}"
    with pytest.raises(ConnectionError, match=f"127.0.0.1:{url.rsplit(':', 1)[1]}") as caught:
        RemoteEnv(url, ID, transport=transport, timeout=2)
    assert isinstance(caught.value, RemoteEnvError) and caught.value.url.startswith(("http", "ws"))


@pytest.mark.parametrize("transport", ["http", "ws"])
def test_silent_server_times_out_on_the_deadline(transport):
    from rlvr.serve import RemoteEnv, RemoteEnvError

    with silent_server() as port:
        start = time.monotonic()
        with pytest.raises(RemoteEnvError, match="within 0.5 s") as caught:
            RemoteEnv(f"http://127.0.0.1:{port}", ID, transport=transport, timeout=0.5)
        assert caught.value.code == "TIMEOUT" and time.monotonic() - start < 3


def test_dripping_server_cannot_stretch_the_deadline():
    from rlvr.serve import RemoteEnvError

    holder: dict = {}
    with HostileServer(lambda h: dripped_body(holder["server"], 2000, 0.05)(h)) as server:
        holder["server"] = server
        start = time.monotonic()
        with pytest.raises(RemoteEnvError, match="over 0.5 s|within 0.5 s"):
            remote(server.origin, timeout=0.5)
        assert time.monotonic() - start < 3


@pytest.mark.parametrize("reply, match", [
    (lambda h: send(h, 200, b"x" * 5000), "exceeds the 1000-byte limit"),
    (lambda h: send_raw(h, b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1000\r\n" + b"x" * 4096
                        + b"\r\n0\r\n\r\n"), "exceeds the 1000-byte limit"),
    (lambda h: send(h, 200, b"<html>hello</html>"), "not the rlvr wire format"),
    (lambda h: send(h, 200, [1, 2]), "not the rlvr wire format"),
    (lambda h: send(h, 200, b"{}", {"Content-Encoding": "gzip"}), "compressed"),
    (redirect(307, "http://127.0.0.1:9/sessions"), "307|wire format"),
    (lambda h: send(h, 500, {"error": {"code": "X", "message": "boom"}}), "server error X: boom"),
    (lambda h: send(h, 201, {**STATE, "observation_space": {"type": "box", "shape": [10**6, 10**6], "dtype": "float32",
                                                           "low": 0, "high": 1}}), "at most 1048576 elements"),
    (lambda h: send(h, 201, {**STATE, "action_space": {"type": "pickle"}}), "space type"),
    (lambda h: send(h, 201, {"session_id": "s1"}), "no field 'env_id'"),
])
def test_hostile_answers_are_refused(reply, match):
    from rlvr.serve import RemoteEnvError

    with HostileServer(reply) as server, pytest.raises(RemoteEnvError, match=match) as caught:
        remote(server.origin, max_response_bytes=1000, timeout=5)
    assert server.origin in str(caught.value)
    assert [r.method for r in server.requests][:1] == ["POST"]  # one request, no redirect followed


def test_hostile_step_results_are_refused():
    from rlvr.serve import RemoteEnvError

    answers = iter([
        (201, STATE),
        (200, {"observation": {"text": 5}, "reward": 0, "terminated": False, "truncated": False, "info": {}}),
        (200, {"observation": {"text": "x" * 101}, "reward": 0, "terminated": False, "truncated": False, "info": {}}),
        (200, {"observation": {"text": "ok"}, "reward": "lots", "terminated": False, "truncated": False, "info": {}}),
        (200, {"observation": {"text": "ok"}, "reward": 1, "terminated": "no", "truncated": False, "info": {}}),
        (200, {"observation": {"text": "ok"}, "reward": 1, "terminated": True, "truncated": False, "info": {}}),
    ])
    with HostileServer(lambda h: send(h, *next(answers))) as server:
        env = remote(server.origin, timeout=5)
        for match in ("string", "text", "could not convert", "booleans"):
            with pytest.raises(RemoteEnvError, match=match):
                env.step("1")
        assert env.step("1") == ("ok", 1.0, True, False, {})


def test_bad_arguments_are_value_errors():
    from rlvr.serve import RemoteEnv

    for url in ("ftp://x", "127.0.0.1:8000", "http://", "http://h:1/?kwargs=1"):
        with pytest.raises(ValueError, match="server URL"):
            RemoteEnv(url, ID)
    with pytest.raises(ValueError, match="transport"):
        RemoteEnv("http://127.0.0.1:9", ID, transport="grpc")
    with pytest.raises(ValueError, match="timeout"):
        RemoteEnv("http://127.0.0.1:9", ID, timeout=float("nan"))


class HostileWebSocket:
    """A WebSocket server on loopback whose handler answers the client's first message with `answer`
    (a text, or None: say nothing and keep the connection open)."""

    def __init__(self, answer):
        import threading

        from websockets.sync.server import serve

        def handler(connection):
            connection.recv()
            if answer is None:
                time.sleep(1.0)  # past the client's 0.5 s deadline
            else:
                connection.send(answer)
                time.sleep(0.5)

        self.server = serve(handler, "127.0.0.1", 0, max_size=None)
        self.url = f"http://127.0.0.1:{self.server.socket.getsockname()[1]}"
        threading.Thread(target=self.server.serve_forever, daemon=True).start()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.server.shutdown()


@pytest.mark.parametrize("answer, match", [
    ("x" * 5000, "message too big|1009"),
    ("not json", "not the rlvr wire format"),
    ('{"type": "state", "data": {"session_id": "s"}}', "no field 'env_id'"),
    ('{"type": "error", "data": {"code": "CAPACITY_REACHED", "message": "full"}}', "CAPACITY_REACHED: full"),
    (None, "within 0.5 s"),
])
def test_hostile_websocket_answers_are_refused(answer, match):
    from rlvr.serve import RemoteEnv, RemoteEnvError

    with HostileWebSocket(answer) as server:
        start = time.monotonic()
        with pytest.raises(RemoteEnvError, match=match) as caught:
            RemoteEnv(server.url, ID, timeout=0.5, max_response_bytes=1000)
        assert server.url.removeprefix("http://") in str(caught.value) and time.monotonic() - start < 3
