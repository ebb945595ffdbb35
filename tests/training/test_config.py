"""TrainConfig loading: YAML files, key=value overrides, and errors that say what was expected."""

from __future__ import annotations

import dataclasses
import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.training.config import _FIELD_NAMES, TrainConfig, load_config, parse_override
from rlvr.training.config_checks import DOMAINS


def test_yaml_file_and_overrides_apply_in_order(tmp_path):
    path = tmp_path / "run.yaml"
    path.write_text("rl_steps: 7\nlr: 5e-5\ndifficulty: {num_ops: 1}\neval_k: [1, 4]\n")
    config = load_config(path, ["rl_steps=9", "eval_samples=4"])
    assert config.rl_steps == 9  # the override wins over the file
    assert config.lr == pytest.approx(5e-5)  # YAML 1.1 reads 5e-5 as text; it must come back a float
    assert config.difficulty == {"num_ops": 1}
    assert config.eval_k == [1, 4]


def test_unknown_key_suggests_close_match(tmp_path):
    with pytest.raises(ValueError, match=r"unknown config key 'prompts_per_stp'.*prompts_per_step"):
        load_config({"prompts_per_stp": 4})
    path = tmp_path / "bad.yaml"
    path.write_text("temprature: 0.5\n")
    with pytest.raises(ValueError, match="did you mean: temperature"):
        load_config(path)
    with pytest.raises(ValueError, match="group_size"):
        load_config(None, ["grup_size=4"])


@pytest.mark.parametrize(
    ("values", "message"),
    [
        ({"group_size": 0}, "group_size must be >= 1, got 0"),
        ({"group_size": "eight"}, "group_size expects int"),
        ({"lr": -1.0}, "lr must be > 0"),
        ({"top_p": 1.5}, "top_p must be in"),
        ({"loss_aggregation": "seq_mean"}, "loss_aggregation must be one of"),
        ({"advantage": "grop"}, "did you mean: grpo"),
        ({"eval_k": [1, 16], "eval_samples": 8}, "eval_k must be"),
        ({"resume": "yes"}, "resume expects bool"),
        ({"difficulty": [1, 2]}, "difficulty expects dict"),
    ],
)
def test_invalid_values_are_clear_errors(values, message):
    with pytest.raises(ValueError, match=message):
        load_config(values)


def test_override_syntax():
    assert parse_override("temperature=0.7") == ("temperature", 0.7)
    assert parse_override("prompt_template={expression}=") == ("prompt_template", "{expression}=")
    assert parse_override("prompt_template=null") == ("prompt_template", None)
    assert parse_override("difficulty={num_ops: 2}") == ("difficulty", {"num_ops": 2})
    with pytest.raises(ValueError, match="key=value"):
        parse_override("temperature")


def test_every_field_has_a_docstring():
    # the dataclass documents each field with a string right under it; check none was forgotten
    import inspect

    source = inspect.getsource(TrainConfig)
    lines = source.splitlines()
    for field in dataclasses.fields(TrainConfig):
        index = next(i for i, line in enumerate(lines) if line.strip().startswith(f"{field.name}:"))
        following = next(line for line in lines[index + 1 :] if line.strip())
        assert following.strip().startswith('"""'), f"field {field.name} has no docstring"


def test_quickstart_scenario_loads():
    config = load_config("scenarios/quickstart.yaml")
    assert config.sft_steps > 0 and config.eval_problems >= 1000


# ---- every field's domain, checked before any work ----------------------------------------------
FLOAT_FIELDS = [f.name for f in dataclasses.fields(TrainConfig)
                if "float" in str(f.type)]
INT_FIELDS = [f.name for f in dataclasses.fields(TrainConfig) if str(f.type).startswith("int")]


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("temperature: .nan", "temperature expects a finite float, got nan"),
        ("kl_beta: .inf", "kl_beta expects a finite float, got inf"),
        ("clip_eps_low: .nan", "clip_eps_low expects a finite float, got nan"),
        ("lr: -.inf", "lr expects a finite float, got -inf"),
        ("eval_k: [1.5]", r"eval_k expects a list of int, got \[1.5\] \(1.5 is float\)"),
        ("eval_k: [true, 2]", r"eval_k expects a list of int, got \[True, 2\] \(True is bool\)"),
        ("seed: -1", r"seed must be an int in \[0, 4294967295\], got -1"),
        ("model_seed: 4294967296", r"model_seed must be an int in \[0, 4294967295\], got 4294967296"),
        ("seed: true", r"seed expects int, got True \(bool\)"),
        ("group_size: true", r"group_size expects int, got True \(bool\)"),
        ("temperature: false", r"temperature expects float, got False \(bool\)"),
        ("temperature: 0", "temperature must be > 0, got 0.0"),
        ("top_p: 0", r"top_p must be in \(0, 1\], got 0.0"),
        ("num_threads: 0", "num_threads must be >= 1, got 0"),
        ("clip_eps_high: -0.1", "clip_eps_high must be >= 0, got -0.1"),
        ("sft_lr: 0", "sft_lr must be > 0, got 0.0"),
        ("max_grad_norm: -1", "max_grad_norm must be >= 0"),
        ("dtype: float64", "dtype must be one of"),
        ("device: gpu", "device must be 'auto', 'cpu' or 'cuda"),
        ("env_id: ' '", "env_id must be non-empty text"),
        ("difficulty: {1: 2}", "difficulty must be a mapping with text keys"),
        ("prompt_template: '{expression='", "prompt_template must be a format string with balanced braces"),
        ("tiny_hidden_size: 30\ntiny_num_heads: 4", "tiny_hidden_size must be a multiple of tiny_num_heads=4"),
        ("lr: 1e999", "lr expects a finite float, got '1e999'"),
    ],
)
def test_every_domain_is_checked_when_the_yaml_is_read(tmp_path, text, message):
    path = tmp_path / "run.yaml"
    path.write_text(text + "\n")
    with pytest.raises(ValueError, match=f"config {message}"):
        load_config(path)


@pytest.mark.parametrize("override", ["temperature=.nan", "kl_beta=.inf", "eval_k=[1.5]", "seed=-1", "lr=nan"])
def test_overrides_are_checked_like_the_file(override):
    with pytest.raises(ValueError, match=override.split("=")[0]):
        load_config("scenarios/quickstart.yaml", [override])


@pytest.mark.parametrize("name", FLOAT_FIELDS)
@pytest.mark.parametrize("value", [float("nan"), float("inf"), float("-inf")])
def test_no_float_field_takes_a_non_finite_value(name, value):
    with pytest.raises(ValueError, match=f"config {name} expects a finite float"):
        load_config({name: value})
    with pytest.raises(ValueError, match=f"config {name} expects a finite float"):
        TrainConfig(**{name: value}).validate()  # built in code, not from YAML: the same check


@pytest.mark.parametrize("name", INT_FIELDS + FLOAT_FIELDS)
def test_no_number_field_takes_a_bool(name):
    with pytest.raises(ValueError, match=rf"config {name} expects .*got True \(bool\)"):
        load_config({name: True})


@given(st.dictionaries(st.sampled_from(INT_FIELDS + FLOAT_FIELDS),
                       st.one_of(st.integers(-10**6, 10**6), st.floats(allow_nan=True, allow_infinity=True)),
                       min_size=1, max_size=4))
@settings(max_examples=300, deadline=None)
def test_any_numbers_give_a_valid_config_or_a_clear_error(values):
    # whatever numbers come, the config is either valid in every domain or refused naming a field
    try:
        config = load_config(values)
    except ValueError as error:
        assert str(error).startswith("config ") and any(name in str(error) for name in _FIELD_NAMES), error
        return
    for name in FLOAT_FIELDS:
        value = getattr(config, name)
        assert value is None or math.isfinite(value), name
    assert config.temperature > 0 and 0 < config.top_p <= 1 and config.seed >= 0 and config.lr > 0


def test_every_numeric_field_has_a_documented_range():
    # a new number field must say its domain (DOMAINS), or an out-of-range value goes unchecked
    numeric = {name for name in INT_FIELDS + FLOAT_FIELDS}
    assert numeric <= set(DOMAINS), sorted(numeric - set(DOMAINS))
