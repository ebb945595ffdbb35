"""Checkpoints hold data only: a crafted pickle never runs, hashes are checked, RNG states come
back, interrupted saves are repaired, and a resume with a changed config needs --force."""

from __future__ import annotations

import json
import os
import random
import shlex

import numpy as np
import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training import checkpoint as checkpoint_module  # noqa: E402
from rlvr.training import trainer as trainer_module  # noqa: E402
from rlvr.training.checkpoint import (  # noqa: E402
    FORMAT,
    CheckpointError,
    file_sha256,
    read_checkpoint,
    rng_state,
    set_rng_state,
    write_checkpoint,
)
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.test_trainer import SMALL, small_config  # noqa: E402

QUICK = ["sft_steps=1", "rl_steps=1", "eval_every=0", "tensorboard=false", "eval_problems=4", "eval_samples=1",
         "eval_k=[1]"]


class RunsCode:
    """Pickles as a call to os.system: unpickling it without weights_only runs the command."""

    def __init__(self, marker):
        self.marker = marker

    def __reduce__(self):
        return os.system, (f"touch {shlex.quote(str(self.marker))}",)


def plant_crafted_checkpoint(folder, marker, with_manifest=True):
    """A run folder whose checkpoint.pt would run `touch marker` when unpickled (with a manifest
    that matches it, so only the loader's refusal to unpickle code can stop it)."""
    folder.mkdir(parents=True, exist_ok=True)
    config = small_config(folder, *QUICK)
    (folder / "config.yaml").write_text(yaml.safe_dump(config.to_dict()))
    path = folder / "checkpoint.pt"
    torch.save({"format": FORMAT, "step": 1, "model": RunsCode(marker)}, path)
    if with_manifest:
        (folder / "checkpoint.json").write_text(json.dumps({"format": FORMAT, "sha256": file_sha256(path)}))
    return config


def test_the_crafted_pickle_would_run_code_when_unpickled_without_weights_only(tmp_path):
    # the control: the planted file really is hostile, so the tests below prove something
    marker = tmp_path / "ran"
    plant_crafted_checkpoint(tmp_path / "run", marker)
    torch.load(tmp_path / "run" / "checkpoint.pt", weights_only=False)
    assert marker.exists()


def test_a_crafted_checkpoint_does_not_run_on_resume(tmp_path, capsys):
    marker = tmp_path / "ran"
    config = plant_crafted_checkpoint(tmp_path / "run", marker)
    config.resume = True
    with pytest.raises(ValueError, match="refused to load it without running its code"):
        Trainer(config).train()
    assert not marker.exists()
    command = ["train", "scenarios/quickstart.yaml", "--out", str(tmp_path / "run"), "--resume"]
    for item in [*SMALL, *QUICK]:
        command += ["--set", item]
    assert main(command) == 2
    assert "refused to load it without running its code" in capsys.readouterr().err
    assert not marker.exists()


def test_a_crafted_checkpoint_does_not_run_on_eval_run(tmp_path, capsys):
    marker = tmp_path / "ran"
    plant_crafted_checkpoint(tmp_path / "run", marker)
    assert main(["eval", "--run", str(tmp_path / "run"), "--problems", "4"]) == 2
    error = capsys.readouterr().err
    assert "refused to load it without running its code" in error and "weights_only=False" not in error
    assert not marker.exists()


@pytest.fixture(scope="module")
def trained_run(tmp_path_factory):
    folder = tmp_path_factory.mktemp("trained") / "run"
    Trainer(small_config(folder, *QUICK)).train()
    return folder


def copy_run(source, target):
    target.mkdir(parents=True)
    for path in source.iterdir():
        if path.is_file():
            (target / path.name).write_bytes(path.read_bytes())
    return target


def test_a_changed_or_unmanifested_checkpoint_is_a_clear_error(trained_run, tmp_path, capsys):
    changed = copy_run(trained_run, tmp_path / "changed")
    with open(changed / "checkpoint.pt", "ab") as handle:
        handle.write(b"\0")
    with pytest.raises(CheckpointError, match="does not match .*checkpoint.json: expected sha256"):
        read_checkpoint(changed)
    assert main(["eval", "--run", str(changed), "--problems", "4"]) == 2
    assert "does not match" in capsys.readouterr().err
    alone = copy_run(trained_run, tmp_path / "alone")
    (alone / "checkpoint.json").unlink()
    with pytest.raises(CheckpointError, match="has no checkpoint.json beside it"):
        Trainer(small_config(alone, *QUICK, "resume=true")).train()


def test_a_checkpoint_written_by_the_trainer_loads_as_data_only(trained_run):
    state = torch.load(trained_run / "checkpoint.pt", weights_only=True)
    assert state["step"] == 1 and isinstance(state["config"], str)
    assert set(state["rng"]) == {"python", "numpy", "torch", "cuda"}
    manifest = json.loads((trained_run / "checkpoint.json").read_text())
    assert manifest["sha256"] == file_sha256(trained_run / "checkpoint.pt")


@pytest.mark.parametrize("fails_at", [1, 2])
def test_a_save_interrupted_at_either_rename_leaves_a_readable_checkpoint(tmp_path, monkeypatch, fails_at):
    write_checkpoint(tmp_path, {"step": 1, "weights": torch.zeros(3)})
    real_replace, calls = os.replace, []

    def replace_then_die(source, target):
        calls.append(target)
        if len(calls) == fails_at:
            raise KeyboardInterrupt  # the process dies here
        real_replace(source, target)

    monkeypatch.setattr(checkpoint_module.os, "replace", replace_then_die)
    with pytest.raises(KeyboardInterrupt):
        write_checkpoint(tmp_path, {"step": 2, "weights": torch.ones(3)})
    monkeypatch.undo()
    state = read_checkpoint(tmp_path)
    # before the checkpoint's rename the old state stands; after it, the new one with its pending manifest
    assert state["step"] == (1 if fails_at == 1 else 2)
    assert torch.equal(state["weights"], torch.zeros(3) if fails_at == 1 else torch.ones(3))


def test_saving_something_that_would_not_load_back_fails_at_save_time(tmp_path):
    with pytest.raises(TypeError, match=r"checkpoint state\['extra'\]: expected tensors and plain values"):
        write_checkpoint(tmp_path, {"step": 1, "extra": np.float64(1.0)})
    assert not (tmp_path / "checkpoint.pt").exists()


def draw_all():
    return (random.random(), random.gauss(0, 1), float(np.random.normal()), float(np.random.random()),
            torch.rand(3).tolist())


@settings(max_examples=25, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), draws=st.integers(0, 5), odd_gauss=st.booleans())
def test_rng_states_survive_a_weights_only_round_trip(tmp_path_factory, seed, draws, odd_gauss):
    random.seed(seed)
    np.random.seed(seed)
    torch.manual_seed(seed)
    for _ in range(draws):
        draw_all()
    if odd_gauss:  # leaves a cached second Gaussian in Python's and numpy's generators
        random.gauss(0, 1)
        np.random.normal()
    folder = tmp_path_factory.mktemp("rng")
    write_checkpoint(folder, {"rng": rng_state()})
    expected = draw_all()
    random.seed(seed + 1)
    np.random.seed((seed + 1) % 2**32)
    torch.manual_seed(seed + 1)
    set_rng_state(read_checkpoint(folder)["rng"])
    assert draw_all() == expected


def test_resume_restores_the_global_rng_states_of_the_checkpoint(tmp_path, monkeypatch):
    saved = []
    real_write = trainer_module.write_checkpoint

    def record_then_write(folder, state):
        saved.append((torch.get_rng_state().clone(), random.getstate(), np.random.get_state()[1].copy()))
        return real_write(folder, state)

    monkeypatch.setattr(trainer_module, "write_checkpoint", record_then_write)
    torch.manual_seed(1234)  # a state the run did not start from, so "unchanged" cannot pass by luck
    Trainer(small_config(tmp_path, *QUICK)).train()
    torch_state, python_state, numpy_keys = saved[-1]
    torch.manual_seed(99)  # what another job in the process (or a dropout layer) leaves behind
    random.seed(99)
    np.random.seed(99)
    assert not torch.equal(torch.get_rng_state(), torch_state)
    assert Trainer(small_config(tmp_path, *QUICK, "resume=true")).load_checkpoint()
    assert torch.equal(torch.get_rng_state(), torch_state)
    assert random.getstate() == python_state
    assert np.array_equal(np.random.get_state()[1], numpy_keys)


def test_resume_with_a_changed_config_is_refused_unless_forced(trained_run, tmp_path, capsys):
    run = copy_run(trained_run, tmp_path / "run")
    before = (run / "config.yaml").read_text()
    with pytest.raises(ValueError, match=r"2 key\(s\): group_size: checkpoint 4, now 2; lr: checkpoint 5e-05, now "
                                         r"0\.001.*--force"):
        Trainer(small_config(run, *QUICK, "resume=true", "lr=1e-3", "group_size=2")).train()
    assert (run / "config.yaml").read_text() == before  # a refused resume leaves the folder's config alone
    command = ["train", "scenarios/quickstart.yaml", "--out", str(run), "--resume"]
    for item in [*SMALL, *QUICK, "lr=1e-3"]:
        command += ["--set", item]
    assert main(command) == 2
    assert "lr: checkpoint 5e-05, now 0.001" in capsys.readouterr().err
    assert main([*command, "--force"]) == 0
    assert yaml.safe_load((run / "config.yaml").read_text())["lr"] == 1e-3
    # keys that cannot change what is computed (more steps, display, folder) need no --force
    moved = copy_run(trained_run, tmp_path / "moved")
    Trainer(small_config(moved, *QUICK, "resume=true", "rl_steps=2", "progress=true", "checkpoint_every=5")).train()


def test_force_without_resume_is_a_clear_error(tmp_path, capsys):
    assert main(["train", "scenarios/quickstart.yaml", "--out", str(tmp_path), "--force"]) == 2
    assert "--force goes with --resume" in capsys.readouterr().err


def test_cuda_rng_states_are_saved_and_restored_where_cuda_is_visible(tmp_path, monkeypatch):
    # no GPU here: stand in for torch.cuda to check the plumbing (CPU tensors in, CPU tensors back)
    states = [torch.arange(16, dtype=torch.uint8), torch.arange(16, 32, dtype=torch.uint8)]
    restored = []
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "get_rng_state_all", lambda: [s.clone() for s in states])
    monkeypatch.setattr(torch.cuda, "set_rng_state_all", restored.extend)
    write_checkpoint(tmp_path, {"rng": rng_state()})
    set_rng_state(read_checkpoint(tmp_path)["rng"])
    assert len(restored) == 2
    assert all(torch.equal(a, b) and a.device.type == "cpu" for a, b in zip(restored, states, strict=True))
