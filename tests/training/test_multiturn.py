"""Multi-turn rollouts: env tokens are attended to but never trained on; each turn's reward reaches
its own tokens' advantage; the trainer runs episodes of `rlvr/MathTreeStep-v0`."""

from __future__ import annotations

import gymnasium as gym
import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.hf import TransformersPolicy  # noqa: E402
from rlvr.agents.tiny import TinyModelConfig, build_tiny_model  # noqa: E402
from rlvr.core.problem import Problem  # noqa: E402
from rlvr.core.text_env import env_reply  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.multiturn import rewards_to_go, run_episodes, turn_advantages  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402

REPLY = "ok\n"
TURNS = 3


class ChattyEnv(gym.Env):
    """Answers every action with REPLY; reward 1 for a turn whose action holds a digit; 3 turns."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.turn = 0
        return options["problem"].prompt, {}

    def step(self, action):
        self.turn += 1
        reward = float(any(char.isdigit() for char in action))
        done = self.turn >= TURNS
        return f"turn {self.turn}", reward, done, False, {} if done else {"reply": REPLY}


def _problems(count):
    return [Problem("chatty", 0, {"i": i}, f"{i}+{i}=", (), str(2 * i), problem_id=f"p{i}") for i in range(count)]


@pytest.fixture(scope="module")
def policy():
    model, tokenizer = build_tiny_model(seed=1, shape=TinyModelConfig(32, 1, 2, 64))
    return TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=4)


@pytest.fixture(scope="module")
def batch(policy):
    return run_episodes(policy, ChattyEnv, _problems(3), 4, max_turns=TURNS, temperature=1.0, seed=5)


def test_completions_interleave_actions_and_masked_env_replies(policy, batch):
    reply_ids = policy.tokenizer(REPLY, add_special_tokens=False)["input_ids"]
    for row in range(len(batch.sample)):
        attended = batch.sample.completion_mask[row]
        env_tokens = attended & ~batch.action_mask[row]
        # two replies between three actions: exactly the reply's tokens, twice, are the env's
        assert batch.sample.completion_ids[row][env_tokens].tolist() == reply_ids * (TURNS - 1)
        assert (batch.token_turns[row][env_tokens] == -1).all()
        turns = batch.token_turns[row][batch.action_mask[row]].tolist()
        assert turns == sorted(turns) and set(turns) == set(range(TURNS))
        assert batch.sample.logprobs[row][env_tokens].abs().sum() == 0
    assert batch.turns.eq(TURNS).all()


def test_sampled_logprobs_equal_a_rescore_of_the_whole_episode(policy, batch):
    sample = batch.sample
    with torch.no_grad():
        scored = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask)["logprobs"]
    mask = batch.action_mask
    torch.testing.assert_close(scored[mask], sample.logprobs[mask], atol=1e-4, rtol=0)


def test_each_turns_reward_reaches_its_tokens_advantage(batch):
    advantages = batch.token_advantages()
    expected = turn_advantages(batch.turn_rewards, batch.group_size)
    for row, values in enumerate(expected):
        for turn, value in enumerate(values):
            tokens = batch.token_turns[row] == turn
            assert torch.allclose(advantages[row][tokens], torch.tensor(value, dtype=torch.float32))
        assert (advantages[row][~batch.action_mask[row]] == 0).all()


def test_turn_advantages_follow_rewards_to_go():
    base = [[0.0, 0.0, 0.0], [0.0, 0.0, 0.0]]
    changed = [[0.0, 1.0, 0.0], [0.0, 0.0, 0.0]]
    before, after = turn_advantages(base, 2, normalise=False), turn_advantages(changed, 2, normalise=False)
    # a reward at turn 2 (index 1) changes the advantage of turns 1 and 2, not turn 3
    assert after[0][0] != before[0][0] and after[0][1] != before[0][1] and after[0][2] == before[0][2]
    assert rewards_to_go([0.0, 1.0, 0.0]) == [1.0, 1.0, 0.0]
    # one turn per episode: GRPO's group-normalised reward exactly
    rewards = torch.tensor([[1.0, 0.0, 0.0, 1.0, 1.0]])
    grpo = (rewards - rewards.mean()) / (rewards.std() + 1e-6)
    single = turn_advantages([[float(r)] for r in rewards[0]], 5)
    assert torch.allclose(torch.tensor([a[0] for a in single]), grpo[0].double().float(), atol=1e-6)
    with pytest.raises(ValueError, match="multiple of group_size"):
        turn_advantages([[1.0]] * 3, 2)


def test_env_reply_prefers_info_then_the_observation_tail():
    assert env_reply({"reply": "R"}, "a", "b") == "R"
    assert env_reply({}, "prompt", "prompt + more") == " + more"
    assert env_reply({}, "prompt", "other") == "\nother"


def test_env_tokens_never_reach_the_loss(tmp_path, policy, batch):
    config = load_config({"env_id": "rlvr/MathTreeStep-v0", "max_turns": TURNS, "progress": False,
                          "out_dir": str(tmp_path), "max_new_tokens": 4})
    trainer = Trainer(config, policy=policy)
    advantages = batch.token_advantages()
    loss, old = trainer.policy_loss(batch, advantages)
    # garbage where the env wrote (pi_old log-probs and advantages) changes nothing
    env_tokens = batch.sample.completion_mask & ~batch.action_mask
    poisoned = batch.sample.logprobs.clone()
    batch.sample.logprobs[env_tokens] = 123.0
    try:
        again, _ = trainer.policy_loss(batch, advantages.masked_fill(env_tokens, 99.0))
    finally:
        batch.sample.logprobs = poisoned
    assert torch.allclose(loss, again)
    # ... while training on them too would give another loss: the mask is what keeps them out
    actions = batch.action_mask
    batch.action_mask = batch.sample.completion_mask
    try:
        unmasked, _ = trainer.policy_loss(batch, advantages.masked_fill(env_tokens, 1.0))
    finally:
        batch.action_mask = actions
    assert not torch.allclose(loss, unmasked)


def test_trainer_runs_episodes_of_the_step_env(tmp_path):
    config = load_config({
        "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}, "max_turns": 2,
        "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
        "max_new_tokens": 8, "prompts_per_step": 2, "group_size": 2, "rl_steps": 2, "eval_every": 0,
        "eval_problems": 4, "eval_samples": 2, "eval_k": [1, 2], "progress": False, "out_dir": str(tmp_path),
        "prompt_template": "{numbers}>{target}:",
    })
    summary = Trainer(config).train()
    assert {"greedy_accuracy", "mean_turns", "pass@2"} <= set(summary["final"])
    assert 1.0 <= summary["final"]["mean_turns"] <= 2.0
    assert summary["steps"] == 2


def test_oracle_transcripts_train_the_actions_and_keep_replies_as_context(policy):
    from rlvr.envs.mathtree.step_env import solution_steps
    from rlvr.training.multiturn import oracle_transcripts
    from rlvr.training.sft import sft_loss

    env = gym.make("rlvr/MathTreeStep-v0", number_count=3)
    problems = [env.unwrapped.task.problem_at(0, i, env.unwrapped.difficulty) for i in range(3)]
    prompts, transcripts, masks = oracle_transcripts(policy, lambda: env, problems[:1], max_turns=5)
    prompts2, transcripts2, masks2 = oracle_transcripts(policy, lambda: gym.make("rlvr/MathTreeStep-v0", number_count=3),
                                                        problems, max_turns=5)
    assert transcripts2[0] == transcripts[0] and masks2[0] == masks[0]
    eos = policy.stop_token_ids[0]
    for problem, ids, mask in zip(problems, transcripts2, masks2, strict=True):
        actions = [token for token, keep in zip(ids, mask, strict=True) if keep]
        steps = policy.tokenizer.decode(actions, skip_special_tokens=False).split(policy.tokenizer.decode([eos]))
        assert [step for step in steps if step] == solution_steps(problem)  # the oracle's steps, each ended by EOS
        replies = policy.tokenizer.decode([token for token, keep in zip(ids, mask, strict=True) if not keep])
        assert replies.count("(left:") == len(solution_steps(problem)) - 1
    loss = sft_loss(policy, prompts2, transcripts2, masks2)
    unmasked = sft_loss(policy, prompts2, transcripts2)
    assert torch.isfinite(loss) and not torch.allclose(loss, unmasked)


def test_trainer_warms_up_on_transcripts_then_plays_episodes(tmp_path):
    config = load_config({
        "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}, "max_turns": 2, "sft_steps": 3,
        "sft_batch_size": 4, "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2,
        "tiny_intermediate_size": 64, "max_new_tokens": 12, "prompts_per_step": 2, "group_size": 2,
        "rl_steps": 1, "eval_every": 0, "eval_problems": 4, "eval_samples": 2, "eval_k": [1], "progress": False,
        "plots": False, "out_dir": str(tmp_path), "prompt_template": "{numbers}>{target}:",
    })
    summary = Trainer(config).train()
    assert summary["steps"] == 1 and summary["after_sft"]["mean_turns"] >= 1
