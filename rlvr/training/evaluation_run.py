"""`rlvr eval`: held-out metrics of a trained run, a local model or an OpenAI-compatible server.

Three sources, one set of metrics (`rlvr.training.evaluate`):

- `run=DIR`: a training run folder; its `config.yaml` rebuilds the task and the model, the newest
  `checkpoint.pt` supplies the weights (its sha256 checked against `checkpoint.json`, read as data
  only: `rlvr.training.checkpoint`), and the held-out problems are the ones training evaluated
  on (same seed, split, difficulty and task options), with the run's evaluation settings (problems,
  samples, k, temperature, new tokens), unless the call overrides them;
- `model=PATH` (or 'tiny', random weights: a floor to compare with): a local Hugging Face model;
- `base_url=URL, model=NAME`: any server that speaks the OpenAI API (vLLM, SGLang, llama.cpp...).

Robustness: `sampling_seeds` repeats the sampled metrics with other sampling seeds, `paraphrases`
repeats the whole evaluation with user-supplied wordings of the prompt (template variants), each on
the same problems, and both report mean and spread; `sweep` evaluates at several difficulty levels.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

MAX_EXTRA_BODY_CHARS = 16_384
MAX_EXTRA_BODY_DEPTH = 16
"""Bounds of `rlvr eval --extra-body`: request fields are a few flat settings, not documents."""


def run_evaluation(
    *,
    run: str | None = None,
    env_id: str | None = None,
    model: str | None = None,
    base_url: str | None = None,
    endpoint: str = "chat",
    problems: int | None = None,
    samples: int | None = None,
    ks: list[int] | tuple[int, ...] | None = None,
    split: str | None = None,
    seed: int | None = None,
    difficulty: dict[str, Any] | None = None,
    task_options: dict[str, Any] | None = None,
    max_new_tokens: int | None = None,
    temperature: float | None = None,
    prompt_template: str | None = None,
    sampling_seeds: list[int] | tuple[int, ...] | None = None,
    sweep: dict[str, Any] | None = None,
    paraphrases: list[str] | tuple[str, ...] | None = None,
    progress: bool | None = False,
    extra_body: dict[str, Any] | None = None,
    responses: list[dict[str, Any]] | None = None,
) -> dict[str, Any]:
    """Evaluate one source (see the module doc); returns the metrics with what was evaluated.

    Every setting left None is the run's own (`eval_problems`, `eval_samples`, `eval_k`,
    `temperature`, `max_new_tokens`, `eval_split`), else the defaults below: 200 problems,
    greedy only, k = 1, temperature 1.0, 256 new tokens, the eval split. With `samples` given and
    `ks` not, the run's k that fit within `samples` are kept (else k = 1). `sampling_seeds` repeats
    the sampled metrics per seed (0 is the run's own sampling seed); `sweep` ({knob: [values]})
    draws the held-out problems at each level and breaks the greedy solve rate down by level (a run
    folder trained with `eval_sweep` is evaluated at its levels unless `sweep` is given).
    `paraphrases` (two or more prompt templates) evaluates the same problems once per template and
    reports each metric's mean, with its spread under `across_paraphrases`. `extra_body` (server
    only) adds fields to every request, e.g. vLLM's `top_k` (`parse_extra_body` reads the flag).
    `responses`, a list, receives greedy responses (multi-turn: episodes) to some of the problems,
    scored, for the report (with paraphrases: under the first template).
    """
    from rlvr.training.config import load_config
    from rlvr.training.eval_breakdown import check_seeds, combine_paraphrases

    sampling_seeds = check_seeds([0] if sampling_seeds is None else sampling_seeds)
    kept = responses
    templates = list(paraphrases or [])
    if templates and (len(templates) < 2 or len(set(templates)) != len(templates) or prompt_template):
        raise ValueError(f"--paraphrase expects two or more different prompt templates and no "
                         f"--prompt-template, got {templates!r}"
                         + ("" if prompt_template is None else f" and {prompt_template!r}"))
    if sum(x is not None for x in (run, base_url)) > 1 or (run is None and model is None):
        raise ValueError("give --run DIR, or --model PATH, or --base-url URL with --model NAME")
    if extra_body and base_url is None:
        raise ValueError("--extra-body sets request fields of a server: it goes with --base-url URL")
    values: dict[str, Any] = {}
    if run is not None:
        config_path = Path(run) / "config.yaml"
        if not config_path.is_file():
            raise ValueError(f"{run} is not a training run folder: no config.yaml in it")
        values = load_config(config_path).to_dict()
    else:
        values["model"] = model or "tiny"
        # outside a run: greedy only unless samples are asked for, 256 new tokens, the eval split
        values.update(eval_problems=200, eval_samples=1, eval_k=[1], max_new_tokens=256, eval_split="eval")
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
    for key, value in (("max_new_tokens", max_new_tokens), ("eval_split", split), ("eval_problems", problems),
                       ("temperature", temperature)):
        if value is not None:
            values[key] = value
    # samples: 0 is greedy only; a run's own evaluation samples unless told otherwise
    samples = (values["eval_samples"] if run is not None else 0) if samples is None else samples
    if samples < 0:
        raise ValueError(f"--samples expects a count >= 0 (0: greedy only), got {samples}")
    if samples == 0 and len(sampling_seeds) > 1:
        raise ValueError(f"--sampling-seeds {' '.join(map(str, sampling_seeds))} repeats the sampled "
                         "metrics, and there are none with --samples 0: give --samples N too")
    if ks is None:
        ks = [k for k in values.get("eval_k", [1]) if k <= samples] or [1]
    values.update(eval_samples=max(samples, 1), eval_k=list(ks) if samples else [1], progress=False)
    if base_url is not None:
        values["model"] = "tiny"  # not built: the server holds the model
    if templates:  # the same problems (ids hash the content, not the prompt), one evaluation per wording
        results = [_evaluate(load_config({**values, "prompt_template": template}), run, base_url, model,
                             endpoint, samples, sampling_seeds, sweep, progress, extra_body,
                             kept if number == 0 else None)
                   for number, template in enumerate(templates)]
        return combine_paraphrases(results, templates)
    config = load_config(values)
    return _evaluate(config, run, base_url, model, endpoint, samples, sampling_seeds, sweep, progress, extra_body,
                     kept)


def _evaluate(config: Any, run: str | None, base_url: str | None, model: str | None, endpoint: str,
              samples: int, sampling_seeds: list[int], sweep: dict[str, Any] | None,
              progress: bool | None, extra_body: dict[str, Any] | None = None,
              kept: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    from rlvr.training.builders import EVAL_STREAM_OFFSET, build_env, build_policy, evaluation_problems
    from rlvr.training.eval_breakdown import SEED_STRIDE, combine_seeds, is_sampled_metric, sweep_difficulties
    from rlvr.training.evaluate import evaluate, evaluate_server
    from rlvr.training.multiturn import evaluate_episodes

    env = build_env(config)
    task, difficulty = env.task, dict(env.difficulty)
    sweep = sweep or config.eval_sweep  # a run folder trained with eval_sweep is evaluated at its levels
    levels = sweep_difficulties(difficulty, sweep) if sweep else [difficulty]
    problems = evaluation_problems(task, config, levels)
    ks = config.eval_k if samples else [1]
    source: dict[str, Any] = {"env_id": config.env_id, "problems": len(problems), "levels": len(levels),
                              "split": config.eval_split, "seed": config.seed}
    settings = {"samples": samples, "k": list(ks), "temperature": config.temperature,
                "max_new_tokens": config.max_new_tokens}
    if base_url is not None:
        metrics = evaluate_server(base_url, model, task, problems, num_samples=samples, ks=ks,
                                  temperature=config.temperature, max_tokens=config.max_new_tokens,
                                  endpoint=endpoint, seed=config.seed, sampling_seeds=sampling_seeds,
                                  extra_body=extra_body, progress=progress, samples=kept)
        return {**source, "source": f"{base_url} ({model})", **settings, **metrics}
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
        # episodes: one full evaluation per sampling seed (its greedy part repeats, identical)
        from rlvr.core.progress import progress_bar

        bar = progress_bar(len(sampling_seeds), progress, "episode evaluations", unit="seed", minimum=2)
        runs = []
        for offset in sampling_seeds:
            runs.append(evaluate_episodes(policy, lambda: build_env(config), problems, max_turns=config.max_turns,
                                          **{**sampling, "seed": sampling["seed"] + offset * SEED_STRIDE}))
            if bar is not None:
                bar.update(1)
        if bar is not None:
            bar.close()
        metrics = {name: value for name, value in runs[0].items()
                   if not samples or not is_sampled_metric(name)}
        if samples:
            metrics.update(combine_seeds(runs, sampling_seeds))
        if kept is not None:
            from rlvr.training.multiturn import transcript_records

            kept += transcript_records(policy, lambda: build_env(config), problems, max_turns=config.max_turns,
                                       max_new_tokens=config.max_new_tokens, batch_size=config.eval_batch_size)
    else:
        metrics = evaluate(policy, task, problems, sampling_seeds=sampling_seeds, progress=progress,
                           samples=kept, **sampling)
    return {**source, "source": label, **settings, **metrics}


def parse_extra_body(text: str | None) -> dict[str, Any] | None:
    """`--extra-body '{"top_k": 20}'`: a JSON object, bounded in size and nesting, finite numbers only."""
    if text is None:
        return None
    example = """ e.g. '{"top_k": 20}'"""  # a request field of vLLM's that the OpenAI API lacks
    if len(text) > MAX_EXTRA_BODY_CHARS:
        raise ValueError(f"--extra-body expects at most {MAX_EXTRA_BODY_CHARS:,} characters of JSON, "
                         f"got {len(text):,}")

    def refuse_constant(name: str) -> None:  # NaN and Infinity are not JSON: servers would refuse them
        raise ValueError(f"{name} is not a JSON number")

    try:
        value = json.loads(text, parse_constant=refuse_constant)
        too_deep = _depth(value) > MAX_EXTRA_BODY_DEPTH
    except RecursionError:  # nested past the parser's own limit
        too_deep = True
    except ValueError as error:  # JSONDecodeError, non-finite numbers, integers past the digit limit
        raise ValueError(f"--extra-body expects a JSON object,{example}; {error}") from None
    if too_deep:
        raise ValueError(f"--extra-body expects JSON nested at most {MAX_EXTRA_BODY_DEPTH} levels deep")
    if not isinstance(value, dict):
        kind = _JSON_KINDS.get(type(value), type(value).__name__)
        raise ValueError(f"--extra-body expects a JSON object,{example}; got {kind} {text[:60]!r}")
    return value


_JSON_KINDS = {list: "an array", str: "a string", int: "a number", float: "a number", bool: "a boolean",
               type(None): "null"}


def _depth(value: Any) -> int:
    """Nesting depth of parsed JSON (a scalar is 0), walked without recursion."""
    deepest, stack = 0, [(value, 0)]
    while stack:
        item, depth = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, depth + 1)
            stack.extend((child, depth + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest
