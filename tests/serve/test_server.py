"""The server over real loopback sockets, driven by `RemoteEnv` and by raw HTTP/WebSocket requests:
remote trajectories equal local ones, sessions are isolated, and every limit answers as documented."""

from __future__ import annotations

import concurrent.futures
import json
import socket
import time
import warnings

import gymnasium as gym
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.serve.conftest import needs_serve
from tests.serve.helpers import SLOW_ID, same_trajectory

pytestmark = needs_serve

TRAJECTORY_IDS = ["rlvr/MathTree-v0", "rlvr/Countdown-v0", "rlvr/BlocksWorldStep-v0", "rlvr/TwentyQuestions-v0"]


def local(env_id: str, **kwargs) -> gym.Env:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return gym.make(env_id, **kwargs)


@pytest.mark.parametrize("transport", ["ws", "http"])
@pytest.mark.parametrize("env_id", TRAJECTORY_IDS)
def test_remote_trajectory_equals_local(server, env_id, transport):
    from rlvr.serve import RemoteEnv

    with RemoteEnv(server.url, env_id, transport=transport) as remote:
        for seed in (0, 7):
            assert same_trajectory(remote, local(env_id), seed) >= 1
        assert remote.state()["env_id"] == env_id


def test_multi_turn_episode_reaches_the_goal_remotely(server):
    from rlvr.serve import RemoteEnv

    with RemoteEnv(server.url, "rlvr/BlocksWorldStep-v0") as remote:
        here = local("rlvr/BlocksWorldStep-v0")
        assert same_trajectory(remote, here, 4) > 2  # an even seed: the oracle plan, a line a turn
        state = remote.state()
        assert state["done"] and state["step_count"] > 2 and state["max_episode_steps"] == 100


def test_constructor_keywords_and_reset_options_reach_the_env(server):
    from rlvr.serve import RemoteEnv

    for transport in ("ws", "http"):
        with RemoteEnv(server.url, "rlvr/Countdown-v0", transport=transport, number_max=12) as remote:
            here = local("rlvr/Countdown-v0", number_max=12)
            same_trajectory(remote, here, 5)
            got, _ = remote.reset(seed=2, options={"difficulty": {"number_count": 3}, "index": 4})
            want, _ = here.reset(seed=2, options={"difficulty": {"number_count": 3}, "index": 4})
            assert got == want and remote.state()["kwargs"] == {"number_max": 12}


def test_concurrent_sessions_are_isolated(server):
    from rlvr.serve import RemoteEnv

    def play(i: int) -> int:
        env_id = TRAJECTORY_IDS[i % len(TRAJECTORY_IDS)]
        with RemoteEnv(server.url, env_id, transport="ws" if i % 2 else "http") as remote:
            return same_trajectory(remote, local(env_id), seed=100 + i)

    with concurrent.futures.ThreadPoolExecutor(8) as pool:
        assert all(steps >= 1 for steps in pool.map(play, range(16)))
    assert server.sessions.health()["sessions"] == 0


@pytest.mark.parametrize("env_id", TRAJECTORY_IDS)
def test_check_env_passes_on_a_remote_env(server, env_id):
    from gymnasium.utils.env_checker import check_env

    from rlvr.serve import RemoteEnv

    check_env(local(env_id).unwrapped, skip_render_check=True)  # passes locally ...
    with RemoteEnv(server.url, env_id) as remote, warnings.catch_warnings():
        warnings.simplefilter("error")  # ... and remotely, without a warning
        check_env(remote, skip_render_check=True)


def test_stable_baselines3_checks_and_steps_a_remote_env(server):
    pytest.importorskip("stable_baselines3")
    from stable_baselines3.common.env_checker import check_env
    from stable_baselines3.common.vec_env import DummyVecEnv

    from rlvr.serve import RemoteEnv

    with RemoteEnv(server.url, "rlvr/MathTree-v0") as remote, warnings.catch_warnings():
        warnings.simplefilter("error")
        check_env(remote)
        vec = DummyVecEnv([lambda: remote])
        vec.seed(0)
        vec.reset()
        for _ in range(20):  # episodes end and restart inside the vector env
            _, rewards, dones, _ = vec.step([remote.action_space.sample()])
        assert rewards.shape == dones.shape == (1,)


def test_health_and_ids(server):
    import httpx

    assert httpx.get(server.url + "/health").json()["status"] == "healthy"
    assert "rlvr/Countdown-v0" in httpx.get(server.url + "/envs").json()["ids"]


def test_unknown_id_gives_close_matches(server):
    import httpx

    from rlvr.serve import RemoteEnv, RemoteEnvError, RemoteRequestError

    answer = httpx.post(server.url + "/sessions", json={"env_id": "rlvr/Countdwn-v0"})
    assert answer.status_code == 404
    assert answer.json()["error"]["code"] == "UNKNOWN_ENV" and "did you mean: rlvr/Countdown-v0" in answer.text
    for transport in ("ws", "http"):
        with pytest.raises(RemoteEnvError, match="did you mean: rlvr/Countdown-v0") as caught:
            RemoteEnv(server.url, "rlvr/Countdwn-v0", transport=transport)
        assert isinstance(caught.value, RemoteRequestError) and caught.value.code == "UNKNOWN_ENV"


@pytest.mark.parametrize("body", [b"{", b"[1, 2]", b'{"env_id": NaN}', b"\xff\xfe", b'{"env_id": "rlvr/Countdown-v0", "x": 1}',
                                  b'{"env_id": "rlvr/Countdown-v0", "kwargs": {"number_max": {"a": 1}}}',
                                  b'{"env_id": "rlvr/Countdown-v0", "kwargs": {"template": "{0.__class__}"}}',
                                  b"[" * 10_000 + b"]" * 10_000])
def test_malformed_requests_are_4xx(server, body):
    import httpx

    answer = httpx.post(server.url + "/sessions", content=body)
    assert 400 <= answer.status_code < 500, answer.text
    assert answer.json()["error"]["message"]
    assert server.sessions.health()["sessions"] == 0


def test_any_step_body_is_answered_below_500(server):
    import httpx

    with httpx.Client(base_url=server.url) as client:
        session = client.post("/sessions", json={"env_id": "rlvr/Countdown-v0"}).json()["session_id"]
        client.post(f"/sessions/{session}/reset", json={"seed": 0})

        @settings(max_examples=40, deadline=None)
        @given(st.binary(max_size=200) | st.text(max_size=100).map(lambda t: json.dumps({"action": {"text": t}})))
        def any_body(body):
            answer = client.post(f"/sessions/{session}/step", content=body)
            assert answer.status_code < 500, answer.text
            if answer.status_code >= 400:
                assert answer.json()["error"]["code"]
            else:  # a text action: scored, and the episode (one turn) is over
                client.post(f"/sessions/{session}/reset", json={})

        any_body()
        client.delete(f"/sessions/{session}")


def test_oversized_bodies_are_refused_before_parsing(server):
    import httpx

    limit = server.sessions.config.max_body
    answer = httpx.post(server.url + "/sessions", content=b"x" * (limit + 1))
    assert answer.status_code == 413 and answer.json()["error"]["code"] == "TOO_LARGE"

    def chunks():  # no Content-Length: cut off once past the limit
        for _ in range(limit // (1 << 16) + 2):
            yield b" " * (1 << 16)

    answer = httpx.post(server.url + "/sessions", content=chunks())
    assert answer.status_code == 413
    # a declared length far past the limit is refused from the headers, before any body arrives
    host, port = server.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(b"POST /sessions HTTP/1.1\r\nHost: x\r\nContent-Length: 1000000000000\r\n\r\n{}")
        assert raw.recv(100).startswith(b"HTTP/1.1 413")


def test_oversized_websocket_message_closes_the_session(server):
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with connect(server.url.replace("http", "ws") + "/envs/rlvr/Countdown-v0/ws", max_size=None) as socket:
        socket.send(json.dumps({"type": "state"}))
        assert json.loads(socket.recv(timeout=10))["type"] == "state"
        with pytest.raises(ConnectionClosed):
            socket.send("x" * (server.sessions.config.max_body + 1))
            socket.recv(timeout=10)
    _wait_for_no_sessions(server)


def test_websocket_errors_keep_the_session_and_close_ends_it(server):
    from websockets.sync.client import connect

    with connect(server.url.replace("http", "ws") + "/envs/rlvr/Countdown-v0/ws") as socket:
        def ask(text: str) -> dict:
            socket.send(text)
            return json.loads(socket.recv(timeout=10))

        assert ask("not json")["data"]["code"] == "INVALID_JSON"
        assert ask('{"type": "jump"}')["data"]["code"] == "UNKNOWN_TYPE"
        assert ask('{"type": "step", "data": {"text": "1"}}')["data"]["code"] == "RESET_NEEDED"
        reset = ask('{"type": "reset", "data": {"seed": 1}}')
        assert reset["type"] == "observation" and reset["data"]["done"] is False
        step = ask('{"type": "step", "data": {"text": "<answer>1</answer>"}}')
        assert step["type"] == "observation" and step["data"]["done"] is True
        assert ask('{"type": "step", "data": {"text": "again"}}')["data"]["code"] == "RESET_NEEDED"
        socket.send('{"type": "close"}')
    _wait_for_no_sessions(server)


def test_step_timeout_ends_only_that_session():
    from rlvr.serve import RemoteEnv, RemoteEnvError
    from rlvr.serve.app import ServerThread
    from rlvr.serve.sessions import ServeConfig

    with ServerThread(ServeConfig.of([SLOW_ID], step_timeout=0.3)) as server:
        with RemoteEnv(server.url, SLOW_ID) as stuck, RemoteEnv(server.url, SLOW_ID, transport="http") as other:
            stuck.reset(seed=0)
            other.reset(seed=0)
            start = time.monotonic()
            with pytest.raises(RemoteEnvError, match="ran over the 0.3 s limit") as caught:
                stuck.step("sleep")
            assert caught.value.code == "STEP_TIMEOUT" and time.monotonic() - start < 1.5
            observation, reward, *_, info = other.step("still here")
            assert observation == "echo still here" and reward == 1.0
            assert info["counts"] == [0, 1, 2] and info["dropped"] == {"handle": "object is not JSON"}
        _wait_for_no_sessions(server)
        assert server.sessions.timed_out == 1


def test_session_limit_and_expiry_over_the_wire():
    from rlvr.serve import RemoteEnv, RemoteEnvError
    from rlvr.serve.app import ServerThread
    from rlvr.serve.sessions import ServeConfig

    with ServerThread(ServeConfig.of([SLOW_ID], max_sessions=2, session_ttl=0.4)) as small:
        first, second = RemoteEnv(small.url, SLOW_ID, transport="http"), RemoteEnv(small.url, SLOW_ID)
        with pytest.raises(RemoteEnvError, match="server full: 2 of 2") as caught:
            RemoteEnv(small.url, SLOW_ID, transport="http")
        assert caught.value.code == "CAPACITY_REACHED" and caught.value.status == 503
        with pytest.raises(RemoteEnvError, match="CAPACITY_REACHED"):
            RemoteEnv(small.url, SLOW_ID)
        time.sleep(1.5)  # both idle past the 0.4 s time-to-live
        assert small.sessions.health()["sessions"] == 0 and small.sessions.expired == 2
        for env in (first, second):
            with pytest.raises(RemoteEnvError, match="idle for over 0.4 s|closed"):
                env.reset(seed=0)
            env.close()
        with RemoteEnv(small.url, SLOW_ID) as again:
            assert again.reset(seed=0)[0].startswith("start")


def _wait_for_no_sessions(server, within: float = 5.0) -> None:
    deadline = time.monotonic() + within
    while server.sessions.health()["sessions"] and time.monotonic() < deadline:
        time.sleep(0.02)
    assert server.sessions.health()["sessions"] == 0
