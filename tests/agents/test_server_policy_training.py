"""`rollout_engine: server` from the config: checks before any work, and a 2-step GRPO run whose
rollouts come from a loopback fake vLLM server that reloads the learner's weights after each step."""

from __future__ import annotations

import json

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from rlvr.agents.server_policy import ServerPolicy  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.agents.fake_token_server import SHAPE, FakeTokenServer, one_thread, tiny_policy  # noqa: E402,F401  (an autouse fixture)

RUN = [
    f"tiny_hidden_size={SHAPE[0]}", f"tiny_num_layers={SHAPE[1]}", f"tiny_num_heads={SHAPE[2]}",
    f"tiny_intermediate_size={SHAPE[3]}", "sft_steps=2", "rl_steps=2", "prompts_per_step=2", "group_size=2",
    "max_new_tokens=4", "eval_problems=4", "eval_samples=2", "eval_k=[1, 2]", "eval_every=0", "progress=false",
    "plots=false", "tensorboard=false", "checkpoint_every=0", "lr=0.01", "rollout_engine=server",
    "server_model=policy",
]


def run_config(tmp_path, url, *extra):
    return load_config("scenarios/quickstart.yaml", [*RUN, f"out_dir={tmp_path / 'run'}", f"server_url={url}", *extra])


def weights(model):
    return {name: value.detach().clone() for name, value in model.state_dict().items()}


def same(a, b):
    return all(torch.equal(a[name], b[name]) for name in a)


def test_a_two_step_run_samples_on_the_server_and_pushes_after_each_step(tmp_path):
    with FakeTokenServer(tiny_policy(seed=1), tmp_path / "served") as server:
        config = run_config(tmp_path, server.url, f"server_weights_dir={tmp_path / 'served'}")
        trainer = Trainer(config)
        assert isinstance(trainer.policy, ServerPolicy) and server.reloads == 1
        start = weights(trainer.model)
        trainer.train()
        pushes = trainer.policy.stats["weight_pushes"]
    steps = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    assert len([line for line in steps if "eval" not in line]) == 2
    # the first push, one after the warm-up, one after each RL step (a random start has no RL signal,
    # so the warm-up is what surely moves the weights)
    assert pushes == server.reloads == 4
    served = weights(server.policy.model)
    assert same(served, weights(trainer.model)) and not same(served, start)
    bodies = [body for path, _, body in server.requests if path == "/v1/completions"]
    assert any(body["n"] == 2 and body["temperature"] == 1.0 for body in bodies)  # the RL groups
    assert all(body["model"] == "policy" and body["max_tokens"] == 4 for body in bodies)


def test_with_staleness_accepted_the_server_keeps_its_weights(tmp_path):
    with FakeTokenServer(tiny_policy(seed=1), reload_status=404) as server:
        before = weights(server.policy.model)
        config = run_config(tmp_path, server.url, f"server_weights_dir={tmp_path / 'served'}",
                            "server_allow_stale=true")
        with pytest.warns(UserWarning, match="will not follow the learner"):
            trainer = Trainer(config)
        trainer.train()
    assert same(weights(server.policy.model), before) and trainer.policy.staleness >= 2


@pytest.mark.parametrize(("overrides", "message"), [
    ([], r"needs server_url"),
    (["server_url=ftp://host/v1"], r"needs server_url, an http\(s\) URL"),
    (["server_url=http://h:8000/v1", "server_weights_dir=d", "server_model="], r"needs server_model"),
    (["server_url=http://h:8000/v1"], r"writes the learner's weights into server_weights_dir"),
    (["server_url=http://h:8000/v1", "server_weight_sync=none"], r"set server_allow_stale: true"),
    (["server_url=http://h:8000/v1", "server_weight_sync=nccl"], r"server_weight_sync must be one of"),
    (["server_url=http://h:8000/v1", "server_weights_dir=d", "server_sync_every=0"], r"server_sync_every must be >= 1"),
    (["server_url=http://h:8000/v1", "server_weights_dir=d", "server_timeout_s=0"], r"server_timeout_s must be > 0"),
    (["server_url=http://h:8000/v1", "server_weights_dir=/m", "model=/m"], r"is the model folder '/m'"),
    (["rollout_engine=transformers", "server_url=http://h:8000/v1"], r"server_url, server_model describe an inference server, but rollout_engine is 'transformers'"),
])
def test_config_refuses_an_incomplete_or_conflicting_server(overrides, message):
    with pytest.raises(ValueError, match=message):
        load_config({}, ["rollout_engine=server", "server_model=policy", *overrides])


def test_a_complete_server_config_loads():
    config = load_config({}, ["rollout_engine=server", "server_url=http://h:8000/v1", "server_model=policy",
                              "server_weights_dir=/shared/policy", "server_sync_every=2"])
    assert (config.server_weight_sync, config.server_sync_every, config.server_allow_stale) == ("vllm", 2, False)
