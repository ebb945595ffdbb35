"""ServerPolicy against servers that lie: every hostile answer is a clear error, never a wrong batch.

The fake server samples honestly, then `tamper` rewrites its answer: a dropped `n`, text without
ids, lengths that disagree, NaN or positive log-probs, ids outside the vocabulary, a huge body, a
server slower than the deadline. The reader of token answers is also fed arbitrary JSON (hypothesis):
it returns checked choices or raises `PayloadError`, nothing else.
"""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")
pytest.importorskip("safetensors")
from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from rlvr.agents.openai_compat import OpenAICompatibleError  # noqa: E402
from rlvr.agents.openai_payload import PayloadError  # noqa: E402
from rlvr.agents.server_policy import ServerPolicy  # noqa: E402
from rlvr.agents.server_tokens import read_token_choices  # noqa: E402
from tests.agents.fake_token_server import FakeTokenServer, one_thread, tiny_policy  # noqa: E402,F401  (an autouse fixture)

# most servers here are asked with weight_sync='none', which warns by design
pytestmark = pytest.mark.filterwarnings("ignore:weight_sync='none'")
VOCAB = 100  # the tiny model's character vocabulary


@pytest.fixture(scope="module")
def learner():
    return tiny_policy(seed=0)


def first(payload):
    return payload["choices"][0]


def set_ids(payload, ids):
    choice = first(payload)
    choice["token_ids"] = ids
    choice["logprobs"]["tokens"] = [f"token_id:{token}" for token in ids]
    return payload


def edit(change):
    """A tamper that applies `change(payload)` in place and sends the payload."""
    def tamper(payload):
        change(payload)
        return payload
    return tamper


HOSTILE = {
    "drops n": (edit(lambda p: p.update(choices=p["choices"][:1])), r"has 1 choices for n=2"),
    "text without ids": (edit(lambda p: [(c.pop("token_ids"), c["logprobs"].pop("tokens")) for c in p["choices"]]),
                         r"no token ids, only text"),
    "no logprobs": (edit(lambda p: first(p).update(logprobs=None)), r"expected a 'logprobs' object"),
    "one log-prob short": (edit(lambda p: first(p)["logprobs"]["token_logprobs"].pop()),
                           r"token_logprobs to hold \d+ numbers"),
    "NaN log-prob": (edit(lambda p: first(p)["logprobs"].update(token_logprobs=[math.nan] * len(first(p)["token_ids"]))),
                     r"finite number <= 0, got nan"),
    "-inf log-prob": (edit(lambda p: first(p)["logprobs"]["token_logprobs"].__setitem__(0, -math.inf)),
                      r"finite number <= 0, got -inf"),
    "positive log-prob": (edit(lambda p: first(p)["logprobs"]["token_logprobs"].__setitem__(0, 0.5)),
                          r"<= 0, got 0.5"),
    "log-prob as text": (edit(lambda p: first(p)["logprobs"]["token_logprobs"].__setitem__(0, "-1.0")),
                         r"finite number <= 0, got '-1.0'"),
    "id past the vocabulary": (edit(lambda p: set_ids(p, [VOCAB] * len(first(p)["token_ids"]))),
                               r"token ids in \[0, 100\).*got 100"),
    "negative id": (edit(lambda p: first(p)["logprobs"].pop("tokens") and first(p)["token_ids"].__setitem__(0, -1)),
                    r"token ids in \[0, 100\).*got -1"),
    "negative id as a token": (edit(lambda p: set_ids(p, [-1] * len(first(p)["token_ids"]))), r"got 'token_id:-1'"),
    "float id": (edit(lambda p: first(p).update(token_ids=[float(t) for t in first(p)["token_ids"]])),
                 r"token ids in \[0, 100\).*got \d+\.0"),
    "bool id": (edit(lambda p: first(p)["logprobs"].pop("tokens") and first(p)["token_ids"].__setitem__(0, True)),
                r"got True"),
    "ids and tokens disagree": (edit(lambda p: first(p)["logprobs"]["tokens"].reverse() or
                                     first(p)["logprobs"]["tokens"].append("token_id:1")), r"disagree"),
    "tokens not as ids": (edit(lambda p: first(p).pop("token_ids") and
                               first(p)["logprobs"].update(tokens=["a"] * len(first(p)["logprobs"]["tokens"]))),
                          r"'token_id:<id>' strings .*got 'a'"),
    "more ids than max_tokens": (edit(lambda p: set_ids(p, [3] * 9) and
                                      first(p)["logprobs"].update(token_logprobs=[-1.0] * 9)), r"more than max_tokens=6"),
    "length stop too early": (edit(lambda p: first(p).update(finish_reason="length") or set_ids(p, [3])
                                   and first(p)["logprobs"].update(token_logprobs=[-1.0])),
                              r"'length' after 1 token ids"),
    "stop without a stop id": (edit(lambda p: first(p).update(finish_reason="stop") or set_ids(p, [3])
                                    and first(p)["logprobs"].update(token_logprobs=[-1.0])),
                               r"'stop', but it ends with 3"),
    "unknown finish reason": (edit(lambda p: first(p).update(finish_reason="abort")), r"got 'abort'"),
    "usage miscounts": (edit(lambda p: p["usage"].update(completion_tokens=p["usage"]["completion_tokens"] + 1)),
                        r"usage.completion_tokens=\d+, but its choices hold"),
    "prompt read differently": (edit(lambda p: first(p).update(prompt_token_ids=[1, 2])), r"read the prompt as"),
    "repeated index": (edit(lambda p: [c.update(index=0) for c in p["choices"]]), r"distinct non-negative"),
    "not an object": (lambda p: [p], r"no 'choices' list"),
}


@pytest.mark.parametrize("name", list(HOSTILE))
def test_each_hostile_answer_is_a_clear_error(learner, tmp_path, name):
    tamper, message = HOSTILE[name]
    with FakeTokenServer(tiny_policy(seed=0), tamper=tamper) as server:
        policy = ServerPolicy(server.url, "policy", learner, weight_sync="none", allow_stale=True, max_retries=0)
        with pytest.raises(OpenAICompatibleError, match=message) as failure:
            policy.sample(["1+2="], num_samples=2, max_new_tokens=6, seed=0)
    assert "to prompt 0" in str(failure.value) or name == "not an object"


def test_a_huge_body_is_refused_at_the_limit(learner):
    with FakeTokenServer(tiny_policy(seed=0), tamper=edit(lambda p: p.update(pad="x" * 300_000))) as server:
        policy = ServerPolicy(server.url, "policy", learner, weight_sync="none", allow_stale=True,
                              max_response_bytes=100_000)
        with pytest.raises(OpenAICompatibleError, match="over the limit of 100000 bytes"):
            policy.sample(["1+2="], num_samples=2)


def test_a_server_slower_than_the_deadline_times_out(learner):
    with FakeTokenServer(tiny_policy(seed=0), delay_s=2.0) as server:
        policy = ServerPolicy(server.url, "policy", learner, weight_sync="none", allow_stale=True,
                              timeout_s=0.3, max_retries=0)
        with pytest.raises(OpenAICompatibleError, match=r"timed out \(no whole answer within timeout_s=0.3 s\)"):
            policy.sample(["1+2="], num_samples=2)


def test_an_honest_answer_reads_back(learner):
    with FakeTokenServer(tiny_policy(seed=0)) as server:
        policy = ServerPolicy(server.url, "policy", learner, weight_sync="none", allow_stale=True)
        batch = policy.sample(["1+2="], num_samples=2, max_new_tokens=6, seed=0)
    assert batch.num_tokens() == sum(len(c["token_ids"]) for c in server.answers[0]["choices"])


JSON = st.recursive(
    st.none() | st.booleans() | st.integers(-5, 200) | st.floats(allow_nan=True) | st.text(max_size=12)
    | st.sampled_from(["token_id:3", "token_id:2", "stop", "length"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(
        st.sampled_from(["choices", "token_ids", "logprobs", "tokens", "token_logprobs", "finish_reason",
                         "index", "usage", "completion_tokens", "prompt_token_ids", "x"]), inner, max_size=5),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(JSON)
def test_any_json_reads_as_checked_choices_or_a_payload_error(payload):
    try:
        choices = read_token_choices(payload, n=1, prompt_ids=[1, 5], max_tokens=4, vocab_size=VOCAB, stop_ids=[2])
    except PayloadError:
        return
    (choice,) = choices
    assert all(type(t) is int and 0 <= t < VOCAB for t in choice.ids) and len(choice.ids) <= 4
    assert len(choice.logprobs) == len(choice.ids) and all(math.isfinite(v) and v <= 1e-4 for v in choice.logprobs)


def test_a_redirect_is_not_followed_so_the_key_stays_with_the_configured_origin(learner, tmp_path):
    from rlvr.agents.server_weights import WeightSyncError
    from tests.agents.hostile_http_server import HostileServer, completion, redirect, send

    key = "sk-server-0123456789abcdef"
    with HostileServer(lambda handler: send(handler, 200, completion())) as elsewhere, \
            HostileServer(redirect(307, elsewhere.url + "/completions")) as server:
        with pytest.raises(WeightSyncError, match=f"HTTP 307, a redirect to {elsewhere.origin}.*not followed"):  # the first weight push, at construction
            ServerPolicy(server.url, "policy", learner, weights_dir=tmp_path / "served", api_key=key)
        policy = ServerPolicy(server.url, "policy", learner, weight_sync="none", allow_stale=True, api_key=key)
        with pytest.raises(OpenAICompatibleError, match="HTTP 307.*not followed"):
            policy.sample(["1+2="], num_samples=2)
    assert elsewhere.requests == []
    assert {request.headers.get("authorization") for request in server.requests} == {f"Bearer {key}"}
