"""The serve tests that need the `serve` extra skip cleanly without it (see `server` below)."""

from __future__ import annotations

import importlib.util

import pytest

HAVE_SERVE = all(importlib.util.find_spec(m) is not None for m in ("fastapi", "uvicorn", "websockets", "httpx"))
needs_serve = pytest.mark.skipif(not HAVE_SERVE, reason='needs the serve extra: pip install "rlvr[serve]"')


@pytest.fixture(scope="module")
def server():
    """One loopback server for a test module, serving the ids the tests use, default limits."""
    if not HAVE_SERVE:
        pytest.skip('needs the serve extra: pip install "rlvr[serve]"')
    from rlvr.serve.app import ServerThread
    from rlvr.serve.sessions import ServeConfig
    from tests.serve.helpers import SLOW_ID

    ids = ["rlvr/MathTree-v0", "rlvr/Countdown-v0", "rlvr/BlocksWorldStep-v0", "rlvr/TwentyQuestions-v0",
           "rlvr/Game24-v0", SLOW_ID]
    with ServerThread(ServeConfig.of(ids, max_sessions=64, step_timeout=10.0)) as running:
        yield running
