"""Tests for the knowledge-graph generator and `KGPathTask` / `KGPathEnv`.

Uniqueness of answers is checked by a traversal written here over plain (head, relation, tail)
tuples, both over the whole generated graph and over the facts the prompt shows; reward
formulas against numbers worked by hand.
"""

from __future__ import annotations

import itertools
import math

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.core.seeding import problem_rng
from rlvr.envs.kg import (
    KGPathEnv,
    KGPathTask,
    entity_order_coverage,
    path_alignment,
    repetition_factor,
    split_answer,
)
from rlvr.envs.knowledge import (
    RELATIONS,
    RELATIONS_BY_NAME,
    describe_triple,
    entity_sentences,
    generate_graph,
    sample_path,
    triples,
)
from rlvr.envs.knowledge.graph import FIXED_WORDS, entity_type
from rlvr.testing import check_env_conformance, check_task

MC = {"answer_format": "multiple_choice"}


def traverse(facts, head, relations):
    """Frontier after following `relations` from `head` over plain triples."""
    frontier = {head}
    for relation in relations:
        frontier = {t for h, r, t in facts if r == relation and h in frontier}
    return frontier


def problems(n, difficulty=None, seed=3):
    task = KGPathTask()
    return task, [task.problem_at(seed, i, difficulty) for i in range(n)]


# ---------------------------------------------------------------------------------------- graph
def test_graph_is_typed_unique_and_consistent():
    for seed in range(20):
        graph = generate_graph(np.random.default_rng(seed), 5)
        facts = triples(graph)
        for head, relation, tail in facts:
            spec = RELATIONS_BY_NAME[relation]
            assert (entity_type(graph, head), entity_type(graph, tail)) == (spec.head_type, spec.tail_type)
        for spec in RELATIONS:
            for head in graph.nodes:
                tails = traverse(facts, head, [spec.name])
                assert len(tails) <= (1 if spec.functional else 2), (spec.name, head, tails)
        # a country's capital lies in that country, and capital_of is its exact inverse
        capitals = {(h, t) for h, r, t in facts if r == "has_capital"}
        assert capitals == {(t, h) for h, r, t in facts if r == "capital_of"}
        for country, city in capitals:
            assert traverse(facts, city, ["located_in"]) == {country}
        # no name's own words appear in another name, so whole-word mentions are unambiguous
        own = {n: {w for w in n.casefold().split() if w not in FIXED_WORDS} for n in graph.nodes}
        assert all(own.values())
        for a, b in itertools.combinations(graph.nodes, 2):
            assert not own[a] & own[b], (a, b)


def test_graph_is_deterministic_and_sized():
    first = generate_graph(np.random.default_rng(11), {"person": 4, "city": 3, "country": 2,
                                                        "company": 2, "university": 1})
    again = generate_graph(np.random.default_rng(11), {"person": 4, "city": 3, "country": 2,
                                                        "company": 2, "university": 1})
    other = generate_graph(np.random.default_rng(12), {"person": 4, "city": 3, "country": 2,
                                                        "company": 2, "university": 1})
    assert list(first.nodes(data=True)) == list(again.nodes(data=True))
    assert triples(first) == triples(again) and triples(first) != triples(other)
    assert first.number_of_nodes() == 12
    with pytest.raises(ValueError, match="unknown entity types"):
        generate_graph(np.random.default_rng(0), {"planet": 3})


def test_entity_sentences_describe_every_fact_once():
    graph = generate_graph(np.random.default_rng(5), 4)
    facts = triples(graph)
    for entity in graph.nodes:
        expected = sorted(describe_triple(*f) for f in facts if entity in (f[0], f[2]))
        assert sorted(entity_sentences(graph, entity)) == expected
    assert describe_triple("Ana Vel", "founded_by", "Kobo") == "Ana Vel was founded by Kobo."


def test_sampled_paths_have_a_unique_tail_by_independent_traversal():
    rng = np.random.default_rng(1)
    found = 0
    for _ in range(200):
        graph = generate_graph(rng, 6)
        hops = int(rng.integers(1, 6))
        path = sample_path(rng, graph, hops)
        if path is None:
            continue
        found += 1
        facts = triples(graph)
        relations = [r for _, r, _ in path]
        assert len(path) == hops and all(f in facts for f in path)
        assert all(path[i][2] == path[i + 1][0] for i in range(hops - 1))
        for step in range(1, hops + 1):  # every intermediate frontier is the one path entity
            assert traverse(facts, path[0][0], relations[:step]) == {path[step - 1][2]}
        entities = [path[0][0], *(t for _, _, t in path)]
        assert len(set(entities)) == hops + 1
    assert found > 100


# ---------------------------------------------------------------------------------------- problems
@pytest.mark.parametrize("difficulty", [None, MC, {"hops": (4, 5)}])
def test_prompt_facts_answer_the_question(difficulty):
    _, drawn = problems(60, difficulty)
    for problem in drawn:
        facts = [tuple(f) for f in problem.content["facts"]]
        path = [tuple(f) for f in problem.content["path"]]
        gold = problem.metadata["answer_entity"]
        assert traverse(facts, path[0][0], [r for _, r, _ in path]) == {gold}
        for fact in facts:
            assert describe_triple(*fact) in problem.prompt
        assert problem.content["question"] in problem.prompt
        if difficulty == MC:
            options = problem.content["options"]
            assert len(options) == 4 and len(set(options)) == 4 and gold in options
            assert problem.answer == "ABCD"[options.index(gold)]


@pytest.mark.parametrize("hops", [1, 2, 3, 4, 5])
def test_hops_knob_gives_paths_of_exactly_that_length(hops):
    _, drawn = problems(15, {"hops": hops})
    assert {len(p.content["path"]) for p in drawn} == {hops}
    assert {p.metadata["hops"] for p in drawn} == {hops}


def test_hops_default_and_long_set():
    _, drawn = problems(60)
    assert {p.metadata["hops"] for p in drawn} == {1, 2, 3}
    _, drawn = problems(30, {"hops": (4, 5)})
    assert {p.metadata["hops"] for p in drawn} == {4, 5}
    with pytest.raises(ValueError):
        KGPathTask().difficulty({"hops": (0, 2)})


def test_distractor_fact_count():
    _, drawn = problems(10, {"distractor_facts": 0})
    assert all(len(p.content["facts"]) == len(p.content["path"]) for p in drawn)
    _, drawn = problems(10, {"distractor_facts": 5})
    assert all(len(p.content["facts"]) == len(p.content["path"]) + 5 for p in drawn)


def test_generation_is_deterministic():
    task = KGPathTask()
    for index in range(10):
        first, again = task.problem_at(7, index, MC), task.problem_at(7, index, MC)
        assert first.to_record() == again.to_record()
    assert task.problem_at(7, 0).problem_id != task.problem_at(8, 0).problem_id
    assert task.sample(problem_rng(1, 2)).prompt == task.sample(problem_rng(1, 2)).prompt


# ---------------------------------------------------------------------------------------- scoring
@pytest.mark.parametrize("difficulty", [None, MC])
def test_oracle_correct_and_wrong_entity_zero(difficulty):
    task, drawn = problems(150, difficulty, seed=9)
    for problem in drawn:
        score = task.score(problem, task.solve(problem))
        assert score.reward == 1.0 and score.correct
        assert score.components["path_coverage"] == 1.0 and score.components["entity_coverage"] == 1.0
        gold = problem.metadata["answer_entity"]
        wrong = next(e for f in problem.content["facts"] for e in (f[0], f[2]) if e != gold)
        assert task.score(problem, f"<answer>{wrong}</answer>").reward == 0.0
        assert task.score(problem, f"<answer>{gold} or {wrong}</answer>").reward == 0.0
        assert task.score(problem, f"Answer: {gold}").correct
        assert task.score(problem, f"\\boxed{{{gold.upper()}}}").correct


def test_multiple_choice_reward_ignores_option_order():
    task = KGPathTask(reward_mode="paper")
    for problem in problems(5, MC, seed=4)[1]:
        original = problem.content["options"]
        reasoning = task.solve(problem).rsplit("<answer>", 1)[0]
        expected = {e: task.score(problem, f"{reasoning}<answer>{e}</answer>").reward for e in original}
        assert max(expected.values()) == 1.6 and sorted(expected.values())[:3] == [-1.0 + 1.5] * 3
        for order in itertools.permutations(original):
            shuffled = task.with_options(problem, list(order))
            assert shuffled.problem_id != problem.problem_id or list(order) == original
            for letter, entity in zip("ABCD", order, strict=True):
                for answer in (letter, f"({letter})", f"{letter}. {entity}", entity):
                    assert task.score(shuffled, f"{reasoning}<answer>{answer}</answer>").reward == expected[entity]
            assert task.score(shuffled, task.solve(shuffled)).reward == 1.6
        wrong_letter = next(c for c in "ABCD" if c != problem.answer)
        mismatch = f"<answer>{problem.answer}. {original['ABCD'.index(wrong_letter)]}</answer>"
        assert not task.score(problem, mismatch).correct
        assert not task.score(problem, "<answer>E</answer>").correct


def test_path_alignment_formula_worked_numbers():
    assert path_alignment(0.6, 3, 1.0) == pytest.approx(1.02)  # 1.2*0.6 + 0.3
    assert path_alignment(0.2, 1, 1.0) == pytest.approx(0.24)  # one hit: no bonus
    assert path_alignment(1.0, 5, 1.0) == 1.5  # 1.5 capped at 1.5
    assert path_alignment(1.0, 5, 0.5) == pytest.approx(0.75)
    assert path_alignment(0.8, 4, 0.9) == pytest.approx(1.134)  # (0.96 + 0.3) * 0.9
    assert repetition_factor("A is B. A is B! C is D.") == pytest.approx(2 / 3)
    assert repetition_factor("a  IS b.\nA is b") == 0.5
    assert repetition_factor("") == 1.0


def test_entity_order_coverage_worked_numbers():
    entities = ["Kobo", "Ana Vel", "Rimu Labs", "Tessia"]
    assert entity_order_coverage("Kobo, then Ana Vel, Rimu Labs and Tessia", entities) == 1.0
    assert entity_order_coverage("Rimu Labs; Kobo; Ana Vel; Tessia", entities) == 0.75
    assert entity_order_coverage("Tessia Rimu Labs Ana Vel Kobo", entities) == 0.25
    assert entity_order_coverage("Kobo Kobo Kobo", entities) == 0.25
    assert entity_order_coverage("Kobode and Anavel", entities) == 0.0  # whole words only
    assert entity_order_coverage("Tessia ... Kobo ... Ana Vel ... Tessia", entities) == 0.75


def test_path_coverage_on_a_two_hop_problem():
    task = KGPathTask(reward_mode="paper")
    problem = task.problem_at(2, 0, {"hops": 2})
    (e0, r1, e1), (_, r2, e2) = [tuple(f) for f in problem.content["path"]]
    assert r1 != r2  # no relation links a type to itself, so 5 path items
    # E0, r1 (by its name) and E2 mentioned: 3 of 5 items, cov 0.6, R = 1.2*0.6 + 0.3 = 1.02
    response = f"Start at {e0}. Use {r1}. Get to {e2}.\n<answer>{e2}</answer>"
    score = task.score(problem, response)
    assert score.components["path_coverage"] == pytest.approx(0.6)
    assert score.components["path_alignment"] == pytest.approx(1.02)
    assert score.reward == pytest.approx(0.1 + 1.02)
    assert score.components["entity_coverage"] == pytest.approx(2 / 3)  # E0 then E2 in order
    # the answer span is not reasoning; a wrong answer costs 1.0; one hit earns no bonus
    score = task.score(problem, f"{e0} {e0}.\n<answer>{e1}</answer>")
    assert score.components["path_coverage"] == pytest.approx(0.2)
    assert score.reward == pytest.approx(-1.0 + 0.24)
    # repeating a sentence halves rep: (1.2*0.6 + 0.3) * 0.5
    alias = RELATIONS_BY_NAME[r1].aliases[0]
    repeated = f"{e0} {alias} {e2}. {e0} {alias} {e2}.\n<answer>{e2}</answer>"
    assert task.score(problem, repeated).components["path_alignment"] == pytest.approx(0.51)


def test_reward_modes():
    problem = KGPathTask().problem_at(0, 0, {"hops": 3})
    oracle = KGPathTask().solve(problem)
    gold = problem.metadata["answer_entity"]
    bare = f"<answer>{gold}</answer>"
    assert KGPathTask(reward_mode="binary").score(problem, bare).reward == 1.0
    assert KGPathTask(reward_mode="paper").score(problem, bare).reward == pytest.approx(0.1)
    assert KGPathTask(reward_mode="paper").score(problem, oracle).reward == pytest.approx(1.6)
    assert KGPathTask(reward_mode="paper_entity").score(problem, oracle).reward == pytest.approx(1.6)
    assert KGPathTask(reward_mode="entity").score(problem, bare).reward == 0.5
    assert KGPathTask(reward_mode="entity").score(problem, oracle).reward == 1.0
    assert KGPathTask(reward_mode="paper").score(problem, "gibberish").reward == -1.0
    assert KGPathTask(reward_mode="binary").score(problem, "gibberish").error.startswith("no final answer")
    with pytest.raises(ValueError, match="reward_mode"):
        KGPathTask(reward_mode="bonus")


@settings(max_examples=40, deadline=None)
@given(st.integers(0, 10**6), st.integers(1, 5), st.sampled_from(["free", "multiple_choice"]),
       st.sampled_from(["binary", "paper", "paper_entity", "entity"]))
def test_chain_solution_earns_the_full_reward(seed, hops, answer_format, mode):
    """The compact oracle names every path item in path order, so it scores what the steps oracle does."""
    difficulty = {"hops": hops, "answer_format": answer_format, "entities_per_type": 6}
    chain_task = KGPathTask(reward_mode=mode, solution_style="chain")
    problem = chain_task.problem_at(seed, 0, difficulty)
    chain, steps = chain_task.solve(problem), KGPathTask(reward_mode=mode).solve(problem)
    assert chain_task.score(problem, chain).reward == chain_task.score(problem, steps).reward == \
        chain_task.reward_range[1]
    head, *_ = problem.content["path"][0]
    line, answer = chain.split("\n")
    assert line.startswith(head) and answer == f"Answer: {problem.answer}"
    assert line.count("->") == hops and len(chain) < len(steps) / 2


def test_chain_solution_worked_example():
    problem = KGPathTask().problem_at(0, 0, {"hops": 2})
    (e0, r1, e1), (_, r2, e2) = problem.content["path"]
    expected = f"{e0} -{r1.replace('_', ' ')}-> {e1} -{r2.replace('_', ' ')}-> {e2}\nAnswer: {e2}"
    assert KGPathTask(solution_style="chain").solve(problem) == expected
    with pytest.raises(ValueError, match="solution_style must be one of"):
        KGPathTask(solution_style="short")
    env = gymnasium.make("rlvr/KGPath-v0", solution_style="chain")
    assert env.unwrapped.task.solution_style == "chain"


def test_split_answer():
    assert split_answer("a <answer>x</answer> b").answer == "x"
    assert split_answer("a <answer>x</answer> b").reasoning == "a  b"
    assert split_answer("\\boxed{a{b}} c").answer == "a{b}"
    assert split_answer("\\boxed{a").error is not None
    assert split_answer("blah").answer is None


@settings(max_examples=150, deadline=None)
@given(st.text(max_size=300), st.sampled_from(["binary", "paper", "paper_entity", "entity"]))
def test_any_string_is_scored(text, mode):
    task = KGPathTask(reward_mode=mode)
    problem = task.problem_at(1, 0, MC if len(text) % 2 else None)
    for response in (text, f"<answer>{text}</answer>", f"{text}\\boxed{{{text}"):
        score = task.score(problem, response)
        assert math.isfinite(score.reward) and -1.0 <= score.reward <= 1.6


# ---------------------------------------------------------------------------------------- envs
def test_check_task_contract():
    check_task(KGPathTask(), n=20)
    check_task(KGPathTask(reward_mode="paper"), n=10, difficulty=MC)
    check_task(KGPathTask(), n=10, difficulty={"hops": (4, 5)})


def test_gymnasium_check_env():
    check_env(KGPathEnv(), skip_render_check=True)
    check_env(KGPathEnv(answer_format="multiple_choice", reward_mode="paper"), skip_render_check=True)
    env = KGPathEnv(hops=4, render_mode="ansi")
    _, info = env.reset(seed=0)
    assert info["difficulty"]["hops"] == (4,)
    _, reward, terminated, _, info = env.step(env.oracle_action())
    assert reward == 1.0 and terminated and info["components"]["entity_coverage"] == 1.0
    assert "[reward]" in env.render()


@pytest.mark.parametrize("kwargs", [{}, {"hops": (4, 5), "answer_format": "multiple_choice"}])
def test_env_conformance(kwargs):
    env_id = "rlvr/KGPathTest-v0"
    gymnasium.register(id=env_id, entry_point="rlvr.envs.kg.env:KGPathEnv", kwargs=kwargs)
    try:
        check_env_conformance(env_id)
    finally:
        gymnasium.registry.pop(env_id)
