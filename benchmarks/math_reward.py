"""Speed and agreement of rlvr's math reward against raw math-verify, on labelled pairs.

    python benchmarks/math_reward.py [--quick] [--data benchmarks/data/math_pairs.jsonl]

Each line of the data file is {"gold", "response", "label", "category"}: `label` is the true
mathematical judgement (answer hacking and malformed responses are labelled false), `category`
is "numeric" (plain numbers), "latex" or "other" (sets, intervals, units, words, text).

Both sides start with cold caches. Ours: `math_scores` (extraction + `verify_batch`, worker pool
already started, since its one-off start-up is not per-pair cost). Raw: math-verify `parse` of
the response and of `$gold$`, then `verify`, in the main thread with default settings (its
signal-based timeouts work there). Prints pairs/s, the speed ratio, agreement with the labels
and false positives for each category.
"""

from __future__ import annotations

import argparse
import json
import logging
import time
from pathlib import Path

DATA = Path(__file__).with_name("data") / "math_pairs.jsonl"
CATEGORIES = ("numeric", "latex", "other")


def load(path: Path, quick: bool) -> list[dict]:
    rows = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
    return rows[::3] if quick else rows


def run_ours(rows: list[dict]) -> tuple[float, list[bool]]:
    from rlvr.rewards.math import clear_cache, math_scores

    clear_cache()
    start = time.perf_counter()
    scores = math_scores([r["response"] for r in rows], [r["gold"] for r in rows])
    elapsed = time.perf_counter() - start
    return elapsed, [s.correct for s in scores]


def run_math_verify(rows: list[dict]) -> tuple[float, list[bool]]:
    from math_verify import parse, verify
    from math_verify import parser as mv_parser

    for cached in ("parse_latex_cached", "parse_expr_cached"):
        getattr(getattr(mv_parser, cached, None), "cache_clear", lambda: None)()
    start = time.perf_counter()
    verdicts = []
    for row in rows:
        gold = parse(f"${row['gold']}$")
        answer = parse(row["response"])
        verdicts.append(bool(verify(gold, answer)))
    return time.perf_counter() - start, verdicts


def quality(rows: list[dict], verdicts: list[bool]) -> tuple[float, int, int]:
    labels = [bool(r["label"]) for r in rows]
    agree = sum(v == lab for v, lab in zip(verdicts, labels, strict=True)) / max(1, len(rows))
    false_pos = sum(v and not lab for v, lab in zip(verdicts, labels, strict=True))
    false_neg = sum(lab and not v for v, lab in zip(verdicts, labels, strict=True))
    return agree, false_pos, false_neg


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DATA)
    parser.add_argument("--quick", action="store_true", help="every third pair only")
    parser.add_argument("--show-errors", action="store_true", help="list the pairs each side gets wrong")
    args = parser.parse_args()
    logging.disable(logging.CRITICAL)  # math-verify logs every unparsable string

    from rlvr.rewards.math import verify_batch
    from rlvr.rewards.math.pool import default_size

    rows = load(args.data, args.quick)
    # One-off costs are not per-pair costs: start every worker and let both sides run the same
    # warm-up pairs once (lazy imports, grammar building), with answers no benchmark pair uses.
    # The result caches are cleared again before each timed run.
    warm_golds = [f"\\frac{{\\sqrt{{{i + 2}}}}}{{y}}" for i in range(4 * default_size())]
    warm_answers = [f"\\sqrt{{{i + 2}}} / y" for i in range(4 * default_size())]
    warm = [
        ("\\{y, 2\\}", "\\{2, y\\}"),
        ("(y, \\infty)", "z > y"),
        ("y^2-1", "(y-1)(y+1)"),
        ("\\text{(C)}", "C"),
        ("y^2+4y+4", "(y+2)^2"),
        ("\\log_3 9", "2"),
        ("3\\sqrt{2}", "\\sqrt{18}"),
        ("\\cos(0)", "1"),
        ("e^{3}", "e^3"),
        ("\\frac{\\pi}{3}", "60^\\circ"),
        ("\\binom{6}{3}", "20"),
        ("\\sqrt[3]{27}", "3"),
        ("2^{5}", "32"),
        ("\\frac{y}{3}", "y/3"),
        ("\\frac{\\sqrt{5}}{5}", "\\frac{1}{\\sqrt{5}}"),
        ("5!", "120"),
    ]
    warm_golds += [g for g, _ in warm]
    warm_answers += [a for _, a in warm]
    verify_batch(warm_golds, warm_answers, timeout=60)
    run_math_verify(
        [{"gold": g, "response": f"${a}$"} for g, a in zip(warm_golds, warm_answers, strict=True)]
    )

    header = f"{'category':<9}{'pairs':>6}{'ours p/s':>11}{'raw p/s':>10}{'speed-up':>10}"
    header += f"{'agree ours':>12}{'agree raw':>11}{'FP ours':>9}{'FP raw':>8}{'FN ours':>9}{'FN raw':>8}"
    print(header)
    print("-" * len(header))
    wrong: list[str] = []
    for category in (*CATEGORIES, "all"):
        subset = [r for r in rows if category in ("all", r["category"])]
        if not subset:
            continue
        ours_time, ours = run_ours(subset)
        raw_time, raw = run_math_verify(subset)
        ours_q, raw_q = quality(subset, ours), quality(subset, raw)
        print(
            f"{category:<9}{len(subset):>6}{len(subset) / ours_time:>11.0f}{len(subset) / raw_time:>10.0f}"
            f"{raw_time / ours_time:>9.1f}x{ours_q[0]:>12.1%}{raw_q[0]:>11.1%}"
            f"{ours_q[1]:>9}{raw_q[1]:>8}{ours_q[2]:>9}{raw_q[2]:>8}"
        )
        if category == "all":
            for row, mine, theirs in zip(subset, ours, raw, strict=True):
                if mine != row["label"] or theirs != row["label"]:
                    wrong.append(
                        f"label={row['label']!s:<5} ours={mine!s:<5} raw={theirs!s:<5} "
                        f"gold={row['gold']!r} response={row['response'][-70:]!r}"
                    )
    print("\nFP = false positives (scored right, truly wrong); FN = false negatives.")
    print("Goals: speed-up >= 50x on numeric, >= 0.9x on latex; no false positives for ours.")
    if args.show_errors:
        print("\n".join(wrong))


if __name__ == "__main__":
    main()
