"""The math-verify worker: a separate Python process that reads JSON requests on stdin and
writes one JSON line per request on stdout.

Request: {"id": int, "gold": str, "answer": str}. Reply: {"id": <the request's id>, "correct": bool,
"error": str | null}. The id lets the parent prove that a reply answers the request it just sent
(and not an earlier one it gave up on); the worker only echoes it.
math-verify runs here with its own signal-based timeouts switched off; the parent process
enforces the wall-clock limit by killing this process. The file is run by path (see `pool.py`)
and imports only the standard library and math-verify, so a worker never imports rlvr or the
caller's `__main__`.
"""

from __future__ import annotations

import json
import os
import sys

MEMORY_LIMIT_BYTES = int(os.environ.get("RLVR_MATH_WORKER_MEMORY", str(4 * 1024**3)))


def _limit_memory() -> None:
    # a runaway sympy computation should fail with MemoryError here, not swap the machine
    try:
        import resource

        resource.setrlimit(resource.RLIMIT_AS, (MEMORY_LIMIT_BYTES, MEMORY_LIMIT_BYTES))
    except (ImportError, ValueError, OSError):
        pass


def _judge(parse_gold, parse, verify, config: list, gold: str, answer: str) -> dict:
    gold_parsed = parse_gold(gold)
    if not gold_parsed:
        return {"correct": False, "error": "math-verify could not parse the gold answer"}
    answer_parsed = parse(f"${answer}$", config, parsing_timeout=None)
    if not answer_parsed:
        return {"correct": False, "error": "math-verify could not parse the answer"}
    correct = bool(verify(gold_parsed, answer_parsed, timeout_seconds=None))
    return {"correct": correct, "error": None if correct else "not equivalent to the gold answer"}


def main() -> None:
    import contextlib
    import functools
    import logging
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent decides when a worker stops
    _limit_memory()
    # the protocol owns the real stdout; anything a library prints goes to stderr instead
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w", encoding="utf-8", errors="surrogatepass")
    sys.stdout = sys.stderr
    logging.disable(logging.CRITICAL)
    from math_verify import LatexExtractionConfig, parse, verify

    # LaTeX extraction only: math-verify's plain-expression extraction goes through sympy's
    # parse_expr, which evaluates Python code; the LaTeX parser never does
    config = [LatexExtractionConfig()]

    # a training batch scores many completions of one problem: parse each gold once
    @functools.lru_cache(maxsize=4096)
    def parse_gold(gold: str) -> list:
        return parse(f"${gold}$", config, parsing_timeout=None)

    # the first parse and verify load the LaTeX grammar and more of sympy (about as long as the
    # imports): do that before saying ready, so start-up is not charged to a request's time limit
    # (a warm-up that fails only means the first request pays for the loading)
    with contextlib.suppress(Exception):
        warm = [parse(text, config, parsing_timeout=None) for text in ("$x^2+x$", "$x(x+1)$")]
        verify(warm[0], warm[1], timeout_seconds=None)
    protocol.write('{"ready": true}\n')
    protocol.flush()
    for line in sys.stdin:
        request_id = None
        try:
            request = json.loads(line)
            request_id = request.get("id")
            reply = _judge(parse_gold, parse, verify, config, str(request["gold"]), str(request["answer"]))
        except MemoryError:
            reply = {"correct": False, "error": "math-verify ran out of memory"}
        except RecursionError:
            reply = {"correct": False, "error": "math-verify hit the recursion limit"}
        except Exception as exc:  # any failure of the parser is a zero score, not a dead worker
            reply = {"correct": False, "error": f"math-verify failed: {type(exc).__name__}"}
        reply["id"] = request_id
        protocol.write(json.dumps(reply) + "\n")
        protocol.flush()


if __name__ == "__main__":
    main()
