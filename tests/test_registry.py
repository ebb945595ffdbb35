"""Conformance over the whole registry, plus registration behaviour and golden problem streams."""

from __future__ import annotations

import json
import os
import pathlib
import subprocess
import sys

import gymnasium as gym
import pytest

import rlvr
from rlvr.testing import check_env_conformance, check_task

GYM_IDS = rlvr.ids("gymnasium")
GOLDEN = pathlib.Path(__file__).parent / "data" / "golden_problem_ids.json"
GOLDEN_COUNT = 5


def first_problem_ids(env_id: str, seed: int = 0, count: int = GOLDEN_COUNT) -> list[str]:
    env = gym.make(env_id, disable_env_checker=True)
    ids = [env.reset(seed=seed)[1]["problem_id"]]
    ids += [env.reset()[1]["problem_id"] for _ in range(count - 1)]
    return ids


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_env_conformance(env_id):
    check_env_conformance(env_id)


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_task_conformance(env_id):
    check_task(rlvr.entry(env_id).card.task(), n=20)


@pytest.mark.parametrize("env_id", GYM_IDS)
def test_golden_problem_ids(env_id):
    """A change of problem stream must be deliberate: bump the env version and update the file
    (`python tests/test_registry.py --update`)."""
    golden = json.loads(GOLDEN.read_text())
    assert env_id in golden, f"no golden ids for {env_id}; run `python tests/test_registry.py --update`"
    assert first_problem_ids(env_id) == golden[env_id]


# Split membership is a pure function of the id; pinned here in plain code (not a doctest), with
# ids of every split, so a change to `split_of`, to SPLITS or to a problem stream cannot pass.
PINNED_SPLITS = {
    "rlvr/Countdown-v0": [("a5b2ac90f1ea3a67", "train"), ("b60ea8ebae28a7f3", "train"),
                          ("97771e3b11f27db1", "train"), ("dc7ceae380f36ce0", "eval"), ("c02b56a0a0366f59", "train")],
    "rlvr/OpinionPoll-v0": [("d4bc1f43d9941bcd", "eval"), ("2d1737b395e56ed0", "train"),
                            ("96c5e9d1f0470134", "train"), ("80e12a365a007fde", "train"), ("fc45fe1cd0aa23fb", "test")],
    "rlvr/Calcudoko-v0": [("f91e7b7383ed6ade", "test"), ("73d4481764bf3c51", "train"), ("de7986160bf49bdb", "eval"),
                          ("7c1950cf9e765285", "train"), ("74763c5ac0324dbd", "train")],
}
PINNED_TEST_SPLIT = ("rlvr/Countdown-v0", ["f00e47eb2312f4d2", "f47f04c6d1976096", "f8f67162e847a7d3"])


@pytest.mark.parametrize("env_id", sorted(PINNED_SPLITS))
def test_known_problem_ids_are_pinned_to_their_splits(env_id):
    from rlvr.core.problem import split_of

    pinned = PINNED_SPLITS[env_id]
    assert first_problem_ids(env_id) == [problem_id for problem_id, _ in pinned]
    assert [split_of(problem_id) for problem_id, _ in pinned] == [split for _, split in pinned]


def test_a_split_env_serves_only_that_split():
    env_id, pinned = PINNED_TEST_SPLIT
    env = gym.make(env_id, split="test", disable_env_checker=True)
    served = [env.reset(seed=0)[1]["problem_id"]] + [env.reset()[1]["problem_id"] for _ in range(len(pinned) - 1)]
    assert served == pinned


@pytest.mark.parametrize("env_id", rlvr.ids("pettingzoo"))
def test_gym_make_of_a_multi_agent_id_points_to_make_multi(env_id):
    mode = rlvr.entry(env_id).modes[0]
    pointer = rf"rlvr\.make_multi\('{env_id}', mode='{mode}'\)"
    with pytest.raises(gym.error.Error, match=pointer):
        gym.make(env_id)
    with pytest.raises(gym.error.Error, match=pointer):
        gym.make_vec(env_id, num_envs=2)
    assert env_id not in rlvr.ids("gymnasium")
    rlvr.make_multi(env_id, mode=mode).close()  # and the pointer is right


MULTI_IDS = rlvr.ids("pettingzoo")


def test_every_id_has_a_card_and_a_loadable_entry_point():
    for item in rlvr.ENTRIES:
        assert item.card.summary and item.card.reward
        loaded = rlvr.registration.load(item.entry_point)
        if item.kind == "pettingzoo":
            assert callable(loaded.parallel_env) and callable(loaded.env)
        else:
            assert callable(loaded)
        if item.vector_entry_point:
            assert callable(rlvr.registration.load(item.vector_entry_point))


@pytest.mark.parametrize("env_id", MULTI_IDS)
def test_multi_agent_conformance(env_id):
    from pettingzoo.test import api_test, parallel_api_test

    modes = rlvr.entry(env_id).modes
    if "parallel" in modes:
        parallel_api_test(rlvr.make_multi(env_id, mode="parallel"), num_cycles=3)
    else:
        with pytest.raises(ValueError, match="offers mode"):
            rlvr.make_multi(env_id, mode="parallel")
    api_test(rlvr.make_multi(env_id, mode="aec"), num_cycles=3)


def test_make_with_module_prefix_needs_no_prior_import():
    code = (
        "import sys, gymnasium as gym\n"
        "assert 'rlvr' not in sys.modules\n"
        "env = gym.make('rlvr:rlvr/MathTree-v0')\n"
        "print(env.spec.id)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == "rlvr/MathTree-v0"


def test_unknown_ids_suggest_close_matches():
    with pytest.raises(KeyError, match="did you mean: rlvr/MathTree-v0"):
        rlvr.entry("rlvr/MathTre-v0")
    with pytest.raises(gym.error.Error, match="MathTree"):
        gym.make("rlvr/MathTre-v0")
    with pytest.raises(KeyError, match="multi-agent"):
        rlvr.make_multi("rlvr/Nope-v0")


def test_unknown_keyword_suggests_close_matches():
    with pytest.raises(TypeError, match="did you mean: horizon"):
        gym.make("rlvr/MathTree-v0", horizn=4)


@pytest.mark.parametrize("hash_seed", ["1", "2"])
def test_problem_streams_do_not_depend_on_string_hashing(hash_seed):
    """Set iteration order changes with PYTHONHASHSEED; a stream that leaned on it would differ
    between processes (and between a trainer's workers)."""
    env = {**os.environ, "PYTHONHASHSEED": hash_seed}
    out = subprocess.run([sys.executable, __file__, "--print"], capture_output=True, text=True, timeout=300,
                         env=env, cwd=pathlib.Path(__file__).parent.parent)
    assert out.returncode == 0, out.stderr
    assert json.loads(out.stdout) == json.loads(GOLDEN.read_text())


if __name__ == "__main__":
    if sys.argv[1:] == ["--print"]:
        print(json.dumps({i: first_problem_ids(i) for i in GYM_IDS}))
        raise SystemExit(0)
    if sys.argv[1:] != ["--update"]:
        raise SystemExit("usage: python tests/test_registry.py --update | --print")
    GOLDEN.parent.mkdir(exist_ok=True)
    GOLDEN.write_text(json.dumps({i: first_problem_ids(i) for i in GYM_IDS}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
