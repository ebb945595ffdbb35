"""Checkpoint files that hold data only: tensors and plain values, a content hash, no code.

    write_checkpoint(folder, state)            # checkpoint.pt + checkpoint.json (its sha256)
    state = read_checkpoint(folder, map_location="cpu")

A run folder may come from someone else, so reading it must never run code: the file is read
with `torch.load(..., weights_only=True)`, which rebuilds tensors, containers and numbers and
refuses any other object (a pickle that names `os.system` is refused, not called). Everything a
resume needs is therefore stored as tensors or plain types: weights, optimizer state, the step,
the problem-stream positions, the RNG states (`rng_state()` turns Python's `random`, numpy's
legacy global generator, torch CPU and CUDA into lists, ints and tensors), the evaluations and the
config (as YAML text).

`checkpoint.json` beside the file records its sha256 and size. Reading checks them first and stops
with a clear error on a mismatch: a truncated copy, a half-synced folder or a file swapped after
the run fail loudly instead of resuming from something else. (The hash is an integrity check, not
a signature: safety against hostile files comes from `weights_only`.)

Writing is crash-safe: both files go to temporary names, then the checkpoint and then the manifest
are renamed into place. A kill between the two renames leaves the new checkpoint beside the old
manifest with the new manifest still pending under its temporary name; reading accepts a
checkpoint that matches that pending manifest, so no interruption point loses the run.
"""

from __future__ import annotations

import hashlib
import json
import math
import os
import pickle
import random
from collections import OrderedDict
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
import yaml

CHECKPOINT_FILE = "checkpoint.pt"
MANIFEST_FILE = "checkpoint.json"
FORMAT = 1
"""Version of the checkpoint layout; a reader refuses other versions instead of misreading them."""
_PENDING = ".tmp"


class CheckpointError(ValueError):
    """A checkpoint that cannot be used: missing manifest, wrong hash, or content that is not data."""


def checkpoint_paths(folder: str | os.PathLike) -> tuple[Path, Path]:
    """(checkpoint file, manifest) of a run folder."""
    folder = Path(folder)
    return folder / CHECKPOINT_FILE, folder / MANIFEST_FILE


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes, read in chunks (checkpoints of real models are gigabytes)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def write_checkpoint(folder: str | os.PathLike, state: Mapping[str, Any]) -> Path:
    """Write `state` (tensors and plain values only) and its manifest atomically; the checkpoint path."""
    path, manifest = checkpoint_paths(folder)
    path.parent.mkdir(parents=True, exist_ok=True)
    _check_plain(state, "state")  # fail at save time, not at the resume that needs the file
    temporary, pending = path.with_name(path.name + _PENDING), manifest.with_name(manifest.name + _PENDING)
    torch.save(dict(state), temporary)
    record = {"format": FORMAT, "file": CHECKPOINT_FILE, "sha256": file_sha256(temporary),
              "bytes": temporary.stat().st_size, "step": state.get("step")}
    pending.write_text(json.dumps(record, indent=2) + "\n")
    os.replace(temporary, path)  # a kill before this leaves the old checkpoint and manifest whole
    os.replace(pending, manifest)  # a kill before this one is repaired by read_checkpoint (see above)
    return path


def read_checkpoint(folder: str | os.PathLike, map_location: Any = "cpu",
                    required: tuple[str, ...] = ()) -> dict[str, Any]:
    """The state in `folder`'s checkpoint, after its hash is checked; never runs code from the file.

    Raises `CheckpointError` (a ValueError) naming what was expected and what was found, also when
    a `required` key is missing or the state's own format differs.
    """
    path, manifest = checkpoint_paths(folder)
    if not path.is_file():
        raise CheckpointError(f"expected a checkpoint at {path}, found none")
    digest = file_sha256(path)
    candidates = [manifest, manifest.with_name(manifest.name + _PENDING)]
    records = [_read_manifest(candidate) for candidate in candidates if candidate.is_file()]
    if not records:
        raise CheckpointError(f"{path} has no {MANIFEST_FILE} beside it (written by an older rlvr, or copied "
                              f"alone): expected its sha256 there, so its content cannot be checked")
    if not any(record.get("sha256") == digest for record in records):
        raise CheckpointError(f"{path} does not match {manifest}: expected sha256 {records[0].get('sha256')}, "
                              f"the file has {digest} ({path.stat().st_size} bytes); it was changed or cut "
                              f"short after it was written")
    try:
        state = torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as error:
        # torch's own message suggests weights_only=False: exactly what must not be done here
        reason = str(error).split("\n")[-1].strip() or type(error).__name__
        raise CheckpointError(f"{path} holds objects other than tensors and plain values (an rlvr checkpoint "
                              f"never does); refused to load it without running its code ({reason[:300]})") from None
    except (RuntimeError, EOFError, OSError) as error:
        raise CheckpointError(f"{path} is not a readable torch checkpoint: {error}") from None
    if not isinstance(state, dict):
        raise CheckpointError(f"{path}: expected a dict of checkpoint fields, got {type(state).__name__}")
    missing = [key for key in required if key not in state]
    if missing or (required and state.get("format") != FORMAT):
        raise CheckpointError(f"{path}: expected an rlvr checkpoint of format {FORMAT} with {list(required)}, "
                              f"got format {state.get('format')!r}, missing {missing}")
    return state


def _read_manifest(path: Path) -> dict[str, Any]:
    try:
        record = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, ValueError) as error:
        raise CheckpointError(f"{path}: expected a JSON manifest, could not read it ({error})") from None
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        found = record.get("format") if isinstance(record, dict) else type(record).__name__
        raise CheckpointError(f"{path}: expected checkpoint format {FORMAT}, got {found!r}")
    return record


def _check_plain(value: Any, where: str) -> None:
    """Raise TypeError unless `value` is made of what `weights_only` loading accepts back.

    Exact types, not isinstance: numpy's float64 is a float subclass, a namedtuple a tuple, and
    neither loads back under `weights_only`.
    """
    if value is None or type(value) in (bool, int, float, str, torch.Size, torch.dtype):
        return
    if isinstance(value, torch.Tensor):
        return
    if type(value) in (dict, OrderedDict):
        for key, item in value.items():
            _check_plain(key, f"{where} key")
            _check_plain(item, f"{where}[{key!r}]")
        return
    if type(value) in (list, tuple):
        for index, item in enumerate(value):
            _check_plain(item, f"{where}[{index}]")
        return
    raise TypeError(f"checkpoint {where}: expected tensors and plain values (lists, dicts, numbers, text), "
                    f"got {type(value).__name__}")


def plain(value: Any) -> Any:
    """`value` with numpy scalars and arrays turned into Python numbers and lists (for records)."""
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, Mapping):
        return {key: plain(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [plain(item) for item in value]
    return value


# ---- config on resume ---------------------------------------------------------------------------
RESUMABLE_CHANGES = frozenset({
    "rl_steps", "resume", "force_resume", "out_dir", "checkpoint_every", "progress", "tensorboard", "plots",
    "num_threads", "sft_baseline", "rollout_workers", "rollout_backend", "ray_address", "rollout_timeout_s",
    "server_url", "server_model", "server_weights_dir", "server_timeout_s",
})
"""Config keys a resume may change without `--force`, and why each cannot change what is computed:

- `rl_steps`: extends (or ends early) a run; each step's problems and samples are a function of
  (seed, step) only, so the steps already taken are the ones the longer run would take;
- `resume`, `force_resume`: how this start is made, not what it computes;
- `out_dir`: a run folder may be moved or copied before it is resumed;
- `checkpoint_every`: when state is written, not what it is;
- `progress`, `tensorboard`, `plots`: what is shown and drawn;
- `num_threads`: CPU threads (speed; float sums may round differently, the algorithm is the same);
- `sft_baseline`: a separate comparison run after this one, in its own folder.
- `rollout_workers`, `rollout_backend`, `ray_address`, `rollout_timeout_s`: where envs step and
  rollouts are scored; results come back in order and are the same (`rlvr.training.workers`).
- `server_url`, `server_model`, `server_weights_dir`, `server_timeout_s`: where a generation server
  runs and how long to wait for it; it samples from the learner's weights, pushed when the policy
  is built (`rlvr.agents.server_policy`), so a moved server computes the same. How often weights are
  pushed (`server_sync_every`, `server_allow_stale`) changes the samples and is not in this list.

Anything else (learning rate, loss, task, model, seed, evaluation set...) changes the experiment,
so a resume that would mix two experiments in one run folder stops and names the keys."""


def config_text(config: Any) -> str:
    """A `TrainConfig` as YAML text: stored in checkpoints as a string (plain data whatever its knobs
    hold) and compared after a YAML round trip, so both sides are read the same way."""
    return yaml.safe_dump(config.to_dict(), sort_keys=True)


def check_resume_config(saved_text: str, config: Any) -> list[str]:
    """The differences between a checkpoint's config (`config_text`) and `config` outside
    `RESUMABLE_CHANGES`; raise ValueError naming them unless `config.force_resume`."""
    if not isinstance(saved_text, str):
        raise CheckpointError(f"checkpoint config: expected YAML text, got {type(saved_text).__name__}")
    saved = yaml.safe_load(saved_text)
    if not isinstance(saved, dict):
        raise CheckpointError(f"checkpoint config: expected a YAML mapping, got {type(saved).__name__}")
    defaults = type(config)().to_dict()
    differences = config_differences(saved, yaml.safe_load(config_text(config)), defaults)
    if differences and not config.force_resume:
        raise ValueError(f"resume refused: the config differs from the checkpoint's in {len(differences)} key(s): "
                         f"{'; '.join(differences)}. Resume with the checkpoint's values, or pass --force "
                         "(force_resume=true) to continue with the new ones")
    return differences


def config_differences(saved: Mapping[str, Any], current: Mapping[str, Any],
                       defaults: Mapping[str, Any]) -> list[str]:
    """'key: checkpoint X, now Y' for each key outside `RESUMABLE_CHANGES` whose value differs.

    A key the checkpoint lacks compares with its default (a field added later, left at its default,
    means the same run); a key only the checkpoint has is reported.

    >>> config_differences({"lr": 1e-4, "rl_steps": 5}, {"lr": 5e-5, "rl_steps": 9}, {})
    ['lr: checkpoint 0.0001, now 5e-05']
    """
    differences = []
    for key in sorted(set(saved) | set(current)):
        if key in RESUMABLE_CHANGES:
            continue
        before = saved.get(key, defaults.get(key, "<absent>"))
        after = current.get(key, "<absent>")
        if before != after:
            differences.append(f"{key}: checkpoint {before!r}, now {after!r}")
    return differences


# ---- RNG states ---------------------------------------------------------------------------------
def rng_state() -> dict[str, Any]:
    """The global RNG states (Python, numpy, torch CPU, torch CUDA) as tensors and plain values."""
    version, internal, gauss_next = random.getstate()
    kind, keys, position, has_gauss, cached = np.random.get_state(legacy=True)
    return {
        "python": {"version": int(version), "state": [int(x) for x in internal], "gauss_next": gauss_next},
        "numpy": {"kind": str(kind), "keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)),
                  "position": int(position), "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else None,
    }


def set_rng_state(state: Mapping[str, Any]) -> None:
    """Restore what `rng_state()` saved (CUDA states only where CUDA is visible)."""
    python = state["python"]
    gauss = python["gauss_next"]
    if gauss is not None and not (isinstance(gauss, float) and math.isfinite(gauss)):
        raise CheckpointError(f"checkpoint rng python gauss_next: expected None or a finite float, got {gauss!r}")
    random.setstate((int(python["version"]), tuple(int(x) for x in python["state"]), gauss))
    numpy = state["numpy"]
    keys = np.asarray(numpy["keys"].cpu().numpy(), dtype=np.uint32)
    np.random.set_state((numpy["kind"], keys, int(numpy["position"]), int(numpy["has_gauss"]),
                         float(numpy["cached_gaussian"])))
    torch.set_rng_state(state["torch"].cpu())
    if state.get("cuda") is not None and torch.cuda.is_available():
        torch.cuda.set_rng_state_all([s.cpu() for s in state["cuda"]])


# ---- a trainer's state ----------------------------------------------------------------------------
CHECKPOINT_KEYS = ("step", "sft_done", "config", "model", "optimizer", "reference", "rng", "streams", "evaluations")
"""Fields every trainer checkpoint holds (`read_checkpoint(..., required=CHECKPOINT_KEYS)`)."""


def trainer_state(trainer: Any) -> dict[str, Any]:
    """What a `Trainer` checkpoint holds: weights, optimizer, RNG states, step, stream positions,
    config, the advantage, sampler and reward transform plug-ins' states, and the data-parallel
    layout it was written with (ranks; FSDP's whole state, gathered: every rank must call)."""
    dp = trainer.dp
    return {
        "format": FORMAT,
        "step": trainer.step,
        "sft_done": trainer.sft_done,
        "config": config_text(trainer.config),
        "model": dp.model_state(trainer.model),
        "optimizer": dp.optimizer_state(trainer.model, trainer.optimizer),
        "reference": None if trainer.reference is None else trainer.reference.model.state_dict(),
        "rng": rng_state(),
        "streams": {"train": trainer.train_stream.state_dict(), "sft": trainer.sft_stream.state_dict()},
        "evaluations": plain(trainer.evaluations),
        "advantage": trainer.advantage.state_dict(),
        "sampler": trainer.sampler.state_dict(),
        "reward_transforms": {transform.name: transform.state_dict() for transform in trainer.reward_transforms},
        "generator": trainer.generator.state_dict(),
        "objective": {} if trainer.objective is None else trainer.objective.state_dict(),
        "world_size": dp.world,
        "sharded": dp.fsdp,
    }


def check_layout(state: Mapping[str, Any], dp: Any, path: Path) -> str | None:
    """Raise where a checkpoint's data-parallel layout cannot be read by this run (FSDP's optimizer
    state is keyed by name, a plain one by position); a note where it can but the run changes."""
    sharded = bool(state.get("sharded", False))
    if sharded != dp.fsdp:
        said = {True: "with", False: "without"}
        raise CheckpointError(f"{path} was written by a run {said[sharded]} FSDP sharding, this one runs "
                              f"{said[dp.fsdp]}: its optimizer state is laid out differently; resume with the "
                              "same parallel mode on several ranks")
    if int(state.get("world_size", 1)) != dp.world:
        return (f"resuming on {dp.world} rank(s) a run checkpointed on {state.get('world_size', 1)}: the steps "
                "go on, but their samples differ from an uninterrupted run's")
    return None


def restore_trainer(trainer: Any, state: Mapping[str, Any]) -> None:
    """Put `trainer_state`'s values back into `trainer` (every rank reads the whole file)."""
    trainer.optimizer = trainer._new_optimizer()
    trainer.dp.load_states(trainer.model, trainer.optimizer, state["model"], state["optimizer"])
    trainer.step, trainer.sft_done = int(state["step"]), bool(state["sft_done"])
    if state["reference"] is not None:
        trainer.reference = trainer._frozen_copy()
        trainer.reference.model.load_state_dict(state["reference"])
    trainer._weights_changed()
    set_rng_state(state["rng"])
    trainer.train_stream.load_state_dict(state["streams"]["train"])
    trainer.sft_stream.load_state_dict(state["streams"]["sft"])
    trainer.evaluations = list(state["evaluations"])
    trainer.advantage.load_state_dict(state.get("advantage") or {})  # absent from checkpoints before plug-ins
    trainer.sampler.load_state_dict(state.get("sampler") or {})
    for transform in trainer.reward_transforms:  # names are unique in a run
        transform.load_state_dict((state.get("reward_transforms") or {}).get(transform.name) or {})
    trainer.generator.load_state_dict(state.get("generator") or {})  # absent from checkpoints before generators
    if trainer.objective is not None:
        trainer.objective.load_state_dict(state.get("objective") or {})
