"""Load and fault test of `rlvr serve` on loopback: sessions held, steps/s and step latency at 1, 64
and 256 concurrent WebSocket sessions, then clients killed mid-episode and the server restarted.

    python benchmarks/serve_load.py [--env rlvr/MathTree-v0] [--sessions 1 64 256] [--seconds 10]
                                    [--repeat 1] [--out benchmarks/results/serve_load_cpu.json]

The server runs as its own process (`python -m rlvr serve ID --port P`), as a user would start it;
the load comes from one asyncio process of WebSocket clients (websockets' asyncio client), each
its own session playing episodes with random actions: reset, then steps until the episode ends.
Per level: sessions held (the server's /health session count, sampled during the run, its
maximum), steps/s over the level's wall time, p50/p99 of each step's round trip (send to answer)
and errors. Each level is bounded in time (`--seconds`) and the whole script in count (at most
256 sessions) and time (a few minutes).

Fault test: `--kill` client processes (`RemoteEnv` in a loop; half over WebSocket, half over
HTTP) are SIGKILLed mid-episode; the server must keep answering, WebSocket sessions must close
when their connection drops and HTTP ones by idle expiry (`--ttl` seconds), so the session
count returns to 0. Then the server is stopped (SIGINT) with sessions open and started again on
the same port: it must exit cleanly, a client of the old server must get a ConnectionError (not
hang), and a new session on the new server must play.

Client and server share the machine's cores: on a shared 2-core machine the numbers are a floor
and vary between runs (`--repeat 2` records the spread).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import gymnasium as gym
import httpx
import numpy as np

import rlvr

ROOT = Path(__file__).resolve().parents[1]

KILLED_CLIENT = """
import sys, time
from rlvr.serve import RemoteEnv
env = RemoteEnv(sys.argv[1], sys.argv[2], transport=sys.argv[3], timeout=10)
env.reset(seed=0)
print("ready", flush=True)
while True:  # mid-episode for ever, until SIGKILL
    _, _, terminated, truncated, _ = env.step(env.action_space.sample())
    if terminated or truncated:
        env.reset()
    time.sleep(0.01)
"""


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def start_server(env_id: str, port: int, ttl: float, max_sessions: int) -> subprocess.Popen:
    command = [sys.executable, "-m", "rlvr", "serve", env_id, "--port", str(port), "--session-ttl", str(ttl),
               "--max-sessions", str(max_sessions), "--step-timeout", "30"]
    # the log goes to a file: a pipe nobody reads fills up and blocks the server's logging
    with tempfile.NamedTemporaryFile("w+", prefix="rlvr-serve-", suffix=".log", delete=False) as log:
        server = subprocess.Popen(command, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=log, text=True)
    server.log_path = log.name
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:
            if server.poll() is not None:
                raise RuntimeError(f"the server exited: {Path(log.name).read_text()[-2000:]}")
            try:
                health(url)
                return server
            except (OSError, httpx.HTTPError):  # not listening yet
                time.sleep(0.1)
        raise RuntimeError("the server did not answer /health within 60 s")
    except BaseException:
        stop_server(server)
        raise


def stop_server(server: subprocess.Popen) -> int:
    """SIGINT (a graceful stop), SIGKILL if it has not exited 30 s later; its exit code."""
    server.send_signal(signal.SIGINT)
    try:
        return server.wait(timeout=30)
    except subprocess.TimeoutExpired:
        server.kill()
        return server.wait()
    finally:
        Path(server.log_path).unlink(missing_ok=True)


def health(url: str) -> dict[str, Any]:
    return httpx.get(url + "/health", timeout=5, trust_env=False).json()


def percentile(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


async def one_session(url: str, env_id: str, until: float, latencies: list[float], seed: int) -> tuple[int, int]:
    """Play episodes until `until`; (steps, errors). Random actions from the session's own space."""
    from websockets.asyncio.client import connect

    from rlvr.serve import wire

    steps = errors = 0
    async with connect(f"{url.replace('http', 'ws', 1)}/envs/{env_id}/ws", max_size=wire.MAX_RESPONSE,
                       compression=None, open_timeout=60) as socket_:
        await socket_.send(json.dumps({"type": "state"}))
        state = json.loads(await socket_.recv())["data"]
        action_space = wire.build_space(state["action_space"])
        action_space.seed(seed)
        done = True
        while time.monotonic() < until:
            if done:
                await socket_.send(json.dumps({"type": "reset", "data": {"seed": seed + steps}}))
                answer = json.loads(await socket_.recv())
                done = answer["type"] != "observation"
                errors += done
                continue
            message = wire.dumps({"type": "step", "data": wire.wrap(action_space, action_space.sample())})
            start = time.perf_counter()
            await socket_.send(message)
            answer = json.loads(await socket_.recv())
            latencies.append(time.perf_counter() - start)
            if answer["type"] != "observation":
                errors, done = errors + 1, True
                continue
            steps += 1
            done = answer["data"]["done"]
        await socket_.send(json.dumps({"type": "close"}))
    return steps, errors


async def level(url: str, env_id: str, sessions: int, seconds: float) -> dict[str, Any]:
    latencies: list[float] = []
    held: list[int] = []
    start = time.monotonic()
    until = start + seconds

    async def watch() -> None:
        while time.monotonic() < until:
            try:
                held.append((await asyncio.to_thread(health, url))["sessions"])
            except httpx.HTTPError:  # a slow /health under load is not a failed step
                held.append(-1)
            await asyncio.sleep(0.5)

    watcher = asyncio.create_task(watch())
    results = await asyncio.gather(*(one_session(url, env_id, until, latencies, 1000 * i) for i in range(sessions)),
                                   return_exceptions=True)
    wall = time.monotonic() - start
    await watcher
    failed = [r for r in results if isinstance(r, BaseException)]
    steps = sum(r[0] for r in results if not isinstance(r, BaseException))
    errors = sum(r[1] for r in results if not isinstance(r, BaseException)) + len(failed)
    # the machine's 1-minute load average at the end: other work on shared cores explains the spread
    return {"sessions": sessions, "sessions_held": max(held, default=0), "seconds": round(wall, 2), "steps": steps,
            "load_average_1min": round(os.getloadavg()[0], 2),
            "steps_per_s": round(steps / wall, 1), "p50_ms": round(1000 * percentile(latencies, 50), 2),
            "p99_ms": round(1000 * percentile(latencies, 99), 2), "errors": errors,
            "failures": sorted({f"{type(f).__name__}: {f}"[:200] for f in failed})}


def wait_for_sessions(url: str, count: int, within: float) -> float | None:
    """Seconds until the server's session count is `count` (None if not within `within`)."""
    start = time.monotonic()
    while time.monotonic() - start < within:
        if health(url)["sessions"] == count:
            return round(time.monotonic() - start, 2)
        time.sleep(0.1)
    return None


def fault_test(env_id: str, port: int, ttl: float, kills: int) -> dict[str, Any]:
    url = f"http://127.0.0.1:{port}"
    server = start_server(env_id, port, ttl, 300)
    result: dict[str, Any] = {"killed_clients": kills, "ttl_s": ttl}
    try:
        clients = [subprocess.Popen([sys.executable, "-c", KILLED_CLIENT, url, env_id, "ws" if i % 2 else "http"],
                                    cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
                   for i in range(kills)]
        ready = sum(client.stdout.readline().strip() == "ready" for client in clients)
        time.sleep(0.5)  # every client mid-episode, stepping
        result["sessions_before_kill"] = health(url)["sessions"]
        for client in clients:
            client.send_signal(signal.SIGKILL)
            client.wait()
        result["clients_ready"] = ready
        result["server_alive_after_kill"] = server.poll() is None and health(url)["status"] == "healthy"
        result["ws_sessions_closed_within_s"] = wait_for_sessions(url, kills - kills // 2 if kills else 0, 5) \
            if kills > 1 else None
        result["all_sessions_gone_within_s"] = wait_for_sessions(url, 0, 4 * ttl + 10)
        # restart with sessions open: a client of the old server gets an error, not a hang
        from rlvr.serve import RemoteEnv

        old = []
        for i in range(16):
            old.append(RemoteEnv(url, env_id, transport="ws" if i % 2 else "http", timeout=5))
            old[-1].reset(seed=i)
        result["sessions_open_at_stop"] = health(url)["sessions"]
        stopped = time.monotonic()
        server.send_signal(signal.SIGINT)
        result["server_exit_code"] = server.wait(timeout=30)  # 130: Ctrl-C's code, after a graceful stop
        result["server_stop_s"] = round(time.monotonic() - stopped, 2)
        Path(server.log_path).unlink(missing_ok=True)
        errors, start = [], time.monotonic()
        for env in old:
            try:
                env.step(env.action_space.sample())
            except ConnectionError as error:
                errors.append(type(error).__name__)
            env.close()
        result["old_clients_connection_errors"] = f"{len(errors)} of {len(old)} ({sorted(set(errors))})"
        result["old_clients_seconds"] = round(time.monotonic() - start, 2)
        server = start_server(env_id, port, ttl, 300)
        with RemoteEnv(url, env_id, timeout=5) as fresh:
            fresh.reset(seed=1)
            fresh.step(fresh.action_space.sample())
            result["new_session_after_restart"] = True
        result["sessions_after_restart"] = wait_for_sessions(url, 0, 5) is not None and health(url)["sessions"]
    finally:
        stop_server(server)
    return result


def versions() -> dict[str, str]:
    import fastapi
    import httpx
    import uvicorn
    import websockets

    return {"rlvr": rlvr.__version__, "python": platform.python_version(), "fastapi": fastapi.__version__,
            "uvicorn": uvicorn.__version__, "websockets": websockets.__version__, "httpx": httpx.__version__,
            "gymnasium": gym.__version__, "numpy": np.__version__}


def main(argv: list[str] | None = None) -> dict[str, Any]:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--env", default="rlvr/MathTree-v0")
    parser.add_argument("--sessions", type=int, nargs="+", default=[1, 64, 256])
    parser.add_argument("--seconds", type=float, default=10.0, help="length of each level")
    parser.add_argument("--repeat", type=int, default=1, help="runs of the load levels (the spread)")
    parser.add_argument("--kill", type=int, default=8, help="client processes SIGKILLed in the fault test")
    parser.add_argument("--ttl", type=float, default=3.0, help="the fault test server's idle expiry (s)")
    parser.add_argument("--out", default=str(ROOT / "benchmarks" / "results" / "serve_load_cpu.json"))
    args = parser.parse_args(argv)
    if max(args.sessions) > 256 or args.seconds > 60 or args.repeat > 3 or args.kill > 32:
        parser.error("bounded: at most 256 sessions, 60 s a level, 3 repeats, 32 killed clients")
    port = free_port()
    server = start_server(args.env, port, ttl=60.0, max_sessions=max(args.sessions) + 8)
    runs = []
    try:
        for run in range(args.repeat):
            levels = []
            for count in args.sessions:
                row = asyncio.run(level(f"http://127.0.0.1:{port}", args.env, count, args.seconds))
                row["sessions_after"] = wait_for_sessions(f"http://127.0.0.1:{port}", 0, 10) is not None
                levels.append(row)
                print(f"run {run}: {json.dumps(row)}", file=sys.stderr)
            runs.append(levels)
    finally:
        stop_server(server)
    fault = fault_test(args.env, free_port(), args.ttl, args.kill)
    print(f"fault: {json.dumps(fault)}", file=sys.stderr)
    report = {
        "benchmark": "serve_load", "env_id": args.env, "seconds_per_level": args.seconds, "runs": runs,
        "fault": fault, "versions": versions(),
        "machine": {"platform": platform.platform(), "processor": platform.processor() or platform.machine(),
                    "cpus": os.cpu_count(), "note": "client and server on the same shared machine"},
        "command": "python benchmarks/serve_load.py " + " ".join(argv if argv is not None else sys.argv[1:]),
    }
    if args.repeat > 1:
        report["spread"] = {str(count): {key: [runs[r][i][key] for r in range(args.repeat)]
                                         for key in ("steps_per_s", "p50_ms", "p99_ms")}
                            for i, count in enumerate(args.sessions)}
    Path(args.out).write_text(json.dumps(report, indent=2) + "\n")
    print(f"wrote {args.out}", file=sys.stderr)
    return report


if __name__ == "__main__":
    main()
