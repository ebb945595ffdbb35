"""The honest comparison for an RL run: the same starting model trained by SFT alone for the
same wall time.

Early in training, more supervised steps on oracle answers can buy as much as RL does; printing
both keeps the quickstart's claim about RL honest.
"""

from __future__ import annotations

import dataclasses
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from rlvr.training.config import TrainConfig

MAX_BASELINE_STEPS = 10**9
"""Step cap of the baseline's SFT loop; the wall-time limit ends it first."""


def sft_only_baseline(config: TrainConfig, seconds: float, trainer_class: Callable[[TrainConfig], Any]) -> dict[str, Any]:
    """SFT from the run's own starting point (same seed, same model) for `seconds`, then the same
    held-out evaluation as the run; returns its figures. `trainer_class` is the run's trainer (the
    caller passes it, so this module does not import the trainer that imports it)."""
    baseline_config = dataclasses.replace(
        config, out_dir=str(Path(config.out_dir) / "sft_only"), sft_baseline=False, resume=False
    )
    trainer = trainer_class(baseline_config)
    start = time.perf_counter()
    losses = trainer.warm_up(MAX_BASELINE_STEPS, stop_after_s=seconds)
    elapsed = time.perf_counter() - start
    metrics = trainer.evaluate("sft_only", with_samples=True)
    return {
        "sft_only_steps": len(losses),
        "sft_only_s": elapsed,
        "greedy_accuracy_sft_only": metrics["greedy_accuracy"],
        "sft_only": metrics,
    }
