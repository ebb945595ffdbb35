"""One math-verify worker process and the line protocol to it (see `_worker.py` for the other end).

The parent writes one JSON request per line, `{"id", "gold", "answer"}`, and the worker answers
each with one line carrying the same id. A reader thread moves the worker's output into a queue,
so a wait for the reply can have a deadline, and so that `interrupt` can wake that wait when the
caller gives up. `pool.py` decides when to start, use and retire workers.
"""

from __future__ import annotations

import contextlib
import json
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

WORKER_SCRIPT = str(Path(__file__).with_name("_worker.py"))
# drop the current directory from sys.path so a stray numbers.py or json.py there cannot shadow
# the standard library inside the worker
_BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "import runpy; runpy.run_path(sys.argv[1], run_name='__main__')"
)


class WorkerError(RuntimeError):
    """A worker died, could not start, or answered something that is not its reply."""


class Abandoned(Exception):
    """The caller stopped waiting for this request."""


@dataclass(frozen=True)
class Interrupt:
    """Put in a worker's line queue when the caller of request `id` gives up on it."""

    id: int


class WorkerProcess:
    """One worker process; a reader thread turns its output into a queue of lines."""

    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, WORKER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,  # another worker holding our pipes would hide our EOF
        )
        self.ready = False
        self.eof = False
        self.lines: queue.SimpleQueue[bytes | Interrupt | None] = queue.SimpleQueue()
        # a reader thread turns the pipe into a queue, so waiting with a deadline is portable
        threading.Thread(target=self._read, name="rlvr-math-worker-reader", daemon=True).start()

    def _read(self) -> None:
        stdout = self.process.stdout
        assert stdout is not None
        try:
            for line in stdout:
                self.lines.put(line)
        except (OSError, ValueError):
            pass
        self.eof = True
        self.lines.put(None)
        with contextlib.suppress(OSError):
            stdout.close()

    def alive(self) -> bool:
        return not self.eof and self.process.poll() is None

    def interrupt(self, request_id: int) -> None:
        # kill first: a slot blocked writing to a stopped worker wakes up with a broken pipe
        with contextlib.suppress(OSError):
            self.process.kill()
        self.lines.put(Interrupt(request_id))

    def _next(self, until: Callable[[], float]) -> bytes | Interrupt | None:
        while True:
            left = until() - time.monotonic()
            if left <= 0:
                raise TimeoutError
            try:
                return self.lines.get(timeout=min(left, threading.TIMEOUT_MAX))
            except queue.Empty:
                continue  # the deadline may have moved while we waited

    def wait_ready(self, until: float) -> None:
        while not self.ready:
            item = self._next(lambda: until)
            if item is None:
                raise WorkerError(f"math-verify worker exited while starting (code {self.process.poll()})")
            if isinstance(item, Interrupt):
                continue  # a stale interrupt: a request is given to a worker only once it is ready
            if item.strip() != b'{"ready": true}':
                raise WorkerError(f"math-verify worker sent {item[:100]!r} instead of its ready line")
            self.ready = True

    def send(self, request_id: int, gold: str, answer: str) -> None:
        message = {"id": request_id, "gold": gold, "answer": answer}
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps(message).encode() + b"\n")
            self.process.stdin.flush()
        except (OSError, ValueError) as exc:
            raise WorkerError(f"math-verify worker is gone ({type(exc).__name__})") from None

    def receive(self, request_id: int, until: Callable[[], float]) -> dict:
        """The reply to request `request_id`; TimeoutError once `until()` passes, Abandoned when
        its caller gives up, WorkerError for anything that is not that reply."""
        while True:
            item = self._next(until)
            if item is None:
                raise WorkerError(f"math-verify worker exited (code {self.process.poll()})")
            if isinstance(item, Interrupt):
                if item.id == request_id:
                    raise Abandoned
                continue  # a stale interrupt for an earlier request
            try:
                reply = json.loads(item)
            except ValueError:
                raise WorkerError(f"math-verify worker sent {item[:100]!r}, expected a JSON reply") from None
            # `type(...) is int`: json's true would otherwise pass for request 1
            if not isinstance(reply, dict) or type(reply.get("id")) is not int or reply["id"] != request_id:
                raise WorkerError(
                    f"math-verify worker sent {str(reply)[:100]}, expected the reply to request {request_id}"
                )
            if not isinstance(reply.get("correct"), bool):
                raise WorkerError(
                    f"math-verify worker sent {str(reply)[:100]}, expected the reply to request {request_id}"
                )
            return reply

    def kill(self) -> None:
        with contextlib.suppress(OSError):
            self.process.kill()
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=5.0)  # reap it: no zombie left behind
        with contextlib.suppress(OSError, ValueError):
            if self.process.stdin is not None:
                self.process.stdin.close()
