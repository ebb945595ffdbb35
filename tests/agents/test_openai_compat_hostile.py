"""OpenAICompatibleAgent against hostile servers: redirects, dripped bytes, echoed keys, poisoned JSON.

Every server is local (127.0.0.1), threaded and bounded in time (tests/agents/hostile_http_server.py).
"""

from __future__ import annotations

import json
import math
import time
import traceback

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from rlvr.agents.http_client import Secret
from rlvr.agents.openai_compat import OpenAICompatibleAgent, OpenAICompatibleError
from tests.agents.hostile_http_server import (
    HostileServer,
    completion,
    dripped_body,
    dripped_headers,
    make_tls,
    redirect,
    send,
    send_raw,
    silent_server,
)

pytestmark = pytest.mark.usefixtures("no_proxy_no_key")

SECRET = "sk-test-not-a-real-key-1234"
FAST_RETRY = {"backoff_s": 0.001, "max_backoff_s": 0.01}
PIECE = 12
"""The documented scrubbing unit: no 12-character piece of the key may show, even split by whitespace."""


def make_agent(url: str, **kwargs) -> OpenAICompatibleAgent:
    return OpenAICompatibleAgent(url, "stub-model", **{"api_key": SECRET, **FAST_RETRY, **kwargs})


def failure(reply, match: str | None = None, **kwargs) -> tuple[OpenAICompatibleError, HostileServer]:
    """The error one request against a server answering with `reply` raises, and that server."""
    with HostileServer(reply) as server, pytest.raises(OpenAICompatibleError, match=match) as caught:
        make_agent(server.url, **kwargs).act(["1 + 1"], [{}])
    return caught.value, server


def key_pieces_in(text: str) -> list[str]:
    squeezed = "".join(text.split())
    pieces = [SECRET[i : i + PIECE] for i in range(len(SECRET) - PIECE + 1)]
    return [piece for piece in pieces if piece in squeezed]


def everything_said(error: BaseException) -> str:
    """All a log could show of an error: its text, its repr and the whole chained traceback."""
    return "\n".join([str(error), repr(error), "".join(traceback.format_exception(error))])


# ---- redirects ----


@pytest.fixture
def elsewhere():
    """A second origin that answers anything with a completion and records what reached it."""
    with HostileServer(lambda handler: send(handler, 200, completion("answer from elsewhere"))) as server:
        yield server


@pytest.mark.parametrize("status", [301, 302, 303, 307, 308])
def test_a_redirect_to_another_origin_is_not_followed(elsewhere, status):
    error, server = failure(redirect(status, elsewhere.url + "/chat/completions"), max_retries=3)
    assert elsewhere.requests == []  # neither the key nor the prompt went there; its answer was not used
    assert len(server.requests) == 1  # a redirect is an answer, not a transient failure: no retry
    assert error.status == status
    message = str(error)
    assert f"HTTP {status}" in message and elsewhere.origin in message and "not followed" in message


@pytest.mark.parametrize("status", [302, 307, 308])
def test_a_redirect_to_the_same_origin_is_not_followed_either(status):
    moved = redirect(status, "/v1/chat/completions?moved=1")
    error, server = failure(moved, f"HTTP {status}.*not followed", max_retries=3)
    # The key went out once, to the configured URL, and never again.
    assert [r.headers.get("authorization") for r in server.requests] == [f"Bearer {SECRET}"]
    assert server.origin in str(error)


# ---- one deadline per request ----


@pytest.mark.parametrize("drip", [dripped_body, dripped_headers])
def test_a_dripping_server_fails_at_the_deadline(drip):
    with HostileServer(lambda handler: None) as server:
        server.reply = drip(server, 100, 0.05)  # 5 s of bytes, each well within any per-read timeout
        agent = make_agent(server.url, timeout_s=1.0, max_retries=0)
        started = time.perf_counter()
        with pytest.raises(OpenAICompatibleError, match="timed out"):
            agent.act(["1 + 1"], [{}])
        elapsed = time.perf_counter() - started
    assert 0.9 <= elapsed <= 1.0 + 1.0


def test_retries_of_a_dripping_server_are_bounded_together():
    with HostileServer(lambda handler: None) as server:
        server.reply = dripped_body(server, 100, 0.05)
        agent = make_agent(server.url, timeout_s=0.5, max_retries=2)
        started = time.perf_counter()
        with pytest.raises(OpenAICompatibleError, match="3 attempts.*timed out"):
            agent.act(["1 + 1"], [{}])
        elapsed = time.perf_counter() - started
    # The documented bound: (max_retries + 1) * timeout_s + max_retries * the longest wait between tries.
    assert elapsed <= 3 * 0.5 + 2 * 0.01 + 1.0
    assert len(server.requests) == 3 and agent.stats["retries"] == 2


@pytest.fixture
def tls(tmp_path, monkeypatch):
    """A server TLS context whose certificate the client trusts (through $SSL_CERT_FILE)."""
    made = make_tls(tmp_path)
    if made is None:
        pytest.skip("needs the openssl command to make a test certificate")
    context, certificate = made
    monkeypatch.setenv("SSL_CERT_FILE", str(certificate))
    return context


def test_https_works_and_a_body_dripped_over_tls_fails_at_the_deadline(tls):
    with HostileServer(lambda handler: send(handler, 200, completion("over tls")), tls=tls) as server:
        assert server.url.startswith("https://")
        assert make_agent(server.url).act(["1 + 1"], [{}]) == ["over tls"]
        server.reply = dripped_body(server, 100, 0.05)
        started = time.perf_counter()
        with pytest.raises(OpenAICompatibleError, match="timed out"):
            make_agent(server.url, timeout_s=1.0, max_retries=0).act(["1 + 1"], [{}])
        assert 0.9 <= time.perf_counter() - started <= 2.0


@pytest.mark.parametrize("scheme", ["http", "https"])
def test_a_server_that_never_answers_times_out_in_the_handshake_or_the_wait(scheme):
    with silent_server() as port:
        started = time.perf_counter()
        with pytest.raises(OpenAICompatibleError, match="timed out"):
            make_agent(f"{scheme}://127.0.0.1:{port}/v1", timeout_s=0.5, max_retries=0).act(["1 + 1"], [{}])
        assert 0.45 <= time.perf_counter() - started <= 1.5


@pytest.mark.parametrize("name", ["timeout_s", "backoff_s", "max_backoff_s", "max_retry_after_s"])
@pytest.mark.parametrize("value", [math.nan, math.inf, -1.0])
def test_times_that_would_void_the_bound_are_refused(name, value):
    with pytest.raises(ValueError, match=name):
        make_agent("http://127.0.0.1:9/v1", **{name: value})


# ---- the key never shows in a message ----


def _echo_authorization(handler):
    send(handler, 400, f"rejected header {handler.headers.get('Authorization')}")


ECHOES = {
    "json_error_message": lambda h: send(h, 401, {"error": {"message": f"Incorrect API key: {SECRET}."}}),
    "echoed_bearer_header": _echo_authorization,
    "retried_server_error": lambda h: send(h, 503, {"detail": f"overloaded while serving {SECRET}"}),
    "split_over_a_line": lambda h: send(h, 403, {"detail": f"{SECRET[:13]}\n{SECRET[13:]} denied"}),
    "not_json": lambda h: send(h, 200, f"<html>{SECRET}</html>"),
    "across_the_quote_cut": lambda h: send(h, 200, "x" * 190 + SECRET + "y" * 300),
    "no_choices": lambda h: send(h, 200, {"detail": SECRET}),
    "bad_choice": lambda h: send(h, 200, {"choices": [{"message": {"content": 5, "note": SECRET}}]}),
    "status_line": lambda h: send_raw(h, f"HTTP/1.1 abc {SECRET}\r\n\r\n".encode()),
    "redirect_location": redirect(302, f"http://{SECRET}@127.0.0.1:9/{SECRET}"),
}


@pytest.mark.parametrize("echo", sorted(ECHOES))
def test_an_echoed_key_never_reaches_an_error_message(echo):
    error, _ = failure(ECHOES[echo], max_retries=1)
    assert key_pieces_in(everything_said(error)) == []
    assert "[redacted]" in str(error) or echo in ("status_line", "redirect_location")


@settings(max_examples=200, deadline=None)
@given(
    before=st.text(max_size=30),
    after=st.text(max_size=30),
    cuts=st.lists(st.tuples(st.integers(1, len(SECRET) - 1), st.sampled_from([" ", "\n", "\r\n", "\t  "]))),
)
def test_redact_removes_the_key_split_anywhere_by_whitespace_and_nothing_else(before, after, cuts):
    secret = Secret(SECRET)
    split = SECRET
    for position, space in sorted(cuts, reverse=True):
        split = split[:position] + space + split[position:]
    assert key_pieces_in(secret.redact(before + split + after)) == []
    if not key_pieces_in(before + after):
        assert secret.redact(before + after) == before + after


def test_the_key_stays_out_of_the_agent_state_repr():
    agent = make_agent("http://127.0.0.1:9/v1")
    assert key_pieces_in(repr(agent)) == [] and key_pieces_in(repr(vars(agent))) == []


# ---- poisoned bodies and headers ----

HUGE = "1" + "0" * 5000
POISON = {
    "deep_array": (b"[" * 100_000, "not JSON"),
    "deep_choices": (b'{"choices": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "not JSON"),
    "huge_int_in_usage": (
        json.dumps(completion(usage={"prompt_tokens": 7})).replace("7", HUGE).encode(),
        "not JSON",
    ),
    "huge_int_index": (f'{{"choices": [{{"index": {HUGE}, "text": "x"}}]}}'.encode(), "not JSON"),
}


@pytest.mark.parametrize("name", sorted(POISON))
def test_poisoned_json_raises_the_agent_error_without_retry(name):
    body, message = POISON[name]
    _, server = failure(lambda h: send(h, 200, body), match=message, max_retries=2)
    assert len(server.requests) == 1


@pytest.mark.parametrize(
    ("status", "body"),
    [(500, b"[" * 100_000), (400, f'{{"error": {{"message": {HUGE}}}}}'.encode()), (502, b"\xff\xfe" * 50)],
    ids=["deep_json_500", "huge_int_400", "not_utf8_502"],
)
def test_poisoned_error_bodies_still_give_the_status(status, body):
    error, _ = failure(lambda h: send(h, status, body), match=f"HTTP {status}", max_retries=1)
    assert error.status == status


def _head_then(head: bytes, body: bytes):
    return lambda h: send_raw(h, head + b"\r\n" + body)


GOOD = json.dumps(completion("fine")).encode()


def test_a_content_length_of_5000_digits_is_over_the_limit():
    head = b"HTTP/1.1 200 OK\r\nContent-Length: " + HUGE.encode() + b"\r\n"
    failure(_head_then(head, GOOD), match="over the limit")


def test_an_unreadable_content_length_is_ignored_and_the_body_read_to_its_end():
    head = b"HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: \xb2\r\n"  # Latin-1 superscript two
    with HostileServer(_head_then(head, GOOD)) as server:
        assert make_agent(server.url).act(["1 + 1"], [{}]) == ["fine"]


def test_a_broken_chunked_body_is_retried_then_fails():
    head = b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n"
    broken = _head_then(head, b"zz\r\nabc\r\n0\r\n\r\n")
    _, server = failure(broken, "2 attempts.*incomplete HTTP response", max_retries=1)
    assert len(server.requests) == 2


# ---- wrong types ----

NAN = float("nan")
WRONG_TYPES = {
    "index_nan": ({"choices": [{"index": NAN, "message": {"content": "a"}}]}, "index"),
    "index_bool": ({"choices": [{"index": True, "message": {"content": "a"}}]}, "index"),
    "index_repeated": ({"choices": [{"index": 0, "message": {"content": "a"}}] * 2}, "index"),
    "finish_reason_object": (
        {"choices": [{"message": {"content": "a"}, "finish_reason": {"x": [1]}}]},
        "finish_reason",
    ),
    "usage_negative": ({**completion(), "usage": {"completion_tokens": -5}}, "usage"),
    "usage_bool": ({**completion(), "usage": {"prompt_tokens": True}}, "usage"),
    "usage_nan": ({**completion(), "usage": {"prompt_tokens": NAN}}, "usage"),
    "usage_4000_digits": ({**completion(), "usage": {"prompt_tokens": 10**3999}}, "usage"),
    "usage_not_an_object": ({**completion(), "usage": [1, 2]}, "usage"),
    # Shapes already refused before (kept here so they stay refused):
    "choices_an_object": ({"choices": {"0": {"message": {"content": "a"}}}}, "choices"),
    "content_a_number": ({"choices": [{"message": {"content": 5}}]}, "content"),
    "content_parts": ({"choices": [{"message": {"content": [{"type": "text", "text": "a"}]}}]}, "content"),
    "payload_a_list": ([completion()], "choices"),
}


@pytest.mark.parametrize("name", sorted(WRONG_TYPES))
def test_wrong_types_raise_a_clear_error(name):
    payload, field = WRONG_TYPES[name]
    body = json.dumps(payload, allow_nan=True)
    _, server = failure(lambda h: send(h, 200, body), match=field, max_retries=2)
    assert len(server.requests) == 1


@pytest.mark.parametrize("logprobs", [NAN, "weird", [[[[]]]], {"content": [{"logprob": NAN}]}, 10**100])
def test_logprobs_of_any_shape_are_not_read(logprobs):
    payload = completion("kept")
    payload["choices"][0]["logprobs"] = logprobs
    with HostileServer(lambda h: send(h, 200, json.dumps(payload, allow_nan=True))) as server:
        assert make_agent(server.url).act(["1 + 1"], [{}]) == ["kept"]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=8),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=6), inner, max_size=3),
    max_leaves=12,
)
VALID_CHOICE = st.fixed_dictionaries(
    {"index": st.integers(0, 3), "message": st.fixed_dictionaries({"content": st.text()}), "text": st.text()},
    optional={"finish_reason": st.sampled_from(["stop", "length"]), "logprobs": JSON_VALUES},
)
CHOICE = st.fixed_dictionaries(
    {},
    optional={
        "index": JSON_VALUES | st.integers(0, 3),
        "message": JSON_VALUES | st.fixed_dictionaries({}, optional={"content": JSON_VALUES | st.text()}),
        "text": JSON_VALUES | st.text(),
        "finish_reason": JSON_VALUES | st.sampled_from(["stop", "length"]),
        "logprobs": JSON_VALUES,
    },
)
COUNT = st.integers(-3, 3) | st.integers(2**53 - 2, 2**64) | st.booleans() | JSON_VALUES
USAGE = st.fixed_dictionaries({}, optional={"prompt_tokens": COUNT, "completion_tokens": COUNT})
CHOICES = st.lists(VALID_CHOICE, max_size=3) | st.lists(VALID_CHOICE | CHOICE, max_size=4) | JSON_VALUES
PAYLOAD = st.fixed_dictionaries(
    {"choices": CHOICES},
    optional={"usage": USAGE | JSON_VALUES},
)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(payload=PAYLOAD, endpoint=st.sampled_from(["chat", "completions"]), cut=st.integers(0, 40))
def test_any_payload_gives_texts_or_the_agent_error(payload, endpoint, cut):
    agent = make_agent("http://127.0.0.1:9/v1", endpoint=endpoint)
    raw = json.dumps(payload, allow_nan=True).encode()
    for body in (raw, raw[: len(raw) - cut]):  # whole, and cut short
        try:
            texts = agent._parse(body)
        except OpenAICompatibleError as error:
            assert str(error)
            continue
        assert isinstance(texts, list) and all(isinstance(t, str) for t in texts)
        assert len(texts) == len(payload["choices"])
    for name in ("choices", "prompt_tokens", "completion_tokens"):
        value = agent.stats[name]
        assert type(value) is int and 0 <= value < 2**63 and not math.isnan(value)
    assert all(type(k) is str for k in agent.stats["finish_reasons"])
    json.dumps(agent.stats)  # stats stay plain data
