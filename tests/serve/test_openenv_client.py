"""OpenEnv's own generic client (openenv-core) plays an rlvr id on `rlvr serve` over WebSocket.

openenv-core installs on CPU in about 50 s but brings gradio, fastmcp and about 100 packages, so
it is in no extra: this module skips without it (install it beside the `serve` extra to run it).
"""

from __future__ import annotations

import warnings

import gymnasium as gym
import pytest

from tests.serve.conftest import needs_serve

pytestmark = needs_serve

generic_client = pytest.importorskip("openenv.core.generic_client")


def test_openenv_generic_client_plays_an_episode(server):
    env_id = "rlvr/Countdown-v0"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        local = gym.make(env_id)
    want, _ = local.reset(seed=4)
    answer = local.unwrapped.task.solve(local.unwrapped.problem)
    # OpenEnv's client appends /ws to its base URL: the id's path is the base
    client = generic_client.GenericEnvClient(base_url=f"{server.url}/envs/{env_id}").sync()
    with client:
        result = client.reset(seed=4)
        assert result.observation == {"text": want} and result.done is False
        result = client.step({"text": answer})
        step = local.step(answer)
        assert result.observation == {"text": step[0]} and result.reward == step[1] == 1.0 and result.done is True
        state = client.state()
        assert state["env_id"] == env_id and state["step_count"] == 1 and state["done"] is True
        with pytest.raises(RuntimeError, match="RESET_NEEDED"):
            client.step({"text": answer})
        with pytest.raises(RuntimeError, match="UNKNOWN_TYPE|VALIDATION"):  # no MCP here
            client.step({"tool": "x"})
