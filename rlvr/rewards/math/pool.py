"""A lazily started pool of math-verify worker processes: one deadline per call, correct under faults.

Why processes of our own rather than math-verify's timeouts: those use `signal.alarm`, which
works only in the main thread, and a pathological input can hold the interpreter in C code
where no signal helps. Here a worker that overruns its deadline is killed and replaced.

Why `subprocess` rather than `multiprocessing`: a worker is a fresh interpreter running
`_worker.py` by path, so it never forks a threaded parent, never re-imports the caller's
`__main__`, and can be started from inside a daemonic process (Gymnasium's AsyncVectorEnv
workers are daemonic, and daemonic processes may not have multiprocessing children).

How a call runs: `verify_many(pairs, timeout)` puts one request per pair on a shared queue and
waits. Each of the pool's `size` slots is a thread that owns one worker process; it takes the next
request, sends it with a fresh request id and reads the reply carrying that id. Callers never
touch a worker, so nothing that happens to a caller (an exception, Ctrl-C) can leave an unread
reply behind for the next request to pick up.

Two limits. `timeout` is what math-verify may spend on one pair: a worker still busy with a pair
that long after it was sent is killed and replaced. `call_timeout` is one deadline for the whole
call, however many pairs it holds and however many threads call at once; by default it is what
the call's pairs need if every one used its whole `timeout` on this pool's workers,
`timeout * (ceil(pairs / size) + 1)`, so a batch is never cut short for being large, while a
call still ends in bounded time when other threads hold the workers. A pair not answered within
either limit gets a zero with the reason "timed out: ..." (and is not cached by `verify`). Time spent waiting for a
worker to start (importing sympy and math-verify's grammar: about a second on an idle machine,
seconds under load) is not the pairs' cost: the longest start-up that the call's requests waited
for is added to its deadline (each start-up is bounded by `STARTUP_TIMEOUT`). So a call ends
within `timeout` plus one worker start-up, when the pool has to start or replace a worker.

Faults, and what each costs:
- a reply whose id is not the request's is never used; its worker is retired (killed, replaced);
- a worker found dead before use (killed from outside, crashed while idle) is replaced before the
  request is sent, so it costs no verdict;
- a request past its deadline, or abandoned by its caller (any exception while the caller waits,
  KeyboardInterrupt included, which is re-raised), retires its worker: its reply is never read.

Lifecycle: nothing starts at import. The first call starts the slot threads, and each slot starts
its worker when it first gets a request; workers persist, so start-up is paid once per worker.
`atexit` stops them; `shutdown_pool()` does the same on demand, and a later call starts a fresh
pool. A forked child never uses its parent's workers: it starts its own.
"""

from __future__ import annotations

import atexit
import contextlib
import itertools
import math
import os
import queue
import threading
import time
from dataclasses import dataclass

from rlvr.rewards.math.limits import MAX_TIMEOUT, check_timeout
from rlvr.rewards.math.process import Abandoned, WorkerError, WorkerProcess

__all__ = ["WorkerError", "WorkerPool", "check_timeout", "get_pool", "live_worker_pids", "shutdown_pool"]

STARTUP_TIMEOUT = 120.0
"""Seconds a new worker may take to import math-verify (slow on a loaded machine)."""
TIMED_OUT = "timed out"


def default_size() -> int:
    """Workers in the pool: $RLVR_MATH_WORKERS, else the number of CPUs, at most 4."""
    configured = os.environ.get("RLVR_MATH_WORKERS", "").strip()
    if configured:
        if not configured.isdecimal() or int(configured) < 1:
            raise ValueError(f"RLVR_MATH_WORKERS must be a positive integer, got {configured[:40]!r}")
        return int(configured)
    return max(1, min(4, os.cpu_count() or 1))


@dataclass(frozen=True)
class Outcome:
    """What the pool says about one pair."""

    correct: bool
    error: str | None
    final: bool
    """True for math-verify's own verdict on the pair; False for a timeout or a fault, which
    depend on load and luck rather than on the pair (callers must not cache those)."""


class _Call:
    """One `verify_many` call: its deadline, and a condition that guards its requests' state."""

    def __init__(self, pool: WorkerPool, deadline: float, timed_out: Outcome, per_pair: float) -> None:
        self.pool = pool
        self.per_pair = per_pair
        """Seconds math-verify may spend on one of this call's pairs."""
        self.cond = threading.Condition()
        self.pending = 0
        self.timed_out = timed_out
        self._base = deadline
        self._extension = 0.0
        self._begins: list[float] = []
        """When the worker start-ups now under way for this call's requests began."""

    @property
    def starting(self) -> bool:
        return bool(self._begins)

    @property
    def deadline(self) -> float:
        # start-ups for this call's requests run in parallel on different slots, so the longest
        # one, not their sum, is what the call waited for; one under way counts as far as it got,
        # so that other slots keep serving this call meanwhile
        extension, begins = self._extension, self._begins[:]
        if begins:
            extension = max(extension, time.monotonic() - min(begins))
        return self._base + extension

    def startup_begins(self, request: _Request) -> float | None:
        """Note a start-up for `request` (None when its caller already gave up)."""
        with self.cond:
            if request.outcome is not None:
                return None
            begin = time.monotonic()
            self._begins.append(begin)
            return begin

    def startup_ends(self, begin: float) -> None:
        with self.cond:
            self._begins.remove(begin)
            self._extension = max(self._extension, time.monotonic() - begin)
            self.cond.notify_all()


class _Request:
    __slots__ = ("id", "gold", "answer", "call", "outcome", "worker")

    def __init__(self, request_id: int, gold: str, answer: str, call: _Call) -> None:
        self.id, self.gold, self.answer, self.call = request_id, gold, answer, call
        self.outcome: Outcome | None = None
        self.worker: WorkerProcess | None = None  # set while the request is with a worker

    def claim(self, worker: WorkerProcess) -> bool:
        """Mark the request as sent to `worker`; False when its caller already gave up."""
        with self.call.cond:
            if self.outcome is not None:
                return False
            self.worker = worker
            return True

    def finish(self, outcome: Outcome) -> None:
        with self.call.cond:
            if self.outcome is not None:
                return  # abandoned first: the caller has moved on
            self.outcome, self.worker = outcome, None
            self.call.pending -= 1
            if not self.call.pending:
                self.call.cond.notify_all()

    def abandon(self, outcome: Outcome) -> None:
        """Give up on the request (no-op once answered); a worker holding it is killed at once."""
        with self.call.cond:
            if self.outcome is not None:
                return
            self.outcome, worker, self.worker = outcome, self.worker, None
            self.call.pending -= 1
        if worker is not None:
            self.call.pool._forget(worker, counted=True)  # retired now; its slot reaps it
            worker.interrupt(self.id)


class _Slot:
    """A thread that owns one worker and serves requests from the pool's queue one at a time."""

    def __init__(self, pool: WorkerPool, index: int) -> None:
        self.pool = pool
        self.worker: WorkerProcess | None = None
        self.thread = threading.Thread(target=self._loop, name=f"rlvr-math-slot-{index}", daemon=True)
        self.thread.start()

    def _loop(self) -> None:
        while True:
            request = self.pool._queue.get()
            if request is None:
                break
            try:
                self._serve(request)
            except BaseException as exc:  # the request always gets an outcome, the slot lives on
                self._retire()
                request.finish(Outcome(False, f"math-verify worker failed: {exc}", final=False))
                if not isinstance(exc, Exception):
                    raise
        self._retire(replace=False)

    def _serve(self, request: _Request) -> None:
        if request.outcome is not None or time.monotonic() >= request.call.deadline:
            request.finish(request.call.timed_out)  # waited in the queue past its deadline
            return
        for attempt in range(2):
            worker = self._ready_worker(request)
            if worker is None or not request.claim(worker):
                return
            try:
                worker.send(request.id, request.gold, request.answer)
                break
            except WorkerError as exc:
                # it died after the check: nothing was asked yet, so a fresh worker may answer
                self._retire()
                if attempt:
                    request.finish(Outcome(False, f"math-verify worker failed: {exc}", final=False))
                    return
        call = request.call
        pair_deadline = time.monotonic() + call.per_pair
        try:
            reply = worker.receive(request.id, lambda: min(call.deadline, pair_deadline))
        except BaseException as exc:
            # whatever stopped the wait, this worker may still send the reply: never read it
            self._retire()
            if isinstance(exc, TimeoutError):
                if time.monotonic() < call.deadline:
                    reason = f"{TIMED_OUT}: math-verify took more than {call.per_pair:g} s on this pair"
                    request.finish(Outcome(False, reason, final=False))
                else:
                    request.finish(call.timed_out)
            elif not isinstance(exc, Abandoned):
                request.finish(Outcome(False, f"math-verify worker failed: {exc}", final=False))
            if not isinstance(exc, Exception):
                raise
            return
        request.finish(Outcome(reply["correct"], reply.get("error"), final=True))

    def _ready_worker(self, request: _Request) -> WorkerProcess | None:
        """A started, living worker for `request`, or None once the request has its outcome."""
        if self.worker is not None and not self.worker.alive():
            self._retire()  # killed from outside or crashed while idle: replace it before use
        if self.worker is None:
            self.worker = self.pool._spawn()
        worker = self.worker
        if not worker.ready:
            started = request.call.startup_begins(request)
            if started is None:
                return None  # its caller gave up: the worker starts when the next request needs it
            try:
                # an abandoned request does not stop this wait: the worker is wanted for the next one
                worker.wait_ready(started + STARTUP_TIMEOUT)
            except TimeoutError:
                self._retire(replace=False)
                request.finish(Outcome(False, f"math-verify worker did not start within {STARTUP_TIMEOUT:g} s", final=False))
                return None
            except WorkerError as exc:
                self._retire(replace=False)
                request.finish(Outcome(False, f"math-verify worker failed: {exc}", final=False))
                return None
            finally:
                # start-up is load, not the pairs' cost: it does not eat into the call's time
                request.call.startup_ends(started)
        return worker

    def _retire(self, replace: bool = True) -> None:
        worker, self.worker = self.worker, None
        if worker is None:
            return
        self.pool._forget(worker, counted=replace)
        worker.kill()
        if replace:
            # start the replacement now so its imports overlap with other work
            with contextlib.suppress(WorkerError, OSError):
                self.worker = self.pool._spawn()


class WorkerPool:
    """`size` persistent workers; `verify_many` and `run` are safe to call from any number of threads."""

    def __init__(self, size: int | None = None) -> None:
        self.size = size or default_size()
        self._queue: queue.SimpleQueue[_Request | None] = queue.SimpleQueue()
        self._slots: list[_Slot] = []
        self._live: set[WorkerProcess] = set()
        self._lock = threading.Lock()
        self._closed = False
        self._ids = itertools.count(1)
        self.restarts = 0
        """Workers killed (timeout, fault, abandoned request) or found dead, and replaced, so far."""

    def verify_many(
        self, pairs: list[tuple[str, str]], timeout: float, call_timeout: float | None = None
    ) -> list[Outcome]:
        """math-verify's verdict on each (gold, answer): at most `timeout` s of work on each pair,
        all within one deadline `call_timeout` s away (by default derived from `timeout`, see the
        module docstring).

        A pair without a verdict (see the module docstring for start-up) gets
        `Outcome(False, "timed out: ...", final=False)`. Raises ValueError for an invalid timeout
        and re-raises whatever interrupts the wait (KeyboardInterrupt), after giving up its requests.
        """
        per_pair = check_timeout(timeout)
        if call_timeout is None:
            limit = min(per_pair * (math.ceil(len(pairs) / self.size) + 1), MAX_TIMEOUT)
        else:
            limit = check_timeout(call_timeout, "call_timeout")
        if not pairs:
            return []
        reason = f"{TIMED_OUT}: no math-verify verdict within the call's {limit:g} s"
        call = _Call(self, time.monotonic() + limit, Outcome(False, reason, final=False), per_pair)
        requests = [_Request(next(self._ids), str(g), str(a), call) for g, a in pairs]
        call.pending = len(requests)
        with self._lock:
            if self._closed:
                return [Outcome(False, "math-verify worker failed: the pool has been shut down", final=False)] * len(pairs)
            if not self._slots:
                self._slots = [_Slot(self, i) for i in range(self.size)]
        try:
            for request in requests:
                self._queue.put(request)
            with call.cond:
                while call.pending:
                    if call.starting:  # wait for the start-up, which is bounded by STARTUP_TIMEOUT
                        call.cond.wait(STARTUP_TIMEOUT)
                        continue
                    left = call.deadline - time.monotonic()
                    if left <= 0:
                        break
                    call.cond.wait(min(left, threading.TIMEOUT_MAX))
        finally:
            # answered requests keep their verdicts; the others (all of them when the wait was
            # interrupted) are given up, which kills any worker still holding one
            for request in requests:
                request.abandon(call.timed_out)
        return [r.outcome for r in requests]  # type: ignore[misc]

    def run(self, gold: str, answer: str, timeout: float) -> tuple[bool, str | None]:
        """math-verify's judgement of (gold, answer), or (False, reason) on timeout or failure."""
        outcome = self.verify_many([(gold, answer)], timeout, call_timeout=timeout)[0]
        return outcome.correct, outcome.error

    def _spawn(self) -> WorkerProcess:
        with self._lock:
            if self._closed:
                raise WorkerError("the math-verify pool has been shut down")
            worker = WorkerProcess()
            self._live.add(worker)
            return worker

    def _forget(self, worker: WorkerProcess, counted: bool) -> None:
        with self._lock:
            if worker in self._live:  # a worker is retired once, whoever notices first
                self._live.remove(worker)
                self.restarts += counted

    def shutdown(self) -> None:
        """Kill every worker and stop the slot threads; requests still waiting fail at once."""
        with self._lock:
            self._closed = True
            workers, slots = list(self._live), list(self._slots)
        for _ in slots:
            self._queue.put(None)
        for worker in workers:
            worker.kill()  # a slot waiting on it sees the end of its output and moves on
        for slot in slots:
            slot.thread.join(timeout=5.0)


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
