"""What travels between `rlvr serve` and its clients: JSON values, spaces, limits and errors.

Standard library, numpy and Gymnasium only, so the server and the client share one definition
and tests run without the `serve` extra.

- **Values.** A member of a space becomes JSON by its space: `Text` -> a string, `Discrete` ->
  an integer, `Box`/`MultiBinary`/`MultiDiscrete` -> nested lists, `Dict` -> an object, `Tuple` ->
  a list. At the top of an observation or action the value is wrapped so it is always a JSON
  object (as OpenEnv's observations and actions are): `{"text": s}` for a text space, the object
  itself for a `Dict` space, `{"value": v}` for any other.
- **Spaces** are described as JSON (`describe_space`) and rebuilt by the client (`build_space`)
  under bounds of its own: it never trusts a size it is sent.
- **Numbers.** JSON has no NaN or infinity: a non-finite float travels as the string "nan",
  "inf" or "-inf" (space bounds, Box values, info entries) and is read back as the float.
- **Requests** are parsed by `parse_json`: a size bound before parsing, strict UTF-8, no NaN,
  bounded nesting. What their fields may hold, and what an info dict may send, is
  `rlvr.serve.fields`.
- Every refusal is a `WireError` with a code (OpenEnv's error codes where one fits) and an HTTP
  status.
"""

from __future__ import annotations

import json
import math
from collections.abc import Iterable, Mapping
from typing import Any

import numpy as np
from gymnasium import spaces

from rlvr.core.hints import did_you_mean
from rlvr.core.spaces import UnicodeText

MAX_BODY = 4 << 20
"""Default bound on a request body or WebSocket message (bytes): a text action of the largest text
space (2**20 characters) fits even when JSON escapes every other character."""
MAX_RESPONSE = 8 << 20
"""Default bound on a response the client reads (bytes)."""
MAX_DEPTH = 32
"""Deepest JSON nesting read from a peer, and deepest info structure sent."""
MAX_ELEMENTS = 1 << 20
"""Largest Box (element count) a client rebuilds from a server's description."""


class WireError(ValueError):
    """A request or response that breaks the wire format: `code` names the kind, `status` is the
    HTTP status the server answers with."""

    def __init__(self, message: str, code: str = "VALIDATION_ERROR", status: int = 400) -> None:
        super().__init__(message)
        self.code, self.status = code, status

    def body(self) -> dict[str, Any]:
        return {"error": {"code": self.code, "message": str(self)}}


# ------------------------------------------------------------------------------------ JSON text


def _no_constant(name: str) -> Any:
    raise WireError(f"expected JSON numbers, got {name} (not valid JSON)", "INVALID_JSON")


def parse_json(data: bytes | str, limit: int = MAX_BODY, what: str = "request body") -> Any:
    """Parse JSON text of at most `limit` bytes; every failure is a `WireError`.

    >>> parse_json(b'{"seed": 3}')
    {'seed': 3}
    >>> parse_json(b"[" * 40 + b"]" * 40)
    Traceback (most recent call last):
    ...
    rlvr.serve.wire.WireError: expected a request body nested at most 32 deep, got deeper
    """
    size = len(data.encode("utf-8", "surrogatepass") if isinstance(data, str) else data)
    if size > limit:
        raise WireError(f"expected a {what} of at most {limit} bytes, got {size}", "TOO_LARGE", 413)
    if isinstance(data, bytes | bytearray):
        try:
            data = bytes(data).decode("utf-8")
        except UnicodeDecodeError as error:
            raise WireError(f"expected UTF-8 JSON in the {what}, got bytes that are not UTF-8 ({error.reason} "
                            f"at byte {error.start})", "INVALID_JSON") from None
    try:
        value = json.loads(data, parse_constant=_no_constant)
    except RecursionError:
        raise WireError(f"expected a {what} nested at most {MAX_DEPTH} deep, got deeper", "INVALID_JSON") from None
    except json.JSONDecodeError as error:
        raise WireError(f"expected JSON in the {what}: {error.msg} at line {error.lineno} column {error.colno}",
                        "INVALID_JSON") from None
    if _depth(value) > MAX_DEPTH:
        raise WireError(f"expected a {what} nested at most {MAX_DEPTH} deep, got deeper", "INVALID_JSON")
    return value


def _depth(value: Any) -> int:
    # iterative, so a deep value cannot exhaust the stack here
    deepest, stack = 0, [(value, 1)]
    while stack:
        item, level = stack.pop()
        if isinstance(item, dict | list):
            deepest = max(deepest, level)
            if level <= MAX_DEPTH:
                stack.extend((child, level + 1) for child in (item.values() if isinstance(item, dict) else item))
    return deepest


def dumps(value: Any) -> str:
    """Compact JSON, ASCII only (a lone surrogate in a text survives the trip), never NaN."""
    return json.dumps(value, ensure_ascii=True, allow_nan=False, separators=(",", ":"))


def shown(value: Any, limit: int = 80) -> str:
    """A value from a peer, as short JSON-like text for an error message (never raises)."""
    return json.dumps(value, default=repr)[:limit]


def expect_object(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise WireError(f"expected {what} to be a JSON object, got {type(value).__name__}")
    return value


def expect_keys(value: Mapping[str, Any], allowed: Iterable[str], what: str) -> None:
    allowed = tuple(allowed)
    for key in value:
        if key not in allowed:
            raise WireError(f"unknown field {key!r} in {what}; expected some of {list(allowed)}"
                            + did_you_mean(key, allowed))


# ---------------------------------------------------------------------------------------- numbers


def number(x: float | int) -> float | int | str:
    """A float as JSON allows: finite as is, else 'nan' / 'inf' / '-inf'."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def array_json(array: np.ndarray) -> Any:
    if array.dtype.kind == "f" and not np.isfinite(array).all():
        return _nested(array.tolist())
    return array.tolist()


def _nested(value: Any) -> Any:
    return [_nested(v) for v in value] if isinstance(value, list) else number(value)


def _read_floats(value: Any) -> Any:
    """Undo `_number` inside nested lists ('inf' -> inf); anything else is left for numpy to judge."""
    if isinstance(value, list):
        return [_read_floats(v) for v in value]
    if value in ("nan", "inf", "-inf"):
        return float(value)
    return value


# ----------------------------------------------------------------------------------------- spaces


def describe_space(space: spaces.Space) -> dict[str, Any]:
    """A JSON description of a space (Text, Discrete, Box, MultiBinary, MultiDiscrete, Dict, Tuple).

    >>> describe_space(spaces.Discrete(3, start=1))
    {'type': 'discrete', 'n': 3, 'start': 1}
    >>> describe_space(UnicodeText(100))
    {'type': 'text', 'min_length': 0, 'max_length': 100, 'charset': None}
    """
    if isinstance(space, spaces.Text):
        # UnicodeText admits any character; a plain Text space keeps its charset
        charset = None if isinstance(space, UnicodeText) else "".join(sorted(space.character_set))
        return {"type": "text", "min_length": space.min_length, "max_length": space.max_length, "charset": charset}
    if isinstance(space, spaces.Discrete):
        return {"type": "discrete", "n": int(space.n), "start": int(space.start)}
    if isinstance(space, spaces.Box):
        return {"type": "box", "shape": list(space.shape), "dtype": space.dtype.name,
                "low": _bound(space.low), "high": _bound(space.high)}
    if isinstance(space, spaces.MultiBinary):
        return {"type": "multi_binary", "n": np.asarray(space.n).tolist()}
    if isinstance(space, spaces.MultiDiscrete):
        return {"type": "multi_discrete", "nvec": space.nvec.tolist(), "start": space.start.tolist(),
                "dtype": space.dtype.name}
    if isinstance(space, spaces.Dict):
        return {"type": "dict", "spaces": {key: describe_space(sub) for key, sub in space.spaces.items()}}
    if isinstance(space, spaces.Tuple):
        return {"type": "tuple", "spaces": [describe_space(sub) for sub in space.spaces]}
    raise WireError(f"expected a space of kind Text, Discrete, Box, MultiBinary, MultiDiscrete, Dict or Tuple, "
                    f"got {type(space).__name__}", "UNSUPPORTED_SPACE", 500)


def _bound(array: np.ndarray) -> Any:
    """A Box bound: one number when every element is the same (the usual case), else nested lists."""
    flat = array.reshape(-1)
    if flat.size and (flat == flat[0]).all():
        return number(flat[0].item())
    return array_json(array)


_DTYPES = ("int8", "int16", "int32", "int64", "uint8", "uint16", "uint32", "uint64", "float16", "float32",
           "float64", "bool")


def build_space(description: Any, depth: int = 0) -> spaces.Space:
    """The space a `describe_space` description names, under the client's own bounds.

    >>> build_space({"type": "box", "shape": [2], "dtype": "float32", "low": 0, "high": "inf"})
    Box(0.0, inf, (2,), float32)
    """
    if depth > 8:
        raise WireError("expected a space nested at most 8 deep, got deeper")
    d = expect_object(description, "a space description")
    kind = d.get("type")
    try:
        if kind == "text":
            low, high = count(d.get("min_length", 0), "min_length"), count(d["max_length"], "max_length")
            if d.get("charset") is None:
                return UnicodeText(high, min_length=low)
            charset = d["charset"]
            if not isinstance(charset, str) or not 0 < len(charset) <= 1 << 16:
                raise WireError(f"expected a text space's charset to be a string, got {charset!r:.60}")
            return spaces.Text(high, min_length=low, charset=charset)
        if kind == "discrete":
            return spaces.Discrete(count(d["n"], "n", 1), start=_integer(d.get("start", 0), "start"))
        if kind == "box":
            shape = d["shape"]
            if not isinstance(shape, list) or len(shape) > 8:
                raise WireError(f"expected a Box shape of at most 8 sizes, got {shape!r:.60}")
            shape = tuple(count(n, "a Box size") for n in shape)
            if math.prod(shape) > MAX_ELEMENTS:
                raise WireError(f"expected a Box of at most {MAX_ELEMENTS} elements, got shape {shape}")
            dtype = d.get("dtype")
            if dtype not in _DTYPES:
                raise WireError(f"expected a Box dtype among {list(_DTYPES)}, got {dtype!r:.60}")
            low, high = (np.asarray(_read_floats(d[k]), dtype=dtype) for k in ("low", "high"))
            return spaces.Box(np.broadcast_to(low, shape), np.broadcast_to(high, shape), shape, dtype=dtype)
        if kind == "multi_binary":
            n = d["n"]
            return spaces.MultiBinary(count(n, "n", 1) if not isinstance(n, list) else [count(x, "n", 1) for x in n])
        if kind == "multi_discrete":
            nvec = np.asarray(d["nvec"], dtype=np.int64)
            if nvec.size > MAX_ELEMENTS:
                raise WireError(f"expected at most {MAX_ELEMENTS} MultiDiscrete entries, got {nvec.size}")
            return spaces.MultiDiscrete(nvec, start=np.asarray(d.get("start", 0), dtype=np.int64),
                                        dtype=d.get("dtype", "int64") if d.get("dtype") in _DTYPES else "int64")
        if kind == "dict":
            subs = expect_object(d["spaces"], "a Dict space's spaces")
            if len(subs) > 256:
                raise WireError(f"expected a Dict space of at most 256 keys, got {len(subs)}")
            return spaces.Dict({str(k): build_space(v, depth + 1) for k, v in subs.items()})
        if kind == "tuple":
            subs = d["spaces"]
            if not isinstance(subs, list) or len(subs) > 256:
                raise WireError("expected a Tuple space's spaces as a list of at most 256")
            return spaces.Tuple([build_space(v, depth + 1) for v in subs])
    except WireError:
        raise
    except (KeyError, TypeError, ValueError, OverflowError) as error:
        raise WireError(f"expected a valid {kind} space description, got {shown(d, 120)} ({error})") from None
    raise WireError(f"expected a space type among text, discrete, box, multi_binary, multi_discrete, dict, tuple, "
                    f"got {kind!r:.60}")


def _integer(value: Any, what: str) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or abs(value) > 1 << 62:
        raise WireError(f"expected {what} to be an integer, got {value!r:.60}")
    return value


def count(value: Any, what: str, low: int = 0) -> int:
    value = _integer(value, what)
    if not low <= value <= MAX_ELEMENTS * 16:
        raise WireError(f"expected {what} in [{low}, {MAX_ELEMENTS * 16}], got {value}")
    return value


# ----------------------------------------------------------------------------------------- values


def encode(space: spaces.Space, value: Any) -> Any:
    """A member of `space` as plain JSON (see the module doc)."""
    if isinstance(space, spaces.Text):
        return str(value)
    if isinstance(space, spaces.Discrete):
        return int(value)
    if isinstance(space, spaces.Box | spaces.MultiBinary | spaces.MultiDiscrete):
        return array_json(np.asarray(value))
    if isinstance(space, spaces.Dict):
        return {key: encode(sub, value[key]) for key, sub in space.spaces.items()}
    if isinstance(space, spaces.Tuple):
        return [encode(sub, v) for sub, v in zip(space.spaces, value, strict=True)]
    raise WireError(f"cannot encode a member of {type(space).__name__}", "UNSUPPORTED_SPACE", 500)


def decode(space: spaces.Space, value: Any, what: str = "value") -> Any:
    """The member of `space` that `encode` gave `value` for; a value of the wrong shape is a WireError."""
    try:
        if isinstance(space, spaces.Text):
            if not isinstance(value, str):
                raise WireError(f"expected the {what} to be a string, got {type(value).__name__}")
            if not space.contains(value):
                raise WireError(f"expected the {what} to be a text of {space}, got {len(value)} characters "
                                f"{shown(value, 40)}")
            return value
        if isinstance(space, spaces.Discrete):
            return np.int64(_integer(value, f"the {what}"))
        if isinstance(space, spaces.Box | spaces.MultiBinary | spaces.MultiDiscrete):
            array = np.asarray(_read_floats(value), dtype=space.dtype)
            if array.shape != space.shape:
                raise WireError(f"expected the {what} of shape {space.shape}, got shape {array.shape}")
            return array
        if isinstance(space, spaces.Dict):
            value = expect_object(value, f"the {what}")
            if set(value) != set(space.spaces):
                raise WireError(f"expected the {what} with keys {sorted(space.spaces)}, got {sorted(value)[:20]}")
            return {key: decode(sub, value[key], f"{what}[{key!r}]") for key, sub in space.spaces.items()}
        if isinstance(space, spaces.Tuple):
            if not isinstance(value, list) or len(value) != len(space.spaces):
                raise WireError(f"expected the {what} as a list of {len(space.spaces)}")
            return tuple(decode(sub, v, f"{what}[{i}]") for i, (sub, v) in enumerate(zip(space.spaces, value, strict=True)))
    except WireError:
        raise
    except (TypeError, ValueError, OverflowError) as error:
        raise WireError(f"expected the {what} to fit {space}, got {shown(value)} ({error})") from None
    raise WireError(f"cannot decode a member of {type(space).__name__}", "UNSUPPORTED_SPACE", 500)


def wrap(space: spaces.Space, value: Any) -> dict[str, Any]:
    """The top-level JSON object of an observation or action: {"text": s}, a Dict's object, or
    {"value": v}.

    >>> wrap(UnicodeText(10), "hi"), wrap(spaces.Discrete(3), np.int64(2))
    ({'text': 'hi'}, {'value': 2})
    """
    encoded = encode(space, value)
    if isinstance(space, spaces.Dict):
        return encoded
    return {"text": encoded} if isinstance(space, spaces.Text) else {"value": encoded}


def unwrap(space: spaces.Space, value: Any, what: str) -> Any:
    """The inverse of `wrap`, with a clear error for any other object."""
    if isinstance(space, spaces.Dict):
        return decode(space, value, what)
    key = "text" if isinstance(space, spaces.Text) else "value"
    value = expect_object(value, f"the {what}")
    if set(value) != {key}:
        raise WireError(f'expected the {what} as {{"{key}": ...}}, got fields {sorted(value)[:10]}')
    return decode(space, value[key], what)
