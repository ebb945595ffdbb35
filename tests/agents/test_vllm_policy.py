"""VLLMPolicy's contract, against the fake `vllm` in fake_vllm/ (the tiny model on CPU).

The fake samples from the same checkpoint the learner loads, so log-probs can be compared exactly:
equal weights must give equal log-probs, changed weights must not until `sync_weights`.
The last test runs a real vllm on a GPU (marked `vllm`; skipped elsewhere).
"""

from __future__ import annotations

import copy
import json
import os
import sys
from pathlib import Path

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.hf import TransformersPolicy  # noqa: E402
from rlvr.agents.vllm_policy import VLLMPolicy, request_seed  # noqa: E402

FAKE_ROOT = Path(__file__).parent / "fake_vllm"
PROMPTS = ["1+2=", "What is 12*7? ", [5, 17, 30, 9]]
MULTIPROCESSING_ENV = "VLLM_ENABLE_V1_MULTIPROCESSING"


def _vllm_module_names() -> list[str]:
    return [name for name in sys.modules if name == "vllm" or name.startswith("vllm.")]


@pytest.fixture
def fake_vllm(monkeypatch):
    """The fake package importable as `vllm` for one test; nothing of it stays in sys.modules."""
    monkeypatch.syspath_prepend(str(FAKE_ROOT))
    for name in _vllm_module_names():
        monkeypatch.delitem(sys.modules, name)
    # set, then delete: the variable a policy sets is restored to its state before the test
    monkeypatch.setenv(MULTIPROCESSING_ENV, "1")
    monkeypatch.delenv(MULTIPROCESSING_ENV)
    import vllm

    assert Path(vllm.__file__).parent.parent == FAKE_ROOT
    yield vllm
    for name in _vllm_module_names():
        del sys.modules[name]


@pytest.fixture(scope="module", autouse=True)
def one_thread():
    """Tiny tensors gain nothing from more threads, and idle OpenMP workers spin on a busy machine."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def checkpoint(tmp_path_factory):
    """The tiny model saved as a Hugging Face folder: what both the engine and the learner load."""
    from rlvr.agents.tiny import build_tiny_model

    folder = tmp_path_factory.mktemp("tiny")
    build_tiny_model(folder, seed=0)
    return folder


def make_policy(fake_vllm, checkpoint, monkeypatch, layout="v1_in_process", **options):
    monkeypatch.setattr(fake_vllm.LLM, "layout", layout)
    learner = TransformersPolicy(checkpoint, device="cpu")
    return VLLMPolicy(checkpoint, learner=learner, **{"max_new_tokens": 8, **options})


def perturb(model, scale=0.05, seed=0):
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for parameter in model.parameters():
            parameter.add_(torch.randn(parameter.shape, generator=generator).to(parameter.device) * scale)


def engine_parameters(policy):
    return dict(policy.llm.model.hf_model.named_parameters())


# ---- sampling -----------------------------------------------------------------------------------
def test_sample_groups_rows_pads_and_flags_finished_from_finish_reason(fake_vllm, checkpoint, monkeypatch):
    # many stop tokens, so some rows stop early and others run to max_new_tokens
    policy = make_policy(fake_vllm, checkpoint, monkeypatch, stop_token_ids=range(60, 100))
    batch = policy.sample(PROMPTS, num_samples=4, max_new_tokens=3, temperature=1.0, seed=0)
    assert len(batch) == 12 and batch.prompt_index == [0] * 4 + [1] * 4 + [2] * 4
    encoded = policy.encode(PROMPTS)
    assert encoded[2] == PROMPTS[2] and encoded[0] == policy.tokenizer("1+2=")["input_ids"]
    assert batch.prompt_ids == [ids for ids in encoded for _ in range(4)]
    engine = [completion for request in policy.llm.last_outputs for completion in request.outputs]
    lengths = [len(completion.token_ids) for completion in engine]
    assert batch.completion_ids.shape == batch.completion_mask.shape == batch.logprobs.shape == (12, max(lengths))
    assert batch.completion_lists() == [list(completion.token_ids) for completion in engine]
    assert batch.completion_mask.sum(-1).tolist() == lengths
    for row, completion in enumerate(engine):
        length = lengths[row]
        assert batch.completion_mask[row, :length].all() and not batch.completion_mask[row, length:].any()
        assert (batch.completion_ids[row, length:] == policy.pad_token_id).all()
        assert (batch.logprobs[row, length:] == 0).all() and (batch.logprobs[row, :length] < 0).all()
        assert batch.logprobs[row, :length].tolist() == pytest.approx(
            [position[token].logprob for position, token in zip(completion.logprobs, completion.token_ids, strict=True)]
        )
        if batch.finished[row]:
            assert completion.finish_reason == "stop" and completion.token_ids[-1] in policy.stop_token_ids
        else:
            assert completion.finish_reason == "length" and length == 3
    assert any(batch.finished) and not all(batch.finished)
    assert all(params.ignore_eos for params in policy.llm.generate_calls[-1]["params"])  # the given set is all
    assert batch.texts == [policy.tokenizer.decode(ids, skip_special_tokens=True) for ids in batch.completion_lists()]


def test_sampled_logprobs_equal_the_learner_score(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    # temperature and top-p shape the sampling, not the reported (raw) log-probs
    batch = policy.sample(PROMPTS, num_samples=3, max_new_tokens=8, temperature=0.7, top_p=0.9, seed=3)
    mask = batch.completion_mask
    with torch.no_grad():
        scored = policy.learner.score(batch.prompt_ids, batch.completion_ids, mask)["logprobs"]
    assert torch.allclose(scored[mask], batch.logprobs[mask], atol=1e-4)
    # the check is sharp: the same log-probs one position off do not pass it
    assert not torch.allclose(scored[mask], batch.logprobs.roll(1, dims=1)[mask], atol=1e-4)
    mismatch = policy.logprob_mismatch(batch)
    assert mismatch["max_abs"] < 1e-4 and mismatch["mean_abs"] <= mismatch["max_abs"]
    assert mismatch["tokens"] == batch.num_tokens()


def test_an_engine_with_processed_logprobs_is_refused(fake_vllm, checkpoint):
    engine = fake_vllm.LLM(model=str(checkpoint), logprobs_mode="processed_logprobs")
    with pytest.raises(ValueError, match="raw_logprobs"):
        VLLMPolicy(engine)


def test_temperature_zero_is_greedy_and_matches_the_learner(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    batch = policy.sample(PROMPTS[:2], num_samples=2, max_new_tokens=6, temperature=0.0, top_p=0.5, seed=1)
    reference = policy.learner.sample(PROMPTS[:2], num_samples=2, max_new_tokens=6, temperature=0.0)
    assert torch.equal(batch.completion_ids, reference.completion_ids)
    assert torch.equal(batch.completion_mask, reference.completion_mask)
    assert torch.equal(batch.completion_ids[0], batch.completion_ids[1])
    for params in policy.llm.generate_calls[-1]["params"]:
        assert (params.n, params.temperature, params.top_p, params.seed) == (1, 0.0, 1.0, None)


def test_engine_settings_and_sampling_params_are_passed(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(
        fake_vllm, checkpoint, monkeypatch, gpu_memory_utilization=0.3, engine_seed=7, max_model_len=256
    )
    assert policy.llm.init_kwargs == {
        "model": str(checkpoint),
        "dtype": "float32",  # 'auto' follows the learner
        "gpu_memory_utilization": 0.3,
        "seed": 7,
        "enable_prefix_caching": True,
        "max_model_len": 256,
        "logprobs_mode": "raw_logprobs",
    }
    assert os.environ[MULTIPROCESSING_ENV] == "0"
    batch = policy.sample(PROMPTS, num_samples=3, max_new_tokens=5, temperature=0.8, top_p=0.9, seed=11)
    call = policy.llm.generate_calls[-1]
    assert [prompt["prompt_token_ids"] for prompt in call["prompts"]] == policy.encode(PROMPTS)
    for index, params in enumerate(call["params"]):
        assert (params.n, params.temperature, params.top_p, params.max_tokens) == (3, 0.8, 0.9, 5)
        assert params.logprobs == 0 and params.seed == request_seed(11, index)
        assert params.stop_token_ids == policy.stop_token_ids == [policy.tokenizer.eos_token_id]
        assert params.detokenize is False and params.ignore_eos is False
    assert len({params.seed for params in call["params"]}) == len(PROMPTS)
    again = policy.sample(PROMPTS, num_samples=3, max_new_tokens=5, temperature=0.8, top_p=0.9, seed=11)
    other = policy.sample(PROMPTS, num_samples=3, max_new_tokens=5, temperature=0.8, top_p=0.9, seed=12)
    assert torch.equal(batch.completion_ids, again.completion_ids) and batch.texts == again.texts
    assert batch.completion_lists() != other.completion_lists()


# ---- weight sync --------------------------------------------------------------------------------
@pytest.mark.parametrize("layout", ["v1_in_process", "v0", "multiprocess"])
def test_sync_weights_makes_the_engine_follow_the_learner(fake_vllm, checkpoint, monkeypatch, layout):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch, layout, auto_sync=False)
    prompts = PROMPTS[:2]
    assert policy.logprob_mismatch(policy.sample(prompts, 2, 6, seed=0))["max_abs"] < 1e-4
    perturb(policy.learner.model)
    stale = policy.sample(prompts, 2, 6, seed=0)
    assert policy.logprob_mismatch(stale)["max_abs"] > 1e-2  # the engine still has the old weights
    policy.sync_weights()
    assert policy.logprob_mismatch(policy.sample(prompts, 2, 6, seed=0))["max_abs"] < 1e-4
    assert policy.sync_count == 1 and policy.llm.prefix_cache_resets == 1
    loaded = [name for call in policy.llm.model.load_calls for name in call]
    assert loaded == [name for name, _ in policy.learner.model.named_parameters()]
    engine = engine_parameters(policy)
    assert all(torch.equal(engine[name], value) for name, value in policy.learner.model.named_parameters())
    assert policy.llm.rpc_calls == (1 if layout == "multiprocess" else 0)


def test_sync_without_any_weight_route_says_which_are_missing(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch, "opaque", auto_sync=False)
    with pytest.raises(RuntimeError, match="model_runner.model.load_weights.*collective_rpc"):
        policy.sync_weights()


def test_auto_sync_pushes_only_after_the_learner_changed(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    policy.sample(["1+2="], max_new_tokens=2, seed=0)
    assert policy.sync_count == 1  # the engine's weights were unknown: pushed once
    policy.sample(["1+2="], max_new_tokens=2, seed=0)
    assert policy.sync_count == 1
    batch = policy.sample(PROMPTS, num_samples=2, max_new_tokens=4, seed=1)
    optimizer = torch.optim.AdamW(policy.model.parameters(), lr=1e-2)
    loss = -policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask)["logprobs"].sum()
    loss.backward()
    optimizer.step()
    fresh = policy.sample(PROMPTS, num_samples=2, max_new_tokens=4, seed=1)
    assert policy.sync_count == 2 and policy.logprob_mismatch(fresh)["max_abs"] < 1e-4


def test_after_update_syncs_every_k_updates(fake_vllm, checkpoint, monkeypatch):
    with pytest.raises(ValueError, match="auto_sync=False"):
        make_policy(fake_vllm, checkpoint, monkeypatch, sync_every=2)
    policy = make_policy(fake_vllm, checkpoint, monkeypatch, auto_sync=False, sync_every=2)
    counts = []
    for _ in range(4):
        perturb(policy.learner.model, scale=0.01)
        policy.after_update()
        counts.append(policy.sync_count)
    assert counts == [0, 1, 1, 2] and policy.update_count == 4


def test_a_copy_with_its_own_model_leaves_the_policy_and_engine_alone(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    trained = policy.model
    reference = copy.copy(policy)  # what the trainer does for its KL reference
    reference.model = copy.deepcopy(policy.model)
    perturb(reference.model)
    assert policy.model is trained and reference.model is not trained
    reference.sample(["1+2="], max_new_tokens=2, seed=0)
    assert reference.sync_count == 0 and policy.llm.model.load_calls == []


# ---- learner side, Agent, errors ----------------------------------------------------------------
def test_score_model_and_device_come_from_the_learner(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    assert policy.model is policy.learner.model and policy.device == "cpu"
    batch = policy.sample(PROMPTS, num_samples=2, max_new_tokens=4, seed=2)
    mine = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=("logprobs", "entropy"))
    theirs = policy.learner.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=("logprobs", "entropy"))
    assert mine.keys() == theirs.keys() and all(torch.equal(mine[name], theirs[name]) for name in mine)
    alone = VLLMPolicy(policy.llm)  # no learner: the tokenizer comes from the engine
    assert len(alone.sample(["1+2="], num_samples=2, max_new_tokens=3, seed=0)) == 2
    with pytest.raises(ValueError, match="learner"):
        alone.score(batch.prompt_ids, batch.completion_ids)
    assert not hasattr(alone, "model")


def test_chat_messages_use_the_template_and_act_sends_them(fake_vllm, checkpoint, monkeypatch):
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    assert policy.act(["1+2="], [{}]) and policy.llm.generate_calls[-1]["prompts"][0]["prompt_token_ids"] == (
        policy.tokenizer("1+2=")["input_ids"]
    )
    tokenizer = copy.deepcopy(policy.tokenizer)
    tokenizer.chat_template = "{% for message in messages %}<{{ message['content'] }}>{% endfor %}"
    chat = VLLMPolicy(policy.llm, tokenizer=tokenizer, learner=policy.learner, seed=4)
    messages = [{"role": "user", "content": "1+2="}]
    expected = tokenizer("<1+2=>", add_special_tokens=False)["input_ids"]
    assert chat.sample([messages], max_new_tokens=2, seed=0).prompt_ids == [expected]
    texts = chat.act(["an observation the template replaces"], [{"messages": messages}])
    assert len(texts) == 1 and isinstance(texts[0], str)
    assert policy.llm.generate_calls[-1]["prompts"][0]["prompt_token_ids"] == expected


def test_without_vllm_the_error_names_the_extra(monkeypatch):
    monkeypatch.setitem(sys.modules, "vllm", None)  # an import of vllm now fails
    with pytest.raises(ImportError, match=r"pip install 'rlvr\[vllm\]'"):
        VLLMPolicy("/no/such/model")


# ---- the trainer --------------------------------------------------------------------------------
def test_grpo_trainer_runs_on_the_vllm_policy(fake_vllm, checkpoint, monkeypatch, tmp_path):
    from rlvr.training.config import load_config
    from rlvr.training.trainer import Trainer

    config = load_config({
        "env_id": "rlvr/RandomCalc-v0", "difficulty": {"num_ops": 1, "max_operand": 9},
        "prompt_template": "{expression}=", "device": "cpu", "sft_steps": 0, "rl_steps": 2,
        "eval_problems": 8, "eval_samples": 2, "eval_k": [1], "prompts_per_step": 2, "group_size": 2,
        "max_new_tokens": 4, "kl_beta": 0.01, "progress": False, "out_dir": str(tmp_path / "run"),
    })
    policy = make_policy(fake_vllm, checkpoint, monkeypatch)
    trainer = Trainer(config, policy=policy)
    summary = trainer.train()
    assert summary["steps"] == 2 and trainer.model is policy.learner.model
    assert trainer.reference.model is not policy.model  # the KL reference did not replace the learner
    steps = [json.loads(line) for line in (tmp_path / "run" / "metrics.jsonl").read_text().splitlines()]
    steps = [record for record in steps if "eval" not in record]
    assert [record["step"] for record in steps] == [1, 2] and all(record["skipped_updates"] == 0 for record in steps)
    # each update reached the engine before the next sampling: the engine ends on the final weights
    assert policy.sync_count >= 2
    engine = engine_parameters(policy)
    assert all(torch.equal(engine[name], value) for name, value in policy.model.named_parameters())


def test_config_rollout_engine_vllm_builds_a_vllm_policy_over_a_learner(fake_vllm, checkpoint):
    from rlvr.training.builders import build_policy
    from rlvr.training.config import load_config

    policy = build_policy(load_config({"model": str(checkpoint), "device": "cpu", "rollout_engine": "vllm",
                                       "max_new_tokens": 6}))
    assert isinstance(policy, VLLMPolicy) and isinstance(policy.learner, TransformersPolicy)
    assert policy.model is policy.learner.model
    with pytest.raises(ValueError, match="local path"):
        load_config({"rollout_engine": "vllm"})


def test_the_fake_left_nothing_behind():
    """Runs after the tests above: no module of the fake is importable as `vllm` any more."""
    leaked = [name for name in _vllm_module_names() if FAKE_ROOT in Path(getattr(sys.modules[name], "__file__", None) or "/").parents]
    assert leaked == [] and str(FAKE_ROOT) not in sys.path


# ---- a real engine (GPU) ------------------------------------------------------------------------
@pytest.mark.vllm
def test_a_real_vllm_engine_samples_and_follows_the_learner(tmp_path):
    vllm = pytest.importorskip("vllm")
    if FAKE_ROOT in Path(vllm.__file__).parents:
        pytest.skip("only the fake vllm is importable")
    if not torch.cuda.is_available():
        pytest.skip("needs a CUDA GPU")
    from rlvr.agents.tiny import build_tiny_model

    build_tiny_model(tmp_path / "tiny", seed=0)
    learner = TransformersPolicy(tmp_path / "tiny", device="cuda", dtype="float32")
    policy = VLLMPolicy(
        tmp_path / "tiny", learner=learner, gpu_memory_utilization=0.3, max_model_len=512,
        engine_kwargs={"enforce_eager": True},
    )
    batch = policy.sample(PROMPTS, num_samples=4, max_new_tokens=16, temperature=1.0, seed=0)
    assert len(batch) == 12 and batch.completion_ids.shape[1] <= 16
    before = policy.logprob_mismatch(batch)
    assert before["mean_abs"] < 1e-3 and before["max_abs"] < 1e-2
    perturb(learner.model)
    after = policy.logprob_mismatch(policy.sample(PROMPTS, num_samples=4, max_new_tokens=16, seed=1))
    assert policy.sync_count == 2 and after["mean_abs"] < 1e-3
