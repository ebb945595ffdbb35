"""The single-file examples in examples/ run and log (a few hundred steps each)."""

from __future__ import annotations

import importlib.util
import json
import sys
from pathlib import Path

import pytest

EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def load_example(name: str):
    spec = importlib.util.spec_from_file_location(name, EXAMPLES / f"{name}.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses look their module up while the class is built
    spec.loader.exec_module(module)
    return module


def test_cleanrl_ppo_runs_logs_and_is_seeded(tmp_path):
    pytest.importorskip("torch")
    ppo = load_example("cleanrl_ppo_mathtree")
    args = ppo.parse_args(["--total-timesteps", "512", "--num-envs", "16", "--num-steps", "8", "--log-every", "1",
                           "--seed", "3", "--no-anneal-lr"])
    assert args.anneal_lr is False and args.num_envs == 16
    first, second = ppo.train(args, quiet=True), ppo.train(args, quiet=True)
    assert first["global_step"] == 512 and len(first["history"]) == 4
    assert first["episodes"] > 40 and 0.0 <= first["success_rate_overall"] <= 1.0
    assert [h["success_rate"] for h in first["history"]] == [h["success_rate"] for h in second["history"]]
    assert [h["entropy"] for h in first["history"]] == [h["entropy"] for h in second["history"]]


def test_cleanrl_ppo_command_line_prints_success_and_writes_json(tmp_path, capsys):
    pytest.importorskip("torch")
    out = tmp_path / "metrics.json"
    load_example("cleanrl_ppo_mathtree").main(["--total-timesteps", "256", "--num-envs", "8", "--num-steps", "8",
                                               "--log-every", "2", "--json-out", str(out)])
    lines = [line for line in capsys.readouterr().out.splitlines() if line.startswith("step ")]
    assert len(lines) == 2 and all("success_rate" in line for line in lines)
    metrics = json.loads(out.read_text())
    assert metrics["global_step"] == 256 and metrics["args"]["num_envs"] == 8


def test_cleanrl_ppo_help_documents_every_flag():
    pytest.importorskip("torch")
    ppo = load_example("cleanrl_ppo_mathtree")
    docs = ppo.field_docs(ppo.Args)
    assert set(docs) == {f.name for f in ppo.fields(ppo.Args)} and all(docs.values())
    with pytest.raises(SystemExit):
        ppo.parse_args(["--num-envs", "many"])
