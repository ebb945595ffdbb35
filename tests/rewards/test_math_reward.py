"""TRL-shaped math rewards, arbitrary text, and the worker pool's lifecycle."""

import multiprocessing
import os
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.core import Score
from rlvr.rewards import math_reward
from rlvr.rewards.math import math_scores, score_math, shutdown_pool, verify_answer
from rlvr.rewards.math.pool import get_pool, live_worker_pids


def test_math_reward_shapes():
    completions = [
        "We get $\\boxed{\\frac{1}{2}}$.",
        [{"role": "user", "content": "?"}, {"role": "assistant", "content": "Answer: 0.5"}],
        [{"role": "assistant", "content": [{"type": "text", "text": "\\boxed{1/3}"}]}],
        "I think 3 or 4",
        None,
    ]
    assert math_reward(completions, answer=["1/2", "1/2", "1/2", "3", "1"], prompts=["p"] * 5) == [
        1.0,
        1.0,
        0.0,
        0.0,
        0.0,
    ]


def test_scores_carry_components_and_reasons():
    good, hedged, missing = math_scores(["\\boxed{7}", "Answer: 7 or 8", "no idea"], answer=["7", "7", "7"])
    assert good == Score(1.0, {"correct": 1.0, "format": 1.0}, "7", None)
    assert hedged.reward == 0.0 and hedged.error == "hedged answer" and hedged.parsed_answer == "7 or 8"
    assert missing.components == {"correct": 0.0, "format": 0.0} and missing.error == "no answer found"
    assert score_math("x = 1 or x = 2", "Answer: x = 1 or x = 2").error != "hedged answer"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text())
def test_any_text_gets_a_score_in_time(text):
    start = time.perf_counter()
    score = score_math("3", text, timeout=2.0)
    assert time.perf_counter() - start < 8
    assert isinstance(score, Score) and 0.0 <= score.reward <= 1.0
    assert score.reward == 0.0 or score.error is None


def _run(code: str) -> str:
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True
    )
    return result.stdout.strip()


def test_no_process_and_no_sympy_at_import_or_on_the_exact_path():
    out = _run(
        "import sys, rlvr.rewards; from rlvr.rewards.math import score_math;"
        "from rlvr.rewards.math.pool import live_worker_pids;"
        "print(live_worker_pids(), 'sympy' in sys.modules, 'math_verify' in sys.modules);"
        "score_math('1/2', '\\\\boxed{0.5}');"
        "print(live_worker_pids(), 'sympy' in sys.modules, 'math_verify' in sys.modules)"
    )
    assert out.splitlines() == ["[] False False", "[] False False"]


def test_shutdown_stops_workers_and_a_later_call_restarts():
    assert verify_answer("w^2-1", "(w-1)(w+1)").correct
    pids = live_worker_pids()
    assert pids
    shutdown_pool()
    for pid in pids:
        # the workers were reaped: their ids no longer name our children
        stat = Path(f"/proc/{pid}/stat")
        assert not stat.exists() or stat.read_text().split()[3] != str(os.getpid())
    assert verify_answer("w^2-4", "(w-2)(w+2)").correct
    assert get_pool() is get_pool()


def _score_in_child(queue) -> None:
    from rlvr.rewards.math import verify_answer as verify_in_child

    queue.put(verify_in_child("v^2-9", "(v-3)(v+3)", timeout=30).correct)


def test_works_inside_a_daemonic_spawned_process():
    # Gymnasium's AsyncVectorEnv runs envs in daemonic processes, which may not have
    # multiprocessing children; our workers are plain subprocesses, so they still start
    context = multiprocessing.get_context("spawn")
    queue = context.Queue()
    child = context.Process(target=_score_in_child, args=(queue,), daemon=True)
    child.start()
    assert queue.get(timeout=120) is True
    child.join(30)
    assert child.exitcode == 0
