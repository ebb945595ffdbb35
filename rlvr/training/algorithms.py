"""Every training plug-in by kind, for `rlvr algorithms`: advantages, samplers, reward transforms,
losses, generators and objectives, each with its reference (the algorithms spec's provenance tag),
one line saying what it does, and its settings with their defaults.

The listing is read from the registries (`ADVANTAGES`, `SAMPLERS`, `REWARD_TRANSFORMS`, `LOSSES`,
`GENERATORS`, `OBJECTIVES`),
so a new plug-in appears as soon as it is registered. Advantage, sampler and transform classes carry
their `source` and `summary`; losses are factories in `LOSSES`, so their two lines live in
`LOSS_INFO` here (a test checks that every registered loss has one).

>>> [a.kind for a in find("grpo")]
['advantage', 'loss']
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from rlvr.core.hints import did_you_mean

REQUIRED_TEXT = "(required)"
"""How a setting without a default is shown."""

KINDS: dict[str, str] = {
    "advantage": "advantage: NAME, advantage_settings: {...}",
    "sampler": "sampler: NAME, sampler_settings: {...}",
    "reward transform": "reward_transforms: [{name: NAME, ...}]",
    "loss": "loss: NAME, loss_settings: {...}",
    "generator": "generator: NAME, generator_settings: {...}",
    "objective": "objective: NAME, objective_settings: {...}",
}
"""Kind -> how a scenario names a plug-in of that kind."""

LOSS_INFO: dict[str, tuple[str, str]] = {
    "ppo_clip": ("PPO clipped surrogate [paper]",
                 "-min(ratio A, clip(ratio, 1 - eps_low, 1 + eps_high) A) per token, any aggregation"),
    "grpo": ("GRPO [paper]", "PPO-clip, mean over tokens then over responses, optional k3 KL (kl_coef)"),
    "dapo": ("DAPO [paper]", "PPO-clip with clip-higher (eps_high 0.28) and a token-mean over the batch"),
    "dr_grpo": ("Dr. GRPO [paper]", "PPO-clip, token sums over G * L_max (no length bias)"),
    "dgpo": ("DGPO / MathForge [code]", "PPO-clip with a token-mean over the batch"),
    "rover": ("ROVER [code]",
              "(rho log(pi/pi_old) - stopgrad(r~ + rho vocabulary-mean log-ratio of the next state))^2"),
}
"""Loss name -> (reference with the spec's tag, what it does)."""

_PPO_SETTING_DOCS = {
    "eps_low": "clip range below 1 (config clip_eps_low)",
    "eps_high": "clip range above 1 (config clip_eps_high)",
    "aggregation": "how token terms become a scalar (config loss_aggregation)",
    "max_len": "L_max of seq_mean_token_sum_norm; the trainer sets max_new_tokens * max_turns",
    "kl_coef": "weight of the k3 KL to the policy at the start of RL (config kl_beta)",
    "entropy_coef": "entropy regularisation (policy-stability analysis [paper]): entropy_coef * H_t subtracted "
                    "per token (loss_settings)",
}
_ROVER_SETTING_DOCS = {"rho": "temperature linking Q-values and log-ratios",
                       "aggregation": "how token terms become a scalar"}


@dataclass(frozen=True)
class Algorithm:
    """One plug-in as `rlvr algorithms` shows it."""

    name: str
    kind: str
    source: str
    summary: str
    settings: Mapping[str, tuple[Any, str]]
    """Setting -> (default, what it does); a required setting's default is `REQUIRED_TEXT`."""


def _plugin(kind: str, cls: type) -> Algorithm:
    settings = {key: (REQUIRED_TEXT if default is dataclasses.MISSING else default, doc)
                for key, (default, doc) in cls.settings().items()}
    return Algorithm(cls.name, kind, cls.source, cls.summary, settings)


def _loss(name: str) -> Algorithm:
    from rlvr.training.losses import PPO_PRESETS, PPOClipLoss, RoverLoss

    source, summary = LOSS_INFO.get(name, ("", ""))
    if name in PPO_PRESETS:
        fixed, defaults = PPO_PRESETS[name]
        values = {item.name: item.default for item in dataclasses.fields(PPOClipLoss)} | defaults | fixed
        settings = {key: (value, _PPO_SETTING_DOCS.get(key, "") + (" (fixed by the preset)" if key in fixed else ""))
                    for key, value in values.items()}
    elif name == "rover":
        settings = {item.name: (item.default, _ROVER_SETTING_DOCS.get(item.name, ""))
                    for item in dataclasses.fields(RoverLoss) if item.name in _ROVER_SETTING_DOCS}
    else:
        settings = {}
    return Algorithm(name, "loss", source, summary, settings)


def algorithms() -> list[Algorithm]:
    """Every registered plug-in, by kind (in `KINDS` order), then in registration order."""
    from rlvr.training.advantages import ADVANTAGES
    from rlvr.training.generators import GENERATORS
    from rlvr.training.losses import LOSSES
    from rlvr.training.objectives import OBJECTIVES
    from rlvr.training.reward_transforms import REWARD_TRANSFORMS
    from rlvr.training.samplers import SAMPLERS

    return ([_plugin("advantage", cls) for cls in ADVANTAGES.values()] +
            [_plugin("sampler", cls) for cls in SAMPLERS.values()] +
            [_plugin("reward transform", cls) for cls in REWARD_TRANSFORMS.values()] +
            [_loss(name) for name in LOSSES] +
            [_plugin("generator", cls) for cls in GENERATORS.values()] +
            [_plugin("objective", cls) for cls in OBJECTIVES.values()])


def find(name: str) -> list[Algorithm]:
    """The plug-ins called `name` (one per kind that has it: `grpo` is an advantage and a loss);
    an unknown name is refused with close matches."""
    everything = algorithms()
    found = [algorithm for algorithm in everything if algorithm.name == name]
    if not found:
        names = list(dict.fromkeys(algorithm.name for algorithm in everything))
        raise ValueError(f"unknown algorithm {name!r}{did_you_mean(name, names, quoted=True)}; "
                         f"expected one of {', '.join(names)}")
    return found


def _value(value: Any) -> str:
    return "none" if value is None else str(value)


def listing() -> str:
    """Every plug-in: per kind, how a scenario names it, then per plug-in its name and reference, what
    it does, and its settings with defaults."""
    everything = algorithms()
    width = max(len(algorithm.name) for algorithm in everything)
    lines = []
    for kind, usage in KINDS.items():
        lines.append(f"{kind} plug-ins ({usage})")
        for algorithm in (a for a in everything if a.kind == kind):
            lines.append(f"  {algorithm.name:<{width}}  {algorithm.source}")
            lines.append(f"  {'':<{width}}  {algorithm.summary}")
            settings = ", ".join(f"{key}={_value(default)}" for key, (default, _) in algorithm.settings.items())
            lines.append(f"  {'':<{width}}  settings: {settings or 'none'}")
        lines.append("")
    lines.append("`rlvr algorithms NAME` shows one with what each setting does.")
    return "\n".join(lines)


def describe(name: str) -> str:
    """Every plug-in called `name`: kind, how a scenario names it, reference, what it does, and each
    setting with its default and what it does."""
    blocks = []
    for algorithm in find(name):
        lines = [f"{algorithm.name}  ({algorithm.kind}; {KINDS[algorithm.kind].replace('NAME', algorithm.name)})",
                 f"  reference: {algorithm.source}", f"  {algorithm.summary}"]
        if algorithm.settings:
            lines.append("  settings:")
            lines += [f"    {key} = {_value(default)}: {doc}" for key, (default, doc) in algorithm.settings.items()]
        else:
            lines.append("  settings: none")
        blocks.append("\n".join(lines))
    return "\n\n".join(blocks)
