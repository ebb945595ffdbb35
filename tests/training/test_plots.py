"""Curve plots: the PNGs of a synthetic run, a run without RL steps, and the generic curve helper."""

from __future__ import annotations

import json
import math
import struct
import sys

import pytest

from rlvr.training.plots import moving_average, plot_curves, plot_run

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def png_size(path) -> tuple[int, int]:
    """(width, height) from the PNG header; fails unless the file is a PNG."""
    data = path.read_bytes()
    assert data[:8] == PNG_SIGNATURE, f"{path.name} is not a PNG"
    assert data[12:16] == b"IHDR"
    return struct.unpack(">II", data[16:24])


def assert_sensible_png(path) -> None:
    width, height = png_size(path)
    assert 300 <= width <= 3000 and 200 <= height <= 2000, (path.name, width, height)
    assert path.stat().st_size > 5_000  # axes, curves and text, not a blank canvas


def write_run(run_dir, num_steps: int, evals: bool = True) -> None:
    lines = []
    if evals:
        lines.append({"eval": "after_sft", "step": 0, "greedy_accuracy": 0.3, "pass@4": 0.5})
    for step in range(1, num_steps + 1):
        lines.append({
            "step": step, "reward_mean": 0.3 + 0.5 * step / max(num_steps, 1), "accuracy": 0.25 + 0.5 * step / max(num_steps, 1),
            "loss": 0.05 * math.sin(step), "grad_norm": math.nan if step == 2 else 1.0 / step,
            "samples_per_s": 50.0 + step % 7, "time_total": 1.0, "time_problems": 0.01,
            "time_sampling": 0.6, "time_scoring": 0.05, "time_fwd_bwd": 0.2, "time_optimizer": 0.04,
        })
        if evals and step % 10 == 0 and step < num_steps:
            lines.append({"eval": "rl", "step": step, "greedy_accuracy": 0.3 + 0.004 * step})
    if evals:
        lines.append({"eval": "final", "step": num_steps, "greedy_accuracy": 0.6, "pass@4": 0.8})
    run_dir.mkdir(parents=True, exist_ok=True)
    (run_dir / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))


EVERY_PLOT = ["reward_accuracy.png", "heldout_accuracy.png", "loss_grad_norm.png", "throughput.png",
              "time_breakdown.png"]


def test_plot_run_writes_every_plot_for_a_long_run(tmp_path):
    pytest.importorskip("matplotlib")
    write_run(tmp_path, num_steps=80)
    paths = plot_run(tmp_path)
    assert [path.name for path in paths] == EVERY_PLOT
    for path in paths:
        assert path.parent == tmp_path / "plots"
        assert_sensible_png(path)
    assert png_size(paths[0])[0] > png_size(paths[1])[0]  # two panels side by side are wider than one


def test_plot_run_handles_a_single_step_without_evaluations(tmp_path):
    pytest.importorskip("matplotlib")
    write_run(tmp_path, num_steps=1, evals=False)
    paths = plot_run(tmp_path)
    assert [path.name for path in paths] == [name for name in EVERY_PLOT if name != "heldout_accuracy.png"]
    for path in paths:
        assert_sensible_png(path)


def test_plot_run_without_rl_steps_draws_the_heldout_plot_only(tmp_path):
    pytest.importorskip("matplotlib")
    write_run(tmp_path, num_steps=0)
    paths = plot_run(tmp_path)
    assert [path.name for path in paths] == ["heldout_accuracy.png"]
    assert_sensible_png(paths[0])


def test_plot_run_names_the_package_to_install_when_matplotlib_is_missing(tmp_path, monkeypatch):
    write_run(tmp_path, num_steps=2)
    monkeypatch.setitem(sys.modules, "matplotlib", None)
    with pytest.raises(ImportError, match="pip install matplotlib"):
        plot_run(tmp_path)
    assert not (tmp_path / "plots").exists()


def test_plot_curves_draws_pass_at_k_on_a_log_scale(tmp_path):
    pytest.importorskip("matplotlib")
    ks = [1, 2, 4, 8, 16]
    path = plot_curves({"GRPO": (ks, [0.3, 0.4, 0.5, 0.55, 0.6]), "ROVER": (ks, [0.28, 0.42, 0.56, 0.66, 0.74])},
                       tmp_path / "curves" / "pass_at_k.png", title="pass@k", xlabel="k", ylabel="pass@k", log_x=True)
    assert path == tmp_path / "curves" / "pass_at_k.png"
    assert_sensible_png(path)


def test_plot_curves_rejects_bad_series(tmp_path):
    pytest.importorskip("matplotlib")
    with pytest.raises(ValueError, match="as many x as y"):
        plot_curves({"a": ([1, 2], [0.5])}, tmp_path / "a.png")
    with pytest.raises(ValueError, match="positive"):
        plot_curves({"a": ([0, 1], [0.5, 0.6])}, tmp_path / "b.png", log_x=True)
    with pytest.raises(ValueError, match="at least one series"):
        plot_curves({}, tmp_path / "c.png")


def test_moving_average_is_a_trailing_mean_that_skips_nan():
    values = [2.0, 4.0, math.nan, 6.0, 8.0]
    averaged = moving_average(values, 3)
    expected = [2.0, 3.0, 3.0, 5.0, 7.0]
    assert averaged.tolist() == pytest.approx(expected)
    assert moving_average(values, 1)[2] != moving_average(values, 1)[2]  # window 1 keeps the gap
    with pytest.raises(ValueError):
        moving_average(values, 0)
