"""A lazily started pool of math-verify worker processes with a wall-clock limit per request.

Why processes of our own rather than math-verify's timeouts: those use `signal.alarm`, which
works only in the main thread, and a pathological input can hold the interpreter in C code
where no signal helps. Here the parent waits for each reply with a deadline and, when it
passes, kills the worker and starts a replacement; the caller gets "timeout".

Why `subprocess` rather than `multiprocessing`: a worker is a fresh interpreter running
`_worker.py` by path, so it never forks a threaded parent, never re-imports the caller's
`__main__`, and can be started from inside a daemonic process (Gymnasium's AsyncVectorEnv
workers are daemonic, and daemonic processes may not have multiprocessing children).

Lifecycle: nothing starts at import. The first request starts the pool's workers one by one as
they are needed; they persist, so the start-up cost (importing sympy) is paid once per worker.
`atexit` closes them; `shutdown_pool()` does the same on demand, and a later request starts a
fresh pool. A forked child never uses its parent's workers: it starts its own.
"""

from __future__ import annotations

import atexit
import contextlib
import json
import os
import queue
import subprocess
import sys
import threading
from pathlib import Path

WORKER_SCRIPT = str(Path(__file__).with_name("_worker.py"))
# drop the current directory from sys.path so a stray numbers.py or json.py there cannot shadow
# the standard library inside the worker
_BOOTSTRAP = (
    "import sys; sys.path[:] = [p for p in sys.path if p not in ('', '.')]; "
    "import runpy; runpy.run_path(sys.argv[1], run_name='__main__')"
)
STARTUP_TIMEOUT = 120.0
"""Seconds a new worker may take to import math-verify (slow on a loaded machine)."""


def default_size() -> int:
    """Workers in the pool: $RLVR_MATH_WORKERS, else the number of CPUs, at most 4."""
    configured = os.environ.get("RLVR_MATH_WORKERS", "")
    if configured.strip():
        return max(1, int(configured))
    return max(1, min(4, os.cpu_count() or 1))


class WorkerError(RuntimeError):
    """A worker died, could not start, or answered something that is not a reply."""


class _Worker:
    def __init__(self) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-c", _BOOTSTRAP, WORKER_SCRIPT],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            close_fds=True,
        )
        self.ready = False
        self._lines: queue.SimpleQueue[bytes | None] = queue.SimpleQueue()
        # a reader thread turns the pipe into a queue, so waiting with a deadline is portable
        threading.Thread(target=self._read, name="rlvr-math-worker-reader", daemon=True).start()

    def _read(self) -> None:
        assert self.process.stdout is not None
        try:
            for line in self.process.stdout:
                self._lines.put(line)
        except (OSError, ValueError):
            pass
        self._lines.put(None)

    def _next_line(self, timeout: float) -> bytes:
        try:
            line = self._lines.get(timeout=timeout)
        except queue.Empty:
            raise TimeoutError from None
        if line is None:
            raise WorkerError(f"math-verify worker exited (code {self.process.poll()})")
        return line

    def ask(self, gold: str, answer: str, timeout: float) -> dict:
        if not self.ready:
            try:
                self._next_line(STARTUP_TIMEOUT)
            except TimeoutError:
                raise WorkerError(
                    f"math-verify worker did not start within {STARTUP_TIMEOUT:.0f} s"
                ) from None
            self.ready = True
        assert self.process.stdin is not None
        try:
            self.process.stdin.write(json.dumps({"gold": gold, "answer": answer}).encode() + b"\n")
            self.process.stdin.flush()
        except (BrokenPipeError, OSError, ValueError) as exc:
            raise WorkerError(f"math-verify worker is gone ({type(exc).__name__})") from None
        reply = json.loads(self._next_line(timeout))
        if not isinstance(reply, dict) or "correct" not in reply:
            raise WorkerError(f"math-verify worker sent {reply!r}, expected a reply object")
        return reply

    def kill(self) -> None:
        self.process.kill()
        self._reap(5.0)

    def close(self) -> None:
        """Ask politely (end of input), then kill if it does not leave."""
        try:
            if self.process.stdin is not None:
                self.process.stdin.close()
            self.process.wait(timeout=2.0)
        except (OSError, subprocess.TimeoutExpired):
            self.process.kill()
        self._reap(5.0)

    def _reap(self, timeout: float) -> None:
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=timeout)
        for stream in (self.process.stdin, self.process.stdout):
            try:
                if stream is not None:
                    stream.close()
            except OSError:
                pass


class WorkerPool:
    """`size` persistent workers; `run` is safe to call from any number of threads."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or default_size()
        self._idle: queue.LifoQueue[_Worker | None] = queue.LifoQueue()
        for _ in range(self.size):
            self._idle.put(None)  # a slot whose worker starts on first use
        self._live: set[_Worker] = set()
        self._lock = threading.Lock()
        self._closed = False
        self.restarts = 0
        """Workers killed (timeout or crash) and replaced so far."""

    def _spawn(self) -> _Worker:
        with self._lock:
            if self._closed:
                raise WorkerError("the math-verify pool has been shut down")
            worker = _Worker()
            self._live.add(worker)
            return worker

    def _discard(self, worker: _Worker) -> None:
        with self._lock:
            self._live.discard(worker)
            self.restarts += 1
        worker.kill()

    def run(self, gold: str, answer: str, timeout: float) -> tuple[bool, str | None]:
        """math-verify's judgement of (gold, answer), or (False, reason) on timeout or failure."""
        worker = self._idle.get()
        try:
            if worker is None:
                worker = self._spawn()
            reply = worker.ask(gold, answer, timeout)
            return bool(reply["correct"]), reply.get("error")
        except TimeoutError:
            self._discard(worker)
            worker = self._replacement()
            return False, f"timeout: math-verify took longer than {timeout:g} s"
        except (WorkerError, json.JSONDecodeError) as exc:
            if worker is not None:
                self._discard(worker)
            worker = self._replacement()
            return False, f"math-verify worker failed: {exc}"
        finally:
            self._idle.put(worker)

    def _replacement(self) -> _Worker | None:
        # start the new interpreter now so its imports overlap with the caller's other work
        try:
            return self._spawn()
        except (WorkerError, OSError):
            return None

    def shutdown(self) -> None:
        with self._lock:
            self._closed = True
            workers, self._live = list(self._live), set()
        for worker in workers:
            worker.close()


_pool: WorkerPool | None = None
_pool_pid: int | None = None
_pool_lock = threading.Lock()
_atexit_registered = False


def get_pool() -> WorkerPool:
    """The process-wide pool, created on first use (no process starts until a request needs one)."""
    global _pool, _pool_pid, _atexit_registered
    with _pool_lock:
        if _pool is None or _pool_pid != os.getpid():
            _pool, _pool_pid = WorkerPool(), os.getpid()
            if not _atexit_registered:
                atexit.register(shutdown_pool)
                _atexit_registered = True
        return _pool


def shutdown_pool() -> None:
    """Stop every worker of this process's pool; the next request starts a new pool."""
    global _pool
    with _pool_lock:
        pool, _pool = _pool, None
        mine = _pool_pid == os.getpid()
    if pool is not None and mine:
        pool.shutdown()


def live_worker_pids() -> list[int]:
    """Process ids of this process's running workers (for tests and diagnostics)."""
    with _pool_lock:
        pool = _pool if _pool_pid == os.getpid() else None
    if pool is None:
        return []
    with pool._lock:
        return [w.process.pid for w in pool._live if w.process.poll() is None]
