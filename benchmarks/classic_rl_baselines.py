"""Classic RL baselines on MathTree's default config: random, SB3 PPO and the single-file PPO.

    nice python benchmarks/classic_rl_baselines.py [--budget 98304] [--seeds 0 1 2] [--out PATH]

Every method gets the same number of env steps (`--budget`, counted over all sub-envs) on
`gym.make_vec("rlvr/MathTree-v0")` (the native vector env; SB3 through
`rlvr.integrations.sb3.sb3_vec_env`), per seed:
  - random: uniform token actions (no training; its budget is spent only on evaluation);
  - sb3_ppo_defaults: `PPO("MultiInputPolicy")` with SB3's default hyperparameters (n_steps 2048,
    batch 64, 10 epochs, lr 3e-4, gamma 0.99, no entropy bonus) on 8 sub-envs, so that a rollout
    (16,384 steps) fits the budget several times;
  - sb3_ppo_tuned: SB3's PPO with the example's settings (64 envs, n_steps 16, batch 256, 4 epochs,
    lr 2.5e-4 annealed, gamma 1, entropy 0.01): separates the settings from the implementation;
  - cleanrl_ppo: `examples/cleanrl_ppo_mathtree.py` with its defaults (64 envs).
After training each policy plays `--eval-episodes` fresh episodes (eval seed 10_000 + seed) twice:
actions sampled from the policy, and greedy (argmax; random has none). Success = reward 1 (the
expression equals the target). The table gives mean ± standard error over seeds; the JSON keeps
every run, the versions and the machine. One torch thread; the machine is shared, so seconds are
indicative only.
"""

from __future__ import annotations

import os

for _variable in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_variable, "1")

import argparse  # noqa: E402
import importlib.util  # noqa: E402
import json  # noqa: E402
import platform  # noqa: E402
import sys  # noqa: E402
import time  # noqa: E402
from pathlib import Path  # noqa: E402

import gymnasium as gym  # noqa: E402
import numpy as np  # noqa: E402
import torch  # noqa: E402

import rlvr  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]
ENV_ID = "rlvr/MathTree-v0"
METHODS = ("random", "sb3_ppo_defaults", "sb3_ppo_tuned", "cleanrl_ppo")


def load_cleanrl():
    path = ROOT / "examples" / "cleanrl_ppo_mathtree.py"
    spec = importlib.util.spec_from_file_location("cleanrl_ppo_mathtree", path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


def evaluate(act, episodes: int, seed: int, num_envs: int = 64) -> float:
    """Success rate of `act(observation) -> actions` over the first `episodes` episodes finished
    on a fresh native vector env (finished sub-envs restart at once, as in training)."""
    envs = gym.make_vec(ENV_ID, num_envs=num_envs)
    observation, _ = envs.reset(seed=seed)
    finished = correct = 0
    while finished < episodes:
        observation, reward, terminated, truncated, _ = envs.step(np.asarray(act(observation)))
        done = terminated | truncated
        take = min(int(done.sum()), episodes - finished)
        correct += int((reward[done][:take] >= 1.0).sum())
        finished += take
        if done.any():
            observation, _ = envs.reset(options={"reset_mask": done})
    envs.close()
    return correct / episodes


def run_random(seed: int, budget: int, eval_episodes: int) -> dict:
    rng = np.random.default_rng(seed)
    actions = gym.make(ENV_ID).action_space.n

    def act(observation):
        return rng.integers(actions, size=len(observation["prompt_length"]))

    return {"sampled": evaluate(act, eval_episodes, 10_000 + seed), "greedy": None}


def run_sb3(seed: int, budget: int, eval_episodes: int, tuned: bool) -> dict:
    from stable_baselines3 import PPO

    from rlvr.integrations.sb3 import sb3_vec_env

    if tuned:
        venv = sb3_vec_env(ENV_ID, num_envs=64, seed=seed)
        model = PPO("MultiInputPolicy", venv, n_steps=16, batch_size=256, n_epochs=4, gamma=1.0,
                    gae_lambda=0.95, learning_rate=lambda remaining: 2.5e-4 * remaining, ent_coef=0.01,
                    max_grad_norm=0.5, seed=seed, device="cpu")
    else:
        venv = sb3_vec_env(ENV_ID, num_envs=8, seed=seed)
        model = PPO("MultiInputPolicy", venv, seed=seed, device="cpu")
    model.learn(budget)
    venv.close()
    sampled = evaluate(lambda o: model.predict(o, deterministic=False)[0], eval_episodes, 10_000 + seed)
    greedy = evaluate(lambda o: model.predict(o, deterministic=True)[0], eval_episodes, 10_000 + seed)
    return {"sampled": sampled, "greedy": greedy, "steps": int(model.num_timesteps)}


def run_cleanrl(seed: int, budget: int, eval_episodes: int) -> dict:
    ppo = load_cleanrl()
    result = ppo.train(ppo.Args(seed=seed, total_timesteps=budget, log_every=0), quiet=True)
    agent, encode = result["agent"], result["encoder"]

    def sampled(observation):
        with torch.no_grad():
            return agent.get_action_and_value(encode(observation))[0].numpy()

    return {"sampled": evaluate(sampled, eval_episodes, 10_000 + seed),
            "greedy": evaluate(lambda o: agent.greedy(encode(o)).numpy(), eval_episodes, 10_000 + seed),
            "steps": result["global_step"], "train_success_last": result["success_rate_last"]}


def mean_se(values: list[float]) -> tuple[float, float]:
    array = np.asarray(values, float)
    se = float(array.std(ddof=1) / np.sqrt(len(array))) if len(array) > 1 else float("nan")
    return float(array.mean()), se


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--budget", type=int, default=98_304,
                        help="env steps per training run (6 rollouts of SB3's defaults on 8 envs)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--eval-episodes", type=int, default=4096)
    parser.add_argument("--methods", nargs="+", default=list(METHODS), choices=METHODS)
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "classic_rl_baselines_cpu.json"),
                        help="the JSON record")
    args = parser.parse_args(argv)
    torch.set_num_threads(1)
    runners = {"random": run_random, "cleanrl_ppo": run_cleanrl,
               "sb3_ppo_defaults": lambda s, b, e: run_sb3(s, b, e, tuned=False),
               "sb3_ppo_tuned": lambda s, b, e: run_sb3(s, b, e, tuned=True)}
    runs = []
    for seed in args.seeds:  # seeds outermost: a slow minute of the shared machine hits every method
        for method in args.methods:
            start = time.perf_counter()
            result = runners[method](seed, args.budget, args.eval_episodes)
            result.update(method=method, seed=seed, seconds=round(time.perf_counter() - start, 1))
            runs.append(result)
            print(json.dumps(result), flush=True)
    summary = {}
    for method in args.methods:
        mine = [r for r in runs if r["method"] == method]
        row = {"sampled": mean_se([r["sampled"] for r in mine]),
               "seconds": mean_se([r["seconds"] for r in mine])}
        if mine[0]["greedy"] is not None:
            row["greedy"] = mean_se([r["greedy"] for r in mine])
        summary[method] = row
    import stable_baselines3

    record = {
        "command": " ".join(["python benchmarks/classic_rl_baselines.py",
                             *(argv if argv is not None else sys.argv[1:])]),
        "env_id": ENV_ID, "difficulty": "default", "budget_env_steps": args.budget, "seeds": args.seeds,
        "eval_episodes": args.eval_episodes, "success": "reward 1 (expression equals the target)",
        "summary": summary, "runs": runs,
        "versions": {"rlvr": rlvr.__version__, "torch": torch.__version__, "gymnasium": gym.__version__,
                     "numpy": np.__version__, "stable_baselines3": stable_baselines3.__version__,
                     "python": platform.python_version()},
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "torch_threads": torch.get_num_threads(),
                    "load_average_at_end": list(os.getloadavg())},
    }
    Path(args.out).parent.mkdir(parents=True, exist_ok=True)
    Path(args.out).write_text(json.dumps(record, indent=1) + "\n")
    print("\n| method | success, sampled | success, greedy | seconds per run |\n|---|---|---|---|")
    for method, row in summary.items():
        greedy = f"{row['greedy'][0]:.3f} ± {row['greedy'][1]:.3f}" if "greedy" in row else "n/a"
        sampled = f"{row['sampled'][0]:.3f} ± {row['sampled'][1]:.3f}"
        print(f"| {method} | {sampled} | {greedy} | {row['seconds'][0]:.0f} |")


if __name__ == "__main__":
    main()
