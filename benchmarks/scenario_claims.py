"""Decide a compare scenario's stated claims on its recorded results.

    python benchmarks/scenario_claims.py scenarios/reward_corruption.yaml \
        benchmarks/results/reward_corruption/results.json [--write]

Prints the scenario's warm-up bar per seed and each hypothesis as held / not held / inconclusive
(`rlvr.training.compare_claims`), decided on the recorded per-seed evaluations, exactly as `rlvr
run` prints them at the end of a run; `--write` also saves them as `claims.md` beside the results
(tests/training/test_comparison_results.py checks every saved one against the results again).
A scenario whose claims change is decided again on the same numbers, with no run.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from rlvr.training.compare import recorded_claims

CLAIMS_FILE = "claims.md"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("scenario", help="the compare scenario (its warmup_bar and hypotheses)")
    parser.add_argument("results", help="the results.json a run of it wrote")
    parser.add_argument("--write", action="store_true", help=f"also write {CLAIMS_FILE} beside the results")
    args = parser.parse_args(argv)
    text = recorded_claims(args.scenario, args.results)
    if not text:
        parser.error(f"{args.scenario} states no warmup_bar or hypotheses")
    print(text, end="")
    if args.write:
        (Path(args.results).parent / CLAIMS_FILE).write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
