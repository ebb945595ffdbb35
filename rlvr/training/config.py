"""`TrainConfig`: every setting of a training run, loadable from YAML with clear errors.

One flat dataclass, a docstring under each field, so `--set key=value` names a field directly and
a scenario file reads like the field list. `load_config` validates before any work starts: an
unknown key names its close matches, a value of the wrong type or out of range says what was
expected and what came. Every field's domain is checked (`rlvr.training.config_checks`: the
domains, the choices, the fields that depend on each other, and the plug-ins' settings through
`rlvr.training.builders`): floats must be finite (YAML's `.nan` and `.inf` are floats), list
elements have their type, and a bool is not a number.

>>> config = load_config({"rl_steps": 3}, ["group_size=4", "lr=1e-4"])
>>> config.rl_steps, config.group_size, config.lr
(3, 4, 0.0001)
>>> load_config({"grup_size": 4})
Traceback (most recent call last):
...
ValueError: unknown config key 'grup_size' (did you mean: group_size?)
"""

from __future__ import annotations

import dataclasses
import math
import re
import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from rlvr.core.hints import did_you_mean
from rlvr.training.config_checks import DOMAINS, check_relations

_NUMBER = re.compile(r"[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?")


@dataclass
class TrainConfig:
    """A GRPO run: the task, the model, an optional SFT warm-up, the RL loop and its evaluations."""

    # ---- task -----------------------------------------------------------------------------------
    env_id: str = "rlvr/RandomCalc-v0"
    """Registered single-agent text env whose task supplies problems and the verifier."""
    difficulty: dict[str, Any] = field(default_factory=dict)
    """Difficulty knobs of the task (e.g. `{num_ops: 1, operators: ['+']}`); unset knobs keep defaults."""
    task_options: dict[str, Any] = field(default_factory=dict)
    """Settings the env hands to its task's constructor (the env class's `task_options`): reward
    modes and weights such as RandomCalc's `dense_reward`, SearchQA's and KGPath's `reward_mode`,
    AbstainQA's `penalty_wrong`, the grid puzzles' `partial_reward`. A name the env does not take
    is an error naming the ones it does; a bad value is the task's own error, before any work."""
    prompt_template: str | None = None
    """Prompt format string with `{question}`, `{instruction}` and the task's fields (RandomCalc:
    `{expression}`); None keeps the task's own template. A tiny model learns far faster from a
    short prompt such as `'{expression}='`."""
    sft_target: str = "solve"
    """What SFT imitates: 'solve' (the task's oracle text) or 'answer' (the bare gold answer)."""

    # ---- model ----------------------------------------------------------------------------------
    model: str = "tiny"
    """'tiny' builds the tiny Llama-style model from scratch (no download); else a local HF path."""
    model_seed: int = 0
    """Seed of the tiny model's random initial weights."""
    tiny_hidden_size: int = 128
    """Tiny model: width of the residual stream."""
    tiny_num_layers: int = 4
    """Tiny model: number of decoder blocks."""
    tiny_num_heads: int = 4
    """Tiny model: attention heads per block."""
    tiny_intermediate_size: int = 512
    """Tiny model: width of the MLP."""
    device: str = "auto"
    """'auto' (CUDA when visible, else CPU), 'cpu' or 'cuda[:n]'."""
    dtype: str = "auto"
    """'auto' (bfloat16 on CUDA, float32 on CPU), 'bfloat16', 'float16' or 'float32'."""
    num_threads: int | None = None
    """torch CPU threads; None leaves torch's default."""
    parallel: str = "ddp"
    """Under a launcher (`torchrun`, `accelerate launch`) with several ranks: 'ddp' (each rank holds the
    whole model, gradients summed over ranks) or 'fsdp' (torch's FSDP2: parameters, gradients and
    optimizer state sharded over the ranks, gathered for sampling). One process ignores it."""
    rollout_engine: str = "transformers"
    """Who samples rollouts: 'transformers' (our KV-cache sampler on the learner's weights),
    'vllm' (a vLLM engine on the GPU, weights pushed from the learner after each update; needs the
    `vllm` extra and a local model path) or 'server' (an OpenAI-compatible inference server that
    returns token ids and log-probs, such as `vllm serve`; the `server_*` fields below)."""
    server_url: str | None = None
    """rollout_engine 'server': its OpenAI base URL ('http://host:8000/v1'). An API key, if the
    server wants one, comes from $RLVR_SERVER_API_KEY (never from this file) and goes only to this
    URL's origin: redirects are not followed."""
    server_model: str | None = None
    """rollout_engine 'server': the model name it serves (vLLM's `--served-model-name`)."""
    server_weights_dir: str | None = None
    """rollout_engine 'server': the folder the server loads its model from, shared with this
    machine; the learner's weights are written there as safetensors before each reload. Never the
    `model` folder itself, which would be overwritten: serve a copy."""
    server_weight_sync: str = "vllm"
    """How the learner's weights reach the server after updates: 'vllm' (POST /collective_rpc
    reload_weights; start it with VLLM_SERVER_DEV_MODE=1), 'sglang' (POST /update_weights_from_disk)
    or 'none' (never: the run goes off-policy, so it needs `server_allow_stale`)."""
    server_sync_every: int = 1
    """Push the weights every this many updates (the server then lags by up to this minus one)."""
    server_allow_stale: bool = False
    """Accept a server whose weights do not follow the learner (no reload route, or weight sync
    'none'): each step's samples are one update staler, and the staleness is logged."""
    server_timeout_s: float = 600.0
    """Deadline of one request to the server: one prompt's completions, or one weight reload."""
    rollout_workers: int = 0
    """Workers that step the envs and score the rollouts (`rlvr.training.workers`); 0: in this
    process. Generation stays batched on the policy's device; results are the same either way."""
    rollout_backend: str = "ray"
    """'ray' (actors, local or on a cluster; the `ray` extra) or 'threads' (enough for envs that wait on I/O)."""
    ray_address: str | None = None
    """A running Ray cluster to put the workers on ('auto', 'ray://host:10001'); None: a local Ray."""
    rollout_timeout_s: float = 600.0
    """Longest a worker may take for one batch of steps or scores before the run stops with an error."""

    # ---- SFT warm-up ----------------------------------------------------------------------------
    sft_steps: int = 0
    """Teacher-forced steps on oracle solutions before RL (0: none). Below ~25% accuracy most
    groups are all-wrong and GRPO has no signal, so a model from scratch needs a warm-up."""
    sft_lr: float = 1e-3
    """AdamW learning rate of the warm-up."""
    sft_batch_size: int = 64
    """Problems per warm-up step."""
    sft_until_accuracy: float | None = None
    """End the warm-up once greedy accuracy on `sft_check_problems` train-split problems reaches this
    (checked every `sft_check_every` steps; `sft_steps` is then the most it may take). What RL needs
    from the warm-up is a model whose samples sometimes succeed; a fixed step count can land far on
    either side of that: on the quickstart, 600 steps gave 9% to 76% held-out accuracy by seed.
    With `sft_steps: 0` there is no warm-up and the target is not used."""
    sft_check_every: int = 50
    """Warm-up steps between two checks of `sft_until_accuracy`."""
    sft_check_problems: int = 200
    """Train-split problems (a stream of their own, never the held-out set) the check answers greedily."""

    # ---- RL -------------------------------------------------------------------------------------
    rl_steps: int = 100
    """Policy-gradient steps (each: sample, score, advantages, update)."""
    prompts_per_step: int = 16
    """Problems per RL step (B)."""
    group_size: int = 8
    """Completions sampled per problem (G); the advantage compares them with each other."""
    lr: float = 5e-5
    """AdamW learning rate of the RL updates."""
    weight_decay: float = 0.0
    """AdamW weight decay (both phases)."""
    max_grad_norm: float = 1.0
    """Clip the gradient's global norm to this (0 disables); without it RL can collapse."""
    updates_per_batch: int = 1
    """Optimizer steps per sampled batch; with 1 the importance ratio is 1 and clipping is inert."""
    temperature: float = 1.0
    """Sampling temperature of RL rollouts."""
    top_p: float = 1.0
    """Nucleus cut-off of RL rollouts."""
    decode: str = "dynamic"
    """The transformers sampler's decode path: 'dynamic' (growing KV cache, eager) or 'static'
    (pre-sized KV cache, decode step compiled into CUDA graphs on CUDA; same tokens, fewer launches)."""
    max_new_tokens: int = 64
    """Longest completion; a completion cut here is scored as it stands."""
    advantage: str = "grpo"
    """Advantage plug-in, a name in `rlvr.training.advantages.ADVANTAGES`: 'grpo', 'dr_grpo', 'rloo',
    'dgpo', 'unlikeliness' or 'ucas' (multi-turn episodes: 'grpo' or 'dr_grpo')."""
    advantage_settings: dict[str, Any] = field(default_factory=dict)
    """Settings of the advantage plug-in, checked before any work (unknown names get close matches):
    `dgpo`: `{question_weights: true, temperature: 2.0}`; `unlikeliness`: `{beta_rank: 0.25}`;
    `ucas`: `{positive_scale: 0.25, negative_scale: 0.35}`; the others take none."""
    sampler: str = "stream"
    """Which problems each RL step trains on, a name in `rlvr.training.samplers.SAMPLERS`: 'stream'
    (the next problems of the train stream), 'variance' (a share re-drawn from seen problems in
    proportion to p(1-p)) or 'curriculum' (knob values by step)."""
    sampler_settings: dict[str, Any] = field(default_factory=dict)
    """Settings of the sampler, checked before any work (unknown names get close matches):
    `variance`: `{share: 0.5, pool_size: 256}`; `curriculum`: `{schedule: {num_ops: [[0, 1], [200, 2]]}}`
    (knobs and values checked against the task's); `stream` takes none."""
    generator: str | None = None
    """How each step's groups of rollouts are produced, a name in `rlvr.training.generators.GENERATORS`:
    None takes 'plain' (single responses) or 'episodes' (max_turns > 1); 'hbpo' (budget subgroups,
    bringing HBPO's reward and advantage: leave advantage at 'grpo' and reward_transforms empty) or
    'latr' (lookahead tree rollouts)."""
    generator_settings: dict[str, Any] = field(default_factory=dict)
    """Settings of the generator, checked before any work (unknown names get close matches):
    `hbpo`: `{budgets: [512, 1024, 2048, 2560], max_len: 4096}`; `latr`: `{share: 1.0, decay_steps: 100}`."""
    loss_aggregation: str | None = None
    """How per-token losses become a scalar; one of `LOSS_AGGREGATIONS`. None: the loss preset's own
    (`ppo_clip`, `grpo`: seq_mean_token_mean; `dapo`, `dgpo`: token_mean; `dr_grpo`:
    seq_mean_token_sum_norm); a preset refuses any other value, since its aggregation is what it is."""
    clip_eps_low: float | None = None
    """PPO clip range below 1 for the importance ratio; None: the preset's (0.2)."""
    clip_eps_high: float | None = None
    """PPO clip range above 1; None: the preset's (0.2; `dapo`'s clip-higher: 0.28)."""
    kl_beta: float = 0.0
    """Weight of the KL penalty to the policy as it was when RL started (0: no reference model)."""
    overlong_buffer: int = 0
    """DAPO's soft overlong punishment: a response longer than max_new_tokens - overlong_buffer
    tokens loses reward linearly, down to -1 at max_new_tokens (0: off). A shorthand for the reward
    transform `{name: overlong, buffer: N}`, applied after those of `reward_transforms`."""
    reward_transforms: list[dict] = field(default_factory=list)
    """Group-level shaping of each step's rewards after scoring and before the advantage, applied in
    order, each `{name: ..., <settings>}` from `rlvr.training.reward_transforms.REWARD_TRANSFORMS`:
    `{name: overlong, buffer: 4}` (DAPO's penalty; optional `max_len`, default max_new_tokens),
    `{name: corrupt, mode: random}` (modes accurate, random, inverted). Checked before any work
    (unknown names and settings get close matches); single-turn only. The verifier's `correct`
    (`accuracy`) is never changed; `raw_reward_mean` logs the reward before the transforms."""
    dynamic_sampling: bool = False
    """DAPO's dynamic sampling: drop groups whose samples are all right or all wrong (they carry no
    gradient) and draw more problems until `prompts_per_step` groups have signal or
    `dynamic_sampling_max_draws` batches were drawn."""
    dynamic_sampling_max_draws: int = 3
    """Most batches of `prompts_per_step` problems one step draws under dynamic sampling."""
    loss: str = "ppo_clip"
    """Policy loss, a name in `rlvr.training.losses.LOSSES`. The PPO-clip family ('ppo_clip' and its
    presets 'grpo', 'dapo', 'dr_grpo', 'dgpo') takes `clip_eps_*`, `loss_aggregation`, `kl_beta` and
    L_max = max_new_tokens * max_turns from the fields above (`rlvr.training.losses.ppo_preset`);
    any other loss (e.g. 'rover') is built from `loss_settings` alone and refuses those fields."""
    loss_settings: dict[str, Any] = field(default_factory=dict)
    """Keyword arguments of the loss's factory (ROVER: `{rho: 1.0, aggregation: token_mean}`); for
    the PPO-clip family a setting given both here and by its field must agree."""
    objective: str | None = None
    """Training that is not policy gradient, a name in `rlvr.training.objectives.OBJECTIVES`, in place of
    the advantage and the loss: 'flow_of_reasoning' (trajectory balance, learned log Z, replay buffer)
    or 'robust_dpo' (correct-vs-wrong pairs of each group). None: the policy-gradient step."""
    objective_settings: dict[str, Any] = field(default_factory=dict)
    """Settings of the objective, checked before any work (unknown names get close matches):
    `flow_of_reasoning`: `{replay_size: 64, log_z_lr: 0.1}`; `robust_dpo`: `{beta: 0.1, epsilon: 0.1}`."""
    max_turns: int = 1
    """Turns per episode. 1: one response per prompt, scored by the task. Above 1 the env behind
    `env_id` answers back (tool results, a world, an answerer): episodes run through its `step`,
    the env's tokens are masked out of the loss and each turn's reward reaches that turn's advantage."""

    # ---- evaluation -----------------------------------------------------------------------------
    eval_every: int = 20
    """Greedy evaluation every this many RL steps (0: only before and after RL)."""
    eval_problems: int = 200
    """Distinct held-out problems per evaluation."""
    eval_split: str = "eval"
    """Held-out problems: 'eval', 'test', or 'heldout' (both: every problem outside 'train')."""
    eval_samples: int = 8
    """Samples per problem for pass@k and maj@k (before and after RL only: they cost n passes)."""
    eval_k: list[int] = field(default_factory=lambda: [1, 8])
    """The k of pass@k and maj@k (each <= eval_samples)."""
    eval_batch_size: int = 1024
    """Prompts per generation batch during evaluation."""
    eval_sweep: dict[str, Any] = field(default_factory=dict)
    """Evaluate at several difficulty levels, {knob: [value, ...]} (every combination when several
    knobs): `eval_problems` held-out problems at each level, the training difficulty's other knobs
    kept. Each evaluation then reports every level's greedy solve rate (`by_difficulty`) besides the
    overall figures, e.g. `{hops: [[1, 2, 3], [4, 5]]}` for a run trained on 1-3 hops. Empty: the
    training difficulty only."""

    # ---- run ------------------------------------------------------------------------------------
    seed: int = 0
    """Seed of problem streams and sampling; a run is reproducible from it."""
    out_dir: str = "runs/train"
    """Run folder: config, metrics.jsonl, checkpoints."""
    checkpoint_every: int = 50
    """Save a checkpoint every this many RL steps (and at the end; 0: only at the end)."""
    resume: bool = False
    """Continue from the newest checkpoint in `out_dir` when there is one. The checkpoint's config must
    equal this one except for the keys in `rlvr.training.checkpoint.RESUMABLE_CHANGES` (how many
    steps, where and how it is shown), else the resume stops naming the keys that differ."""
    force_resume: bool = False
    """Resume even when the config differs from the checkpoint's (`rlvr train --resume --force`)."""
    progress: bool = True
    """Show progress bars."""
    tensorboard: bool = True
    """Also log metrics as TensorBoard scalars in `out_dir` (JSONL is always written; needs `tensorboard`)."""
    plots: bool = True
    """Draw the run's curves as PNGs in `out_dir/plots/` at the end (needs `matplotlib`)."""
    sft_baseline: bool = False
    """After the run, train the same starting model by SFT alone for the run's whole SFT + RL wall
    time and report its held-out accuracy: the honest comparison for what RL added (doubles the time)."""

    def validate(self) -> TrainConfig:
        """Check every field's type and domain, then the fields that depend on each other; raise
        ValueError naming the first invalid field, what it expects and what it got; return self."""
        for name in _FIELD_NAMES:
            value = _coerce(name, getattr(self, name), from_text=False)
            setattr(self, name, value)  # ints given for float fields become floats
            if name in DOMAINS and value is not None:
                description, accepts = DOMAINS[name]
                if not accepts(value):
                    raise ValueError(f"config {name} must be {description}, got {value!r}")
        check_relations(self)
        return self

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def _coerce(name: str, value: Any, from_text: bool = True) -> Any:
    """Check `value` against a field's annotation (string form, from `from __future__`).

    `from_text`: also accept a number spelt as text (YAML 1.1 reads '1e-4' as text). Floats must be
    finite (YAML's `.nan` and `.inf` are floats); a bool is neither an int nor a float.
    """
    hint = _HINTS[name]
    options = typing.get_args(hint) if typing.get_origin(hint) in (typing.Union, types.UnionType) else (hint,)
    for option in options:
        origin = typing.get_origin(option) or option
        if option is type(None) and value is None:
            return None
        if origin in (int, float) and from_text and isinstance(value, str) and _NUMBER.fullmatch(value.strip()):
            number = float(value)
            if origin is float:
                if not math.isfinite(number):  # '1e999' spells infinity
                    raise ValueError(f"config {name} expects a finite float, got {value!r}")
                return number
            if origin is int and number.is_integer():
                return int(number)
        if origin is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            if not math.isfinite(value):
                raise ValueError(f"config {name} expects a finite float, got {value!r}")
            return float(value)
        if origin is int and isinstance(value, int) and not isinstance(value, bool):
            return value
        if origin in (str, bool) and isinstance(value, origin):
            return value
        if origin is dict and isinstance(value, Mapping):
            return dict(value)
        if origin is list and isinstance(value, (list, tuple)):
            (element,) = typing.get_args(option)
            wrong = [item for item in value if not isinstance(item, element) or isinstance(item, bool)]
            if wrong:
                raise ValueError(f"config {name} expects a list of {element.__name__}, got {list(value)!r} "
                                 f"({wrong[0]!r} is {type(wrong[0]).__name__})")
            return list(value)
    expected = " or ".join(getattr(option, "__name__", str(option)) for option in options)
    raise ValueError(f"config {name} expects {expected}, got {value!r} ({type(value).__name__})")


def parse_override(text: str) -> tuple[str, Any]:
    """'key=value' -> (key, value): text for text fields, else the value read as YAML (typed).

    >>> parse_override("eval_k=[1, 4]"), parse_override("prompt_template={expression}=")
    (('eval_k', [1, 4]), ('prompt_template', '{expression}='))
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    if not sep or not key:
        raise ValueError(f"an override must look like key=value, got {text!r}")
    hints = _HINTS
    # a text field takes the text as written: YAML would read '{expression}' as a mapping
    hint = hints.get(key)
    is_text = hint is str or (typing.get_origin(hint) in (typing.Union, types.UnionType) and str in typing.get_args(hint))
    if is_text and raw.strip() not in ("null", "~"):
        return key, raw
    try:
        return key, yaml.safe_load(raw) if raw.strip() else ""
    except yaml.YAMLError:
        return key, raw


def load_config(source: str | Path | Mapping[str, Any] | None = None, overrides: Sequence[str] = ()) -> TrainConfig:
    """A validated `TrainConfig` from a YAML file or a mapping, then `key=value` overrides in order."""
    if source is None:
        values: dict[str, Any] = {}
    elif isinstance(source, Mapping):
        values = dict(source)
    else:
        path = Path(source)
        if not path.is_file():
            raise FileNotFoundError(f"config file not found: {path}")
        loaded = yaml.safe_load(path.read_text())
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, Mapping):
            raise ValueError(f"{path}: expected a mapping of config keys, got {type(loaded).__name__}")
        values = dict(loaded)
    for text in overrides:
        key, value = parse_override(text)
        values[key] = value
    checked = {}
    for key, value in values.items():
        if key not in _HINTS:
            raise ValueError(f"unknown config key {key!r}" + (did_you_mean(str(key), _FIELD_NAMES) or
                             f"; known keys: {', '.join(sorted(_FIELD_NAMES))}"))
        checked[key] = _coerce(key, value)
    return TrainConfig(**checked).validate()


_FIELD_NAMES = tuple(f.name for f in dataclasses.fields(TrainConfig))
_HINTS = typing.get_type_hints(TrainConfig)
