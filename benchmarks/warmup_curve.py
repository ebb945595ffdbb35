"""How far a scenario's SFT warm-up gets within a time budget: loss and greedy accuracy by step.

    python benchmarks/warmup_curve.py SCENARIO [--set KEY=VALUE ...] [--minutes 30]
        [--check-every 200] [--check-problems 100] [--out FILE.json]

SCENARIO is a training config or a compare scenario (its `base` is used). The warm-up is the
trainer's own (`rlvr.training.sft.run_sft` on the config's `sft_*` settings and train stream);
it runs until `sft_steps` or `--minutes` of wall time, whichever comes first, and every
`--check-every` steps answers `--check-problems` train-split problems greedily (a stream of their own,
never the training batches) with the run's `max_new_tokens`. Before a comparison is run, this says
whether its warm-up can reach the sampled-pass@1 bar at all on this machine, and at what cost.

The JSON records the loss (mean over each check interval), the greedy accuracy and the seconds at
every check, one response against its gold solution, the settings, and versions and machine
(`environment`); it is rewritten after every check (`finished` false until the end), so a run
stopped early keeps its curve. Seconds are wall time on a possibly shared machine: compare them within one file.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path
from typing import Any

import yaml

from rlvr.training.builders import build_policy, build_task
from rlvr.training.config import load_config, parse_override
from rlvr.training.evaluate import evaluate
from rlvr.training.rollout import ProblemStream
from rlvr.training.run_files import record_environment
from rlvr.training.sft import run_sft

CHECK_STREAM_OFFSET = 7_777
"""The check problems' stream is seed + this: train-split problems the warm-up never draws."""


def scenario_config(path: str, overrides: list[str]) -> Any:
    """The training config of `path` (a compare scenario's `base`) with `--set` overrides."""
    raw = yaml.safe_load(Path(path).read_text()) or {}
    values = dict(raw.get("base") or {}) if raw.get("experiment") == "compare" else raw
    values.update(dict(parse_override(item) for item in overrides))
    return load_config(values)


def warmup_curve(config: Any, minutes: float, check_every: int, check_problems: int,
                 on_check: Any = None) -> dict[str, Any]:
    """Run the warm-up and return the curve (module doc); `on_check(curve)` after every check."""
    import torch

    if config.num_threads:
        torch.set_num_threads(config.num_threads)
    task, policy = build_task(config), build_policy(config)
    stream = ProblemStream(task, config.seed, config.difficulty, "train")
    checks = ProblemStream(task, config.seed + CHECK_STREAM_OFFSET, config.difficulty, "train").distinct(check_problems)
    curve: list[dict[str, Any]] = []
    interval: list[float] = []
    start = time.perf_counter()

    def on_step(step: int, loss: float) -> None:
        interval.append(loss)
        if step % check_every:
            return
        seconds = time.perf_counter() - start
        metrics = evaluate(policy, task, checks, max_new_tokens=config.max_new_tokens)
        policy.model.train()  # evaluate restores the mode it found, but run_sft set train before
        curve.append({"step": step, "seconds": round(seconds, 1), "loss": sum(interval) / len(interval),
                      "greedy_accuracy": metrics["greedy_accuracy"]})
        interval.clear()
        print(json.dumps(curve[-1]), flush=True)
        if on_check is not None:
            on_check(curve)

    run_sft(policy, task, stream, config.sft_steps, lr=config.sft_lr, batch_size=config.sft_batch_size,
            weight_decay=config.weight_decay, max_grad_norm=config.max_grad_norm, target=config.sft_target,
            on_step=on_step, stop_after_s=60.0 * minutes)
    example = checks[0]
    response = policy.sample([example.prompt], 1, max_new_tokens=config.max_new_tokens, temperature=0.0).texts[0]
    return {"curve": curve, "example": {"prompt": example.prompt, "response": response,
                                        "gold": task.solve(example)}}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("scenario")
    parser.add_argument("--set", action="append", default=[], metavar="KEY=VALUE")
    parser.add_argument("--minutes", type=float, default=30.0)
    parser.add_argument("--check-every", type=int, default=200)
    parser.add_argument("--check-problems", type=int, default=100)
    parser.add_argument("--out", type=Path, default=None)
    args = parser.parse_args(argv)
    config = scenario_config(args.scenario, args.set)
    with tempfile.TemporaryDirectory() as folder:
        environment = record_environment(folder)
    record = {"scenario": args.scenario, "overrides": args.set, "minutes": args.minutes,
              "check_every": args.check_every, "check_problems": args.check_problems,
              "config": config.to_dict(), "environment": environment}

    def write(curve: list[dict[str, Any]], finished: bool = False) -> None:
        # after every check, so a run stopped early still leaves its curve
        if args.out is not None:
            args.out.parent.mkdir(parents=True, exist_ok=True)
            args.out.write_text(json.dumps({**record, "finished": finished, "curve": curve}, indent=2))

    result = warmup_curve(config, args.minutes, args.check_every, args.check_problems, on_check=write)
    record.update(result)
    write(result["curve"], finished=True)
    return {**record, "finished": True}


if __name__ == "__main__":
    main()
