"""Multi-turn rollouts: the policy and an env that answers back share one token sequence.

An episode of a problem starts from the prompt's token ids. Each turn the policy samples an action
(up to `max_new_tokens`, ending at its stop token) from everything so far; the decoded text goes to
`env.step`; unless the episode ended, the env's reply is tokenized and appended, and the next turn
samples from the longer context. So the "completion" of an episode interleaves

    [action 1][reply 1][action 2][reply 2] ... [action k]

Every token is attended to (`completion_mask`), but only the policy's own tokens are trained on
(`action_mask`): the env's tokens were not sampled by the policy, so they carry no log-prob and no
gradient. The sampler's log-prob of each action token is kept as pi_old, exactly as in single-turn
rollouts; a re-score of the whole sequence gives the same values at the action positions (tested).

The env's reply is `info["reply"]` when the env gives one (tool results, an answerer's words, a
world's feedback; `rlvr/MathTreeStep-v0` says what is left), else the new tail of the observation
when the observation extends the previous one, else the whole new observation on a new line.

Each turn's reward reaches the advantage of that turn's tokens: the turn-level advantage plug-ins
(`grpo`, `dr_grpo`) compare each turn's reward-to-go within the group
(`rlvr.training.advantages.turns`, where `rewards_to_go` and `turn_advantages` live).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from rlvr.agents.policy import SampleBatch
from rlvr.core.problem import Problem
from rlvr.core.text_env import env_reply
from rlvr.training.advantages.turns import rewards_to_go, turn_advantages, turn_token_advantages
from rlvr.training.metrics import pass_at_k
from rlvr.training.rollout import RolloutBatch
from rlvr.training.workers import EnvShard, RolloutWorkers

__all__ = ["EpisodeBatch", "evaluate_episodes", "oracle_transcripts", "rewards_to_go", "run_episodes",
           "turn_advantages"]

MAX_REPLY_TOKENS = 512
"""Longest env reply kept per turn (its tail): bounds the context an env can push on the policy."""


@dataclass
class EpisodeBatch(RolloutBatch):
    """Multi-turn episodes, G per problem, as one `RolloutBatch` whose completions hold both sides.

    `rewards` [B, G] are episode returns; `action_mask` marks the policy's tokens.
    """

    turn_rewards: list[list[float]] = field(default_factory=list)
    """Per episode (flat, B * G), the reward of each turn in order."""
    token_turns: torch.Tensor | None = None
    """Long [B * G, T]: the turn each action token belongs to; -1 on env tokens and padding."""
    turns: torch.Tensor | None = None
    """Long [B, G]: turns each episode took."""
    episode_texts: list[list[str]] = field(default_factory=list)
    """Per episode (flat, B * G), its texts in order: action 1, reply 1, action 2, ..., the last action."""

    def token_advantages(self, normalise: bool = True) -> torch.Tensor:
        """Float32 [B * G, T]: each action token gets its turn's advantage (`turn_advantages`)."""
        return turn_token_advantages(self.turn_rewards, self.token_turns, self.group_size, normalise)


@dataclass
class _Episode:
    row: int
    """Which env plays it (its index in the env list, or in the rollout workers)."""
    observation: Any
    prompt_ids: list[int]
    tokens: list[int] = field(default_factory=list)
    is_action: list[bool] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    turn_of: list[int] = field(default_factory=list)
    rewards: list[float] = field(default_factory=list)
    texts: list[str] = field(default_factory=list)
    info: dict[str, Any] = field(default_factory=dict)
    done: bool = False
    terminated: bool = False

    def add(self, tokens: Sequence[int], turn: int, logprobs: Sequence[float] | None = None) -> None:
        self.tokens.extend(tokens)
        self.is_action.extend([logprobs is not None] * len(tokens))
        self.logprobs.extend(logprobs if logprobs is not None else [0.0] * len(tokens))
        self.turn_of.extend([turn if logprobs is not None else -1] * len(tokens))

    def record_turn(self, policy: Any, ids: Sequence[int], logprobs: Sequence[float], text: str,
                    stepped: tuple[Any, float, bool, bool, dict], turn: int, max_turns: int) -> None:
        """One turn: the action's tokens and log-probs, the env's answer to it (`stepped`: what
        `env.step(text)` returned) and, unless the episode ended, the env's reply as context."""
        self.add(ids, turn, list(logprobs)[: len(ids)])
        self.texts.append(text)
        observation, reward, terminated, truncated, info = stepped
        self.rewards.append(float(reward))
        self.info = info
        if terminated or truncated:
            self.done, self.terminated = True, bool(terminated)
        elif turn + 1 < max_turns:
            reply = env_reply(info, self.observation, observation)
            reply_ids = policy.tokenizer(reply, add_special_tokens=False)["input_ids"] if reply else []
            self.add(reply_ids[-MAX_REPLY_TOKENS:], turn)
            self.texts.append(reply)
        self.observation = observation


def run_episodes(
    policy: Any,
    make_env: Callable[[], Any],
    problems: Sequence[Problem],
    group_size: int,
    *,
    max_turns: int,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    top_p: float | None = None,
    seed: int | None = None,
    envs: list[Any] | RolloutWorkers | None = None,
) -> EpisodeBatch:
    """Play `group_size` episodes of each problem with `policy`; one batched `sample` call per turn.

    `make_env()` builds an env (called as needed; pass a list as `envs` to reuse envs across calls,
    or `RolloutWorkers` to step them in workers: `rlvr.training.workers`). The
    policy needs `encode` (prompt text -> ids) and a `tokenizer` for the env's replies.
    """
    if not problems:
        raise ValueError("run_episodes needs at least one problem")
    if max_turns < 1:
        raise ValueError(f"max_turns must be >= 1, got {max_turns}")
    # envs: a list reused across calls (stepped here), or rollout workers stepping them elsewhere
    stepper = envs if isinstance(envs, RolloutWorkers) else EnvShard(make_env, [] if envs is None else envs)
    rows = list(range(len(problems) * group_size))
    observations = stepper.reset(rows, [problems[row // group_size] for row in rows])
    episodes = [_Episode(row, observation, policy.encode([observation])[0])
                for row, observation in zip(rows, observations, strict=True)]
    for turn in range(max_turns):
        active = [episode for episode in episodes if not episode.done]
        if not active:
            break
        batch = policy.sample(
            [episode.prompt_ids + episode.tokens for episode in active], num_samples=1,
            max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p,
            seed=None if seed is None else seed * 1_009 + turn,
        )
        actions, logprobs = batch.completion_lists(), batch.logprobs.tolist()
        stepped = stepper.step([episode.row for episode in active], batch.texts)
        for index, episode in enumerate(active):
            episode.record_turn(policy, actions[index], logprobs[index], batch.texts[index], stepped[index], turn,
                                max_turns)
    return _to_batch(policy, problems, group_size, episodes)


def _to_batch(policy: Any, problems: Sequence[Problem], group_size: int, episodes: list[_Episode]) -> EpisodeBatch:
    rows, width = len(episodes), max(1, max(len(e.tokens) for e in episodes))
    ids = torch.full((rows, width), policy.pad_token_id, dtype=torch.long)
    attention = torch.zeros((rows, width), dtype=torch.bool)
    actions = torch.zeros((rows, width), dtype=torch.bool)
    logprobs = torch.zeros((rows, width), dtype=torch.float32)
    token_turns = torch.full((rows, width), -1, dtype=torch.long)
    for row, episode in enumerate(episodes):
        length = len(episode.tokens)
        ids[row, :length] = torch.tensor(episode.tokens, dtype=torch.long)
        attention[row, :length] = True
        actions[row, :length] = torch.tensor(episode.is_action, dtype=torch.bool)
        logprobs[row, :length] = torch.tensor(episode.logprobs, dtype=torch.float32)
        token_turns[row, :length] = torch.tensor(episode.turn_of, dtype=torch.long)
    sample = SampleBatch(
        prompt_ids=[e.prompt_ids for e in episodes],
        prompt_index=[row // group_size for row in range(rows)],
        completion_ids=ids, completion_mask=attention, logprobs=logprobs,
        texts=["".join(e.texts) for e in episodes], finished=[e.terminated for e in episodes],
    )
    shape = (len(problems), group_size)
    returns = torch.tensor([sum(e.rewards) for e in episodes], dtype=torch.float32).view(shape)
    correct = torch.tensor([_correct(e) for e in episodes], dtype=torch.float32).view(shape)
    errors = [e.info.get("error") if e.terminated else "ran out of turns" for e in episodes]
    return EpisodeBatch(
        list(problems), group_size, sample, returns, {"correct": correct}, errors, action_mask=actions,
        turn_rewards=[e.rewards for e in episodes], token_turns=token_turns,
        turns=torch.tensor([len(e.rewards) for e in episodes], dtype=torch.long).view(shape),
        episode_texts=[list(e.texts) for e in episodes],
    )


def _correct(episode: _Episode) -> float:
    """Success of a finished episode: the env's `correct` flag, else a positive return."""
    if not episode.terminated:
        return 0.0
    flag = episode.info.get("correct")
    return float(flag) if flag is not None else float(sum(episode.rewards) > 0)


def oracle_transcripts(
    policy: Any, make_env: Callable[[], Any], problems: Sequence[Problem], max_turns: int,
    envs: list[Any] | None = None,
) -> tuple[list[list[int]], list[list[int]], list[list[bool]]]:
    """SFT data for a multi-turn env: the env's oracle plays each problem; returns (prompt ids,
    transcript ids, loss masks) with the oracle's actions (and the EOS ending each) as targets and
    the env's replies as context only: the same token layout `run_episodes` produces."""
    pool = envs if envs is not None else []
    while len(pool) < len(problems):
        pool.append(make_env())
    eos = policy.stop_token_ids[0]
    prompts, transcripts, masks = [], [], []
    for env, problem in zip(pool, problems, strict=False):
        observation, _ = env.reset(options={"problem": problem})
        prompts.append(policy.encode([observation])[0])  # the context run_episodes starts from
        tokens: list[int] = []
        is_action: list[bool] = []
        for turn in range(max_turns):
            action = env.unwrapped.oracle_action()
            if action is None:
                raise ValueError(f"{type(env.unwrapped).__name__} has no oracle action for problem "
                                 f"{problem.problem_id} at turn {turn}: multi-turn SFT needs one")
            ids = policy.tokenizer(action, add_special_tokens=False)["input_ids"] + [eos]
            tokens += ids
            is_action += [True] * len(ids)
            next_observation, _, terminated, truncated, info = env.step(action)
            if terminated or truncated:
                break
            if turn + 1 < max_turns:
                reply = policy.tokenizer(env_reply(info, observation, next_observation),
                                         add_special_tokens=False)["input_ids"][-MAX_REPLY_TOKENS:]
                tokens += reply
                is_action += [False] * len(reply)
            observation = next_observation
        transcripts.append(tokens)
        masks.append(is_action)
    return prompts, transcripts, masks


@torch.no_grad()
def evaluate_episodes(
    policy: Any,
    make_env: Callable[[], Any],
    problems: Sequence[Problem],
    *,
    max_turns: int,
    num_samples: int = 0,
    ks: Sequence[int] = (1,),
    max_new_tokens: int | None = None,
    temperature: float = 1.0,
    top_p: float = 1.0,
    batch_size: int = 256,
    seed: int = 0,
) -> dict[str, float]:
    """Greedy success rate, mean turns and mean return of episodes (pass@k too with `num_samples`)."""
    if not problems:
        raise ValueError("evaluate_episodes needs at least one problem")
    envs: list[Any] = []
    greedy = _play(policy, make_env, problems, 1, batch_size, envs, max_turns=max_turns,
                   max_new_tokens=max_new_tokens, temperature=0.0)
    correct = [float(c) for batch in greedy for c in batch.components["correct"].reshape(-1)]
    metrics = {
        "greedy_accuracy": sum(correct) / len(correct),
        "greedy_reward": sum(float(b.rewards.sum()) for b in greedy) / len(problems),
        "mean_turns": sum(float(b.turns.sum()) for b in greedy) / len(problems),
        "mean_length": sum(float(b.loss_mask.sum()) for b in greedy) / len(problems),
        "num_problems": float(len(problems)),
    }
    if num_samples > 0:
        sampled = _play(policy, make_env, problems, num_samples, batch_size, envs, max_turns=max_turns,
                        max_new_tokens=max_new_tokens, temperature=temperature, top_p=top_p, seed=seed)
        counts = [int(row.sum()) for batch in sampled for row in batch.components["correct"]]
        metrics["sample_accuracy"] = sum(counts) / (len(problems) * num_samples)
        for k in ks:
            if not 1 <= k <= num_samples:
                raise ValueError(f"pass@k needs 1 <= k <= num_samples={num_samples}, got k={k}")
            metrics[f"pass@{k}"] = sum(pass_at_k(num_samples, c, k) for c in counts) / len(problems)
    return metrics


def _play(policy, make_env, problems, group_size, batch_size, envs, seed=None, **sampling) -> list[EpisodeBatch]:
    per_batch = max(1, batch_size // group_size)
    out = []
    for number, start in enumerate(range(0, len(problems), per_batch)):
        out.append(run_episodes(policy, make_env, problems[start : start + per_batch], group_size, envs=envs,
                                seed=None if seed is None else seed + number, **sampling))
    return out


def write_transcripts(path: Any, policy: Any, make_env: Callable[[], Any], problems: Sequence[Problem], *,
                      max_turns: int, limit: int | None = None, max_new_tokens: int | None = None,
                      batch_size: int = 256) -> int:
    """`transcript_records` as JSON lines at `path`, what the run report shows of a multi-turn run;
    the number written."""
    from rlvr.training.evaluate import save_records

    return save_records(path, transcript_records(policy, make_env, problems, max_turns=max_turns, limit=limit,
                                                 max_new_tokens=max_new_tokens, batch_size=batch_size))


@torch.no_grad()
def transcript_records(policy: Any, make_env: Callable[[], Any], problems: Sequence[Problem], *, max_turns: int,
                       limit: int | None = None, max_new_tokens: int | None = None,
                       batch_size: int = 256) -> list[dict[str, Any]]:
    """Greedy episodes of `limit` of `problems` (default `SAMPLES_SAVED`, taken in turn from each
    difficulty level), one record each.

    A record holds the problem, `turns` (the policy's actions with their rewards and the env's
    replies between them, role "env"), the episode's return as `reward`, the turns taken, and the
    final verdict: `correct` and the env's reason (or "ran out of turns"). Texts are cut to
    `SAMPLE_TEXT_LIMIT` characters.
    """
    from rlvr.training.eval_breakdown import spread_indices
    from rlvr.training.evaluate import SAMPLES_SAVED, text_field

    chosen = spread_indices(problems, SAMPLES_SAVED if limit is None else limit)
    if not chosen:
        return []
    was_training = policy.model.training
    policy.model.eval()
    picked = [problems[i] for i in chosen]
    try:
        batches = _play(policy, make_env, picked, 1, batch_size, [], max_turns=max_turns,
                        max_new_tokens=max_new_tokens, temperature=0.0)
    finally:
        if was_training:
            policy.model.train()
    records = []
    rows = [(batch, row) for batch in batches for row in range(len(batch.problems))]
    for index, problem, (batch, row) in zip(chosen, picked, rows, strict=True):
        texts, rewards = batch.episode_texts[row], batch.turn_rewards[row]
        # texts alternate: action 1, reply 1, action 2, ...; action t earned rewards[t]
        turns = [{"role": "policy", "text": text_field(text), "reward": rewards[step // 2]} if step % 2 == 0
                 else {"role": "env", "text": text_field(text)} for step, text in enumerate(texts)]
        correct = bool(batch.components["correct"][row, 0] > 0)
        records.append({
            "index": index, "problem_id": problem.problem_id, "prompt": text_field(problem.prompt),
            "answer": text_field(problem.answer), "difficulty": dict(problem.difficulty), "turns": turns,
            "turns_taken": len(rewards), "tokens": int(batch.loss_mask[row].sum()),
            "reward": sum(rewards), "components": {"correct": float(correct)}, "correct": correct,
            "reason": batch.errors[row],
        })
    return records
