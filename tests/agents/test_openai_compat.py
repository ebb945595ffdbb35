"""OpenAICompatibleAgent against a local stub server: request bodies, order, retries, errors, n, envs."""

from __future__ import annotations

import socket
import time

import gymnasium as gym
import pytest

import rlvr  # noqa: F401  (registers the envs)
from rlvr.agents.base import Agent
from rlvr.agents.openai_compat import OpenAICompatibleAgent, OpenAICompatibleError
from rlvr.agents.rollout import play_episode
from tests.agents.stub_openai_server import StubOpenAIServer, answer_wrong, exact_value

pytestmark = pytest.mark.usefixtures("no_proxy_no_key")

SECRET = "sk-test-not-a-real-key-1234"
FAST_RETRY = {"backoff_s": 0.001, "max_backoff_s": 0.01}


@pytest.fixture
def server():
    with StubOpenAIServer() as stub:
        yield stub


def make_agent(url: str, **kwargs) -> OpenAICompatibleAgent:
    return OpenAICompatibleAgent(url, "stub-model", **{**FAST_RETRY, **kwargs})


def boxed(expression: str) -> str:
    return f"\\boxed{{{exact_value(expression)}}}"


# ---- request bodies and headers ----


def test_chat_request_body_and_auth_header(server):
    agent = make_agent(
        server.url, api_key=SECRET, temperature=0.7, top_p=0.9, max_tokens=32, stop=["\n\n"], seed=5,
        extra_body={"top_k": 4},
    )
    assert isinstance(agent, Agent)
    [response] = agent.act(["12 * 3 - 4"], [{}])
    assert boxed("12 * 3 - 4") in response
    [request] = server.requests
    assert request.path == "/v1/chat/completions"
    assert request.body == {
        "model": "stub-model",
        "messages": [{"role": "user", "content": "12 * 3 - 4"}],
        "temperature": 0.7,
        "top_p": 0.9,
        "max_tokens": 32,
        "stop": ["\n\n"],
        "seed": 5,
        "n": 1,
        "top_k": 4,
    }
    assert request.headers["authorization"] == f"Bearer {SECRET}"
    assert request.headers["content-type"] == "application/json"


def test_no_auth_header_without_a_key_and_env_var_order(server, monkeypatch):
    make_agent(server.url).act(["1 + 1"], [{}])
    assert "authorization" not in server.requests[-1].headers
    monkeypatch.setenv("OPENAI_API_KEY", "from-openai-var")
    make_agent(server.url).act(["1 + 1"], [{}])
    assert server.requests[-1].headers["authorization"] == "Bearer from-openai-var"
    monkeypatch.setenv("RLVR_OPENAI_API_KEY", "from-rlvr-var")
    make_agent(server.url).act(["1 + 1"], [{}])
    assert server.requests[-1].headers["authorization"] == "Bearer from-rlvr-var"
    make_agent(server.url, api_key="").act(["1 + 1"], [{}])  # an empty key turns auth off
    assert "authorization" not in server.requests[-1].headers


def test_completions_endpoint_sends_the_prompt_and_omits_unset_fields(server):
    agent = make_agent(server.url, endpoint="completions", temperature=None, max_tokens=None)
    assert agent.act(["7 - 10"], [{"messages": [{"role": "user", "content": "ignored"}]}]) == [
        f"The value is {boxed('7 - 10')}."
    ]
    [request] = server.requests
    assert request.path == "/v1/completions"
    assert request.body == {"model": "stub-model", "prompt": "7 - 10", "n": 1}


def test_chat_sends_the_env_messages_from_info(server):
    messages = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "2 ^ 5"}]
    [response] = make_agent(server.url).act(["observation text"], [{"messages": messages}])
    assert boxed("2 ^ 5") in response
    assert server.requests[0].body["messages"] == messages


def test_base_url_without_a_path_gets_v1_and_repr_hides_the_key(server):
    root = server.url.removesuffix("/v1")
    agent = make_agent(root + "/", api_key=SECRET)
    assert agent.act(["3 + 4"], [{}])[0].endswith(f"{boxed('3 + 4')}.")
    assert SECRET not in repr(agent) and "api_key=set" in repr(agent)
    assert SECRET not in str(agent.stats)
    with pytest.raises(ValueError, match="endpoint"):
        make_agent(server.url, endpoint="responses")
    with pytest.raises(ValueError, match="http"):
        make_agent("file:///etc/passwd")


# ---- batching ----


def test_results_keep_input_order_under_concurrency():
    prompts = [f"{i} * 3 + 1" for i in range(8)]
    # The first prompts answer last, so completion order is the reverse of input order.
    with StubOpenAIServer(delay=lambda text: 0.02 * (8 - int(text.split()[0]))) as stub:
        started = time.perf_counter()
        responses = make_agent(stub.url, concurrency=8).act(prompts, [{}] * len(prompts))
        elapsed = time.perf_counter() - started
    assert [r.split("{")[1].rstrip("}.") for r in responses] == [str(exact_value(p)) for p in prompts]
    assert stub.max_in_flight > 1
    assert elapsed < 0.02 * sum(range(1, 9))  # well under the sequential time


# ---- retries and errors ----


def test_server_errors_are_retried_until_success(server):
    server.fail_next("500", "500")
    agent = make_agent(server.url, max_retries=3)
    assert boxed("5 + 5") in agent.act(["5 + 5"], [{}])[0]
    assert len(server.requests) == 3
    assert agent.stats["requests"] == 3 and agent.stats["retries"] == 2


def test_server_errors_past_max_retries_raise_with_status_and_message(server):
    server.fail_next("500", "500", "500")
    with pytest.raises(OpenAICompatibleError, match="3 attempts.*HTTP 500: stub overloaded") as caught:
        make_agent(server.url, max_retries=2).act(["1 + 2"], [{}])
    assert caught.value.status == 500
    assert len(server.requests) == 3


def test_429_waits_for_retry_after():
    with StubOpenAIServer(retry_after="0.3") as stub:
        stub.fail_next("429")
        started = time.perf_counter()
        assert boxed("2 * 2") in make_agent(stub.url).act(["2 * 2"], [{}])[0]
        assert time.perf_counter() - started >= 0.3
        assert len(stub.requests) == 2


def test_retry_after_is_bounded():
    with StubOpenAIServer(retry_after="3600") as stub:
        stub.fail_next("429")
        started = time.perf_counter()
        make_agent(stub.url, max_retry_after_s=0.05).act(["2 * 2"], [{}])
        assert time.perf_counter() - started < 2.0
        assert len(stub.requests) == 2


def test_client_errors_are_not_retried(server):
    server.fail_next("400")
    with pytest.raises(OpenAICompatibleError, match="HTTP 400: stub rejects max_tokens") as caught:
        make_agent(server.url, api_key=SECRET, max_retries=5).act(["1 + 2"], [{}])
    assert caught.value.status == 400
    assert SECRET not in str(caught.value)
    assert len(server.requests) == 1


def test_a_request_past_the_timeout_is_retried_then_fails():
    with StubOpenAIServer(hang_s=1.0) as stub:
        stub.fail_next("hang", "hang")
        started = time.perf_counter()
        with pytest.raises(OpenAICompatibleError, match="2 attempts.*timed out"):
            make_agent(stub.url, timeout_s=0.15, max_retries=1).act(["1 + 2"], [{}])
        assert time.perf_counter() - started < 0.9
        assert len(stub.requests) == 2


def test_connection_refused_is_retried_then_fails():
    with socket.socket() as probe:  # a port nobody listens on once closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    agent = make_agent(f"http://127.0.0.1:{port}/v1", max_retries=2)
    with pytest.raises(OpenAICompatibleError, match="3 attempts"):
        agent.act(["1 + 2"], [{}])
    assert agent.stats["requests"] == 3


@pytest.mark.parametrize(
    ("mode", "message"),
    [
        ("malformed", "not JSON"),
        ("no_choices", "no 'choices'"),
        ("no_content", "no message content"),
        ("oversize", "over the limit"),
        ("oversize_undeclared", "over the limit"),
    ],
)
def test_bad_responses_raise_clear_errors_without_retry(server, mode, message):
    server.fail_next(mode)
    with pytest.raises(OpenAICompatibleError, match=message):
        make_agent(server.url, max_response_bytes=10_000, max_retries=3).act(["1 + 2"], [{}])
    assert len(server.requests) == 1


def test_a_failure_in_a_batch_raises(server):
    server.fail_next("400")
    with pytest.raises(OpenAICompatibleError, match="HTTP 400"):
        make_agent(server.url, concurrency=4).act(["1 + 1", "2 + 2", "3 + 3"], [{}] * 3)


def test_backoff_jitter_is_seeded_and_bounded(server):
    first, second = (make_agent(server.url, backoff_s=0.1, max_backoff_s=0.3, jitter_seed=3) for _ in range(2))
    delays = [first._delay(attempt, None) for attempt in range(4)]
    assert delays == [second._delay(attempt, None) for attempt in range(4)]
    for attempt, delay in enumerate(delays):
        base = min(0.3, 0.1 * 2**attempt)
        assert base / 2 <= delay <= base


# ---- n samples ----


def test_n_samples_use_the_api_n_field(server):
    agent = make_agent(server.url, temperature=1.0)
    samples = agent.complete(["1 + 1", "2 * 9"], n=4)
    assert [len(s) for s in samples] == [4, 4]
    assert all(boxed("1 + 1") in s for s in samples[0]) and all(boxed("2 * 9") in s for s in samples[1])
    assert sorted(r.body["n"] for r in server.requests) == [4, 4]
    assert agent.stats["choices"] == 8


def test_n_falls_back_to_separate_requests_when_the_server_ignores_it():
    with StubOpenAIServer(max_n=1) as stub:
        samples = make_agent(stub.url, seed=7).complete(["1 + 1", "3 - 8"], n=3)
    assert [len(s) for s in samples] == [3, 3]
    assert all(boxed("3 - 8") in s for s in samples[1])
    for prompt in ("1 + 1", "3 - 8"):
        bodies = [r.body for r in stub.requests if r.body["messages"][0]["content"] == prompt]
        assert sorted(b["seed"] for b in bodies) == [7, 8, 9]  # distinct seeds, distinct samples


def test_n_when_the_server_caps_it():
    with StubOpenAIServer(max_n=2) as stub:
        [samples] = make_agent(stub.url).complete(["4 + 4"], n=5)
    assert len(samples) == 5
    assert sorted(r.body["n"] for r in stub.requests) == [1, 2, 5]


def test_usage_is_summed_into_stats(server):
    agent = make_agent(server.url, concurrency=2)
    prompts = ["1 + 1", "2 * 3 * 4", "10 / 4"]
    responses = agent.act(prompts, [{}] * 3)
    assert agent.stats["prompt_tokens"] == sum(len(p.split()) for p in prompts)
    assert agent.stats["completion_tokens"] == sum(len(r.split()) for r in responses)
    assert agent.stats["requests"] == 3 and agent.stats["finish_reasons"] == {"stop": 3}
    agent.reset_stats()
    assert agent.stats["requests"] == 0


# ---- end to end with a real env ----


@pytest.mark.parametrize("endpoint", ["chat", "completions"])
def test_plays_random_calc_to_reward_one(server, endpoint):
    env = gym.make("rlvr/RandomCalc-v0", num_ops=2)
    agent = make_agent(server.url, endpoint=endpoint)
    episodes = [play_episode(env, agent, seed=seed) for seed in range(3)]
    assert [e.total_reward for e in episodes] == [1.0, 1.0, 1.0]
    if endpoint == "chat":
        _, info = env.reset(seed=0)
        assert server.requests[0].body["messages"] == info["messages"]


def test_a_wrong_model_gets_reward_zero():
    with StubOpenAIServer(answer=answer_wrong) as stub:
        env = gym.make("rlvr/RandomCalc-v0", num_ops=2)
        episode = play_episode(env, make_agent(stub.url), seed=0)
    assert episode.total_reward == 0.0
    assert not episode.correct
