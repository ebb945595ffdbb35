"""`TaskEnv`: the Gymnasium base every rlvr env shares — which problem an episode plays.

It owns the problem stream (seed, index), the split, and the difficulty knobs:
- `reset(seed=s)` restarts stream `s` at problem 0; a plain `reset()` moves to the next problem;
  the first reset without a seed draws a stream seed from `self.np_random`.
- `reset(options={"difficulty": {...}})` changes knobs from this episode on (a curriculum sets a
  level and it stays); `options={"problem": p}` plays a given `Problem`; `options={"index": i}`
  jumps to problem i of the current stream.
- Constructor keyword arguments named in `task_options` go to the task's constructor; the other
  keywords that are not parameters are difficulty knobs; an unknown name is an error listing
  close matches.

`guarded_score` is the last-resort guard every env's step puts around scoring: no action may
raise out of `step()`, so an exception there becomes a zero whose reason starts with
`INTERNAL_ERROR` and names the exception and where it came from. That reason marks a bug to fix
at its root (the fuzz suite in `rlvr.testing` fails on it); it is never an expected outcome.
"""

from __future__ import annotations

import inspect
import os
import sysconfig
import traceback
from collections.abc import Callable, Mapping
from typing import Any, ClassVar

import gymnasium as gym

from rlvr.core.hints import did_you_mean
from rlvr.core.problem import Problem, Score, check_split
from rlvr.core.seeding import fresh_seed
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate

RESET_OPTIONS = ("difficulty", "problem", "index")
INTERNAL_ERROR = "internal error:"
"""Prefix of `info["error"]` when scoring raised (see the module doc)."""
_PACKAGE_ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
_STDLIB = tuple({sysconfig.get_paths()[key] for key in ("stdlib", "platstdlib")})


class RenderModeError(ValueError, TypeError):
    """An unsupported `render_mode`. Also a TypeError because Stable-Baselines3's `make_vec_env`
    asks for `render_mode="rgb_array"` and retries without it only on a TypeError."""


def check_render_mode(render_mode: str | None, modes: tuple[str, ...] = ("ansi",)) -> str | None:
    """`render_mode` when it is None or one of `modes`, else a `RenderModeError`."""
    if render_mode is not None and render_mode not in modes:
        raise RenderModeError(f"render_mode must be None or {' or '.join(repr(m) for m in modes)}, got {render_mode!r}")
    return render_mode


def action_repr(value: Any, limit: int = 120) -> str:
    """`repr(value)` cut to `limit` characters for error messages; never raises (an int too long
    for `str()`, an object whose `repr` raises, a container of those).

    >>> action_repr([10**5000, "x" * 500], 30)
    "[<int of 16610 bits>, 'xxxx..."
    """
    text = _bounded_repr(value, limit, 0)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def _bounded_repr(value: Any, limit: int, depth: int) -> str:
    if isinstance(value, int) and value.bit_length() > 256:
        return f"<int of {value.bit_length()} bits>"
    if isinstance(value, (str, bytes)):
        return repr(value[: limit + 1])
    if depth < 3 and type(value) in (list, tuple, dict):  # exact types: a subclass may override repr
        if isinstance(value, dict):
            parts = [f"{_bounded_repr(k, limit, depth + 1)}: {_bounded_repr(v, limit, depth + 1)}"
                     for k, v in list(value.items())[:8]]
        else:
            parts = [_bounded_repr(item, limit, depth + 1) for item in value[:8]]
        more = ", ..." if len(value) > 8 else ""
        left, right = {dict: "{}", list: "[]", tuple: "()"}[type(value)]
        return left + ", ".join(parts) + more + right
    try:
        return repr(value)
    except Exception:  # includes RecursionError from very deep nesting
        return f"<{type(value).__name__} object>"


def internal_error(error: BaseException) -> str:
    """The reason recorded for an exception raised while scoring: type, origin and message (the
    origin is the innermost frame outside Python's standard library, where the fix belongs)."""
    frames = traceback.extract_tb(error.__traceback__)
    own = [f for f in frames if not f.filename.startswith(_STDLIB)] or frames
    where = ""
    if own:
        name, base = own[-1].filename, os.path.dirname(_PACKAGE_ROOT)
        where = f" at {os.path.relpath(name, base) if name.startswith(base + os.sep) else name}:{own[-1].lineno}"
    try:
        message = str(error)[:300]
    except Exception:
        message = "(the message cannot be printed)"
    return f"{INTERNAL_ERROR} {type(error).__name__}{where}: {message}"


def guarded_score(score: Callable[..., Score], *args: Any) -> Score:
    """`score(*args)`, or a zero naming the internal error when it raises (see the module doc)."""
    try:
        return score(*args)
    except Exception as error:  # the safety net: a crash in scoring must not end a training run
        return Score.zero(internal_error(error))


class TaskEnv(gym.Env):
    """Base class: holds a `Task`, a difficulty, a split and the current `Problem`."""

    task_class: ClassVar[type[Task] | None] = None
    """Subclasses name their task here so `gym.make` needs no task object."""
    task_options: ClassVar[tuple[str, ...]] = ()
    """Constructor keywords handed to `task_class(template=..., **options)` (reward settings such
    as `format_reward`); giving one together with a ready-made `task` is an error."""
    oracle_is_exact: ClassVar[bool] = True
    """False where even the best policy can fail (e.g. a noisy answerer): the conformance check
    then asks the oracle for a high success rate instead of success on every episode."""

    def __init__(
        self,
        task: Task | None = None,
        *,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: PromptTemplate | None = None,
        **knobs: Any,
    ) -> None:
        options = {name: knobs.pop(name) for name in self.task_options if name in knobs}
        if task is None:
            if self.task_class is None:
                raise TypeError(f"{type(self).__name__} needs a task")
            task = self.task_class(template=template, **options)
        else:
            if options:
                raise TypeError(f"give {sorted(options)} to the task, not the env, when passing a task")
            if template is not None:
                task.template = template
        self.task = task
        known = {k.name for k in task.knobs}
        for name in knobs:
            if name not in known:
                params = [p for p in inspect.signature(type(self).__init__).parameters if p not in ("self", "knobs")]
                params += self.task_options
                raise TypeError(
                    f"{type(self).__name__} got an unexpected keyword argument {name!r}; it takes "
                    f"{sorted(params)} and the difficulty knobs {sorted(known)}"
                    + did_you_mean(name, [*params, *known])
                )
        self.difficulty = task.difficulty(difficulty, knobs)
        self.split = check_split(split)
        self.problem: Problem | None = None
        self._stream_seed: int | None = None
        self._index = -1

    def _choose_problem(self, seed: int | None, options: Mapping[str, Any] | None) -> Problem:
        """Called from reset() after `super().reset(seed=seed)`."""
        options = dict(options or {})
        unknown = [k for k in options if k not in RESET_OPTIONS]
        if unknown:
            raise KeyError(
                f"unknown reset option {unknown[0]!r}; expected some of {list(RESET_OPTIONS)}"
                + did_you_mean(unknown[0], RESET_OPTIONS)
            )
        if options.get("difficulty"):
            self.difficulty = self.task.difficulty(self.difficulty, options["difficulty"])
        if seed is not None:
            self._stream_seed, self._index = int(seed), -1
        elif self._stream_seed is None:
            self._stream_seed = fresh_seed(self.np_random)
        if options.get("problem") is not None:
            problem = options["problem"]
            if not isinstance(problem, Problem):
                raise TypeError(f"options['problem'] must be a Problem, got {type(problem).__name__}")
            self.problem = problem
            return problem
        self._index = int(options["index"]) if "index" in options else self._index + 1
        self.problem = self.task.problem_at(self._stream_seed, self._index, self.difficulty, self.split)
        return self.problem

    def _problem_info(self) -> dict[str, Any]:
        assert self.problem is not None
        return {
            "problem_id": self.problem.problem_id,
            "difficulty": dict(self.problem.difficulty),
            "messages": [dict(m) for m in self.problem.messages],
        }
