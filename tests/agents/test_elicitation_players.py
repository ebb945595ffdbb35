"""Scripted elicitation players (`rlvr.agents.elicitation`) and the benchmark script built on them."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from rlvr.agents.elicitation import QUESTIONERS, evaluate, random_action
from rlvr.envs.elicitation import StudentAssessEnv, TwentyQuestionsEnv

ROOT = Path(__file__).resolve().parents[2]


def test_unknown_questioner_is_a_clear_error():
    with pytest.raises(KeyError, match=r"one of \['greedy', 'random'\], got 'smart'"):
        evaluate(TwentyQuestionsEnv(), "smart", 1)


@pytest.mark.parametrize("env_class", [TwentyQuestionsEnv, StudentAssessEnv])
def test_random_questioner_asks_every_question_and_guesses_by_the_oracle_rule(env_class):
    env = env_class(oracle_confidence=1.0)  # never sure enough: it asks until the budget is spent
    env.reset(seed=0)
    rng = np.random.default_rng(0)
    questions = env.model.likelihood.shape[0]
    asked = {env.decode(random_action(env, rng))[1] for _ in range(40 * questions)}
    assert asked == set(range(questions))


def test_evaluate_is_seeded():
    first, again = (evaluate(TwentyQuestionsEnv(), "random", 20, seed=3) for _ in range(2))
    assert first == again and first.episodes == 20


def test_benchmark_script_prints_every_env_and_questioner():
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "elicitation_baselines.py"), "--episodes", "3"],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout.splitlines()
    assert len(out) == 3 * len(QUESTIONERS)
    assert all(line.split()[1] in QUESTIONERS and "success=" in line for line in out)
