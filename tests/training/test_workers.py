"""Rollout workers: scoring and env stepping fanned out to threads or Ray actors give the same
results, in the same order, as the in-process loop; a dead or slow worker is a clear error."""

from __future__ import annotations

import functools
import json
import time

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.builders import build_env  # noqa: E402
from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.rollout import ProblemStream, score_texts  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from rlvr.training.workers import EnvShard, RolloutWorkers  # noqa: E402

TINY = {"tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
        "progress": False, "plots": False, "eval_every": 0, "eval_problems": 4, "eval_samples": 2, "eval_k": [1, 2]}
SINGLE = {**TINY, "env_id": "rlvr/RandomCalc-v0", "max_new_tokens": 4, "prompts_per_step": 3, "group_size": 4,
          "difficulty": {"num_ops": 1, "operators": ["+"], "max_operand": 99}, "prompt_template": "{expression}=",
          "sft_steps": 3, "rl_steps": 2}
MULTI = {**TINY, "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}, "max_turns": 2,
         "max_new_tokens": 8, "prompts_per_step": 2, "group_size": 3, "rl_steps": 2,
         "prompt_template": "{numbers}>{target}:"}
TIMES = ("samples_per_s", "time_total", "time_problems", "time_sampling", "time_scoring", "time_fwd_bwd",
         "time_optimizer")


def _texts_and_problems(config, count=5, group_size=3):
    """Problems and, per problem, its gold answer, a wrong one and junk: rewards of 1 and 0 both."""
    env = build_env(config)
    problems = ProblemStream(env.task, 7).take(count)
    texts = [text for problem in problems for text in (env.task.solve(problem), "-123456", "no answer \x00")]
    return env.task, problems, texts, group_size


def _step_lines(folder):
    lines = [json.loads(line) for line in (folder / "metrics.jsonl").read_text().splitlines()]
    return [{k: v for k, v in line.items() if k not in TIMES} for line in lines if "eval" not in line]


def _train(tmp_path, name, settings):
    folder = tmp_path / name
    Trainer(load_config({**settings, "out_dir": str(folder)})).train()
    return _step_lines(folder)


def test_thread_workers_score_like_the_task(tmp_path):
    config = load_config({"env_id": "rlvr/RandomCalc-v0"})
    task, problems, texts, group_size = _texts_and_problems(config)
    expected = score_texts(task, problems, texts, group_size)
    assert expected[0].sum() == len(problems)  # the gold answers score, the rest does not
    with RolloutWorkers(functools.partial(build_env, config), 2, backend="threads") as workers:
        rewards, components, errors = workers.score(problems, texts, group_size)
    assert torch.equal(rewards, expected[0])
    assert components.keys() == expected[1].keys()
    assert all(torch.equal(components[name], expected[1][name]) for name in components)
    assert errors == expected[2]


def test_a_list_pool_and_a_keyed_shard_step_the_same_envs():
    config = load_config({"env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}})
    env = build_env(config)
    problems = ProblemStream(env.task, 3, env.difficulty).take(4)
    pool: list = []
    listed, keyed = EnvShard(functools.partial(build_env, config), pool), EnvShard(functools.partial(build_env, config))
    rows = [0, 1, 2, 3]
    assert listed.reset(rows, problems) == keyed.reset(rows, problems)
    assert len(pool) == 4  # the caller's list holds the envs, reused on the next call
    actions = ["1+1", "junk", "2*2", "3-1"]
    assert [r[:4] for r in listed.step(rows, actions)] == [r[:4] for r in keyed.step(rows, actions)]


def test_thread_workers_train_exactly_like_the_in_process_loop(tmp_path):
    plain = _train(tmp_path, "plain", SINGLE)
    threaded = _train(tmp_path, "threads", {**SINGLE, "rollout_workers": 2, "rollout_backend": "threads"})
    assert plain == threaded and len(plain) == 2


def test_workers_step_each_row_in_its_own_env_like_a_local_pool():
    config = load_config({"env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 3}})
    make_env = functools.partial(build_env, config)
    env = make_env()
    problems = ProblemStream(env.task, 5, env.difficulty).take(5)
    oracles = [make_env() for _ in problems]  # play the oracle's moves, so replies differ by row
    rows = list(range(len(problems)))
    local = EnvShard(make_env, [])
    with RolloutWorkers(make_env, 2, backend="threads") as workers:
        assert workers.reset(rows, problems) == local.reset(rows, problems)
        for oracle, problem in zip(oracles, problems, strict=True):
            oracle.reset(options={"problem": problem})
        for turn in range(2):  # three numbers: two moves finish each problem
            actions = [oracle.unwrapped.oracle_action() or "done" for oracle in oracles]
            for oracle, action in zip(oracles, actions, strict=True):
                oracle.step(action)
            remote, here = workers.step(rows, actions), local.step(rows, actions)
            assert [r[:4] for r in remote] == [r[:4] for r in here]
            # rows differ: a row given another's result would show
            assert len({str(r[0]) for r in here}) > 1 or turn == 1


def test_multi_turn_episodes_step_in_workers_exactly_like_in_process(tmp_path):
    plain = _train(tmp_path, "plain", MULTI)
    threaded = _train(tmp_path, "threads", {**MULTI, "rollout_workers": 2, "rollout_backend": "threads"})
    assert plain == threaded and len(plain) == 2


class _SlowEnv:
    """Scores after a pause longer than the workers' deadline."""

    class task:  # noqa: N801 - the attribute the shard reads
        @staticmethod
        def score(problem, text):
            time.sleep(2.0)


def test_a_worker_past_its_deadline_is_a_clear_error():
    config = load_config({"env_id": "rlvr/RandomCalc-v0"})
    problems = ProblemStream(build_env(config).task, 0).take(1)
    workers = RolloutWorkers(_SlowEnv, 1, backend="threads", timeout_s=0.2)
    with pytest.raises(RuntimeError, match=r"rollout worker 0 did not finish 'score' within 0\.2 s"):
        workers.score(problems, ["1"], 1)
    workers.close()
    with pytest.raises(RuntimeError, match="closed"):
        workers.score(problems, ["1"], 1)


def test_bad_settings_are_refused():
    with pytest.raises(ValueError, match="unknown rollout backend 'rey'"):
        RolloutWorkers(_SlowEnv, 1, backend="rey")
    with pytest.raises(ValueError, match="num_workers must be >= 1"):
        RolloutWorkers(_SlowEnv, 0, backend="threads")
    with pytest.raises(ValueError, match="rollout_backend"):
        load_config({"rollout_backend": "rey"})
    with pytest.raises(ValueError, match="rollout_workers"):
        load_config({"rollout_workers": -1})


# ---- Ray: a local Ray with 2 actors (skipped without the `ray` extra) ----------------------------------

@pytest.fixture(scope="module")
def ray():
    ray = pytest.importorskip("ray")
    ray.init(num_cpus=2, log_to_driver=False, include_dashboard=False, configure_logging=False)
    yield ray
    ray.shutdown()


def test_ray_workers_score_and_train_like_the_in_process_loop(ray, tmp_path):
    config = load_config({"env_id": "rlvr/RandomCalc-v0"})
    task, problems, texts, group_size = _texts_and_problems(config)
    with RolloutWorkers(functools.partial(build_env, config), 2, backend="ray") as workers:
        pids = set(ray.get([actor.ping.remote() for actor in workers._shards]))
        assert len(pids) == 2  # two processes, neither this one
        rewards, components, errors = workers.score(problems, texts, group_size)
    expected = score_texts(task, problems, texts, group_size)
    assert torch.equal(rewards, expected[0]) and errors == expected[2]
    assert all(torch.equal(components[name], expected[1][name]) for name in expected[1])
    plain = _train(tmp_path, "plain", MULTI)
    on_ray = _train(tmp_path, "ray", {**MULTI, "rollout_workers": 2})
    assert plain == on_ray


def test_a_dead_ray_worker_is_a_clear_error(ray):
    config = load_config({"env_id": "rlvr/RandomCalc-v0"})
    task, problems, texts, group_size = _texts_and_problems(config, count=2)
    workers = RolloutWorkers(functools.partial(build_env, config), 2, backend="ray", timeout_s=60)
    ray.kill(workers._shards[1])
    with pytest.raises(RuntimeError, match=r"rollout worker 1 \(Ray actor\) died during 'score'"):
        workers.score(problems, texts, group_size)
    workers.close()
