"""ServerPolicy's contract against a local fake vLLM server that wraps a tiny model (loopback only).

The learner and the server start from different random weights; the first push makes them equal,
so log-probs can be compared exactly: equal weights give equal log-probs, and after a learner
update the server's samples follow only once the update was pushed.
"""

from __future__ import annotations

import copy

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")

from rlvr.agents.server_policy import ServerPolicy  # noqa: E402
from rlvr.agents.server_weights import WeightSyncError, WeightSyncUnsupported, server_root  # noqa: E402
from rlvr.agents.vllm_policy import request_seed  # noqa: E402
from tests.agents.fake_token_server import FakeTokenServer, one_thread, tiny_policy  # noqa: E402,F401  (an autouse fixture)

PROMPTS = ["1+2=", "12+7=", [5, 17, 30, 9]]


@pytest.fixture
def learner():
    return tiny_policy(seed=0)


@pytest.fixture
def served(tmp_path):
    """A fake server over a tiny model with other weights than the learner's, serving tmp_path/policy."""
    with FakeTokenServer(tiny_policy(seed=1), tmp_path / "policy") as server:
        yield server


def weights_equal(a, b) -> bool:
    return all(torch.equal(x, y) for x, y in zip(a.state_dict().values(), b.state_dict().values(), strict=True))


def test_ids_and_logprobs_round_trip_exactly(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir, seed=3)
    batch = policy.sample(PROMPTS, num_samples=3, max_new_tokens=6, seed=11)
    assert len(batch) == 9 and batch.prompt_index == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    rows, encoded = batch.completion_lists(), learner.encode(PROMPTS)
    assert len(served.answers) == 3
    for answer in served.answers:  # in the order the server answered: requests run concurrently
        for choice in answer["choices"]:
            row = 3 * encoded.index(choice["prompt_token_ids"]) + choice["index"]
            assert rows[row] == choice["token_ids"]
            width = len(choice["token_ids"])
            assert batch.logprobs[row, :width].tolist() == pytest.approx(choice["logprobs"]["token_logprobs"], abs=0)
            assert not batch.completion_mask[row, width:].any() and not batch.logprobs[row, width:].any()
            assert batch.finished[row] == (choice["finish_reason"] == "stop")
    assert batch.texts == learner.tokenizer.batch_decode(rows, skip_special_tokens=True)
    bodies = sorted((body for path, _, body in served.requests if path == "/v1/completions"),
                    key=lambda body: encoded.index(body["prompt"]))
    assert [body["seed"] for body in bodies] == [request_seed(11, i) for i in range(3)]
    assert all(body["n"] == 3 and body["logprobs"] == 0 and body["return_token_ids"] for body in bodies)
    assert all(body["stop_token_ids"] == learner.stop_token_ids for body in bodies)


def test_first_push_makes_the_server_sample_from_the_learners_weights(learner, served):
    assert not weights_equal(served.policy.model, learner.model)
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    assert served.reloads == 1 and weights_equal(served.policy.model, learner.model)
    assert sorted(path.name for path in served.served_dir.iterdir()) == ["model.safetensors"]
    assert not list(served.served_dir.parent.glob(".*staging*"))  # the staging folder is gone
    paths = [path for path, _, _ in served.requests]
    assert paths == ["/collective_rpc", "/reset_prefix_cache"]
    mismatch = policy.logprob_mismatch(policy.sample(PROMPTS, num_samples=2, seed=0))
    assert mismatch["tokens"] > 0 and mismatch["max_abs"] < 1e-5


def test_after_update_pushes_every_sync_every_calls(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir, sync_every=2, auto_sync=False)
    with torch.no_grad():
        learner.model.model.embed_tokens.weight.add_(0.5)
    policy.after_update()
    assert served.reloads == 1 and policy.staleness == 1
    stale = policy.logprob_mismatch(policy.sample(PROMPTS, num_samples=2, seed=0))
    assert stale["max_abs"] > 1e-3  # the server still samples from the old weights
    policy.after_update()
    assert served.reloads == 2 and policy.staleness == 0 and weights_equal(served.policy.model, learner.model)
    fresh = policy.logprob_mismatch(policy.sample(PROMPTS, num_samples=2, seed=0))
    assert fresh["max_abs"] < 1e-5
    assert policy.stats["weight_pushes"] == 2 and policy.stats["requests"] == 6


def test_weights_changed_outside_after_update_are_pushed_before_sampling(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    policy.sample(PROMPTS[:1], num_samples=2)
    assert served.reloads == 1  # unchanged weights: no push
    changed = {name: value + 0.25 for name, value in learner.model.state_dict().items()}
    learner.model.load_state_dict(changed)  # as `rlvr eval --run` loads a checkpoint
    batch = policy.sample(PROMPTS, num_samples=2, seed=0)
    assert served.reloads == 2 and policy.logprob_mismatch(batch)["max_abs"] < 1e-5
    with pytest.raises(ValueError, match="needs auto_sync=False"):
        ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir, sync_every=2)


def test_a_frozen_copy_scores_with_its_own_model_and_never_pushes(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    reference = copy.copy(policy)
    reference.model = copy.deepcopy(policy.model)
    assert policy.model is learner.model and reference.model is not learner.model
    reference.after_update()
    assert served.reloads == 1


def test_stale_shards_of_an_older_layout_are_removed(learner, served):
    served.served_dir.mkdir()
    (served.served_dir / "model-00001-of-00002.safetensors").write_bytes(b"old")
    (served.served_dir / "model.safetensors.index.json").write_text("{}")
    (served.served_dir / "config.json").write_text("{}")
    ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    assert sorted(path.name for path in served.served_dir.iterdir()) == ["config.json", "model.safetensors"]


def test_sglang_route_sends_the_folder(learner, served):
    ServerPolicy(served.url, "policy", learner, weight_sync="sglang", weights_dir=served.served_dir)
    (path, _, body), = served.requests
    assert path == "/update_weights_from_disk" and body == {"model_path": str(served.served_dir.resolve())}
    assert served.reloads == 1


def test_no_reload_route_refuses_at_start_unless_staleness_is_accepted(learner, tmp_path):
    with FakeTokenServer(tiny_policy(seed=1), tmp_path / "policy", reload_status=404) as server:
        with pytest.raises(WeightSyncUnsupported, match="VLLM_SERVER_DEV_MODE=1.*allow_stale=True"):
            ServerPolicy(server.url, "policy", learner, weights_dir=server.served_dir)
        with pytest.warns(UserWarning, match="will not follow the learner"):
            policy = ServerPolicy(server.url, "policy", learner, weights_dir=server.served_dir, allow_stale=True)
        policy.after_update()
        policy.after_update()
        assert policy.staleness == 2 and policy.stats["weight_pushes"] == 0
        assert policy.sample(["1+2="], num_samples=2).completion_ids.shape[0] == 2


def test_a_failed_push_mid_run_stops_with_the_servers_words(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    served.reload_status = 500
    with pytest.raises(WeightSyncError, match="HTTP 500: fake answers 500"):
        policy.after_update()


def test_weight_sync_none_needs_consent_and_sync_needs_a_folder(learner, served):
    with pytest.raises(ValueError, match="allow_stale=True"):
        ServerPolicy(served.url, "policy", learner, weight_sync="none")
    with pytest.raises(ValueError, match="needs weights_dir"):
        ServerPolicy(served.url, "policy", learner)
    with pytest.raises(ValueError, match="weight_sync must be one of"):
        ServerPolicy(served.url, "policy", learner, weight_sync="nccl", weights_dir=served.served_dir)


def test_greedy_asks_once_and_repeats(learner, served):
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir)
    batch = policy.sample(["1+2="], num_samples=3, temperature=0.0)
    body = served.requests[-1][2]
    assert body["n"] == 1 and body["temperature"] == 0.0 and "seed" not in body
    assert len(set(map(tuple, batch.completion_lists()))) == 1 and len(batch) == 3


def test_the_api_key_goes_with_every_request_and_never_into_errors(learner, served):
    key = "sk-test-0123456789abcdef"
    policy = ServerPolicy(served.url, "policy", learner, weights_dir=served.served_dir, api_key=key)
    policy.sample(["1+2="], num_samples=1)
    assert {headers.get("authorization") for _, headers, _ in served.requests} == {f"Bearer {key}"}
    assert key not in repr(policy)
    served.reload_status = 500
    with pytest.raises(WeightSyncError) as failure:
        policy.sync_weights()
    assert key not in str(failure.value)


def test_server_root_strips_the_api_path():
    assert server_root("http://127.0.0.1:8000/v1") == "http://127.0.0.1:8000"
