"""Samplers in the trainer, exactly: `stream` repeats the runs the loop made before samplers were
plug-ins, and a run with the `variance` sampler killed mid-run resumes to the uninterrupted run's
numbers (and would not without the sampler's state)."""

from __future__ import annotations

import json
import platform
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from rlvr.training.samplers import Variance  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.interrupt import recorded_here, run_until_killed  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402

BEFORE = json.loads((Path(__file__).parent / "data" / "stream_sampler_before.json").read_text())


def _untimed(line):
    return {key: value for key, value in line.items() if not (key.startswith("time") or key.endswith("per_s"))}


@pytest.mark.parametrize("run", sorted(BEFORE["runs"]))
def test_the_stream_sampler_repeats_the_runs_made_before_samplers(tmp_path, run):
    versions = (torch.__version__, transformers.__version__, platform.machine())
    if versions != (BEFORE["torch"], BEFORE["transformers"], BEFORE["machine"]):
        pytest.skip(f"recorded on torch {BEFORE['torch']}, transformers {BEFORE['transformers']}, "
                    f"{BEFORE['machine']}; here {versions}: floats may round differently")
    expected = recorded_here(BEFORE, run)
    Trainer(small_config(tmp_path, *expected["overrides"], "sampler=stream")).train()
    lines = [json.loads(line) for line in (tmp_path / "metrics.jsonl").read_text().splitlines()]
    assert len(lines) == len(expected["lines"])
    for got, want in zip(lines, expected["lines"], strict=True):
        if "eval" in want:  # evaluation lines may gain metrics; the ones recorded must not move
            assert {key: got.get(key) for key in want} == want
        else:  # a step line is the same line, nothing added by the sampler (the entropy came later)
            assert {key: value for key, value in _untimed(got).items() if key != "entropy"} == want
            assert "entropy" in got


# ---- exact resume after a kill, with the variance sampler ---------------------------------------------------

RESUME = ["difficulty={num_ops: 1, operators: ['+'], min_operand: 0, max_operand: 4}", "max_new_tokens=3",
          "sft_steps=100", "sft_batch_size=32", "sft_lr=3e-3", "lr=5e-4", "eval_every=0", "checkpoint_every=2",
          "rl_steps=6", "sampler=variance", "sampler_settings={share: 0.5, pool_size: 16}", "tensorboard=false"]
COMPARED = ("reward_mean", "accuracy", "loss", "grad_norm", "mean_length", "sampler_reused", "sampler_pool")


def _killed_then_resumed(path, monkeypatch):
    run_until_killed(small_config(path, *RESUME), monkeypatch)
    assert [line["step"] for line in step_lines(path)] == [1, 2, 3]
    resumed = Trainer(small_config(path, *RESUME, "resume=true"))
    resumed.train()
    return step_lines(path), resumed


@pytest.fixture(scope="module")
def straight(tmp_path_factory):
    path = tmp_path_factory.mktemp("straight")
    trainer = Trainer(small_config(path, *RESUME))
    trainer.train()
    return step_lines(path), trainer


def test_a_killed_variance_run_resumes_to_the_same_numbers(tmp_path, monkeypatch, straight):
    lines, resumed = _killed_then_resumed(tmp_path, monkeypatch)
    one, trainer = straight
    assert [line["step"] for line in lines] == [1, 2, 3, 4, 5, 6]
    assert [[line[key] for key in COMPARED] for line in lines] == [[line[key] for key in COMPARED] for line in one]
    assert sum(line["sampler_reused"] for line in one[2:]) > 0  # the pool was used after the resume point
    assert resumed.sampler.state_dict() == trainer.sampler.state_dict()
    saved = torch.load(tmp_path / "checkpoint.pt", weights_only=True)["sampler"]
    assert saved == trainer.sampler.state_dict() and len(saved["ids"]) > 0


def test_without_its_state_the_resumed_run_differs(tmp_path, monkeypatch, straight):
    """The control: a sampler that saves no state resumes with an empty pool, so the check above can fail."""
    monkeypatch.setattr(Variance, "state_dict", lambda self: {})
    lines, _ = _killed_then_resumed(tmp_path, monkeypatch)
    one, _ = straight
    same = [[line[key] for key in COMPARED] == [other[key] for key in COMPARED] for line, other in zip(lines, one,
                                                                                                       strict=True)]
    assert same[:2] == [True, True] and not all(same[2:])
