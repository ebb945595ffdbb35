"""The `rlvr` command: list and play."""

from __future__ import annotations

import re

import pytest

import rlvr
from rlvr.cli import main
from rlvr.training.metrics import wilson_interval as _wilson_interval


def test_list_names_every_id(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    for env_id in rlvr.ids():
        assert env_id in out


def test_list_card_shows_knobs(capsys):
    assert main(["list", "rlvr/MathTree-v0"]) == 0
    out = capsys.readouterr().out
    assert "difficulty knobs" in out and "horizon" in out and "reward:" in out


def test_play_oracle_passes_everything(capsys):
    assert main(["play", "rlvr/MathTree-v0", "--agent", "oracle", "--episodes", "8", "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert re.search(r"pass rate 1\.000", out), out
    assert "first episode:" in out


def test_play_random_is_worse_than_oracle(capsys):
    assert main(["play", "rlvr/RandomCalc-v0", "--agent", "random", "--episodes", "30"]) == 0
    rate = float(re.search(r"pass rate ([0-9.]+)", capsys.readouterr().out).group(1))
    assert rate < 0.5


def test_play_passes_knobs_through(capsys):
    assert main(["play", "rlvr/MathTree-v0", "--agent", "oracle", "--episodes", "2", "--set", "horizon=7"]) == 0


@pytest.mark.parametrize(
    "argv, message",
    [
        (["list", "rlvr/MathTre-v0"], "did you mean"),
        (["play", "rlvr/MathTree-v0", "--set", "horizn=3"], "did you mean: horizon"),
    ],
)
def test_errors_are_clear(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_wilson_interval_brackets_the_rate():
    low, high = _wilson_interval(50, 100)
    assert low < 0.5 < high and round(high - low, 2) == 0.19
    assert _wilson_interval(0, 10)[0] == 0.0 and _wilson_interval(10, 10)[1] == 1.0


def test_run_debate_scenario(tmp_path, capsys):
    scenario = tmp_path / "tiny_debate.yaml"
    scenario.write_text(
        "experiment: debate\ntask: rlvr/RandomCalc-v0\ndifficulty: {num_ops: 1}\nnum_debates: 20\n"
        "num_debaters: 3\nrounds: 2\nprotocols: [majority_vote, vanilla]\nseed: 0\n"
    )
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    assert "vanilla" in capsys.readouterr().out
    assert (out / "table.md").is_file() and (out / "beliefs.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


@pytest.mark.parametrize(
    "argv, message",
    [
        (["run", "no_such_scenario"], "no scenario file"),
        (["play", "rlvr/Debate-v0"], "multi-agent"),
    ],
)
def test_run_and_play_errors(capsys, argv, message):
    assert main(argv) == 2
    assert message in capsys.readouterr().err


def test_export_writes_the_task_stream(tmp_path, capsys):
    import json

    import rlvr

    out = tmp_path / "countdown.jsonl"
    assert main(["export", "rlvr/Countdown-v0", "--n", "5", "--seed", "3", "--out", str(out), "--set", "number_count=3",
                 "--split", "all"]) == 0  # the whole stream; the default is the train split
    rows = [json.loads(line) for line in out.read_text().splitlines()]
    task = rlvr.entry("rlvr/Countdown-v0").card.task()
    expected = [task.problem_at(3, i, {"number_count": 3}).problem_id for i in range(5)]
    assert [row["problem_id"] for row in rows] == expected


def test_builtin_scenarios_resolve_by_name_from_any_folder(tmp_path, monkeypatch):
    from rlvr.cli import BUILTIN_SCENARIOS, resolve_scenario

    monkeypatch.chdir(tmp_path)
    assert resolve_scenario("quickstart") == BUILTIN_SCENARIOS / "quickstart.yaml"
    with pytest.raises(ValueError, match="did you mean"):
        resolve_scenario("quikstart")


def test_every_builtin_scenario_is_valid():
    import yaml

    from rlvr.cli import BUILTIN_SCENARIOS

    pytest.importorskip("torch")
    from rlvr.training.compare import load_scenario
    from rlvr.training.config import load_config

    checked = 0
    for path in sorted(BUILTIN_SCENARIOS.glob("*.yaml")):
        experiment = (yaml.safe_load(path.read_text()) or {}).get("experiment")
        if experiment is None:
            load_config(path)
        elif experiment == "compare":
            load_scenario(path)
        else:
            continue  # the debate scenarios run in their own tests
        checked += 1
    assert checked >= 3
