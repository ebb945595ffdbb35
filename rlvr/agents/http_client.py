"""One HTTP POST that a hostile or broken server cannot stretch, redirect or use to leak the API key.

The transport under `OpenAICompatibleAgent` (standard library only: urllib, http.client, ssl):

- **One deadline per request.** A socket timeout bounds each wait alone, so a server dripping a
  byte a second never trips it. Here every socket operation (connect, TLS handshake, each send and
  each receive of the status line, headers and body) first sets the socket's timeout to the time
  left before the request's deadline, so the whole request ends within `timeout_s` of its start.
  Name resolution is the one step outside it (the system resolver applies its own limits).
- **No redirects.** A 3xx comes back as an answer like any other status (the caller turns it into
  an error); nothing is re-sent anywhere, so the key only ever goes to the URL it was given for.
- **Bounded bodies.** At most `max_bytes` are read; a larger declared or actual size is refused.
- **Every failure is one of two errors**: `TransportError` (connection, timeout or protocol
  trouble: worth another try; `timed_out` says which) or `ResponseTooLarge`; nothing else escapes `post`.
- `Secret` holds the key: its repr never shows it, and `redact` removes it from any text.

Proxies from the environment (`https_proxy`, ...) are honoured as urllib does.
"""

from __future__ import annotations

import email.utils
import functools
import http.client
import math
import re
import socket
import ssl
import time
import urllib.error
import urllib.parse
import urllib.request
from dataclasses import dataclass
from email.message import Message
from typing import Any

REDACTED = "[redacted]"
KEY_PIECE = 12
"""Any run of this many characters of the key (the whole key if shorter) is redacted, even when split by
whitespace: a server that echoes part of the key, or wraps it over lines, is still scrubbed."""
_READ_CHUNK = 64 << 10
_DIGITS = re.compile(r"[0-9]+")


class Secret:
    """An API key that stays out of reprs and messages; falsy when there is none."""

    __slots__ = ("_value", "_pieces", "_piece")

    def __init__(self, value: str | None) -> None:
        self._value = value or None
        squeezed = "".join((value or "").split())
        self._piece = min(len(squeezed), KEY_PIECE)
        self._pieces = {squeezed[i : i + self._piece] for i in range(len(squeezed) - self._piece + 1)}

    def __bool__(self) -> bool:
        return self._value is not None

    def __repr__(self) -> str:
        return "Secret(set)" if self else "Secret(none)"

    def __reduce__(self) -> Any:
        raise TypeError("an API key is not pickled; pass it again (or through the environment) where needed")

    def headers(self) -> dict[str, str]:
        return {"Authorization": f"Bearer {self._value}"} if self._value else {}

    def redact(self, text: str) -> str:
        """`text` with the key, and any `KEY_PIECE` characters of it (even split by whitespace), replaced."""
        if not self._value or not text:
            return text
        text = text.replace(self._value, REDACTED)  # the common case, and the `Bearer <key>` form
        if not self._piece:
            return text
        # Look for pieces in the text with its whitespace taken out, then map hits back.
        kept = [i for i, char in enumerate(text) if not char.isspace()]
        squeezed = "".join(text[i] for i in kept)
        hit = bytearray(len(squeezed))
        for start in range(len(squeezed) - self._piece + 1):
            if squeezed[start : start + self._piece] in self._pieces:
                hit[start : start + self._piece] = b"\1" * self._piece
        out, position, j = [], 0, 0
        while j < len(kept):
            if not hit[j]:
                j += 1
                continue
            end = j
            while end + 1 < len(kept) and hit[end + 1]:
                end += 1
            out += [text[position : kept[j]], REDACTED]
            position, j = kept[end] + 1, end + 1
        return "".join(out) + text[position:]


class TransportError(Exception):
    """The request did not get a whole answer: refused, reset, timed out (`timed_out`), or not valid HTTP."""

    def __init__(self, error: BaseException) -> None:
        reason = error.reason if isinstance(error, urllib.error.URLError) else error
        self.timed_out = isinstance(reason, TimeoutError | socket.timeout) or "timed out" in str(reason)
        if self.timed_out:
            message = "timed out"
        elif isinstance(reason, ValueError | http.client.HTTPException | EOFError) and not isinstance(
            reason, ConnectionError
        ):
            message = f"malformed or incomplete HTTP response ({type(reason).__name__}: {str(reason)[:300]})"
        else:
            message = f"{type(reason).__name__}: {str(reason)[:300]}"
        super().__init__(message)


class ResponseTooLarge(Exception):
    """The answer is (or says it is) over the size limit."""


@dataclass
class Reply:
    """A whole HTTP answer of any status (2xx, 3xx, 4xx, 5xx)."""

    status: int
    headers: Message
    body: bytes
    body_error: str | None = None
    """Why the body of a non-2xx answer could not be read in full, if it could not."""


# ---- the deadline, applied to every socket operation ----


class _Deadline:
    """Mixed into socket classes: each send and receive may wait only for the time left."""

    __slots__ = ()
    deadline: float | None = None

    def _arm(self) -> None:
        if self.deadline is None:
            return
        left = self.deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError("timed out (the request's deadline passed)")
        self.settimeout(left)  # type: ignore[attr-defined]

    def recv(self, *args: Any) -> Any:
        self._arm()
        return super().recv(*args)  # type: ignore[misc]

    def recv_into(self, *args: Any) -> Any:
        self._arm()
        return super().recv_into(*args)  # type: ignore[misc]

    def send(self, *args: Any) -> Any:
        self._arm()
        return super().send(*args)  # type: ignore[misc]

    def sendall(self, *args: Any) -> Any:
        # CPython bounds a whole sendall (and a whole TLS handshake) by one timeout, not each chunk.
        self._arm()
        return super().sendall(*args)  # type: ignore[misc]


class _DeadlineSocket(_Deadline, socket.socket):
    pass


class _DeadlineSSLSocket(_Deadline, ssl.SSLSocket):
    pass


def _connect(address: tuple[str, int], timeout: Any, source: Any = None, *, deadline: float) -> socket.socket:
    """`socket.create_connection` for http.client, bounded by the deadline (its own `timeout` is unused)."""
    left = deadline - time.monotonic()
    if left <= 0:
        raise TimeoutError("timed out (the request's deadline passed)")
    plain = socket.create_connection(address, left, source)
    sock = _DeadlineSocket(fileno=plain.detach())
    sock.deadline = deadline
    sock._arm()  # a fresh timeout for what comes next: the TLS handshake inherits it
    return sock


class _HTTPConnection(http.client.HTTPConnection):
    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._create_connection = functools.partial(_connect, deadline=deadline)


class _HTTPSConnection(http.client.HTTPSConnection):
    def __init__(self, host: str, *, deadline: float, **kwargs: Any) -> None:
        super().__init__(host, **kwargs)
        self._deadline = deadline
        self._create_connection = functools.partial(_connect, deadline=deadline)

    def connect(self) -> None:
        super().connect()
        self.sock.deadline = self._deadline  # the context makes it a _DeadlineSSLSocket


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: Any) -> Any:
        return self.do_open(functools.partial(_HTTPConnection, deadline=req.deadline), req)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: Any) -> Any:
        connection = functools.partial(_HTTPSConnection, deadline=req.deadline)
        return self.do_open(connection, req, context=self._context)


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    """Declines every redirect, so urllib hands the 3xx back as an HTTPError like any other status."""

    def _decline(self, *args: Any) -> None:
        return None

    http_error_301 = http_error_302 = http_error_303 = http_error_307 = http_error_308 = _decline


def build_opener(https: bool) -> urllib.request.OpenerDirector:
    """An opener with the deadline sockets and no redirects (one per client: it reads proxies once)."""
    context = None
    if https:
        context = ssl.create_default_context()
        context.set_alpn_protocols(["http/1.1"])
        context.sslsocket_class = _DeadlineSSLSocket
    return urllib.request.build_opener(_NoRedirects, _HTTPHandler, _HTTPSHandler(context=context))


# ---- one request ----


def post(
    opener: urllib.request.OpenerDirector,
    url: str,
    data: bytes,
    headers: dict[str, str],
    *,
    timeout_s: float,
    max_bytes: int,
    max_error_bytes: int,
) -> Reply:
    """POST `data` and return the whole answer, whatever its status, within `timeout_s` seconds."""
    deadline = time.monotonic() + timeout_s
    request = urllib.request.Request(url, data=data, headers=headers, method="POST")
    request.deadline = deadline  # type: ignore[attr-defined]  (read by the handlers above)
    try:
        with opener.open(request, timeout=timeout_s) as response:
            return Reply(response.status, response.headers, _read(response, max_bytes, deadline))
    except urllib.error.HTTPError as error:  # any status outside 2xx, 3xx included (see _NoRedirects)
        body, body_error = b"", None
        try:
            body = _read(error, max_error_bytes, deadline, truncate=True)
        except (TransportError, ResponseTooLarge) as unread:
            body_error = str(unread)
        finally:
            error.close()
        return Reply(error.code, error.headers, body, body_error)
    except (TransportError, ResponseTooLarge):
        raise
    except Exception as error:  # noqa: BLE001  (whatever urllib, http.client or ssl raise: one error type)
        raise TransportError(error) from None


def _read(response: Any, limit: int, deadline: float, truncate: bool = False) -> bytes:
    """The body, at most `limit` bytes (`truncate`: the first `limit` bytes of a longer one)."""
    declared = (response.headers.get("Content-Length") or "").strip()
    if not truncate and _DIGITS.fullmatch(declared) and (len(declared) > 20 or int(declared) > limit):
        raise ResponseTooLarge(f"declares {declared[:40]}{'...' if len(declared) > 40 else ''} bytes")
    chunks, size = [], 0
    try:
        while chunk := response.read(min(_READ_CHUNK, limit + 1 - size)):
            size += len(chunk)
            chunks.append(chunk)
            if size > limit:
                if truncate:
                    break
                raise ResponseTooLarge(f"sent more than {limit} bytes")
            if time.monotonic() > deadline:  # bytes already buffered are read without waiting
                raise TimeoutError("timed out (the request's deadline passed)")
    except ResponseTooLarge:
        raise
    except Exception as error:  # noqa: BLE001
        raise TransportError(error) from None
    return b"".join(chunks)[:limit]


# ---- reading headers a server controls ----


def retry_after_s(value: str | None) -> float | None:
    """Seconds to wait from a Retry-After header (a number of seconds or an HTTP date); None if unreadable."""
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            seconds = email.utils.parsedate_to_datetime(value).timestamp() - time.time()
        except Exception:  # noqa: BLE001  (a hostile date: TypeError, ValueError, OverflowError, OSError)
            return None
    return max(0.0, seconds) if math.isfinite(seconds) else None


def origin(url: str, location: str | None) -> str:
    """Where a redirect points: scheme://host[:port] of its Location, resolved against `url`, no user info."""
    if not location:
        return "no Location"
    try:
        parts = urllib.parse.urlsplit(urllib.parse.urljoin(url, location.strip()))
    except ValueError:
        return "an unreadable Location"
    return f"{parts.scheme}://{parts.netloc.rpartition('@')[2]}"[:200]
