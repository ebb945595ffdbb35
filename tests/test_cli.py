"""The `rlvr` command: list and play."""

from __future__ import annotations

import re

import pytest

import rlvr
from rlvr.cli import _wilson_interval, main


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
