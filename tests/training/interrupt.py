"""A run killed mid-step, for exact-resume tests: the stand-in for a kill -9 that the tests share; and
the recorded earlier runs that regression tests repeat, as this machine's CPU makes them."""

from __future__ import annotations

import pytest

from rlvr.training.trainer import Trainer


class Killed(Exception):
    """Stands for a kill -9 in the middle of an RL step."""


def run_until_killed(config, monkeypatch, *, steps_done: int = 3) -> None:
    """Train `config` and die inside the step after `steps_done` steps (the newest checkpoint is
    whatever `checkpoint_every` left before it)."""
    real = Trainer.rl_step

    def dies(self):
        if self.step == steps_done:
            raise Killed
        return real(self)

    with monkeypatch.context() as patch:
        patch.setattr(Trainer, "rl_step", dies)
        with pytest.raises(Killed):
            Trainer(config).train()


def recorded_here(before: dict, run: str) -> dict:
    """Run `run` of a recording of earlier runs (`tests/training/data/*_before.json`), its lines as this
    machine's CPU makes them: a CPU whose torch capability has lines of its own
    (`by_cpu_capability`, e.g. AVX2, where floats round differently) compares with those."""
    import torch

    own = before.get("by_cpu_capability", {}).get(torch.backends.cpu.get_cpu_capability())
    return before["runs"][run] if own is None else {**before["runs"][run], "lines": own[run]}
