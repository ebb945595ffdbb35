"""A run killed mid-step, for exact-resume tests: the stand-in for a kill -9 that the tests share."""

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
