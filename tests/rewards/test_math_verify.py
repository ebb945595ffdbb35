"""Verification: exact, structural and math-verify paths, hostile inputs, time limits, cache."""

import threading
import time

import pytest

from rlvr.rewards.math import score_math, verify_answer, verify_batch
from rlvr.rewards.math.pool import get_pool
from rlvr.rewards.math.verify import _LRU, CACHE, clear_cache

EQUIVALENT = [
    ("1/3", "0.\\overline{3}", "exact"),
    ("12", "twelve", "exact"),
    ("1200", "1.2e3", "exact"),
    ("\\frac{1}{2}", "0.5", "exact"),
    ("5", "5 \\text{ cm}", "exact"),
    ("5", "5 cm", "exact"),
    ("30", "30^\\circ", "exact"),
    ("50", "50\\%", "exact"),
    ("0.5", "50\\%", "exact"),
    ("5", "x = 5", "exact"),
    ("(1/2, 3)", "\\left(\\frac12, 3\\right)", "structural"),
    ("(-\\infty, 3)", "x < 3", "structural"),
    ("x < 3", "(-\\infty, 3)", "structural"),
    ("[2, \\infty)", "x \\geq 2", "structural"),
    ("(1, 5]", "1 < x \\le 5", "structural"),
    ("\\emptyset", "\\varnothing", "structural"),
    ("\\{1, 2\\}", "\\{2, 1\\}", "structural"),
    ("1, 2", "2, 1", "structural"),
    ("x^2+2x+1", "(x+1)^2", "math_verify"),
    ("2\\sqrt{3}", "\\sqrt{12}", "math_verify"),
    ("(-\\infty, \\sqrt{2})", "x < \\sqrt{2}", "math_verify"),
]
NOT_EQUIVALENT = [
    ("\\frac{1}{2004!}", "\\frac{1}{2006!}"),
    ("1/3", "0.333"),
    ("12", "12.5"),
    ("25", "20\\%"),
    ("(-\\infty, 3)", "(-\\infty, 3]"),
    ("(-\\infty, 3)", "x > 3"),
    ("\\{1, 2\\}", "\\{1, 3\\}"),
    ("(2, 3)", "(3, 2)"),
    ("x^2+2x+1", "(x-1)^2"),
    ("\\sqrt{2}", "1.41"),
    ("5", "5 x"),  # a single letter is a variable, not a unit
    ("5", "5 pi"),
]


@pytest.mark.parametrize(("gold", "answer", "method"), EQUIVALENT)
def test_equivalences(gold, answer, method):
    verdict = verify_answer(gold, answer)
    assert verdict.correct, verdict
    assert verdict.method.endswith(method)


@pytest.mark.parametrize(("gold", "answer"), NOT_EQUIVALENT)
def test_no_false_positives(gold, answer):
    verdict = verify_answer(gold, answer)
    assert not verdict.correct
    assert verdict.error


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("3, 4", "several values"),
        ("3 and 4", "several values"),
        ("3 or 4", "hedged"),
        ("either 3 or 4", "hedged"),
    ],
)
def test_answer_hacking_is_refused(answer, reason):
    verdict = verify_answer("3", answer)
    assert not verdict.correct and reason in verdict.error


HOSTILE = {
    "power tower": "9^9^9^9",
    "division by zero": "\\frac{1}{0}",
    "one megabyte": "7" * 1_000_000,
    "deep brackets": "(" * 10_000 + ")" * 10_000,
    "lone surrogate": "\ud800",
    "code": "__import__('os').system('echo hi')",
    "empty": "",
}


@pytest.mark.parametrize("name", sorted(HOSTILE))
def test_hostile_inputs_score_zero_and_leave_things_healthy(name):
    text = HOSTILE[name]
    for response in (text, f"\\boxed{{{text}}}", f"Answer: {text}"):
        start = time.perf_counter()
        score = score_math("3", response, timeout=2.0)
        assert time.perf_counter() - start < 10
        assert score.reward == 0.0 and score.error
    verdict = verify_answer("3", text, timeout=2.0)
    assert not verdict.correct and verdict.error
    assert score_math("3", "so \\boxed{3}").reward == 1.0
    assert verify_answer("2\\sqrt{3}", "\\sqrt{12}").correct  # the worker pool still answers


def test_model_output_is_never_run(tmp_path):
    marker = tmp_path / "ran"
    payload = f"__import__('os').system('touch {marker}')"
    for gold in ("3", "x", "\\{1\\}"):
        verify_answer(gold, payload)
        score_math(gold, f"\\boxed{{{payload}}}")
        get_pool().run(gold, payload, 10.0)  # straight to math-verify, no fast path in front
    assert not marker.exists()


def test_timeout_kills_the_worker_and_the_next_call_works():
    pool = get_pool()
    clear_cache()
    verify_answer("y", "y")  # make sure a worker is up, so the limit measures work only
    restarts = pool.restarts
    start = time.perf_counter()
    verdict = verify_answer("3", "9^{9^{9^{9}}}+\\sqrt{2}", timeout=1.0)
    assert time.perf_counter() - start < 6
    assert verdict.error.startswith("timed out") and not verdict.correct
    assert pool.restarts == restarts + 1
    assert verify_answer("x^2-1", "(x-1)(x+1)").correct
    # a timeout is not cached: it depends on load, not on the answer
    assert ("3", "9^{9^{9^{9}}}+\\sqrt{2}") not in CACHE._data


def test_verify_batch_from_several_threads():
    golds = ["x^2+2x+1", "2\\sqrt{3}", "\\frac{1}{2}", "(-\\infty, 3)", "w+1", "4"]
    answers = ["(x+1)^2", "\\sqrt{6}", "0.5", "x < 3", "1+w", "\\sqrt{16}"]
    expected = [True, False, True, True, True, True]
    results: list = []
    errors: list = []

    def work(offset: int) -> None:
        try:
            # distinct variable names per thread so that each one really reaches the workers
            mine = [g.replace("w", f"w_{offset}") for g in golds]
            theirs = [a.replace("w", f"w_{offset}") for a in answers]
            results.append([v.correct for v in verify_batch(mine, theirs, timeout=30)])
        except Exception as exc:  # collected and re-raised in the main thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    assert results == [expected] * 4


def test_verify_batch_matches_verify_answer_and_checks_lengths():
    golds = ["3", "3", "\\frac{1}{2}", "3"]
    answers = ["3", "4", "\\dfrac12", "3 or 4"]
    assert [v.correct for v in verify_batch(golds, answers)] == [
        verify_answer(g, a).correct for g, a in zip(golds, answers, strict=True)
    ]
    with pytest.raises(ValueError, match="as many golds as answers"):
        verify_batch(["1"], [])


def test_cache_is_keyed_by_normalised_answer():
    clear_cache()
    first = verify_answer("z^2+2z+1", "(z+1)^2")
    hits = CACHE.hits
    second = verify_answer("z^2+2z+1", "\\left(z+1\\right)^2")  # same answer once normalised
    assert first == second and CACHE.hits == hits + 1
    verify_answer("z^2+2z+2", "(z+1)^2")  # another gold is another key
    assert CACHE.hits == hits + 1


def test_lru_is_bounded_and_keeps_recent_entries():
    lru = _LRU(3)
    verdict = verify_answer("1", "1")
    for i in range(3):
        lru.put(("g", str(i)), verdict)
    lru.get(("g", "0"))  # touch the oldest, so "1" becomes least recently used
    lru.put(("g", "3"), verdict)
    assert len(lru) == 3
    assert lru.get(("g", "1")) is None and lru.get(("g", "0")) is verdict
