"""Tests for `rlvr/SearchQA-v0`: tools, both call syntaxes, BM25 retrieval and the reward modes.

BM25 scores are checked against the Okapi formula written here in numpy; rubric rewards on a
hand-made chain whose connected parts are worked out by hand.
"""

from __future__ import annotations

import json
import math
from collections import Counter

import gymnasium
import numpy as np
import pytest
from gymnasium.utils.env_checker import check_env
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.envs.knowledge.graph import describe_triple

pytest.importorskip("bm25s")
from rlvr.envs.search import (
    REWARD_MODES,
    Corpus,
    Document,
    SearchQAEnv,
    SearchQATask,
    exact_match,
    f1_score,
    parse_call,
    rubric_reward,
    squad_normalise,
    tokenize,
)
from rlvr.envs.search.calls import ToolCall
from rlvr.testing import check_env_conformance, check_task


def play_oracle(env: SearchQAEnv, seed: int):
    env.reset(seed=seed)
    while True:
        observation, reward, terminated, truncated, info = env.step(env.oracle_action())
        if terminated or truncated:
            return reward, info


def three_hop_env(**kwargs) -> SearchQAEnv:
    env = SearchQAEnv(hops=3, **kwargs)
    env.reset(seed=0)
    return env


def doc_ids_by_title(problem) -> dict[str, str]:
    return {title: doc_id for doc_id, title, _ in problem.content["documents"]}


# ---------------------------------------------------------------------- oracle and rewards
@pytest.mark.parametrize("mode", REWARD_MODES)
def test_oracle_trajectory_scores_one_in_every_mode(mode):
    env = SearchQAEnv(reward_mode=mode)
    for seed in range(6):
        reward, info = play_oracle(env, seed)
        assert reward == 1.0, info
        assert info["components"]["rubric"] == 1.0 and info["tool_calls"] == 2 * len(env.problem.content["path"])


def test_correct_answer_without_citations_gets_the_cgrpo_outcome_share():
    env = three_hop_env(reward_mode="cgrpo")
    gold = env.problem.answer
    for action in (f"<answer>{gold}</answer>", json.dumps({"name": "answer", "arguments": {"text": gold}})):
        env.reset(seed=0)
        _, reward, terminated, _, info = env.step(action)
        assert terminated and reward == pytest.approx(0.7) and info["correct"]
        assert info["components"]["rubric"] == 0.0
    # citing documents the episode never opened earns nothing either
    env.reset(seed=0)
    every_id = ", ".join(doc_ids_by_title(env.problem).values())
    _, reward, _, _, info = env.step(f"<answer>{gold}</answer><cite>{every_id}</cite>")
    assert reward == pytest.approx(0.7) and info["components"]["citations"] == 0.0
    env.reset(seed=0)
    assert env.step("<answer>nobody at all</answer>")[1] == 0.0


def test_rubric_worked_example_on_a_chain():
    # Q -r-> A -r-> B -r-> C, the answer C; hop i supported or not
    chain = [("Q", "r", "A"), ("A", "r", "B"), ("B", "r", "C")]
    assert rubric_reward(chain, [True, True, True], "C") == (1.0, 1.0)
    # dropping the middle hop cuts Q-A off from C: two of three rubrics lost
    assert rubric_reward(chain, [True, False, True], "C") == (2 / 3, 1 / 3)
    # dropping the far hop loses only that one
    assert rubric_reward(chain, [False, True, True], "C") == (2 / 3, 2 / 3)
    # dropping the hop at the answer disconnects everything
    assert rubric_reward(chain, [True, True, False], "C") == (2 / 3, 0.0)


def test_dropping_one_citation_removes_exactly_the_rubrics_it_disconnects():
    env = three_hop_env(reward_mode="rubric")
    problem, task = env.problem, env.task
    (q, r1, a), (_, r2, b), (_, r3, c) = problem.content["path"]
    ids = doc_ids_by_title(problem)
    text = {doc_id: body for doc_id, _, body in problem.content["documents"]}
    # the example's premises: Q's document states hop 1 only, B's states hops 2 (naming B) and 3
    assert describe_triple(q, r1, a) in text[ids[q]] and describe_triple(a, r2, b) not in text[ids[q]]
    assert describe_triple(a, r2, b) in text[ids[b]] and describe_triple(b, r3, c) in text[ids[b]]
    agent = f"{q} {a} {b} {c}"
    everything = set(ids.values())

    def score(cited):
        return task.score_answer(problem, ToolCall("answer", {"text": c, "citations": cited}), agent, everything)

    full = score([ids[q], ids[b]])
    assert full.reward == 1.0 and full.components["rubric_supported"] == 1.0
    without_b = score([ids[q]])  # hops 2 and 3 unsupported, hop 1 supported but cut off from the answer
    assert without_b.reward == 0.0 and without_b.components["rubric_supported"] == pytest.approx(1 / 3)
    without_q = score([ids[b]])  # only hop 1 lost; hops 2 and 3 still reach the answer
    assert without_q.reward == pytest.approx(2 / 3)
    # an entity the agent never named cannot support a rubric, even with the document cited
    unnamed = task.score_answer(problem, ToolCall("answer", {"text": c, "citations": [ids[q], ids[b]]}),
                                f"{q} {b} {c}", everything)
    assert unnamed.reward == pytest.approx(1 / 3)


def test_entity_mode_gives_partial_credit_for_named_path_entities_only():
    env = three_hop_env(reward_mode="entity", entity_weight=0.5)
    (_, _, a), (_, _, b), _ = env.problem.content["path"]
    env.step(f"<search>{a}</search>")
    env.inject(f"Hint: think about {b}.")  # injected text is not the agent's own naming
    _, reward, _, _, info = env.step("<answer>somebody else</answer>")
    assert info["components"]["entity_share"] == pytest.approx(1 / 3)
    assert reward == pytest.approx(0.5 / 3)


def test_em_and_f1_on_worked_strings():
    assert squad_normalise("The  Kobo-Labs, an Inc.") == "kobolabs inc"
    assert exact_match("the Kobo Labs!", "Kobo labs") == 1.0
    assert exact_match("Kobo", "Kobo Labs") == 0.0
    # 2 common tokens, precision 2/3, recall 1 -> F1 = 0.8
    assert f1_score("Kobo Labs Inc", "the Kobo Labs") == pytest.approx(0.8)
    # precision 1/2, recall 1/3 -> 0.4
    assert f1_score("Kobo Vel", "Kobo Labs Inc") == pytest.approx(0.4)
    assert f1_score("", "Kobo") == 0.0 and f1_score("a the", "an") == 1.0


# ---------------------------------------------------------------------- retrieval
def okapi_scores(documents: list[list[str]], query: list[str], k1=1.5, b=0.75) -> np.ndarray:
    """Okapi BM25 as Lucene computes it, written independently: idf log(1 + (N - n + 0.5) / (n + 0.5))
    and term weight tf / (tf + k1 * (1 - b + b * dl / avgdl)) (the classic (k1 + 1) factor is a
    constant and Lucene leaves it out)."""
    n_docs = len(documents)
    average = sum(map(len, documents)) / n_docs
    scores = np.zeros(n_docs)
    for word in set(query):
        holding = sum(word in doc for doc in documents)
        if not holding:
            continue
        idf = math.log(1 + (n_docs - holding + 0.5) / (holding + 0.5))
        for i, doc in enumerate(documents):
            tf = Counter(doc)[word]
            scores[i] += idf * tf / (tf + k1 * (1 - b + b * len(doc) / average))
    return scores


def test_bm25_scores_match_the_okapi_formula():
    env = three_hop_env()
    corpus = env.task.corpus(env.problem)
    tokens = [tokenize(f"{d.title} {d.text}") for d in corpus.documents]
    for query in ("capital of", env.problem.content["path"][0][0] + " born", "located in headquartered"):
        np.testing.assert_allclose(corpus.scores(query), okapi_scores(tokens, tokenize(query)), rtol=1e-5)


def test_retrieval_is_deterministic_with_ties_broken_by_id():
    documents = [Document("d3", "Fox", "red fox runs"), Document("d1", "Fox", "red fox runs"),
                 Document("d2", "Whale", "blue whale swims"), Document("d0", "Fox", "red fox runs")]
    corpus, reversed_corpus = Corpus(documents), Corpus(documents[::-1])
    ranking = [h.doc_id for h in corpus.search("red fox", 10)]
    assert ranking == ["d0", "d1", "d3"]  # equal scores, id order; the whale never matches
    assert ranking == [h.doc_id for h in corpus.search("red fox", 10)]
    assert ranking == [h.doc_id for h in reversed_corpus.search("red fox", 10)]
    assert [h.doc_id for h in corpus.search("red fox", 2)] == ["d0", "d1"]
    assert corpus.search("!!!", 3) == [] and corpus.search("unknownword", 3) == []
    env = three_hop_env()
    first = env.task.corpus(env.problem).search("capital", 5)
    rebuilt = Corpus(Document(*d) for d in env.problem.content["documents"]).search("capital", 5)
    assert first == rebuilt and len(first) == 5


# ---------------------------------------------------------------------- tools and syntaxes
def test_malformed_calls_get_an_error_and_use_the_budget():
    env = SearchQAEnv(tool_budget=3)
    env.reset(seed=1)
    for used, action in enumerate(("hello", '{"name": "fly", "arguments": {}}', "<open>doc_999</open>"), 1):
        observation, reward, terminated, truncated, info = env.step(action)
        assert info["error"] and info["tool_calls"] == used and reward == 0.0 and not (terminated or truncated)
        assert "error" in info["tool_output"] and observation.endswith(info["tool_output"])
    _, reward, terminated, truncated, info = env.step("<search>anything</search>")
    assert truncated and not terminated and reward == 0.0 and "budget of 3" in info["reason"]
    # an answer is still accepted once the budget is used, as long as no further call is made
    env.reset(seed=1)
    for _ in range(3):
        env.step("<search>capital</search>")
    assert env.step(f"<answer>{env.problem.answer}</answer>")[1] == 1.0


def test_call_parsing_in_both_syntaxes():
    assert parse_call("<search>a b</search>") == ToolCall("search", {"query": "a b"})
    assert parse_call('<tool_call>{"name": "search", "arguments": "{\\"query\\": \\"x\\", \\"k\\": 2}"}'
                      "</tool_call>") == ToolCall("search", {"query": "x", "k": 2}, "json")
    assert parse_call("<answer>X</answer> <cite>doc_1;doc_2</cite>").arguments["citations"] == ["doc_1", "doc_2"]
    for bad in ("<search>a</search><open>doc_1</open>", "<search>unclosed", '{"name": "search", "arguments": '
                '{"query": 3}}', '{"name": "open"}', "[1, 2]", '{"name": "search", "arguments": {"q": "x"}}', ""):
        assert isinstance(parse_call(bad), str), bad


def test_json_trajectory_earns_full_cgrpo_and_answers_in_json():
    env = three_hop_env(reward_mode="cgrpo")
    ids = doc_ids_by_title(env.problem)
    heads = [head for head, _, _ in env.problem.content["path"]]
    for head in heads:
        _, _, _, _, info = env.step(json.dumps({"name": "search", "arguments": {"query": head, "k": 2}}))
        results = json.loads(info["tool_output"])["results"]
        assert len(results) == 2 and results[0]["doc_id"] == ids[head]  # a name finds its own document
        _, _, _, _, info = env.step(json.dumps({"name": "open", "arguments": {"doc_id": ids[head]}}))
        assert json.loads(info["tool_output"])["title"] == head
    answer = {"name": "answer", "arguments": {"text": env.problem.answer, "citations": [ids[h] for h in heads]}}
    _, reward, terminated, _, info = env.step(json.dumps(answer))
    assert terminated and reward == 1.0 and info["components"]["f1"] == 1.0


def test_tag_search_observation_and_inject():
    env = three_hop_env()
    observation, *_ , info = env.step("<search>capital</search>")
    assert info["tool_output"].startswith("<information>") and info["tool_output"].count("[doc_") == 3
    injected = env.inject("Wait, let me search for the founder.")
    assert injected.endswith("Wait, let me search for the founder.") and injected.startswith(env.problem.prompt)
    saved = env.get_state()
    env.step("<answer>x</answer>")
    env.set_state(saved)
    assert env.oracle_action() is not None and env.render() is None


@pytest.mark.parametrize("room", [0, 20])
def test_snippet_chars_bounds_what_a_search_shows(room):
    env = SearchQAEnv(hops=1, search_k=2, snippet_chars=room)
    env.reset(seed=3)
    texts = {doc_id: text for doc_id, _, text in env.problem.content["documents"]}
    titles = {doc_id: title for doc_id, title, _ in env.problem.content["documents"]}
    _, _, _, _, info = env.step(f"<search>{env.problem.content['path'][0][0]}</search>")
    lines = info["tool_output"].splitlines()[1:-1]
    assert len(lines) == 2
    for line in lines:
        doc_id = line[1:line.index("]")]
        head = f"[{doc_id}] {titles[doc_id]}"
        # 0: the id and title alone; else ": " and the first `room` characters of the text
        assert line == (head if room == 0 else f"{head}: {texts[doc_id][:room]}")
    call = {"name": "search", "arguments": {"query": env.problem.content["path"][0][0]}}
    _, _, _, _, info = env.step(json.dumps(call))
    assert [len(hit["snippet"]) for hit in json.loads(info["tool_output"])["results"]] == [room, room]


def test_reply_is_the_tool_output_without_the_call():
    from rlvr.core.text_env import env_reply

    env = three_hop_env()
    observation, _ = env.reset(seed=0)
    action = "<search>capital</search>"
    new_observation, _, _, _, info = env.step(action)
    assert info["reply"] == "\n" + info["tool_output"] + "\n"
    assert env_reply(info, observation, new_observation) == info["reply"]
    # the observation's new tail, what a rollout would append without `reply`, repeats the call
    assert action in new_observation[len(observation):] and action not in info["reply"]


def test_bare_question_template_keeps_the_problem():
    from rlvr.core.templates import PromptTemplate

    short = SearchQAEnv(hops=1, template=PromptTemplate(instruction="", text="{bare_question}>"))
    full = SearchQAEnv(hops=1)
    prompt, _ = short.reset(seed=4)
    full.reset(seed=4)
    question = full.problem.content["question"]
    assert prompt == question + ">" and question.startswith("What is the ") and question.endswith("?")
    assert short.problem.problem_id == full.problem.problem_id and full.problem.prompt.startswith(f"Question: {question}")


def test_user_corpus_and_questions(tmp_path):
    corpus_file, questions_file = tmp_path / "corpus.jsonl", tmp_path / "questions.jsonl"
    corpus_file.write_text("\n".join(json.dumps(d) for d in (
        {"id": "a", "title": "Mount Kelo", "text": "Mount Kelo is in Parvia."},
        {"id": "b", "title": "Parvia", "text": "Parvia has the river Osk."})) + "\n\n")
    questions_file.write_text(json.dumps({"question": "Where is Mount Kelo?", "answer": "Parvia",
                                          "path_entities": ["Mount Kelo", "Parvia"]}) + "\n")
    env = SearchQAEnv(corpus_path=str(corpus_file), questions_path=str(questions_file), reward_mode="f1")
    env.reset(seed=0)
    _, _, _, _, info = env.step("<search>Kelo</search>")
    assert "[a] Mount Kelo" in info["tool_output"] and "[b]" not in info["tool_output"]
    assert env.step("<answer>parvia</answer><cite>a</cite>")[1] == 1.0
    with pytest.raises(ValueError, match="rubrics"):
        SearchQATask(reward_mode="cgrpo", corpus_path=corpus_file, questions_path=questions_file)
    corpus_file.write_text('{"id": "a", "text": 5}\n')
    with pytest.raises(ValueError, match="string 'text'"):
        SearchQATask(corpus_path=corpus_file, questions_path=questions_file)


# ---------------------------------------------------------------------- contracts
def test_gymnasium_check_env():
    check_env(SearchQAEnv(), skip_render_check=True)


@settings(max_examples=60, deadline=None)
@given(st.text(max_size=200) | st.sampled_from(["<search></search>", '{"name": "answer"}', "<cite>doc_1</cite>",
                                                 '{"name": "search", "arguments": {"query": "x", "k": 0}}']))
def test_any_string_action_never_raises(action):
    env = SearchQAEnv(tool_budget=2)
    env.reset(seed=0)
    _, reward, terminated, truncated, info = env.step(action)
    assert math.isfinite(reward) and (terminated or info["tool_calls"] == 1)
    assert math.isfinite(env.task.score(env.problem, action).reward)


@pytest.mark.parametrize("mode", ["em", "cgrpo"])
def test_task_contract(mode):
    check_task(SearchQATask(reward_mode=mode), n=8)


def test_env_conformance():
    env_id = "rlvr-test/SearchQA-v0"
    gymnasium.register(id=env_id, entry_point="rlvr.envs.search.env:SearchQAEnv")
    try:
        check_env_conformance(env_id, episodes=6)
    finally:
        gymnasium.registry.pop(env_id)
