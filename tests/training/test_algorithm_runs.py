"""The spec's algorithm plug-ins in the trainer, on the tiny model: the new quantities on a real
batch (and the hidden states and raw logits the policy's scoring pass gives), each computed only
when declared and in one pass, a 20-step run per plug-in kind (the others under `slow`), and exact
resume of the stateful ones."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.advantages import ADVANTAGES, rollout_view  # noqa: E402
from rlvr.training.advantages.quantities import low_token_logprob  # noqa: E402
from rlvr.training.groups import mean_token_logprob  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.interrupt import run_until_killed  # noqa: E402
from tests.training.test_advantage_training import EASY  # noqa: E402
from tests.training.test_sampler_runs import _run  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402


def test_the_new_quantities_of_a_real_batch(tmp_path):
    trainer = Trainer(small_config(tmp_path, *EASY))
    batch, *_ = trainer.collect(trainer.train_stream.take(3), seed=5)
    needs = ("answer_class", "low_token_logprob", "prompt_logprob", "token_logprob", "chosen_logit",
             "token_entropy", "hidden_mean", "hidden_state")
    view = rollout_view(batch, needs, trainer.policy)
    sample, policy, mask = batch.sample, trainer.policy, batch.loss_mask
    # answer classes: equal exactly where the verifier parsed equal answers
    parsed = [trainer.task.score(batch.problems[row // 4], text).parsed_answer for row, text in enumerate(sample.texts)]
    classes = view["answer_class"].reshape(-1).tolist()
    for b in range(3):
        for i in range(4):
            for j in range(4):
                assert (classes[4 * b + i] == classes[4 * b + j]) == (parsed[4 * b + i] == parsed[4 * b + j])
    assert view["answer_class"][:, 0].tolist() == [0.0, 0.0, 0.0]
    torch.testing.assert_close(view["low_token_logprob"].reshape(-1), low_token_logprob(sample.logprobs, mask))
    assert (view["low_token_logprob"].reshape(-1) <= mean_token_logprob(sample.logprobs, mask) + 1e-6).all()
    assert torch.equal(view["token_logprob"], sample.logprobs * mask)
    # the prompt's mean log-prob, token by token from the model itself
    prompt = sample.prompt_ids[0]
    with torch.no_grad():
        logits = policy.model(input_ids=torch.tensor([prompt])).logits[0, :-1].float()
    direct = torch.log_softmax(logits, -1).gather(-1, torch.tensor(prompt[1:]).unsqueeze(-1)).mean()
    assert float(view["prompt_logprob"][0, 0]) == pytest.approx(float(direct), abs=1e-4)
    assert torch.equal(view["prompt_logprob"][0], view["prompt_logprob"][0, :1].expand(4))
    # hidden states are those the logits come from: the output layer maps them to the chosen logits
    with torch.no_grad():
        head = policy.model.get_output_embeddings()(view["hidden_state"])
    chosen = head.gather(-1, sample.completion_ids.unsqueeze(-1)).squeeze(-1) * mask
    torch.testing.assert_close(chosen, view["chosen_logit"], atol=1e-4, rtol=1e-4)
    weights = mask.float().unsqueeze(-1)
    mean = (view["hidden_state"] * weights).sum(1) / weights.sum(1)
    torch.testing.assert_close(view["hidden_mean"].reshape(12, -1), mean)
    # and asking for them leaves the log-probs as the shared-prompt pass gives them
    with torch.no_grad():
        plain = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask)["logprobs"]
        both = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask,
                            need=("logprobs", "hidden_state", "entropy"))
    torch.testing.assert_close(both["logprobs"], plain, atol=1e-5, rtol=1e-5)
    assert both["hidden_state"].shape == (*sample.completion_ids.shape, policy.model.config.hidden_size)


def _calls_of(policy, monkeypatch):
    calls = []
    real = policy.score

    def recording(prompt_ids, *args, need=("logprobs",), **kwargs):
        calls.append((tuple(need), len(prompt_ids)))
        return real(prompt_ids, *args, need=need, **kwargs)

    monkeypatch.setattr(policy, "score", recording)
    return calls


@pytest.mark.parametrize(("advantage", "settings", "rollout_passes", "prompt_passes"), [
    ("grpo", "{}", 0, 0), ("seed_grpo", "{}", 0, 0), ("riskpo", "{}", 0, 0), ("tw_grpo", "{}", 0, 0),
    ("d3s", "{}", 0, 0), ("progrpo", "{}", 0, 1), ("ucas_token", "{}", 1, 0), ("d3s", "{level: both}", 1, 0),
    ("representation_bonus", "{}", 1, 0), ("thr", "{}", 1, 0),
])
def test_quantities_cost_at_most_one_pass_a_step(tmp_path, monkeypatch, advantage, settings, rollout_passes,
                                                  prompt_passes):
    trainer = Trainer(small_config(tmp_path, *EASY, f"advantage={advantage}", f"advantage_settings={settings}",
                                   "updates_per_batch=2"))
    calls = _calls_of(trainer.policy, monkeypatch)
    for _ in range(2):
        trainer.rl_step()
    rows = trainer.config.prompts_per_step * trainer.config.group_size
    loss = [call for call in calls if call == (("logprobs",), rows)]
    prompts = [call for call in calls if call[1] == trainer.config.prompts_per_step]
    assert len(loss) == 2 * 2 and len(prompts) == 2 * prompt_passes, calls
    assert len(calls) - len(loss) - len(prompts) == 2 * rollout_passes, calls


# ---- a 20-step run per plug-in kind ----------------------------------------------------------------------------


SLOW_ADVANTAGES = [("riskpo", "{bundle: 2}"), ("progrpo", "{}"), ("ucas_token", "{}"),
                   ("representation_bonus", "{}"), ("thr", "{}"), ("tw_grpo", "{}"), ("d3s", "{relax_steps: 20}"),
                   ("d3s", "{level: both, relax_steps: 20}")]


def test_a_short_run_with_seed_grpo(tmp_path):
    _run(tmp_path, "advantage=seed_grpo", "advantage_settings={alpha: 0.5}")


@pytest.mark.slow
@pytest.mark.parametrize(("advantage", "settings"), SLOW_ADVANTAGES)
def test_a_short_run_of_each_other_new_advantage(tmp_path, advantage, settings):
    _run(tmp_path, f"advantage={advantage}", f"advantage_settings={settings}")


def test_a_short_run_with_the_prompt_gdro_sampler(tmp_path):
    lines, trainer = _run(tmp_path, "sampler=prompt_gdro", "sampler_settings={share: 0.5, pool_size: 32, k: 2}")
    assert sum(line["sampler_reused"] for line in lines) > 10
    weights = [[line[f"gdro_weight_{b}"] for b in range(4)] for line in lines]
    assert all(sum(row) == pytest.approx(1.0) for row in weights) and weights[-1] != weights[0]


def test_a_short_run_with_the_maxmin_transform(tmp_path):
    lines, _ = _run(tmp_path, "reward_transforms=[{name: maxmin, components: [correct, relative_error_reward]}]")
    for line in lines:  # the step's reward is the component with the lower expectation
        lower = min(line["maxmin_correct"], line["maxmin_relative_error_reward"])
        assert line["reward_mean"] == pytest.approx(lower, abs=1e-6)


def test_a_short_run_with_an_entropy_bonus(tmp_path):
    _run(tmp_path, "loss_settings={entropy_coef: 0.01}")


# ---- exact resume of the stateful plug-ins ------------------------------------------------------------------------

RESUME = [*EASY, "sft_steps=60", "sft_batch_size=32", "sft_lr=3e-3", "lr=5e-4", "eval_every=0", "checkpoint_every=2",
          "rl_steps=5", "tensorboard=false"]
COMPARED = ("reward_mean", "accuracy", "loss", "grad_norm", "mean_length")


def _resumed_lines(path, monkeypatch, extra):
    run_until_killed(small_config(path, *RESUME, *extra), monkeypatch)
    Trainer(small_config(path, *RESUME, *extra, "resume=true")).train()
    return [{key: line[key] for key in COMPARED} for line in step_lines(path)]


@pytest.fixture(scope="module")
def riskpo_straight(tmp_path_factory):
    path = tmp_path_factory.mktemp("riskpo")
    Trainer(small_config(path, *RESUME, "advantage=riskpo", "advantage_settings={bundle: 2}")).train()
    return [{key: line[key] for key in COMPARED} for line in step_lines(path)]


@pytest.mark.parametrize("keep_state", [True, False])
def test_riskpo_resumes_exactly_with_its_quantiles(tmp_path, monkeypatch, riskpo_straight, keep_state):
    if not keep_state:  # the control: a resume that forgets the quantiles restarts them from step 3's scores
        monkeypatch.setattr(ADVANTAGES["riskpo"], "load_state_dict", lambda self, state: None)
    lines = _resumed_lines(tmp_path, monkeypatch, ["advantage=riskpo", "advantage_settings={bundle: 2}"])
    assert len(lines) == 5 and lines[:2] == riskpo_straight[:2]
    assert (lines == riskpo_straight) == keep_state


@pytest.mark.slow
@pytest.mark.parametrize("extra", [["advantage=d3s", "advantage_settings={keep: 0.25, relax_steps: 4}"],
                                   ["sampler=prompt_gdro", "sampler_settings={share: 1.0, pool_size: 16}"]])
def test_other_stateful_plugins_resume_exactly(tmp_path, extra):
    straight = tmp_path / "straight"
    Trainer(small_config(straight, *RESUME, *extra)).train()
    expected = [{key: line[key] for key in COMPARED} for line in step_lines(straight)]
    with pytest.MonkeyPatch.context() as patch:
        assert _resumed_lines(tmp_path / "resumed", patch, extra) == expected


@pytest.mark.parametrize("mode", ["partial", "exact"])
def test_tw_grpo_trains_on_multi_select_partial_credit(tmp_path, mode):
    """The spec pairs token weighting with soft multi-choice credit: a scenario reaches both by name,
    and the rollouts' rewards are the task's credit under the chosen mode."""
    from rlvr.training.config import load_config

    config = load_config({
        "env_id": "rlvr/MultiSelectCalc-v0", "difficulty": {"num_ops": 1, "choices": 4, "max_correct": 3},
        "task_options": {"reward_mode": mode}, "advantage": "tw_grpo", "model": "tiny",
        "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
        "sft_steps": 0, "rl_steps": 2, "prompts_per_step": 3, "group_size": 4, "max_new_tokens": 8,
        "eval_every": 0, "progress": False, "plots": False, "tensorboard": False, "out_dir": str(tmp_path)})
    trainer = Trainer(config)
    assert trainer.task.reward_mode == mode
    problems = trainer.train_stream.take(3)
    batch, *_ = trainer.collect(problems, seed=3)
    rewards = batch.rewards.reshape(-1).tolist()
    assert rewards == [trainer.task.score(problems[row // 4], text).reward for row, text in enumerate(batch.sample.texts)]
    # a strict subset of the gold options: half credit or none, by mode
    problem = next(p for p in trainer.train_stream.take(50) if len(p.answer.split(", ")) == 2)
    half = trainer.task.score(problem, "Answer: " + problem.answer.split(", ")[0])
    assert half.reward == (0.5 if mode == "partial" else 0.0) and half.components["correct"] == 0.0
    for _ in range(2):
        record = trainer.rl_step()
        assert torch.isfinite(torch.tensor(record["loss"]))
