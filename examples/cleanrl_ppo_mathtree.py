"""PPO on the MathTree token MDP in one file, CleanRL style: read it top to bottom.

    python examples/cleanrl_ppo_mathtree.py --total-timesteps 200000 --seed 1

The env is `gym.make_vec("rlvr/MathTree-v0", num_envs=64)`, the id's native vector env: every
sub-env writes an arithmetic expression one token a step (digits, + - * /, parentheses, EOS) and
earns 1 when the finished expression equals the target shown in the prompt ("=42"), else 0. The
policy is a small MLP over a one-hot encoding of the observation (prompt ids, response ids so far,
response length); actor and critic are separate networks, as in CleanRL's `ppo.py`.

What differs from CleanRL's Atari/classic-control script, and why:
- the native vector env restarts a finished sub-env on the *next* step and ignores the action
  given there (gymnasium's NEXT_STEP autoreset). Training on those ignored steps would credit
  actions that did nothing, so the loop restarts finished sub-envs at once with
  `reset(options={"reset_mask": done})` and every stored transition is a real one;
- gamma defaults to 1: the reward is terminal and an episode lasts at most `horizon` tokens;
- success rate (share of finished episodes that were correct) is what is printed and returned.

`train(args)` returns the metrics and the trained agent, so `benchmarks/classic_rl_baselines.py`
reuses this file unchanged.
"""

from __future__ import annotations

import argparse
import ast
import inspect
import json
import textwrap
import time
from dataclasses import asdict, dataclass, fields

import gymnasium as gym
import numpy as np
import torch
import torch.nn as nn
from torch.distributions import Categorical

import rlvr  # noqa: F401  (registers the rlvr/ ids)


@dataclass
class Args:
    env_id: str = "rlvr/MathTree-v0"
    """a registered id with a native token vector env (Dict observation of token ids)"""
    seed: int = 1
    """seeds torch, the action sampling and the env's problem stream"""
    total_timesteps: int = 200_000
    """env steps over all sub-envs"""
    num_envs: int = 64
    """sub-envs stepped together"""
    num_steps: int = 16
    """steps per sub-env in each rollout (a batch is num_envs * num_steps transitions)"""
    learning_rate: float = 2.5e-4
    """Adam's step size"""
    anneal_lr: bool = True
    """decay the learning rate linearly to 0 over training"""
    gamma: float = 1.0
    """discount (1: terminal reward, short episodes)"""
    gae_lambda: float = 0.95
    """lambda of generalised advantage estimation"""
    num_minibatches: int = 4
    """minibatches per epoch"""
    update_epochs: int = 4
    """passes over each batch"""
    norm_adv: bool = True
    """normalise advantages per minibatch"""
    clip_coef: float = 0.2
    """PPO's ratio clip (also clips the value loss)"""
    ent_coef: float = 0.01
    """entropy bonus: keeps early exploration of the |V|^horizon tree alive"""
    vf_coef: float = 0.5
    """weight of the value loss"""
    max_grad_norm: float = 0.5
    """gradient norm clip"""
    hidden: int = 128
    """width of the two hidden layers of actor and critic"""
    log_every: int = 10
    """print a line every this many iterations (0: only the last)"""
    threads: int = 1
    """torch threads (small nets: more threads cost more than they give on shared CPUs)"""
    json_out: str = ""
    """write the final metrics as JSON here (empty: do not)"""


def field_docs(cls: type) -> dict[str, str]:
    """The docstring under each dataclass field, for argparse's help."""
    body = ast.parse(textwrap.dedent(inspect.getsource(cls))).body[0].body
    return {a.target.id: b.value.value for a, b in zip(body, body[1:], strict=False)
            if isinstance(a, ast.AnnAssign) and isinstance(b, ast.Expr) and isinstance(b.value, ast.Constant)}


def parse_args(argv: list[str] | None = None) -> Args:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    docs = field_docs(Args)
    for f in fields(Args):
        flag = "--" + f.name.replace("_", "-")
        if f.type == "bool":
            parser.add_argument(flag, action=argparse.BooleanOptionalAction, default=f.default,
                                help=docs.get(f.name))
        else:
            kind = {"int": int, "float": float, "str": str}[f.type]
            parser.add_argument(flag, type=kind, default=f.default,
                                help=f"{docs.get(f.name)} (default {f.default})")
    return Args(**vars(parser.parse_args(argv)))


class Encoder:
    """Observation dict -> one float vector: one-hot token ids and lengths, concatenated."""

    def __init__(self, space: gym.spaces.Dict) -> None:
        self.sizes = {}
        for key, sub in space.spaces.items():
            if isinstance(sub, gym.spaces.Discrete):
                self.sizes[key] = (int(sub.n), 1)
            else:  # a Box of ids in [0, high]
                self.sizes[key] = (int(np.max(sub.high)) + 1, int(np.prod(sub.shape)))
        self.dim = sum(classes * width for classes, width in self.sizes.values())

    def __call__(self, obs: dict[str, np.ndarray]) -> torch.Tensor:
        parts = []
        for key, (classes, _) in self.sizes.items():
            ids = torch.as_tensor(obs[key]).reshape(len(obs[key]), -1)
            parts.append(nn.functional.one_hot(ids, classes).flatten(1))
        return torch.cat(parts, 1).float()


def mlp(inputs: int, hidden: int, outputs: int, last_std: float) -> nn.Sequential:
    def layer(i: int, o: int, std: float = np.sqrt(2)) -> nn.Linear:
        linear = nn.Linear(i, o)
        nn.init.orthogonal_(linear.weight, std)  # CleanRL's init: small last layer, near-uniform start
        nn.init.zeros_(linear.bias)
        return linear

    return nn.Sequential(layer(inputs, hidden), nn.Tanh(), layer(hidden, hidden), nn.Tanh(),
                         layer(hidden, outputs, last_std))


class Agent(nn.Module):
    def __init__(self, obs_dim: int, num_actions: int, hidden: int) -> None:
        super().__init__()
        self.critic = mlp(obs_dim, hidden, 1, 1.0)
        self.actor = mlp(obs_dim, hidden, num_actions, 0.01)

    def get_value(self, x: torch.Tensor) -> torch.Tensor:
        return self.critic(x).squeeze(-1)

    def get_action_and_value(self, x: torch.Tensor, action: torch.Tensor | None = None):
        dist = Categorical(logits=self.actor(x))
        if action is None:
            action = dist.sample()
        return action, dist.log_prob(action), dist.entropy(), self.get_value(x)

    @torch.no_grad()
    def greedy(self, x: torch.Tensor) -> torch.Tensor:
        return self.actor(x).argmax(-1)


def train(args: Args, quiet: bool = False) -> dict:
    """Train; returns the metrics (and the agent and encoder under "agent", "encoder")."""
    torch.manual_seed(args.seed)
    torch.set_num_threads(args.threads)
    envs = gym.make_vec(args.env_id, num_envs=args.num_envs)
    encode = Encoder(envs.single_observation_space)
    num_actions = int(envs.single_action_space.n)
    agent = Agent(encode.dim, num_actions, args.hidden)
    optimizer = torch.optim.Adam(agent.parameters(), lr=args.learning_rate, eps=1e-5)

    batch_size = args.num_envs * args.num_steps
    minibatch_size = batch_size // args.num_minibatches
    iterations = max(1, args.total_timesteps // batch_size)
    obs_buf = torch.zeros(args.num_steps, args.num_envs, encode.dim)
    actions = torch.zeros(args.num_steps, args.num_envs, dtype=torch.long)
    logprobs, rewards, dones, values = (torch.zeros(args.num_steps, args.num_envs) for _ in range(4))

    next_obs, _ = envs.reset(seed=args.seed)
    next_x = encode(next_obs)
    next_done = torch.zeros(args.num_envs)
    start, global_step, history = time.perf_counter(), 0, []
    window = {"episodes": 0, "correct": 0}
    total = {"episodes": 0, "correct": 0}
    for iteration in range(1, iterations + 1):
        if args.anneal_lr:
            optimizer.param_groups[0]["lr"] = (1.0 - (iteration - 1.0) / iterations) * args.learning_rate
        for step in range(args.num_steps):
            global_step += args.num_envs
            obs_buf[step], dones[step] = next_x, next_done
            with torch.no_grad():
                action, logprob, _, value = agent.get_action_and_value(next_x)
            actions[step], logprobs[step], values[step] = action, logprob, value
            next_obs, reward, terminated, truncated, _ = envs.step(action.numpy())
            done = np.logical_or(terminated, truncated)
            rewards[step] = torch.as_tensor(reward, dtype=torch.float32)
            finished, correct = int(done.sum()), int((reward[done] >= 1.0).sum())
            for counts in (window, total):
                counts["episodes"] += finished
                counts["correct"] += correct
            if done.any():  # restart now, so no later step is an ignored one (see the module doc)
                next_obs, _ = envs.reset(options={"reset_mask": done})
            next_x, next_done = encode(next_obs), torch.as_tensor(done, dtype=torch.float32)

        # Generalised advantage estimation; a done cuts the bootstrap from the next state.
        with torch.no_grad():
            next_value = agent.get_value(next_x)
            advantages = torch.zeros_like(rewards)
            last = torch.zeros(args.num_envs)
            for t in reversed(range(args.num_steps)):
                following_done = next_done if t == args.num_steps - 1 else dones[t + 1]
                following_value = next_value if t == args.num_steps - 1 else values[t + 1]
                nonterminal = 1.0 - following_done
                delta = rewards[t] + args.gamma * following_value * nonterminal - values[t]
                last = delta + args.gamma * args.gae_lambda * nonterminal * last
                advantages[t] = last
            returns = advantages + values

        b_obs, b_logprobs = obs_buf.reshape(batch_size, -1), logprobs.reshape(-1)
        b_actions = actions.reshape(-1)
        b_advantages, b_returns, b_values = advantages.reshape(-1), returns.reshape(-1), values.reshape(-1)
        order = np.arange(batch_size)
        clipfracs = []
        for _ in range(args.update_epochs):
            np.random.default_rng(args.seed * 1_000_003 + iteration).shuffle(order)
            for begin in range(0, batch_size, minibatch_size):
                mb = torch.as_tensor(order[begin:begin + minibatch_size])
                _, newlogprob, entropy, newvalue = agent.get_action_and_value(b_obs[mb], b_actions[mb])
                logratio = newlogprob - b_logprobs[mb]
                ratio = logratio.exp()
                with torch.no_grad():
                    clipfracs.append(((ratio - 1.0).abs() > args.clip_coef).float().mean().item())
                mb_adv = b_advantages[mb]
                if args.norm_adv:
                    mb_adv = (mb_adv - mb_adv.mean()) / (mb_adv.std() + 1e-8)
                clipped_ratio = torch.clamp(ratio, 1 - args.clip_coef, 1 + args.clip_coef)
                pg_loss = torch.max(-mb_adv * ratio, -mb_adv * clipped_ratio).mean()
                v_clipped = b_values[mb] + torch.clamp(newvalue - b_values[mb], -args.clip_coef, args.clip_coef)
                v_error = torch.max((newvalue - b_returns[mb]) ** 2, (v_clipped - b_returns[mb]) ** 2)
                v_loss = 0.5 * v_error.mean()
                loss = pg_loss - args.ent_coef * entropy.mean() + args.vf_coef * v_loss
                optimizer.zero_grad()
                loss.backward()
                nn.utils.clip_grad_norm_(agent.parameters(), args.max_grad_norm)
                optimizer.step()

        last_iteration = iteration == iterations
        if (args.log_every and iteration % args.log_every == 0) or last_iteration:
            rate = window["correct"] / max(1, window["episodes"])
            history.append({"step": global_step, "episodes": window["episodes"], "success_rate": rate,
                            "entropy": entropy.mean().item(), "clipfrac": float(np.mean(clipfracs))})
            if not quiet:
                sps = global_step / (time.perf_counter() - start)
                print(f"step {global_step:>8}  episodes {window['episodes']:>6}  success_rate {rate:.4f}  "
                      f"entropy {entropy.mean().item():.3f}  value_loss {v_loss.item():.4f}  sps {sps:.0f}",
                      flush=True)
            window = {"episodes": 0, "correct": 0}
    envs.close()
    metrics = {"args": asdict(args), "global_step": global_step, "seconds": time.perf_counter() - start,
               "episodes": total["episodes"],
               "success_rate_overall": total["correct"] / max(1, total["episodes"]),
               "success_rate_last": history[-1]["success_rate"], "history": history}
    if args.json_out:
        with open(args.json_out, "w") as handle:
            json.dump(metrics, handle, indent=1)
    return {**metrics, "agent": agent, "encoder": encode}


def main(argv: list[str] | None = None) -> None:
    train(parse_args(argv))


if __name__ == "__main__":
    main()
