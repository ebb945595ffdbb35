"""The wire format alone (no server, no extra): spaces and values survive JSON for every registered
id, requests are parsed within bounds, info dicts are sent or dropped with the reason."""

from __future__ import annotations

import functools
import math
import warnings

import gymnasium as gym
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr import registration
from rlvr.core.spaces import UnicodeText
from rlvr.serve import fields, wire
from rlvr.serve.sessions import allowed_kwargs
from rlvr.serve.wire import WireError

IDS = registration.ids("gymnasium")


@functools.cache
def spaces_of(env_id: str) -> tuple[gym.Space, gym.Space]:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        env = gym.make(env_id)
    env.close()
    return env.observation_space, env.action_space


@pytest.mark.parametrize("env_id", IDS)
def test_every_id_spaces_and_values_round_trip(env_id):
    for space in spaces_of(env_id):
        description = wire.describe_space(space)
        rebuilt = wire.build_space(wire.parse_json(wire.dumps(description)))
        assert rebuilt == space, (rebuilt, space)
        space.seed(1)
        for _ in range(3):
            # a text space samples up to max_length (2**20) characters: 200 show the same
            text = isinstance(space, gym.spaces.Text)
            value = space.sample(mask=(min(200, space.max_length), None)) if text else space.sample()
            back = wire.unwrap(rebuilt, wire.parse_json(wire.dumps(wire.wrap(space, value))), "value")
            assert rebuilt.contains(back)
            if isinstance(value, dict):
                assert all(np.array_equal(back[k], value[k]) for k in value)
            else:
                assert back == value


@given(st.text(max_size=200))
def test_any_text_including_lone_surrogates_travels(text):
    space = UnicodeText(1000)
    assert wire.unwrap(space, wire.parse_json(wire.dumps(wire.wrap(space, text))), "observation") == text


def test_non_finite_box_bounds_and_values_travel_as_strings():
    space = gym.spaces.Box(np.array([-np.inf, 0.0]), np.array([np.inf, 1.0]), dtype=np.float64)
    description = wire.dumps(wire.describe_space(space))
    assert "Infinity" not in description and '"inf"' in description
    assert wire.build_space(wire.parse_json(description)) == space
    value = np.array([-np.inf, 0.5])
    assert np.array_equal(wire.decode(space, wire.parse_json(wire.dumps(wire.encode(space, value)))), value)


@pytest.mark.parametrize("description, match", [
    ({"type": "box", "shape": [1 << 20, 1 << 20], "dtype": "float32", "low": 0, "high": 1}, "at most 1048576 elements"),
    ({"type": "box", "shape": [2], "dtype": "object", "low": 0, "high": 1}, "dtype"),
    ({"type": "discrete", "n": 0}, r"n in \[1"),
    ({"type": "discrete", "n": True}, "integer"),
    ({"type": "text", "max_length": -1}, "max_length"),
    ({"type": "dict", "spaces": {str(i): {"type": "discrete", "n": 2} for i in range(300)}}, "256 keys"),
    ({"type": "pickle", "data": "gASV"}, "space type"),
    ([], "JSON object"),
])
def test_hostile_space_descriptions_are_refused(description, match):
    with pytest.raises(WireError, match=match):
        wire.build_space(description)


def test_deeply_nested_space_description_is_refused():
    description = {"type": "discrete", "n": 2}
    for _ in range(20):
        description = {"type": "tuple", "spaces": [description]}
    with pytest.raises(WireError, match="8 deep"):
        wire.build_space(description)


@settings(max_examples=300, deadline=None)
@given(st.binary(max_size=300) | st.text(max_size=300).map(str.encode))
def test_parse_json_gives_a_value_or_a_wire_error(data):
    try:
        wire.parse_json(data, limit=200)
    except WireError as error:
        assert error.status in (400, 413) and error.code in ("INVALID_JSON", "TOO_LARGE")


@pytest.mark.parametrize("data, code", [
    (b"x" * 101, "TOO_LARGE"),
    (b'{"a": NaN}', "INVALID_JSON"),
    (b'[Infinity]', "INVALID_JSON"),
    (b"\xff\xfe{}", "INVALID_JSON"),
    (b"[" * 60 + b"]" * 60, "INVALID_JSON"),
    (b"[" * 100, "INVALID_JSON"),
])
def test_parse_json_refusals(data, code):
    with pytest.raises(WireError) as caught:
        wire.parse_json(data, limit=len(data) if code != "TOO_LARGE" else 100)
    assert caught.value.code == code and caught.value.status == (413 if code == "TOO_LARGE" else 400)


def test_jsonable_keeps_plain_values_and_says_what_it_dropped():
    info = {"a": np.int64(3), "b": (1, np.float32(0.5)), "nested": {"x": np.bool_(True), "f": len},
            "big": np.zeros(10_000), "inf": float("-inf"), "huge": 10**30, 7: "int key"}
    out = fields.jsonable(info)
    assert out["a"] == 3 and out["b"] == [1, 0.5] and out["nested"] == {"x": True}
    assert out["inf"] == "-inf" and out["huge"] == str(10**30) and out["7"] == "int key"
    assert set(out["dropped"]) == {"nested.f", "big"}
    assert "at most 4096" in out["dropped"]["big"]
    assert wire.parse_json(wire.dumps(out)) == out


def test_jsonable_bounds_depth():
    deep: dict = {}
    cursor = deep
    for _ in range(100):
        cursor["d"] = {}
        cursor = cursor["d"]
    out = fields.jsonable({"deep": deep})
    assert "nested deeper" in next(iter(out["dropped"].values()))
    wire.dumps(out)


@pytest.mark.parametrize("kwargs, match", [
    ({"number_max": {"__class__": "x"}}, "JSON scalar"),
    ({"number_max": [1] * 65}, "JSON scalar"),
    ({"number_max": "x" * 5000}, "JSON scalar"),
    ({"number_max": float("nan")}, "JSON scalar"),
    ({"template": "{0.__class__}"}, "takes no keyword 'template'"),
    ({"corpus_path": "/etc/passwd"}, "takes no keyword"),
    ({f"k{i}": 1 for i in range(40)}, "at most 32"),
    ([1, 2], "JSON object"),
])
def test_check_kwargs_refusals(kwargs, match):
    with pytest.raises(WireError, match=match):
        fields.check_kwargs(kwargs, allowed_kwargs("rlvr/Countdown-v0"), "rlvr/Countdown-v0")


def test_requests_never_name_file_paths():
    for env_id in IDS:
        assert not [name for name in allowed_kwargs(env_id) if name.endswith("_path") or name == "template"]
    assert {"number_max", "split", "format_reward"} <= set(allowed_kwargs("rlvr/Countdown-v0"))


def test_options_take_difficulty_and_index_only():
    knobs = ("number_max",)
    assert fields.check_options({"difficulty": {"number_max": 9}, "index": 2}, knobs, "x") == {
        "difficulty": {"number_max": 9}, "index": 2}
    with pytest.raises(WireError, match="unknown field 'problem'"):
        fields.check_options({"problem": {"prompt": "x"}}, knobs, "x")
    assert math.isnan(float(fields.jsonable({"r": float("nan")})["r"]))
