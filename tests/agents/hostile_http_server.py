"""Hostile HTTP servers on 127.0.0.1 for testing what an HTTP client does when the server misbehaves.

`HostileServer(reply)` answers every request (any method, any path) by calling `reply(handler)`,
which writes whatever bytes it likes: a redirect, a body dripped a byte at a time, a broken status
line, an echo of the request's headers. Every request is recorded (method, path, lower-cased
headers) before `reply` runs. Threads are daemons, drips stop when the server closes or the client
goes away, and each drip is bounded in length, so no test can leave work running for long.
`make_tls` makes a throwaway certificate for 127.0.0.1 so the same server can speak HTTPS.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import ssl
import subprocess
import threading
from collections.abc import Callable
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@dataclass
class SeenRequest:
    method: str
    path: str
    headers: dict[str, str]


Reply = Callable[[BaseHTTPRequestHandler], None]


class HostileServer:
    """`with HostileServer(reply) as server:`; `server.url` is its '/v1' base URL, `origin` its origin."""

    def __init__(self, reply: Reply, tls: ssl.SSLContext | None = None) -> None:
        self.reply, self.scheme = reply, "https" if tls else "http"
        self.requests: list[SeenRequest] = []
        self.lock = threading.Lock()
        self.closing = threading.Event()
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_for(self))
        self._server.daemon_threads = True
        if tls is not None:
            # The handshake then happens on the first read, in the request's own thread.
            listener = self._server.socket
            self._server.socket = tls.wrap_socket(listener, server_side=True, do_handshake_on_connect=False)
        self._thread = threading.Thread(target=self._server.serve_forever, args=(0.01,), daemon=True)

    @property
    def origin(self) -> str:
        host, port = self._server.server_address[:2]
        return f"{self.scheme}://{host}:{port}"

    @property
    def url(self) -> str:
        return self.origin + "/v1"

    def __enter__(self) -> HostileServer:
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        self.closing.set()  # ends any drip still running
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)


def _handler_for(server: HostileServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args: Any) -> None:  # keep test output clean
            pass

        def handle_one_request(self) -> None:
            # One request per connection: a reply may leave the stream in any state.
            self.close_connection = True
            super().handle_one_request()

        def _any(self) -> None:
            # Read the whole request body first: closing with unread input makes the kernel reset
            # the connection, and the client would see a reset instead of our answer.
            length = self.headers.get("Content-Length", "0")
            self.rfile.read(int(length) if length.isdigit() else 0)
            with server.lock:
                server.requests.append(
                    SeenRequest(self.command, self.path, {k.lower(): v for k, v in self.headers.items()})
                )
            # The client may give up first (that is what timeout tests expect).
            with contextlib.suppress(BrokenPipeError, ConnectionResetError):
                server.reply(self)

        do_GET = do_POST = do_PUT = do_HEAD = _any

    return Handler


# ---- replies ----


def completion(text: str = "from the server", **extra: Any) -> dict[str, Any]:
    """A well-formed chat completion payload with one choice."""
    choice = {"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}
    return {"object": "chat.completion", "choices": [choice], **extra}


def send(handler: BaseHTTPRequestHandler, status: int, body: Any, headers: dict | None = None) -> None:
    """A whole answer at once; `body` as bytes, text, or a JSON-able object."""
    if isinstance(body, str):
        body = body.encode()
    elif not isinstance(body, bytes):
        body = json.dumps(body).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    headers = {"Content-Length": str(len(body)), **(headers or {})}
    for name, value in headers.items():
        handler.send_header(name, value)
    handler.end_headers()
    handler.wfile.write(body)


def send_raw(handler: BaseHTTPRequestHandler, data: bytes) -> None:
    """Bytes straight onto the socket: a status line and headers of the caller's making."""
    handler.wfile.write(data)


def redirect(status: int, location: str) -> Reply:
    def reply(handler: BaseHTTPRequestHandler) -> None:
        send(handler, status, {"error": {"message": "moved"}}, {"Location": location})

    return reply


def drip(server: HostileServer, data: bytes, interval_s: float, head: bytes = b"") -> Reply:
    """Send `head` at once, then `data` one byte every `interval_s` (until done, closed or cut off)."""

    def reply(handler: BaseHTTPRequestHandler) -> None:
        handler.wfile.write(head)
        for i in range(len(data)):
            if server.closing.wait(interval_s):
                return
            handler.wfile.write(data[i : i + 1])

    return reply


def dripped_body(server: HostileServer, nbytes: int, interval_s: float) -> Reply:
    """Correct status and headers at once, then a `nbytes` body one byte at a time."""
    head = f"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {nbytes}\r\n\r\n".encode()
    return drip(server, b" " * nbytes, interval_s, head)


def dripped_headers(server: HostileServer, nbytes: int, interval_s: float) -> Reply:
    """A status line, then one long header line dripped a byte at a time (it never ends in time)."""
    return drip(server, b"a" * nbytes, interval_s, head=b"HTTP/1.1 200 OK\r\nX-Slow: ")


def make_tls(directory: Path) -> tuple[ssl.SSLContext, Path] | None:
    """A server context with a fresh self-signed certificate for 127.0.0.1, and the certificate's path
    (for clients to trust, e.g. through $SSL_CERT_FILE); None without the `openssl` command."""
    openssl = shutil.which("openssl")
    if openssl is None:
        return None
    key, cert = directory / "key.pem", directory / "cert.pem"
    command = [openssl, "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    command += ["-keyout", str(key), "-out", str(cert), "-days", "1", "-subj", "/CN=127.0.0.1"]
    command += ["-addext", "subjectAltName=IP:127.0.0.1"]
    if subprocess.run(command, capture_output=True, timeout=60).returncode != 0:
        return None
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(cert, key)
    return context, cert


@contextlib.contextmanager
def silent_server() -> Any:
    """Yields a port whose connections the kernel accepts and nobody ever reads or answers."""
    with socket.create_server(("127.0.0.1", 0), backlog=8) as listener:
        yield listener.getsockname()[1]
