"""Sessions of `rlvr serve`: one env per session, its calls on a thread of its own, and the limits.

Independent of the web framework (asyncio only), so the limits are tested without the `serve` extra:

- **A session** holds one `gymnasium.make(env_id, **kwargs)` env (the same wrappers a local user
  gets) and one daemon worker thread that runs its env calls in order. Calls of different sessions
  run in parallel threads; an asyncio lock keeps two requests of one session from interleaving.
- **Limits.** At most `max_sessions` open at once (one more is refused, code CAPACITY_REACHED);
  a session idle for `session_ttl` seconds is closed by `sweep` (run every few seconds by the
  server's background sweeper); a reset or step still running after `step_timeout` seconds ends
  its session (code STEP_TIMEOUT). Python cannot stop a thread, so the stuck call is left on its
  daemon thread, which exits if the call ever returns; the event loop never waits for it.
- A closed session's id is remembered (the last 4096) so a late request learns why it is gone.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import math
import queue
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import gymnasium as gym

from rlvr import registration
from rlvr.core.hints import did_you_mean
from rlvr.serve import fields, wire
from rlvr.serve.wire import WireError


@dataclass(frozen=True)
class ServeConfig:
    """What one server serves and its limits."""

    ids: tuple[str, ...]
    """Env ids served: rlvr's single-agent ids (all of them when built from an empty list) or any other
    id in Gymnasium's registry (played with its registered keywords only)."""
    max_sessions: int = 256
    """Sessions open at once; one more is refused."""
    session_ttl: float = 300.0
    """Seconds a session may stay idle before the sweeper closes it."""
    step_timeout: float = 30.0
    """Seconds a reset or step may run; past it the session ends with an error."""
    make_timeout: float = 120.0
    """Seconds building an env may take (the first build of a family imports its modules)."""
    max_body: int = wire.MAX_BODY
    """Largest request body or WebSocket message, in bytes."""

    def __post_init__(self) -> None:
        if not self.ids:
            raise ValueError("expected at least one env id to serve (ServeConfig.of() serves them all)")
        for name in ("max_sessions", "session_ttl", "step_timeout", "make_timeout", "max_body"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, int | float) or not (math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a positive number, got {value!r}")
        for env_id in self.ids:
            if env_id in registration.MULTI_AGENT:
                raise ValueError(f"{env_id} is a multi-agent env; rlvr serve serves single-agent ids")
            if env_id not in gym.registry:
                if str(env_id).startswith("rlvr"):
                    registration.entry(env_id)  # an unknown rlvr id: KeyError with rlvr's close matches
                raise KeyError(f"unknown env id {env_id!r}" + did_you_mean(env_id, gym.registry))

    @classmethod
    def of(cls, ids: list[str] | tuple[str, ...] | None = None, **limits: Any) -> ServeConfig:
        return cls(tuple(ids) if ids else tuple(registration.ids("gymnasium")), **limits)


def allowed_kwargs(env_id: str) -> tuple[str, ...]:
    """Constructor keywords a request may set: the id's difficulty knobs, `split`, and the task's
    options except file paths (a client must not make the server read its files); none for an id
    outside rlvr."""
    if env_id not in registration.ids():
        return ()
    entry = registration.entry(env_id)
    owner = registration.load(entry.entry_point)
    task = entry.card.task
    knobs = [k.name for k in task.knobs] if task is not None else []
    options = [o for o in getattr(owner, "task_options", ()) if not o.endswith("_path")]
    return tuple(sorted({*knobs, *options, "split"}))


def knob_names(env_id: str) -> tuple[str, ...]:
    if env_id not in registration.ids():
        return ()
    task = registration.entry(env_id).card.task
    return tuple(k.name for k in task.knobs) if task is not None else ()


class Worker:
    """One daemon thread running submitted calls in order, results handed to the event loop."""

    def __init__(self, name: str) -> None:
        self._calls: queue.SimpleQueue = queue.SimpleQueue()
        threading.Thread(target=self._run, name=name, daemon=True).start()

    def _run(self) -> None:
        while (item := self._calls.get()) is not None:
            fn, args, kwargs, loop, future = item
            try:
                result, error = fn(*args, **kwargs), None
            except BaseException as exc:  # handed to the caller, whatever it is
                result, error = None, exc
            if future is not None:
                with contextlib.suppress(RuntimeError):  # a closed loop: nobody waits any more
                    loop.call_soon_threadsafe(_settle, future, result, error)

    async def call(self, timeout: float, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """fn(*args, **kwargs) on the thread; TimeoutError after `timeout` seconds."""
        future = asyncio.get_running_loop().create_future()
        self._calls.put((fn, args, kwargs, asyncio.get_running_loop(), future))
        return await asyncio.wait_for(future, timeout)

    def submit(self, fn: Callable[..., Any], *args: Any) -> None:
        """Queue a call whose result nobody waits for."""
        self._calls.put((fn, args, {}, None, None))

    def stop(self) -> None:
        self._calls.put(None)


def _settle(future: asyncio.Future, result: Any, error: BaseException | None) -> None:
    if not future.done():  # wait_for cancelled it on timeout
        if error is None:
            future.set_result(result)
        else:
            future.set_exception(error)


class Session:
    def __init__(self, sid: str, env_id: str, kwargs: dict[str, Any], kind: str) -> None:
        self.id, self.env_id, self.kwargs, self.kind = sid, env_id, kwargs, kind
        self.env: gym.Env | None = None
        self.worker = Worker(f"rlvr-serve-{sid[:8]}")
        self.lock = asyncio.Lock()
        self.created = self.last_active = time.monotonic()
        self.busy = False
        self.episodes = self.step_count = 0
        self.episode_id: str | None = None
        self.needs_reset, self.done = True, False
        self.closed: str | None = None
        self.spaces: dict[str, Any] = {}

    def touch(self) -> None:
        self.last_active = time.monotonic()


class Sessions:
    """Every open session of one server (see the module doc)."""

    def __init__(self, config: ServeConfig) -> None:
        self.config = config
        self._open: dict[str, Session] = {}
        self._gone: OrderedDict[str, str] = OrderedDict()
        self._allowed = {env_id: allowed_kwargs(env_id) for env_id in config.ids}
        self._knobs = {env_id: knob_names(env_id) for env_id in config.ids}
        self.opened = self.refused = self.expired = self.timed_out = 0
        self._serial = itertools.count()

    def __len__(self) -> int:
        return len(self._open)

    def served(self, env_id: Any) -> str:
        if isinstance(env_id, str) and env_id in self._allowed:
            return env_id
        if isinstance(env_id, str) and env_id.startswith("rlvr:") and env_id[5:] in self._allowed:
            return env_id[5:]
        raise WireError(f"unknown env id {env_id!r:.100}; this server serves {len(self._allowed)} ids"
                        + did_you_mean(str(env_id), self._allowed), "UNKNOWN_ENV", 404)

    async def open(self, env_id: Any, kwargs: Any, kind: str = "http") -> Session:
        env_id = self.served(env_id)
        kwargs = fields.check_kwargs(kwargs, self._allowed[env_id], env_id)
        if len(self._open) >= self.config.max_sessions:
            self.refused += 1
            raise WireError(f"server full: {len(self._open)} of {self.config.max_sessions} sessions open; "
                            "close one or try again later", "CAPACITY_REACHED", 503)
        session = Session(f"{next(self._serial):x}-{secrets.token_hex(8)}", env_id, kwargs, kind)
        self._open[session.id] = session  # the slot is taken before the first await
        self.opened += 1
        session.busy = True  # not idle while its env is built: the sweeper leaves it alone
        try:
            session.env = await session.worker.call(self.config.make_timeout, gym.make, env_id, **kwargs)
            session.spaces = {"observation_space": wire.describe_space(session.env.observation_space),
                              "action_space": wire.describe_space(session.env.action_space)}
        except TimeoutError:
            self.close(session.id, f"building {env_id} took over {self.config.make_timeout} s", hung=True)
            raise WireError(f"building {env_id} took over {self.config.make_timeout} s", "STEP_TIMEOUT", 504) from None
        except WireError:
            self.close(session.id, "its spaces cannot travel as JSON")
            raise
        except Exception as exc:  # the env refused its keywords: a bad request
            self.close(session.id, "its env could not be built")
            raise WireError(f"{env_id}: {_describe(exc)}", "FACTORY_ERROR", 400) from None
        finally:
            session.busy = False
            session.touch()
        return session

    def get(self, sid: Any) -> Session:
        session = self._open.get(sid) if isinstance(sid, str) else None
        if session is None:
            reason = self._gone.get(sid) if isinstance(sid, str) else None
            if reason:
                raise WireError(f"session {sid} is closed: {reason}", "SESSION_CLOSED", 410)
            raise WireError(f"no session {str(sid)[:80]!r} (open one first)", "UNKNOWN_SESSION", 404)
        return session

    def close(self, sid: str, reason: str = "closed by the client", hung: bool = False) -> bool:
        """Close a session now (its env is closed on its thread, unless that thread is stuck)."""
        session = self._open.pop(sid, None)
        if session is None:
            return False
        session.closed = reason
        self._gone[sid] = reason
        while len(self._gone) > 4096:
            self._gone.popitem(last=False)
        if session.env is not None and not hung:
            session.worker.submit(_close_quietly, session.env)
        session.worker.stop()
        return True

    def close_all(self, reason: str = "the server stopped") -> None:
        for sid in list(self._open):
            self.close(sid, reason)

    async def _call(self, session: Session, what: str, fn: Callable[..., Any], *args: Any, **kwargs: Any) -> Any:
        """Run an env call of a session under the step time limit; the caller holds its lock."""
        if session.closed:
            raise WireError(f"session {session.id} is closed: {session.closed}", "SESSION_CLOSED", 410)
        session.busy = True
        session.touch()
        try:
            return await session.worker.call(self.config.step_timeout, fn, *args, **kwargs)
        except TimeoutError:
            self.timed_out += 1
            reason = f"its {what} ran over the {self.config.step_timeout} s limit"
            self.close(session.id, reason, hung=True)
            raise WireError(f"session {session.id} ended: {reason}", "STEP_TIMEOUT", 504) from None
        except Exception as exc:
            raise WireError(f"{session.env_id} {what} failed: {_describe(exc)}", "EXECUTION_ERROR", 400) from None
        finally:
            session.busy = False
            session.touch()

    async def reset(self, session: Session, body: Any) -> dict[str, Any]:
        body = wire.expect_object({} if body is None else body, "the reset request")
        wire.expect_keys(body, ("seed", "options", "episode_id"), "the reset request")
        seed = body.get("seed")
        if seed is not None and (isinstance(seed, bool) or not isinstance(seed, int) or not 0 <= seed < 1 << 63):
            raise WireError(f"expected seed to be null or an integer in [0, 2**63), got {wire.dumps(seed)[:40]}")
        options = fields.check_options(body.get("options"), self._knobs[session.env_id], session.env_id)
        async with session.lock:
            observation, info = await self._call(session, "reset", session.env.reset, seed=seed, options=options)
            session.episodes += 1
            session.step_count, session.needs_reset, session.done = 0, False, False
            episode = body.get("episode_id")
            session.episode_id = str(episode)[:255] if episode is not None else f"{session.id}-{session.episodes}"
            return self._result(session, observation, None, False, False, info)

    async def step(self, session: Session, action: Any) -> dict[str, Any]:
        action = wire.unwrap(session.env.action_space, action, "action")
        async with session.lock:
            if session.needs_reset or session.done:
                why = "the episode is over" if session.done else "no episode has started"
                raise WireError(f"{why}: reset first", "RESET_NEEDED", 409)
            observation, reward, terminated, truncated, info = await self._call(
                session, "step", session.env.step, action)
            session.step_count += 1
            session.done = bool(terminated or truncated)
            return self._result(session, observation, reward, terminated, truncated, info)

    def _result(self, session: Session, observation: Any, reward: Any, terminated: Any, truncated: Any,
                info: dict) -> dict[str, Any]:
        try:
            encoded = wire.wrap(session.env.observation_space, observation)
            reward = None if reward is None else wire.number(float(reward))
        except (TypeError, ValueError, KeyError) as exc:
            raise WireError(f"{session.env_id} gave an observation or reward outside its spaces: {_describe(exc)}",
                            "EXECUTION_ERROR", 500) from None
        return {"observation": encoded, "reward": reward, "done": bool(terminated or truncated),
                "terminated": bool(terminated), "truncated": bool(truncated), "info": fields.jsonable(info)}

    def state(self, session: Session) -> dict[str, Any]:
        spec = session.env.spec if session.env is not None else None
        return {"session_id": session.id, "env_id": session.env_id, "kwargs": session.kwargs,
                "episode_id": session.episode_id, "step_count": session.step_count,
                "done": session.done, "max_episode_steps": spec.max_episode_steps if spec else None,
                **session.spaces}

    def sweep(self, now: float | None = None) -> list[str]:
        """Close every session idle for over `session_ttl` seconds (a call in flight is not idle)."""
        now = time.monotonic() if now is None else now
        stale = [s.id for s in self._open.values() if not s.busy and now - s.last_active > self.config.session_ttl]
        for sid in stale:
            self.expired += 1
            self.close(sid, f"idle for over {self.config.session_ttl} s")
        return stale

    async def sweeper(self) -> None:
        """Sweep until cancelled, a few times per time-to-live."""
        interval = min(5.0, max(0.05, self.config.session_ttl / 4))
        while True:
            await asyncio.sleep(interval)
            self.sweep()

    def health(self) -> dict[str, Any]:
        return {"status": "healthy", "sessions": len(self._open), "max_sessions": self.config.max_sessions,
                "opened": self.opened, "refused": self.refused, "expired": self.expired,
                "timed_out": self.timed_out}


def _close_quietly(env: gym.Env) -> None:
    with contextlib.suppress(Exception):  # a session is over either way
        env.close()


def _describe(exc: BaseException) -> str:
    text = str(exc.args[0] if isinstance(exc, KeyError) and exc.args else exc)
    return f"{type(exc).__name__}: {text}"[:2000]
