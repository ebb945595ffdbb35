"""What request fields may hold and what an info dict may send: the checks on both sides of `rlvr serve`.

- **Info dicts** go through `jsonable`: numpy scalars and small arrays become plain values;
  anything else (an object, a huge array, a structure too deep) is dropped and its key path and
  the reason are listed under `info["dropped"]`.
- **Constructor keywords** go through `check_kwargs`: names the id allows (difficulty knobs,
  `split` and the task's options that are not file paths), values JSON scalars or flat lists of
  them; the env then checks the values. **Reset options** go through `check_options`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np

from rlvr.core.hints import did_you_mean
from rlvr.serve.wire import (
    MAX_DEPTH,
    WireError,
    array_json,
    count,
    expect_keys,
    expect_object,
    number,
    shown,
)

MAX_INFO_ARRAY = 4096
"""Largest numpy array sent in an info dict (element count); larger ones are dropped."""
MAX_KWARGS = 32
MAX_TEXT = 4096
"""Longest string keyword argument; a list keyword argument holds at most `MAX_LIST` items."""
MAX_LIST = 64


def jsonable(info: Mapping[str, Any]) -> dict[str, Any]:
    """`info` with every value JSON can carry; dropped entries listed under "dropped" with why.

    >>> jsonable({"score": np.float32(0.5), "done_at": np.arange(2), "fn": len, "bad": float("nan")})
    {'score': 0.5, 'done_at': [0, 1], 'bad': 'nan', 'dropped': {'fn': 'builtin_function_or_method is not JSON'}}
    """
    dropped: dict[str, str] = {}
    out = {}
    for key, value in info.items():
        converted = _plain(value, str(key), dropped, 1)
        if converted is not _DROP:
            out[str(key)] = converted
    if dropped:
        out["dropped"] = dropped
    return out


_DROP = object()


def _plain(value: Any, path: str, dropped: dict[str, str], depth: int) -> Any:
    if value is None or isinstance(value, bool | str):
        return value
    if isinstance(value, int):
        return value if abs(value) < 1 << 63 else str(value)  # JSON peers read 64-bit integers
    if isinstance(value, float):
        return number(value)
    if isinstance(value, np.generic):
        item = value.item()
        if isinstance(item, bool | int | float | str):
            return _plain(item, path, dropped, depth)
    if depth > MAX_DEPTH:
        dropped[path] = f"nested deeper than {MAX_DEPTH}"
        return _DROP
    if isinstance(value, np.ndarray):
        if value.size > MAX_INFO_ARRAY or value.dtype.kind not in "biuf":
            dropped[path] = f"array of {value.size} {value.dtype} (sent: numbers, at most {MAX_INFO_ARRAY})"
            return _DROP
        return array_json(value)
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            converted = _plain(item, f"{path}.{key}", dropped, depth + 1)
            if converted is not _DROP:
                out[str(key)] = converted
        return out
    if isinstance(value, list | tuple):
        items = [_plain(item, f"{path}[{i}]", dropped, depth + 1) for i, item in enumerate(value)]
        return [item for item in items if item is not _DROP]
    dropped[path] = f"{type(value).__name__} is not JSON"
    return _DROP


# --------------------------------------------------------------------------------- request fields


def check_kwargs(kwargs: Any, allowed: Iterable[str], env_id: str) -> dict[str, Any]:
    """Constructor keywords from a request: a JSON object of allowed names whose values are JSON
    scalars (bounded strings, finite numbers) or flat lists of them. The env checks the values.

    >>> check_kwargs({"horizon": 4}, ["horizon"], "rlvr/MathTree-v0")
    {'horizon': 4}
    >>> check_kwargs({"data_path": "/etc/passwd"}, ["horizon"], "rlvr/MathTree-v0")
    Traceback (most recent call last):
    ...
    rlvr.serve.wire.WireError: rlvr/MathTree-v0 takes no keyword 'data_path' from a request; it takes ['horizon']
    """
    kwargs = expect_object({} if kwargs is None else kwargs, "kwargs")
    allowed = sorted(allowed)
    if len(kwargs) > MAX_KWARGS:
        raise WireError(f"expected at most {MAX_KWARGS} keyword arguments, got {len(kwargs)}")
    for name, value in kwargs.items():
        if name not in allowed:
            raise WireError(f"{env_id} takes no keyword {name!r} from a request; it takes {allowed}"
                            + did_you_mean(name, allowed))
        items = value if isinstance(value, list) else [value]
        if len(items) > MAX_LIST or not all(_scalar(item) for item in items):
            raise WireError(f"expected keyword {name!r} to be a JSON scalar (a string of at most {MAX_TEXT} "
                            f"characters, a finite number, true/false, null) or a list of at most {MAX_LIST} "
                            f"of them, got {shown(value)}")
    return dict(kwargs)


def _scalar(value: Any) -> bool:
    if isinstance(value, str):
        return len(value) <= MAX_TEXT
    if isinstance(value, float):
        return math.isfinite(value)
    return value is None or isinstance(value, bool | int) and abs(value) < 1 << 63


def check_options(options: Any, allowed_knobs: Iterable[str], env_id: str) -> dict[str, Any] | None:
    """Reset options from a request: {"difficulty": {knob: value}} and {"index": i} only (a
    `Problem` object cannot travel as JSON)."""
    if options is None:
        return None
    options = expect_object(options, "options")
    expect_keys(options, ("difficulty", "index"), "reset options")
    checked: dict[str, Any] = {}
    if "difficulty" in options:
        checked["difficulty"] = check_kwargs(options["difficulty"], allowed_knobs, env_id)
    if "index" in options:
        checked["index"] = count(options["index"], "options.index")
    return checked
