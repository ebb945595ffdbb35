"""`rlvr eval` against a server: extra request fields (`--extra-body`, bounded JSON objects only) and
the warning for servers whose samples of a problem all come back identical."""

from __future__ import annotations

import itertools
import json
import warnings

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

import rlvr
from rlvr.cli import main
from rlvr.training.evaluation_run import MAX_EXTRA_BODY_CHARS, MAX_EXTRA_BODY_DEPTH, parse_extra_body
from tests.agents.stub_openai_server import StubOpenAIServer, solve_arithmetic

# ---- parsing --extra-body ----

_SCALARS = st.none() | st.booleans() | st.integers(-(10**12), 10**12) | st.floats(allow_nan=False,
                                                                                   allow_infinity=False) | st.text()
_VALUES = st.recursive(_SCALARS, lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner,
                                                                                               max_size=3),
                       max_leaves=12)


@given(st.dictionaries(st.text(), _VALUES, max_size=4))
def test_any_bounded_json_object_reads_back_as_itself(body):
    assert parse_extra_body(json.dumps(body)) == body


@given(_SCALARS | st.lists(_VALUES, max_size=3))
def test_anything_but_an_object_is_refused(value):
    with pytest.raises(ValueError, match="expects a JSON object"):
        parse_extra_body(json.dumps(value))


@given(st.text(max_size=200))
def test_any_text_gives_an_object_or_a_clear_error(text):
    try:
        assert isinstance(parse_extra_body(text), dict)
    except ValueError as error:
        assert str(error).startswith("--extra-body expects")


def _nested(depth: int) -> str:
    return '{"a": ' * depth + "1" + "}" * depth


@pytest.mark.parametrize(
    "text, words",
    [
        ('{"top_k": NaN}', "NaN is not a JSON number"),
        ('{"top_k": -Infinity}', "-Infinity is not a JSON number"),
        ('{"top_k": ' + "9" * 5000 + "}", "expects a JSON object"),  # past Python's integer digit limit
        ('{"a": 1} trailing', "expects a JSON object"),
        ("", "expects a JSON object"),
        (_nested(MAX_EXTRA_BODY_DEPTH + 1), f"at most {MAX_EXTRA_BODY_DEPTH} levels"),
        ("[" * 5000 + "]" * 5000, f"at most {MAX_EXTRA_BODY_DEPTH} levels"),  # past the parser's recursion limit
        ('{"pad": "' + "x" * MAX_EXTRA_BODY_CHARS + '"}', f"at most {MAX_EXTRA_BODY_CHARS:,} characters"),
    ],
)
def test_bad_extra_bodies_are_refused_with_the_reason(text, words):
    with pytest.raises(ValueError, match="--extra-body expects") as error:
        parse_extra_body(text)
    assert words in str(error.value)


def test_the_bounds_are_inclusive():
    assert parse_extra_body(_nested(MAX_EXTRA_BODY_DEPTH)) is not None
    padding = MAX_EXTRA_BODY_CHARS - len('{"pad": ""}')
    assert parse_extra_body('{"pad": "' + "x" * padding + '"}')["pad"] == "x" * padding


# ---- against a server ----

@pytest.fixture
def run_evaluation():
    """`run_evaluation`, whose config reader imports torch even for a server (the parsing above does not)."""
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    from rlvr.training.evaluation_run import run_evaluation

    return run_evaluation


EVAL = ["eval", "--env", "rlvr/RandomCalc-v0", "--model", "stub", "--problems", "4", "--set", "num_ops=1"]


def test_extra_fields_reach_every_request(run_evaluation, capsys):
    with StubOpenAIServer() as server:
        code = main([*EVAL, "--base-url", server.url, "--samples", "2",
                     "--extra-body", '{"top_k": 20, "chat_template_kwargs": {"enable_thinking": false}}'])
        bodies = [request.body for request in server.requests]
    assert code == 0, capsys.readouterr().err
    assert len(bodies) == 8  # 4 greedy requests, 4 sampled ones
    assert all(body["top_k"] == 20 and body["chat_template_kwargs"] == {"enable_thinking": False} for body in bodies)
    # the fields rlvr sets keep their values: greedy at temperature 0, samples at the default 1.0
    assert sorted(body["temperature"] for body in bodies) == [0.0] * 4 + [1.0] * 4


@pytest.mark.parametrize("field", ["temperature", "n", "messages", "seed", "max_tokens", "stream"])
def test_extra_fields_may_not_replace_what_rlvr_sets(field, run_evaluation, capsys):
    with StubOpenAIServer() as server:
        code = main([*EVAL, "--base-url", server.url, "--extra-body", json.dumps({field: 1})])
        sent = len(server.requests)
    assert code == 2 and sent == 0
    assert f"may not set ['{field}']" in capsys.readouterr().err


def test_extra_fields_need_a_server(run_evaluation, capsys):
    assert main([*EVAL[:4], "tiny", *EVAL[5:], "--extra-body", '{"top_k": 20}']) == 2
    assert "goes with --base-url" in capsys.readouterr().err


def test_identical_samples_in_most_groups_warn(run_evaluation, capsys):
    with StubOpenAIServer() as server:  # answers every request the same: n copies of one text
        assert main([*EVAL, "--base-url", server.url, "--samples", "3"]) == 0
    captured = capsys.readouterr()
    assert yaml.safe_load(captured.out)["identical_sample_groups"] == 1
    warning = [line for line in captured.err.splitlines() if line.startswith("rlvr: warning:")]
    assert len(warning) == 1 and "100% of the problems got 3 identical samples at temperature 1" in warning[0]


def test_varied_samples_and_greedy_sampling_do_not_warn(run_evaluation):
    from rlvr.training.evaluate import evaluate_server

    counter = itertools.count()

    def varied(prompt: str) -> str:  # a new text per request
        return solve_arithmetic(prompt) + f" (draft {next(counter)})"

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # any warning fails the test
        with StubOpenAIServer(answer=varied, max_n=1) as server:  # one choice a request: each sample is new
            metrics = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=4,
                                     samples=3, difficulty={"num_ops": 1})
        with StubOpenAIServer() as server:  # `rlvr eval` samples above 0; the library may ask for 0
            task = rlvr.entry("rlvr/RandomCalc-v0").card.task()
            problems = [task.problem_at(0, i, {"num_ops": 1}) for i in range(4)]
            greedy = evaluate_server(server.url, "stub", task, problems, num_samples=3, temperature=0.0)
    assert metrics["identical_sample_groups"] == 0 and metrics["pass@1"] == 1
    assert greedy["identical_sample_groups"] == 1  # expected at temperature 0: no warning


def test_one_sample_per_problem_has_no_group_to_judge(run_evaluation):
    with StubOpenAIServer() as server:
        metrics = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=2,
                                 samples=1, difficulty={"num_ops": 1})
    assert "identical_sample_groups" not in metrics
