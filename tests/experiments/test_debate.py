"""The debate experiment (`rlvr.experiments.debate`): runs through the env, writes its outputs."""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest

from rlvr.experiments.debate import PALETTE, run_experiment, write_outputs

EASY = {"num_ops": 1}


@pytest.fixture(scope="module")
def small_result():
    return run_experiment(30, rounds=3, difficulty=EASY, protocols=("majority_vote", "vanilla", "confidence"))


def test_experiment_runs_through_the_env():
    result = run_experiment(30, rounds=2, difficulty=EASY, protocols=("majority_vote", "vanilla", "diverse"))
    assert [p.name for p in result.protocols] == ["majority_vote", "vanilla", "diverse"]
    vanilla = result.protocols[1]
    assert len(vanilla.belief) == 2 and 0.0 <= vanilla.accuracy[0] <= 1.0
    # Same questions and debaters: majority vote equals vanilla's round-0 baseline exactly.
    assert result.protocols[0].accuracy == vanilla.baseline_accuracy


def test_outputs_and_the_belief_plot(small_result, tmp_path):
    image_module = pytest.importorskip("matplotlib.image")
    paths = write_outputs(small_result, str(tmp_path))
    assert sorted(paths) == ["beliefs.png", "report.html", "results.json", "table.md", "transcripts.txt"]
    assert json.loads((tmp_path / "results.json").read_text())["protocols"][1]["name"] == "vanilla"
    table = (tmp_path / "table.md").read_text()
    # only debating protocols are plotted, coloured in table order; the table names the colours
    assert f"vanilla=rgb{PALETTE[0]}, confidence=rgb{PALETTE[1]}" in table and "majority_vote=rgb" not in table
    pixels = image_module.imread(tmp_path / "beliefs.png")
    assert pixels.shape[:2] == (400, 640)
    rgb = np.round(pixels[..., :3] * 255)
    for colour in PALETTE[:2]:  # each debating protocol's line is drawn in its colour
        assert (np.abs(rgb - colour).max(axis=-1) <= 2).sum() > 100, colour
    assert (np.abs(rgb - PALETTE[2]).max(axis=-1) <= 2).sum() == 0  # and no third line


def test_single_round_protocols_write_no_plot(tmp_path):
    result = run_experiment(5, difficulty=EASY, protocols=("majority_vote",))
    assert "beliefs.png" not in write_outputs(result, str(tmp_path))
    assert not (tmp_path / "beliefs.png").exists() and (tmp_path / "table.md").is_file()


def test_without_matplotlib_the_other_outputs_are_written(small_result, tmp_path, monkeypatch):
    for name in ("matplotlib", "matplotlib.backends.backend_agg", "matplotlib.figure", "matplotlib.ticker"):
        monkeypatch.setitem(sys.modules, name, None)  # a None entry makes `import` raise ImportError
    with pytest.warns(UserWarning, match="pip install matplotlib"):
        paths = write_outputs(small_result, str(tmp_path))
    assert "beliefs.png" not in paths and not (tmp_path / "beliefs.png").exists()
    assert "beliefs.png not drawn" in (tmp_path / "table.md").read_text()
    assert (tmp_path / "results.json").is_file() and (tmp_path / "transcripts.txt").is_file()


def test_importing_envs_agents_and_the_experiment_leaves_matplotlib_out():
    code = ("import sys, rlvr, rlvr.envs.debate_v0, rlvr.agents.debate, rlvr.experiments.debate; "
            "print('matplotlib' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


def test_a_progress_bar_over_the_debates_only_when_asked(capsys):
    shown = run_experiment(4, rounds=2, difficulty=EASY, protocols=("vanilla", "confidence"), progress=True)
    assert "8/8" in capsys.readouterr().err  # 4 debates of each protocol
    quiet = run_experiment(4, rounds=2, difficulty=EASY, protocols=("vanilla", "confidence"), progress=None)
    assert capsys.readouterr().err == ""  # pytest's stderr is not a terminal
    assert [p.accuracy for p in quiet.protocols] == [p.accuracy for p in shown.protocols]
