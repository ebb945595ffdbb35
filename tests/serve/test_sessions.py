"""Session limits without a web server (asyncio only, no extra): capacity, idle expiry, the step
time limit on a step that really blocks, and the reasons a closed session reports."""

from __future__ import annotations

import asyncio
import threading
import time

import pytest

from rlvr.serve.sessions import ServeConfig, Sessions
from rlvr.serve.wire import WireError
from tests.serve.helpers import SLEEP_S, SLOW_ID


def run(coroutine):
    return asyncio.run(coroutine)


def test_capacity_is_refused_then_freed():
    async def scenario():
        sessions = Sessions(ServeConfig.of([SLOW_ID], max_sessions=2))
        first = await sessions.open(SLOW_ID, None)
        await sessions.open(SLOW_ID, {})
        with pytest.raises(WireError) as caught:
            await sessions.open(SLOW_ID, None)
        assert caught.value.code == "CAPACITY_REACHED" and caught.value.status == 503
        assert "2 of 2 sessions open" in str(caught.value)
        sessions.close(first.id)
        await sessions.open(SLOW_ID, None)
        assert len(sessions) == 2 and sessions.refused == 1
        sessions.close_all()
        assert len(sessions) == 0

    run(scenario())


def test_idle_sessions_expire_and_say_so():
    async def scenario():
        sessions = Sessions(ServeConfig.of([SLOW_ID], session_ttl=10.0))
        idle, active = await sessions.open(SLOW_ID, None), await sessions.open(SLOW_ID, None)
        now = time.monotonic()
        active.last_active = now + 8  # as if used 8 s from now
        assert sessions.sweep(now + 11) == [idle.id]
        with pytest.raises(WireError, match="idle for over 10.0 s") as caught:
            sessions.get(idle.id)
        assert caught.value.code == "SESSION_CLOSED" and caught.value.status == 410
        assert sessions.get(active.id) is active and sessions.expired == 1
        sessions.close_all()

    run(scenario())


def test_a_step_past_the_limit_ends_its_session_without_blocking_others():
    async def scenario():
        sessions = Sessions(ServeConfig.of([SLOW_ID], step_timeout=0.3))
        stuck, other = await sessions.open(SLOW_ID, None), await sessions.open(SLOW_ID, None)
        for session in (stuck, other):
            await sessions.reset(session, {"seed": 0})
        start = time.monotonic()
        hung = asyncio.create_task(sessions.step(stuck, {"text": "sleep"}))
        # the other session steps while the first one's step blocks its thread
        result = await sessions.step(other, {"text": "fine"})
        assert result["observation"] == {"text": "echo fine"} and time.monotonic() - start < 0.3
        with pytest.raises(WireError) as caught:
            await hung
        assert caught.value.code == "STEP_TIMEOUT" and caught.value.status == 504
        assert time.monotonic() - start < SLEEP_S / 2
        with pytest.raises(WireError, match="ran over the 0.3 s limit"):
            sessions.get(stuck.id)
        assert len(sessions) == 1 and sessions.timed_out == 1
        sessions.close_all()

    threads = threading.active_count()
    run(scenario())
    time.sleep(SLEEP_S + 0.5)  # the stuck call returns and its thread ends
    assert threading.active_count() <= threads


def test_request_checks():
    async def scenario():
        sessions = Sessions(ServeConfig.of([SLOW_ID, "rlvr/Countdown-v0"]))
        with pytest.raises(WireError, match="did you mean: rlvr/Countdown-v0") as caught:
            await sessions.open("rlvr/Countdwn-v0", None)
        assert caught.value.status == 404
        with pytest.raises(WireError, match="FACTORY|must be|expects") as caught:
            await sessions.open("rlvr/Countdown-v0", {"number_max": -5})
        assert caught.value.code == "FACTORY_ERROR" and len(sessions) == 0
        session = await sessions.open("rlvr/Countdown-v0", {"number_max": 20})
        with pytest.raises(WireError, match="no episode has started") as caught:
            await sessions.step(session, {"text": "1"})
        assert caught.value.status == 409
        for body, match in [({"seed": -1}, "seed"), ({"seed": True}, "seed"), ({"seed": 1.5}, "seed"),
                            ({"options": {"problem": {}}}, "unknown field 'problem'"),
                            ({"options": {"difficulty": {"number_max": "x"}}}, "expects int"),
                            ({"sed": 1}, "did you mean")]:
            with pytest.raises(WireError, match=match):
                await sessions.reset(session, body)
        assert (await sessions.reset(session, {"seed": 1}))["reward"] is None
        with pytest.raises(WireError, match=r'expected the action as \{"text": ...\}'):
            await sessions.step(session, {"value": 3})
        sessions.close_all()

    run(scenario())


@pytest.mark.parametrize("limits, match", [({"max_sessions": 0}, "max_sessions"), ({"session_ttl": float("inf")}, "ttl"),
                                           ({"step_timeout": True}, "step_timeout")])
def test_config_refuses_bad_limits(limits, match):
    with pytest.raises(ValueError, match=match):
        ServeConfig.of([SLOW_ID], **limits)


def test_config_refuses_multi_agent_and_unknown_ids():
    with pytest.raises(ValueError, match="multi-agent"):
        ServeConfig.of(["rlvr/Debate-v0"])
    with pytest.raises(KeyError, match="CartPole-v1"):
        ServeConfig.of(["CartPol-v1"])
