"""`rlvr serve` from the command line: bad requests are one `rlvr: error:` line with exit code 2,
a taken port exit code 1, and a real server process answers and stops on Ctrl-C."""

from __future__ import annotations

import re
import signal
import socket
import subprocess
import sys
import time

import pytest

from rlvr.cli import main
from tests.serve.conftest import needs_serve


@pytest.mark.parametrize("argv, match", [
    (["serve", "rlvr/Countdwn-v0"], "did you mean: rlvr/Countdown-v0"),
    (["serve", "rlvr/Debate-v0"], "multi-agent"),
    (["serve", "rlvr/Countdown-v0", "--step-timeout", "-1"], "step_timeout must be a positive number"),
    (["serve", "rlvr/Countdown-v0", "--port", "70000"], r"--port must be in \[0, 65535\]"),
])
def test_bad_requests_are_one_line_with_exit_code_2(argv, match, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.startswith("rlvr: error: ") and len(err.strip().splitlines()) == 1
    assert re.search(match, err)


@needs_serve
def test_a_taken_port_is_exit_code_1(capsys):
    with socket.create_server(("127.0.0.1", 0)) as taken:
        port = taken.getsockname()[1]
        assert main(["serve", "rlvr/Countdown-v0", "--port", str(port)]) == 1
    err = capsys.readouterr().err
    assert f"rlvr: error: cannot listen on 127.0.0.1:{port}" in err and "in use" in err


@needs_serve
def test_the_command_serves_and_stops_on_ctrl_c():
    import httpx

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    # a shell that runs the tests in the background starts them with SIGINT ignored, and children
    # inherit that; a terminal's Ctrl-C reaches a process with the default disposition, so restore it
    server = subprocess.Popen([sys.executable, "-m", "rlvr", "serve", "rlvr/Countdown-v0", "--port", str(port)],
                              stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
                              preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL))
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                assert httpx.get(f"http://127.0.0.1:{port}/envs").json() == {"ids": ["rlvr/Countdown-v0"]}
                break
            except httpx.HTTPError:
                assert time.monotonic() < deadline and server.poll() is None
                time.sleep(0.1)
        server.send_signal(signal.SIGINT)
        assert server.wait(timeout=20) == 130  # Ctrl-C's exit code, after a graceful stop
        assert f"rlvr serve: 1 env id on http://127.0.0.1:{port}" in server.stderr.read()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
