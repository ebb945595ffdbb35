"""Tests for `rlvr/ProntoQA-v0`.

Labels and chain lengths are checked by a forward chainer written here (naive fixpoint over
sets of literals, depth = round a literal first appears), independent of the library's chainer.
"""

from __future__ import annotations

from collections import Counter

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.prontoqa import ProntoQAEnv, ProntoQATask, read_answer
from rlvr.testing import check_env_conformance, check_task


def naive_depths(problem) -> dict[tuple, int]:
    """Literal -> the round in which repeated modus ponens over all rules first yields it."""
    known = {tuple(fact): 0 for fact in problem.content["facts"]}
    depth = 0
    while True:
        depth += 1
        new = {}
        for entity, concept, positive in known:
            for source, target, rule_positive in problem.content["rules"]:
                if positive and source == concept and (entity, target, rule_positive) not in known:
                    new[(entity, target, rule_positive)] = depth
        if not new:
            return known
        known.update(new)


def independent_label(problem) -> tuple[str, int]:
    entity, concept, positive = problem.content["query"]
    known = naive_depths(problem)
    if (entity, concept, positive) in known:
        assert (entity, concept, not positive) not in known, "contradictory theory"
        return "True", known[(entity, concept, positive)]
    assert (entity, concept, not positive) in known, "undecided theory"
    return "False", known[(entity, concept, not positive)]


def gold_response(problem, steps: list[str], answer: str) -> str:
    return "<proof>\n" + "\n".join(steps) + f"\n</proof>\n<answer>{answer}</answer>"


@pytest.mark.parametrize("hops", [1, 2, 3, 4, 5])
def test_label_and_hops_match_an_independent_chainer(hops):
    task = ProntoQATask()
    labels = Counter()
    for index in range(40):
        problem = task.problem_at(7, index, {"hops": hops, "distractors": index % 5})
        label, depth = independent_label(problem)
        assert label == problem.answer and depth == hops == len(problem.metadata["proof"])
        assert len(problem.content["rules"]) == hops + index % 5
        labels[label] += 1
    assert labels["True"] >= 8 and labels["False"] >= 8  # balanced under negation (expected 20/20)


def test_without_negation_nothing_is_negative_and_every_label_is_true():
    task = ProntoQATask()
    for index in range(30):
        problem = task.problem_at(2, index, {"negation": False, "distractors": 4})
        assert " not " not in problem.metadata["question"] and problem.answer == "True"
        assert independent_label(problem) == ("True", 3)


def test_oracle_is_right_and_proof_mutations_lose_exactly_their_suffix():
    task = ProntoQATask()
    rng = np.random.default_rng(0)
    for seed in range(60):
        problem = task.problem_at(seed, 0, {"hops": 1 + seed % 5})
        steps, answer, hops = list(problem.metadata["proof"]), problem.answer, len(problem.metadata["proof"])
        score = task.score(problem, task.solve(problem))
        assert score.reward == 1.0 and score.components == {"correct": 1.0, "proof_prefix": 1.0}
        wrong = "False" if answer == "True" else "True"
        flipped = task.score(problem, gold_response(problem, steps, wrong))
        assert flipped.components == {"correct": 0.0, "proof_prefix": 1.0} and flipped.reward == 0.5
        i = int(rng.integers(hops))
        removed = steps[:i] + steps[i + 1:]
        assert task.score(problem, gold_response(problem, removed, answer)).components["proof_prefix"] == i / hops
        if hops > 1:
            j = int(rng.integers(hops - 1))
            swapped = steps[:j] + [steps[j + 1], steps[j]] + steps[j + 2:]
            assert task.score(problem, gold_response(problem, swapped, answer)).components["proof_prefix"] == j / hops
        # Change the conclusion's concept to another concept of the theory: the step no longer matches.
        names = {name for rule in problem.content["rules"] for name in rule[:2]} | {"blorpex"}
        concepts = sorted(names - {steps[i].rstrip(".").split()[-1]})
        changed_step = steps[i].rsplit(" ", 1)[0] + " " + concepts[0] + "."
        changed = steps[:i] + [changed_step] + steps[i + 1:]
        score = task.score(problem, gold_response(problem, changed, answer))
        assert score.components["proof_prefix"] == i / hops and score.correct
        assert score.reward == pytest.approx(0.5 + 0.5 * i / hops)


def test_step_wording_is_tolerant_but_bounded():
    task = ProntoQATask(proof_weight=1.0)
    problem = task.problem_at(0, 0, {"hops": 2})
    variants = [line.replace("Every", "each").replace("So", "Therefore,").upper() for line in problem.metadata["proof"]]
    assert task.score(problem, "Let me think.\n" + "\n".join(variants) + "\nAnswer: " + problem.answer).reward == 1.0
    half = task.score(problem, problem.metadata["proof"][0] + "\n" + problem.metadata["proof"][0])
    assert half.components["proof_prefix"] == 0.5 and half.error.startswith("no answer")


def test_answer_reading():
    assert read_answer("<answer>True</answer>") == "True" == read_answer("...\nAnswer: true.")
    assert read_answer("<answer> no </answer>") == "False" == read_answer("False")
    assert read_answer("<answer>True or False</answer>").startswith("unreadable")
    assert read_answer("it is true").startswith("no answer") and read_answer("").startswith("no answer")


def test_seeded_streams_and_task_check():
    task = ProntoQATask()
    first = [task.problem_at(5, i).problem_id for i in range(20)]
    assert first == [task.problem_at(5, i).problem_id for i in range(20)]
    assert first != [task.problem_at(6, i).problem_id for i in range(20)]
    check_task(task, n=30)
    check_task(task, n=10, difficulty={"hops": 5, "distractors": 10, "negation": False})
    check_env(ProntoQAEnv(), skip_render_check=True)


@settings(max_examples=200, deadline=None)
@given(st.text(max_size=300))
def test_any_string_is_scored_without_raising(text):
    task = ProntoQATask()
    score = task.score(task.problem_at(0, 0), text)
    assert 0.0 <= score.reward <= 1.0 and score.components["proof_prefix"] == 0.0


def test_env_conformance():
    env_id = "rlvr-test/ProntoQA-v0"
    gymnasium.register(id=env_id, entry_point="rlvr.envs.prontoqa.env:ProntoQAEnv")
    try:
        check_env_conformance(env_id)
    finally:
        gymnasium.registry.pop(env_id)
