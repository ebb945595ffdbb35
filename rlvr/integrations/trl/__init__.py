"""TRL integration: rlvr verifiers as `GRPOTrainer` reward functions, problem datasets, env rollouts.

    from trl import GRPOConfig, GRPOTrainer
    from rlvr.integrations.trl import problems_dataset, reward_funcs

    dataset = problems_dataset("rlvr/RandomCalc-v0", n=2000, seed=0, difficulty={"num_ops": 2})
    funcs = reward_funcs("rlvr/RandomCalc-v0", components=("correct",))
    config = GRPOConfig(output_dir="runs/trl", reward_weights=[f.weight for f in funcs])
    GRPOTrainer(model, reward_funcs=funcs, args=config, train_dataset=dataset).train()

Each row carries its problem as JSON text in a `problem` column; TRL hands every dataset column to
reward functions as a keyword list (one entry per completion), so `RlvrReward` rebuilds the
`Problem` and returns `task.score(problem, completion).reward`, the verdict the env and the
project's trainer give. `components=` adds one function per score component (e.g. `correct`),
with weight 0: logged by TRL (`rewards/<name>/mean`), not trained on. A batch is scored once.

Completions may be text or chat messages (the last assistant message is scored). TRL decodes them
without special tokens, so "42" cut off at the length limit reads like "42<EOS>";
`require_eos=True` (with the EOS id) gives zero where `completion_ids` do not end with EOS. It is
off by default, as in the project's trainer. A row whose `problem` is empty or of another task
gets None, which TRL leaves out, so several tasks can share a dataset.

Environments: TRL 1.16's `GRPOTrainer` has two hooks. `environment_factory` exposes an env's
methods as tools called through a tool-calling chat template; rlvr's TextEnvs take free-text
actions, so they do not fit it. `rollout_func(prompts, trainer)` (experimental in TRL) replaces
generation: `EnvRollout` plays any rlvr TextEnv, single- or multi-turn, with the trainer's model
(not vLLM) and the project's KV-cached sampler. A rollout is one token sequence: prompt, action 1,
the env's new text, action 2, ... The new text is the env's `info["reply"]` when it gives one, else
what the next observation adds to the previous one (or `separator` + the whole observation when it
does not extend it: `rlvr.core.text_env.env_reply`); it is masked out of the loss (TRL's
`env_mask`). The episode return arrives in the `env_reward` column, which the `env_reward` reward
function hands to TRL:

    rollout = EnvRollout("rlvr/MathTreeStep-v0", dataset, max_turns=4)
    GRPOTrainer(model, reward_funcs=env_reward, rollout_func=rollout, train_dataset=dataset, ...)

TRL passes the hook only prompts, so the rollout finds each problem by its prompt text: give it
the trainer's dataset (it refuses two problems with one prompt). It samples with TRL's
`temperature` and `top_p` (not `top_k`, `min_p`, penalties), `max_completion_length` tokens at most.

Importing this module imports neither trl, datasets nor torch; `problems_dataset` and `EnvRollout`
import what they need when called, and an ImportError names the extra to install.
"""

from rlvr.integrations.trl.problems import (
    PROBLEM_COLUMN,
    problem_from_json,
    problem_to_json,
    problems_dataset,
    resolve_task,
)
from rlvr.integrations.trl.rewards import RlvrReward, completion_text, env_reward, reward_funcs
from rlvr.integrations.trl.rollout import EnvRollout

__all__ = [
    "PROBLEM_COLUMN", "EnvRollout", "RlvrReward", "completion_text", "env_reward", "problem_from_json",
    "problem_to_json", "problems_dataset", "resolve_task", "reward_funcs",
]
