"""`rlvr eval`: held-out metrics of a trained run, a local model or an OpenAI-compatible server.

Three sources, one set of metrics (`rlvr.training.evaluate`):

- `run=DIR`: a training run folder; its `config.yaml` rebuilds the task and the model, the newest
  `checkpoint.pt` supplies the weights (its sha256 checked against `checkpoint.json`, read as data
  only: `rlvr.training.checkpoint`), and the held-out problems are the ones training evaluated
  on (same seed, split, difficulty and task options) unless the call overrides them;
- `model=PATH` (or 'tiny', random weights: a floor to compare with): a local Hugging Face model;
- `base_url=URL, model=NAME`: any server that speaks the OpenAI API (vLLM, SGLang, llama.cpp...).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any


def run_evaluation(
    *,
    run: str | None = None,
    env_id: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    endpoint: str = "chat",
    problems: int = 200,
    samples: int = 0,
    ks: list[int] | tuple[int, ...] = (1,),
    split: str | None = None,
    seed: int | None = None,
    difficulty: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
    max_new_tokens: int | None = None,
    temperature: float = 1.0,
    prompt_template: str | None = None,
) -> dict[str, Any]:
    """Evaluate one source (see the module doc); returns the metrics with what was evaluated."""
    from rlvr.training.config import load_config

    if sum(x is not None for x in (run, base_url)) > 1 or (run is None and model is None):
        raise ValueError("give --run DIR, or --model PATH, or --base-url URL with --model NAME")
    values: dict[str, Any] = {}
    if run is not None:
        config_path = Path(run) / "config.yaml"
        if not config_path.is_file():
            raise ValueError(f"{run} is not a training run folder: no config.yaml in it")
        values = load_config(config_path).to_dict()
    else:
        values["model"] = model or "tiny"
    if seed is not None:
        values["seed"] = seed
    if env_id is not None:
        values["env_id"] = env_id
    if "env_id" not in values:
        raise ValueError("give --env ENV_ID (a run folder names its own)")
    if difficulty:
        values["difficulty"] = {**values.get("difficulty", {}), **difficulty}
    if task_options:  # on top of the run's own (a run trained with a reward mode is scored with it)
        values["task_options"] = {**values.get("task_options", {}), **task_options}
    if prompt_template is not None:
        values["prompt_template"] = prompt_template
    if max_new_tokens is not None:
        values["max_new_tokens"] = max_new_tokens
    elif run is None:
        values["max_new_tokens"] = 256
    if split is not None or run is None:
        values["eval_split"] = split or "eval"  # a run keeps its own split unless one is named
    values.update(eval_problems=problems, eval_samples=max(samples, 1), eval_k=list(ks) if samples else [1],
                  temperature=temperature, progress=False)
    if base_url is not None:
        values["model"] = "tiny"  # not built: the server holds the model
    config = load_config(values)
    return _evaluate(config, run, base_url, model, endpoint, samples)


def _evaluate(config: Any, run: str | None, base_url: str | None, model: str | None, endpoint: str,
              samples: int) -> dict[str, Any]:
    from rlvr.training.builders import EVAL_STREAM_OFFSET, build_env, build_policy, heldout_problems
    from rlvr.training.evaluate import evaluate, evaluate_server
    from rlvr.training.multiturn import evaluate_episodes

    env = build_env(config)
    task, difficulty = env.task, dict(env.difficulty)
    problems = heldout_problems(task, config, difficulty)
    ks = config.eval_k if samples else [1]
    source = {"env_id": config.env_id, "problems": len(problems), "split": config.eval_split}
    if base_url is not None:
        metrics = evaluate_server(base_url, model, task, problems, num_samples=samples, ks=ks,
                                  temperature=config.temperature, max_tokens=config.max_new_tokens,
                                  endpoint=endpoint, seed=config.seed)
        return {**source, "source": f"{base_url} ({model})", **metrics}
    policy = build_policy(config)
    label = config.model
    if run is not None:
        from rlvr.training.checkpoint import CHECKPOINT_FILE, read_checkpoint

        if not (Path(run) / CHECKPOINT_FILE).is_file():
            raise ValueError(f"{run} has no {CHECKPOINT_FILE} to evaluate")
        # hash checked, then read as data only: a run folder from elsewhere cannot run code here
        state = read_checkpoint(run, map_location=policy.device)
        if "model" not in state:
            raise ValueError(f"{run}/{CHECKPOINT_FILE}: expected model weights under 'model', got keys {sorted(state)}")
        policy.model.load_state_dict(state["model"])
        label = f"{run} (step {state.get('step')})"
    sampling = {"num_samples": samples, "ks": ks, "max_new_tokens": config.max_new_tokens,
                "temperature": config.temperature, "top_p": config.top_p, "batch_size": config.eval_batch_size,
                "seed": config.seed + EVAL_STREAM_OFFSET}
    if config.max_turns > 1:
        metrics = evaluate_episodes(policy, lambda: build_env(config), problems, max_turns=config.max_turns, **sampling)
    else:
        metrics = evaluate(policy, task, problems, **sampling)
    return {**source, "source": label, **metrics}
