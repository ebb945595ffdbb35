"""A 20-step run per sampler on the tiny model: every step trains (no skipped update, finite numbers),
the reward does not collapse, and the sampler visibly did its job (pooled problems re-drawn, the
schedule's stages in the metrics and in the problems)."""

from __future__ import annotations

import math

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.config import load_config  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.training.test_advantage_training import RUN, held_up  # noqa: E402
from tests.training.test_trainer import small_config, step_lines  # noqa: E402


def _run(path, *extra):
    trainer = Trainer(small_config(path, *RUN, "tensorboard=false", *extra))
    trainer.train()
    lines = step_lines(path)
    assert [line["step"] for line in lines] == list(range(1, 21))
    for line in lines:
        assert line["skipped_updates"] == 0, line
        assert all(math.isfinite(line[key]) for key in ("loss", "grad_norm", "reward_mean")), line
    assert sum(line["groups_with_signal"] for line in lines) > 0
    assert held_up(lines), [line["accuracy"] for line in lines]
    return lines, trainer


def test_a_short_run_with_the_stream_sampler(tmp_path):
    lines, trainer = _run(tmp_path, "sampler=stream")
    assert not any(key.startswith(("sampler_", "curriculum_")) for key in lines[0])
    assert trainer.train_stream.index == 20 * 8  # 8 fresh problems a step


def test_a_short_run_with_the_variance_sampler(tmp_path):
    lines, trainer = _run(tmp_path, "sampler=variance", "sampler_settings={share: 0.5, pool_size: 32}")
    assert lines[0]["sampler_reused"] == 0  # nothing seen yet
    assert all(line["sampler_reused"] <= 4 for line in lines)  # share 0.5 of 8
    assert sum(line["sampler_reused"] for line in lines) > 10
    assert max(line["sampler_pool"] for line in lines) <= 32
    # each re-drawn problem replaced a fresh one
    assert trainer.train_stream.index == 20 * 8 - sum(line["sampler_reused"] for line in lines)


def test_a_short_run_with_the_curriculum_sampler(tmp_path):
    lines, trainer = _run(tmp_path, "sampler=curriculum", "sampler_settings={schedule: {max_operand: [[0, 2], [10, 4]]}}")
    assert [line["curriculum_max_operand"] for line in lines] == [2.0] * 10 + [4.0] * 10
    assert [line["curriculum_stage"] for line in lines] == [0.0] * 10 + [1.0] * 10
    # the run's difficulty (max_operand 4) still rules the evaluation and the warm-up
    assert trainer.difficulty["max_operand"] == 4 and trainer.sampler.difficulty_at(9)["max_operand"] == 2


@pytest.mark.parametrize(("sampler", "settings"), [("variance", "{share: 1.0}"),
                                                   ("curriculum", "{schedule: {number_count: [[1, 3]]}}")])
def test_samplers_serve_multi_turn_episodes(tmp_path, sampler, settings):
    config = load_config({
        "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 2}, "max_turns": 2, "sft_steps": 3,
        "sft_batch_size": 4, "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2,
        "tiny_intermediate_size": 64, "max_new_tokens": 12, "prompts_per_step": 2, "group_size": 2,
        "rl_steps": 2, "eval_every": 0, "eval_problems": 4, "eval_samples": 2, "eval_k": [1], "progress": False,
        "plots": False, "tensorboard": False, "out_dir": str(tmp_path), "prompt_template": "{numbers}>{target}:",
    }, [f"sampler={sampler}", f"sampler_settings={settings}"])
    trainer = Trainer(config)
    assert trainer.train()["steps"] == 2
    lines = step_lines(tmp_path)
    if sampler == "variance":
        # every episode group was observed: the pool holds the problems played, with their accuracy
        assert lines[0]["sampler_pool"] >= 1 and lines[-1]["sampler_pool"] == len(trainer.sampler.pool)
        assert all(0.0 <= entry.accuracy <= 1.0 for entry in trainer.sampler.pool.values())
    else:
        assert [line["curriculum_number_count"] for line in lines] == [2.0, 3.0]
