"""TrainConfig loading: YAML files, key=value overrides, and errors that say what was expected."""

from __future__ import annotations

import dataclasses

import pytest

from rlvr.training.config import TrainConfig, load_config, parse_override


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
