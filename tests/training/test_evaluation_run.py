"""`rlvr eval`: a run folder evaluates to what training measured; a server through the HTTP agent."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.evaluation_run import run_evaluation  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.agents.stub_openai_server import StubOpenAIServer, answer_wrong  # noqa: E402
from tests.training.test_trainer import small_config  # noqa: E402


def test_a_run_folder_evaluates_to_the_trainers_final_figures(tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(small_config(run, "sft_steps=40", "rl_steps=2", "eval_every=0", "eval_problems=32")).train()
    final = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert final["eval"] == "final"
    assert main(["eval", "--run", str(run), "--problems", "32", "--samples", "4", "--k", "1", "4"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    # same problems, same weights, same sampling seed: the same numbers
    for key in ("greedy_accuracy", "pass@1", "pass@4", "maj@4", "mean_length"):
        assert printed[key] == pytest.approx(final[key]), key
    assert "step 2" in printed["source"] and printed["problems"] == 32


def test_a_server_is_scored_by_the_task():
    difficulty = {"num_ops": 1, "operators": ["+"]}
    with StubOpenAIServer() as server:
        right = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=6,
                               samples=3, ks=[1, 3], difficulty=difficulty)
    with StubOpenAIServer(answer=answer_wrong) as server:
        wrong = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=6,
                               difficulty=difficulty)
    assert right["greedy_accuracy"] == 1.0 and right["pass@3"] == 1.0 and right["distinct_correct"] == 1.0
    assert wrong["greedy_accuracy"] == 0.0 and "pass@1" not in wrong


def test_missing_sources_are_clear_errors(tmp_path, capsys):
    assert main(["eval", "--env", "rlvr/RandomCalc-v0"]) == 2
    assert "--run DIR" in capsys.readouterr().err
    assert main(["eval", "--run", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err
