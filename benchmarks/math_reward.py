"""Agreement and speed of rlvr's math reward against math-verify alone, on independent labels.

    python benchmarks/math_reward.py [--data dev heldout] [--out benchmarks/results/math_reward.json]

The labelled pairs are `benchmarks/data/math_labels/{dev,heldout}.jsonl`, written by the rule in
`benchmarks/data/math_labels/RULE.md` before the reader they judge was changed. Per file and per
category it prints how often each side agrees with the labels, with false positives (paid for a
wrong answer) and false negatives, and writes the table with versions and machine as JSON.

Speed is measured cold: both sides' result caches are cleared and our worker processes are
restarted before the timed run (their start-up, a one-off, is not counted; math-verify's own
imports are paid before timing on both sides). "ours, one by one" calls `score_math` per pair, as
an env's `step()` does; "ours, batched" calls `math_scores` on the whole file, as a trainer does;
"math-verify" parses and verifies each pair in this process, as its users call it. A pair that costs
math-verify more than a second is pathological: its time is reported apart, and every ratio is
given with and without such pairs, so one slow input cannot make the headline.
"""

from __future__ import annotations

import argparse
import json
import logging
import os
import platform
import subprocess
import sys
import time
from collections import defaultdict
from importlib import metadata
from pathlib import Path

DATA = Path(__file__).with_name("data") / "math_labels"
OUT = Path(__file__).with_name("results") / "math_reward.json"
SLOW_PAIR_S = 1.0


def load(name: str) -> list[dict]:
    path = DATA / f"{name}.jsonl"
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def cold_start() -> None:
    """Clear every result cache on both sides and restart our workers."""
    from math_verify import parser as mv_parser

    from rlvr.rewards.math import clear_cache, shutdown_pool, verify_answer

    shutdown_pool()
    verify_answer("y", "y + 0", timeout=60)  # starts a worker and pays math-verify's imports in it
    for cached in ("parse_latex_cached", "parse_expr_cached"):
        getattr(getattr(mv_parser, cached, None), "cache_clear", lambda: None)()
    clear_cache()


def ours_one_by_one(rows: list[dict]) -> tuple[list[bool], list[float]]:
    from rlvr.rewards.math import score_math

    verdicts, times = [], []
    for row in rows:
        start = time.perf_counter()
        verdicts.append(score_math(row["gold"], row["completion"]).correct)
        times.append(time.perf_counter() - start)
    return verdicts, times


def ours_batched(rows: list[dict]) -> tuple[list[bool], float]:
    from rlvr.rewards.math import math_scores

    start = time.perf_counter()
    scores = math_scores([r["completion"] for r in rows], [r["gold"] for r in rows])
    return [s.correct for s in scores], time.perf_counter() - start


def math_verify_alone(rows: list[dict]) -> tuple[list[bool], list[float]]:
    from math_verify import parse, verify

    verdicts, times = [], []
    for row in rows:
        start = time.perf_counter()
        verdicts.append(bool(verify(parse(f"${row['gold']}$"), parse(row["completion"]))))
        times.append(time.perf_counter() - start)
    return verdicts, times


def agreement(rows: list[dict], verdicts: list[bool]) -> dict:
    labels = [bool(r["label"]) for r in rows]
    pairs = list(zip(verdicts, labels, strict=True))
    return {
        "pairs": len(rows),
        "agree": round(sum(v == lab for v, lab in pairs) / max(1, len(rows)), 4),
        "false_positives": sum(v and not lab for v, lab in pairs),
        "false_negatives": sum(lab and not v for v, lab in pairs),
    }


def by_category(rows: list[dict], ours: list[bool], raw: list[bool]) -> dict:
    groups: dict[str, list[int]] = defaultdict(list)
    for index, row in enumerate(rows):
        groups[row["category"]].append(index)
    table = {}
    for category in sorted(groups):
        subset = [rows[i] for i in groups[category]]
        table[category] = {
            "ours": agreement(subset, [ours[i] for i in groups[category]]),
            "math_verify": agreement(subset, [raw[i] for i in groups[category]]),
        }
    return table


def speed(ours_times: list[float], batch_s: float, raw_times: list[float]) -> dict:
    slow = [i for i, t in enumerate(raw_times) if t > SLOW_PAIR_S]
    kept = [i for i in range(len(raw_times)) if i not in slow]
    raw_kept = sum(raw_times[i] for i in kept)
    ours_kept = sum(ours_times[i] for i in kept)
    return {
        "ours_one_by_one_s": round(sum(ours_times), 3),
        "ours_batched_s": round(batch_s, 3),
        "math_verify_s": round(sum(raw_times), 3),
        "ratio_one_by_one": round(sum(raw_times) / sum(ours_times), 2),
        "ratio_batched": round(sum(raw_times) / batch_s, 2),
        "pathological_pairs": len(slow),
        "pathological_math_verify_s": round(sum(raw_times[i] for i in slow), 3),
        "pathological_ours_s": round(sum(ours_times[i] for i in slow), 3),
        "ratio_one_by_one_without_pathological": round(raw_kept / ours_kept, 2) if ours_kept else None,
    }


def environment() -> dict:
    def version(name: str) -> str | None:
        try:
            return metadata.version(name)
        except metadata.PackageNotFoundError:
            return None

    try:
        commit = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], capture_output=True, text=True, check=False
        ).stdout.strip()
    except OSError:
        commit = ""
    from rlvr.rewards.math.pool import default_size

    return {
        "python": platform.python_version(),
        "rlvr_commit": commit or None,
        "math_verify": version("math-verify"),
        "sympy": version("sympy"),
        "machine": platform.machine(),
        "platform": platform.platform(),
        "cpus": os.cpu_count(),
        "workers": default_size(),
    }


def report(name: str, result: dict) -> None:
    print(f"\n== {name}: {result['pairs']} pairs ==")
    print(f"{'category':<22}{'pairs':>6}{'ours':>8}{'FP':>4}{'FN':>4}{'math-verify':>13}{'FP':>4}{'FN':>4}")
    for category, row in result["categories"].items():
        ours, raw = row["ours"], row["math_verify"]
        worse = "  <- worse than math-verify" if ours["agree"] < raw["agree"] else ""
        print(
            f"{category:<22}{ours['pairs']:>6}{ours['agree']:>8.1%}{ours['false_positives']:>4}"
            f"{ours['false_negatives']:>4}{raw['agree']:>13.1%}{raw['false_positives']:>4}"
            f"{raw['false_negatives']:>4}{worse}"
        )
    ours, raw = result["all"]["ours"], result["all"]["math_verify"]
    print(
        f"{'all':<22}{ours['pairs']:>6}{ours['agree']:>8.1%}{ours['false_positives']:>4}"
        f"{ours['false_negatives']:>4}{raw['agree']:>13.1%}{raw['false_positives']:>4}{raw['false_negatives']:>4}"
    )
    s = result["speed"]
    print(
        f"cold time: ours one by one {s['ours_one_by_one_s']:.2f} s ({s['ratio_one_by_one']:.2f}x math-verify), "
        f"batched {s['ours_batched_s']:.2f} s ({s['ratio_batched']:.2f}x), math-verify {s['math_verify_s']:.2f} s"
    )
    print(
        f"pathological pairs (> {SLOW_PAIR_S:.0f} s for math-verify): {s['pathological_pairs']} costing it "
        f"{s['pathological_math_verify_s']:.2f} s and us {s['pathological_ours_s']:.2f} s; "
        f"one-by-one ratio without them {s['ratio_one_by_one_without_pathological']}x"
    )
    goals = result["goals"]
    print("goals (>= 98% agreement, 0 false positives, no category worse than math-verify): "
          + ", ".join(f"{goal} {'held' if ok else 'NOT held'}" for goal, ok in goals.items()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", nargs="+", default=["dev", "heldout"], help="corpus files to run")
    parser.add_argument("--out", type=Path, default=OUT)
    parser.add_argument("--show-errors", action="store_true", help="list the pairs we get wrong")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # math-verify logs every unparsable string
    sys.setrecursionlimit(max(sys.getrecursionlimit(), 10_000))

    from math_verify import parse, verify

    verify(parse("$y$"), parse("$y$"))  # math-verify's imports, paid once, on neither side's clock
    results = {"environment": environment(), "files": {}}
    for name in args.data:
        rows = load(name)
        cold_start()
        ours, ours_times = ours_one_by_one(rows)
        cold_start()
        batched, batch_s = ours_batched(rows)
        raw, raw_times = math_verify_alone(rows)
        categories = by_category(rows, ours, raw)
        result = {
            "pairs": len(rows),
            "categories": categories,
            "all": {"ours": agreement(rows, ours), "math_verify": agreement(rows, raw)},
            "batched_equals_one_by_one": batched == ours,
            "speed": speed(ours_times, batch_s, raw_times),
        }
        result["goals"] = {
            "agreement": result["all"]["ours"]["agree"] >= 0.98,
            "no_false_positive": result["all"]["ours"]["false_positives"] == 0,
            "no_category_worse": all(c["ours"]["agree"] >= c["math_verify"]["agree"] for c in categories.values()),
        }
        results["files"][name] = result
        report(name, result)
        if args.show_errors:
            for row, verdict in zip(rows, ours, strict=True):
                if verdict != row["label"]:
                    print(f"  {row['id']} label={row['label']} gold={row['gold']!r} tail={row['completion'][-90:]!r}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(results, indent=1) + "\n")
    print(f"\nwrote {args.out}")


if __name__ == "__main__":
    main()
