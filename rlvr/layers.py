"""The layers of rlvr, bottom up: a module imports from its own layer and the layers below it.

This table is the one statement of the layering. `tests/test_import_graph.py` checks every
import in rlvr/ against it (imports inside functions too) and checks that the README's layout
section lists the same layers in the same order; it imports nothing, so any tool can read it.

Why each part sits where it does:
- core: the contracts (Problem, Score, Task, the env bases), seeding, knobs, hints; everything
  else builds on them. This table sits here too: it imports nothing.
- rewards: pure functions of text; they may use core's Score, never an env.
- registry: the id table names envs by lazy "module:Class" strings, so it imports core alone
  and every env can be found without importing any; envs that wrap another registered task
  (Debate) look ids up in it. `rlvr/__init__.py` only registers the table with Gymnasium.
- envs: one family per folder or module, plus shared kits (`KITS`) that families build on.
- agents: act in envs (random, oracle, scripted, model policies).
- tools: drive registered envs from outside without training: the conformance and fuzz checks
  third parties run on their own envs, the problem export, and the env server with its client.
- experiments: runners that put agents in envs and report (no training of their own).
- training: the RL loop; it may run experiments' pieces, not the reverse.
- interfaces: the ways in from outside, the `rlvr` command and adapters to other ecosystems.

scenarios/ (YAML), benchmarks/ and tests/ are outside the package and may import any layer.
Imports named by strings (the registry's entry points, lazy exports) are not imports here: naming
a higher layer without importing it is what the registry is for.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Layer:
    """One layer: its name and the package paths it holds (a folder ends with "/")."""

    name: str
    paths: tuple[str, ...]
    light: bool
    """True when the layer must run without the training stack: it imports none of `HEAVY`."""


LAYERS = (
    Layer("core", ("rlvr/core/", "rlvr/layers.py"), light=True),
    Layer("rewards", ("rlvr/rewards/",), light=True),
    Layer("registry", ("rlvr/__init__.py", "rlvr/registration.py"), light=True),
    Layer("envs", ("rlvr/envs/",), light=True),
    Layer("agents", ("rlvr/agents/",), light=False),
    Layer("tools", ("rlvr/testing/", "rlvr/export.py", "rlvr/serve/"), light=True),
    Layer("experiments", ("rlvr/experiments/",), light=False),
    Layer("training", ("rlvr/training/",), light=False),
    Layer("interfaces", ("rlvr/integrations/", "rlvr/cli.py", "rlvr/cli_errors.py", "rlvr/__main__.py"), light=False),
)

HEAVY = (
    "accelerate", "datasets", "deepspeed", "matplotlib", "peft", "tensorboard", "tokenizers", "torch",
    "transformers", "trl", "vllm",
)
"""Top-level modules of the training stack (the `train`, `vllm` and `trl` extras and their kin):
a user of the light layers installs gymnasium, numpy and friends, not these."""

KITS = ("arithmetic", "knowledge")
"""Folders of rlvr/envs/ that hold no family of their own but code families share. Every other
direct child of rlvr/envs/ is a family, and no family imports another."""

FAMILY_OF = {"debate_v0": "debate", "twenty_questions_v0": "elicitation"}
"""PettingZoo's versioned modules (`from rlvr.envs import debate_v0`) sit beside the families by
that library's convention; each belongs to the family it versions."""


def layer_of(path: str) -> Layer | None:
    """The layer holding a file given by its path from the repository root, or None.

    >>> layer_of("rlvr/envs/search/task.py").name, layer_of("rlvr/cli.py").name
    ('envs', 'interfaces')
    >>> layer_of("rlvr/nowhere/app.py") is None
    True
    """
    for layer in LAYERS:
        if any(path == p or (p.endswith("/") and path.startswith(p)) for p in layer.paths):
            return layer
    return None


def family_of(module: str) -> str | None:
    """The env family (or kit) a dotted module name belongs to; None outside a family.

    >>> family_of("rlvr.envs.countdown.task"), family_of("rlvr.envs.debate_v0"), family_of("rlvr.envs")
    ('countdown', 'debate', None)
    """
    parts = module.split(".")
    if parts[:2] != ["rlvr", "envs"] or len(parts) < 3:
        return None
    return FAMILY_OF.get(parts[2], parts[2])
