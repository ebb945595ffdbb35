"""The math-verify worker pool under faults: interrupts, killed and stopped workers, many threads,
one deadline per call, invalid time limits, and a clean exit."""

import contextlib
import math
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import gymnasium as gym
import pytest
from hypothesis import given
from hypothesis import strategies as st

import rlvr  # noqa: F401  (registers the envs)
from rlvr.envs.math_text.task import MathTask
from rlvr.rewards.math import math_reward, math_scores, score_math, shutdown_pool, verify_answer, verify_batch
from rlvr.rewards.math.pool import get_pool, live_worker_pids
from rlvr.rewards.math.verify import CACHE, _prepare, clear_cache

# a tower whose value sympy tries to build: math-verify never finishes it
PATHOLOGICAL = "9^{9^{9^{9}}}+\\sqrt{%d}"


@pytest.fixture
def one_worker(monkeypatch):
    """A fresh pool of exactly one worker, so a test knows which process serves its request."""
    shutdown_pool()
    clear_cache()
    monkeypatch.setenv("RLVR_MATH_WORKERS", "1")
    yield
    shutdown_pool()
    clear_cache()


def _warm_pid() -> int:
    assert verify_answer("y", "y", timeout=60).correct  # starts the worker
    pids = live_worker_pids()
    assert len(pids) == 1, pids
    return pids[0]


def _gone(pid: int) -> bool:
    """The process has exited (a zombie counts: it no longer runs)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0] in ("Z", "X")
    except (FileNotFoundError, ProcessLookupError):
        return True


def _wait_gone(pid: int, within: float = 10.0) -> None:
    end = time.monotonic() + within
    while not _gone(pid):
        assert time.monotonic() < end, f"process {pid} still runs"
        time.sleep(0.01)


def _resume(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGCONT)


def _timed_out(verdict) -> bool:
    return not verdict.correct and (verdict.error or "").startswith("timed out")


def _key(gold: str, answer: str):
    return _prepare(gold, answer)[1]


@pytest.mark.skipif(threading.current_thread() is not threading.main_thread(), reason="signals need the main thread")
def test_interrupt_while_waiting_does_not_poison_the_next_verdict(one_worker):
    pid = _warm_pid()
    os.kill(pid, signal.SIGSTOP)  # the request below stays unanswered until we interrupt it

    def interrupt(signum, frame):
        raise KeyboardInterrupt

    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.5)
        with pytest.raises(KeyboardInterrupt):
            verify_answer("3+x", "x+3", timeout=30)  # a right answer: its stale "true" must never leak
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
        _resume(pid)
    time.sleep(0.3)  # let a worker that survived write its (stale) reply
    for _ in range(2):
        assert math_reward([r"\boxed{3+x}"], answer=["3x"]) == [0.0]
    assert math_reward([r"\boxed{x+3}"], answer=["3+x"]) == [1.0]
    assert CACHE.get(_key("3x", "3+x")).correct is False


def test_a_worker_killed_while_idle_is_replaced_before_use(one_worker):
    pid = _warm_pid()
    os.kill(pid, signal.SIGKILL)
    _wait_gone(pid)
    verdict = verify_answer("x^2-1", "(x-1)(x+1)")  # the default limit: start-up is not counted
    assert verdict.correct, verdict
    assert pid not in live_worker_pids() and len(live_worker_pids()) == 1


def test_killing_every_worker_of_the_default_pool_costs_no_verdict():
    shutdown_pool()
    clear_cache()
    golds = [f"x^2+{i}x" for i in range(1, 9)]
    assert all(v.correct for v in verify_batch(golds, [f"x(x+{i})" for i in range(1, 9)], timeout=60))
    pids = live_worker_pids()
    for pid in pids:
        os.kill(pid, signal.SIGKILL)
    for pid in pids:
        _wait_gone(pid)
    answers = [f"(x+{i})x" for i in range(1, 9)]
    assert [v.correct for v in verify_batch(golds, answers)] == [True] * 8


def test_a_stopped_worker_costs_one_deadline_per_call_not_per_pair(one_worker):
    pid = _warm_pid()
    golds = [f"x^2+{i}x" for i in range(1, 61)]
    answers = [f"x(x+{i})" for i in range(1, 61)]
    os.kill(pid, signal.SIGSTOP)
    try:
        start = time.monotonic()
        verdicts = verify_batch(golds, answers, timeout=1.0, call_timeout=1.0)
        elapsed = time.monotonic() - start
    finally:
        _resume(pid)
    # every pair waits behind the stopped worker; none may stretch the call past its deadline
    assert elapsed < 1.0 + 1.0, f"{elapsed:.2f} s for a 1 s limit"
    assert all(v.correct or _timed_out(v) for v in verdicts)
    assert any(_timed_out(v) for v in verdicts)
    for gold, answer, verdict in zip(golds, answers, verdicts, strict=True):
        if _timed_out(verdict):
            assert CACHE.get(_key(gold, answer)) is None  # a timeout says nothing about the answer
    assert all(v.correct for v in verify_batch(golds[:10], answers[:10], timeout=60))


def test_a_large_batch_is_not_cut_short_for_its_size(one_worker):
    """`timeout` is per pair: 40 pairs that each need math-verify finish on one worker although
    together they take longer than one pair's limit (a per-call limit of 0.5 s zeroed most)."""
    _warm_pid()
    golds = [f"x^2+{i}x" for i in range(1, 41)]
    answers = [f"x(x+{i})" for i in range(1, 41)]
    start = time.monotonic()
    verdicts = verify_batch(golds, answers, timeout=0.5)
    elapsed = time.monotonic() - start
    assert all(v.correct for v in verdicts), [v.error for v in verdicts if not v.correct][:3]
    assert elapsed > 0.5 or len(verdicts) == 40  # the batch may be fast; what matters is no zero


def test_a_pathological_pair_costs_its_own_limit_not_its_batch(one_worker):
    _warm_pid()
    golds = ["3", *[f"x^2+{i}x" for i in range(1, 6)]]
    answers = [PATHOLOGICAL % 7, *[f"x(x+{i})" for i in range(1, 6)]]
    start = time.monotonic()
    verdicts = verify_batch(golds, answers, timeout=1.0)
    elapsed = time.monotonic() - start
    assert _timed_out(verdicts[0]) and "on this pair" in verdicts[0].error
    assert all(v.correct for v in verdicts[1:]), [v.error for v in verdicts[1:]]
    # one pair's limit, a worker restart and five quick pairs; far below the call's 7 s deadline
    assert elapsed < 1.0 + 5.0, f"{elapsed:.2f} s"


def test_a_reply_to_another_request_is_never_used(one_worker):
    _warm_pid()
    pool = get_pool()
    (slot,) = pool._slots
    restarts = pool.restarts
    # a leftover reply in the pipe, as an interrupted wait used to leave behind
    slot.worker.lines.put(b'{"id": -1, "correct": true, "error": null}\n')
    verdict = verify_answer("3x", "3+x")
    assert not verdict.correct and "expected the reply to request" in verdict.error
    assert pool.restarts == restarts + 1  # that worker was retired
    assert CACHE.get(_key("3x", "3+x")) is None
    again = verify_answer("3x", "3+x")
    assert not again.correct and again.error == "not equivalent to the gold answer"
    assert verify_answer("3x", "x+2x").correct


def test_shutdown_during_a_call_ends_it_and_leaves_no_process(one_worker):
    pid = _warm_pid()
    results = []
    thread = threading.Thread(
        target=lambda: results.append(verify_batch(["3", "x+1"], [PATHOLOGICAL % 3, "1+x"], timeout=60)), daemon=True
    )
    thread.start()
    time.sleep(0.5)
    start = time.monotonic()
    shutdown_pool()
    thread.join(20)
    assert not thread.is_alive() and time.monotonic() - start < 10
    (verdicts,) = results
    assert not verdicts[0].correct and verdicts[0].error
    assert verdicts[1].correct or "shut down" in verdicts[1].error or verdicts[1].error.startswith("math-verify worker")
    assert CACHE.get(_key("3", PATHOLOGICAL % 3)) is None
    _wait_gone(pid)
    assert live_worker_pids() == []
    assert verify_answer("x+1", "1+x").correct  # a later call starts a fresh pool


def test_32_threads_with_a_pathological_pair_each_keep_their_deadline():
    shutdown_pool()
    clear_cache()
    verify_answer("y", "y", timeout=60)  # the pool is up; replacements during the storm still count
    # the margin covers the start-up of the workers that replace the killed ones (seconds on a loaded
    # machine); today's per-pair limit made the slowest call take 32 pathological pairs x 1.5 s / workers
    limit, margin = 1.5, 8.0
    batches = {}
    for i in range(32):
        n = i + 2
        batches[i] = [
            (f"{n}/2", f"{n / 2}", True),  # exact path, never queued
            (f"x^2+{2 * n}x+{n * n}", f"(x+{n})^2", True),
            (f"{n}\\sqrt{{2}}", f"\\sqrt{{{2 * n * n}}}", True),
            (f"x+{n}", f"x-{n}", False),
            (f"{n}", PATHOLOGICAL % n, False),
        ]
    results, elapsed, errors = {}, {}, []

    def work(i: int) -> None:
        golds, answers, _ = zip(*batches[i], strict=True)
        try:
            start = time.monotonic()
            results[i] = verify_batch(list(golds), list(answers), timeout=limit, call_timeout=limit)
            elapsed[i] = time.monotonic() - start
        except Exception as exc:  # re-raised below, in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,), daemon=True) for i in range(32)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(120)
    assert not errors and len(results) == 32
    assert max(elapsed.values()) < limit + margin, sorted(elapsed.values())[-3:]
    for i, verdicts in results.items():
        for (gold, answer, expected), verdict in zip(batches[i], verdicts, strict=True):
            # a verdict is either right or an honest timeout; never another pair's verdict
            assert verdict.correct == expected or _timed_out(verdict), (gold, answer, verdict)
            cached = CACHE.get(_key(gold, answer))
            assert cached is None or cached.correct == expected, (gold, answer, cached)
        assert verdicts[0].correct and verdicts[0].method == "exact"
        assert not verdicts[-1].correct
    # afterwards the pool is healthy: every ordinary pair is right
    plain = [pair for batch in batches.values() for pair in batch[1:4]]
    golds, answers, expected = zip(*plain, strict=True)
    assert [v.correct for v in verify_batch(list(golds), list(answers), timeout=60)] == list(expected)


BAD_TIMEOUTS = [-1, 0, -0.0, math.nan, math.inf, -math.inf, True, False, None, "2", 1j, 10**400]


@pytest.mark.parametrize("timeout", BAD_TIMEOUTS, ids=lambda value: repr(value)[:12])
def test_invalid_timeouts_are_refused_everywhere(timeout):
    calls = [
        lambda: verify_answer("3", "3", timeout=timeout),
        lambda: verify_batch(["3"], ["3"], timeout=timeout),
        lambda: verify_batch([], [], timeout=timeout),
        lambda: score_math("3", "no answer here", timeout=timeout),
        lambda: math_scores(["\\boxed{3}"], answer=["3"], timeout=timeout),
        lambda: math_reward(["\\boxed{3}"], answer=["3"], timeout=timeout),
        lambda: MathTask(timeout=timeout),
        lambda: gym.make("rlvr/Math-v0", timeout=timeout),
    ]
    for call in calls:
        with pytest.raises(ValueError, match="timeout"):
            call()


@given(st.floats(allow_nan=True, allow_infinity=True))
def test_a_timeout_is_accepted_exactly_when_it_is_a_positive_finite_number(timeout):
    valid = math.isfinite(timeout) and 0 < timeout <= 86_400
    try:
        MathTask(timeout=timeout)
    except ValueError as exc:
        assert not valid and "timeout" in str(exc)
    else:
        assert valid


def test_interpreter_exit_does_not_wait_for_a_busy_worker(tmp_path):
    # a daemon thread is mid-request on a pathological pair when the program ends: exit must be
    # quick and leave no worker behind
    code = (
        "import threading, time\n"
        "from rlvr.rewards.math import verify_answer, verify_batch\n"
        "from rlvr.rewards.math.pool import live_worker_pids\n"
        "verify_answer('y', 'y', timeout=60)\n"
        f"threading.Thread(target=verify_batch, args=(['3'], [{PATHOLOGICAL % 2!r}]), kwargs={{'timeout': 60}},"
        " daemon=True).start()\n"
        "time.sleep(1.0)\n"
        "print(*live_worker_pids(), flush=True)\n"
    )
    start = time.monotonic()
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert time.monotonic() - start < 20
    pids = [int(p) for p in result.stdout.split()]
    assert pids
    for pid in pids:
        _wait_gone(pid, within=5.0)
