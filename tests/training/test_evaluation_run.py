"""`rlvr eval`: a run folder evaluates to what training measured, with the run's own evaluation
settings by default; sampling seeds and difficulty sweeps; a server through the HTTP agent."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.evaluation_run import run_evaluation  # noqa: E402
from rlvr.training.metrics import rounded  # noqa: E402
from rlvr.training.trainer import Trainer  # noqa: E402
from tests.agents.stub_openai_server import StubOpenAIServer, answer_wrong, solve_arithmetic  # noqa: E402
from tests.training.test_trainer import small_config  # noqa: E402


def test_a_run_folder_evaluates_to_the_trainers_final_figures(tmp_path, capsys):
    run = tmp_path / "run"
    Trainer(small_config(run, "sft_steps=40", "rl_steps=2", "eval_every=0", "eval_problems=32")).train()
    final = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert final["eval"] == "final"
    assert main(["eval", "--run", str(run), "--problems", "32", "--samples", "4", "--k", "1", "4"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    # same problems, same weights, same sampling seed: the same numbers, printed to 4 significant digits
    for key in ("greedy_accuracy", "pass@1", "pass@4", "maj@4", "mean_length", "semantic_entropy",
                "distinct_1"):
        assert printed[key] == rounded(final[key]), key
    assert "step 2" in printed["source"] and printed["problems"] == 32


def test_a_server_is_scored_by_the_task():
    difficulty = {"num_ops": 1, "operators": ["+"]}
    with StubOpenAIServer() as server:
        right = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=6,
                               samples=3, ks=[1, 3], difficulty=difficulty)
    with StubOpenAIServer(answer=answer_wrong) as server:
        wrong = run_evaluation(env_id="rlvr/RandomCalc-v0", base_url=server.url, model="stub", problems=6,
                               difficulty=difficulty)
    assert right["greedy_accuracy"] == 1.0 and right["pass@3"] == 1.0 and right["distinct_correct"] == 1.0
    assert wrong["greedy_accuracy"] == 0.0 and "pass@1" not in wrong


def test_missing_sources_are_clear_errors(tmp_path, capsys):
    assert main(["eval", "--env", "rlvr/RandomCalc-v0"]) == 2
    assert "--run DIR" in capsys.readouterr().err
    assert main(["eval", "--run", str(tmp_path)]) == 2
    assert "no config.yaml" in capsys.readouterr().err


def test_a_run_is_evaluated_with_its_own_settings_unless_flags_override_them(tmp_path, capsys):
    run = tmp_path / "run"
    settings = ["eval_problems=12", "eval_samples=3", "eval_k=[1, 3]", "temperature=0.7", "max_new_tokens=5",
                "eval_split=heldout"]
    Trainer(small_config(run, "sft_steps=30", "rl_steps=1", "eval_every=0", *settings)).train()
    final = [json.loads(line) for line in (run / "metrics.jsonl").read_text().splitlines()][-1]
    assert main(["eval", "--run", str(run)]) == 0  # no flags: the run's settings
    printed = yaml.safe_load(capsys.readouterr().out)
    assert (printed["problems"], printed["samples"], printed["k"]) == (12, 3, [1, 3])
    assert (printed["temperature"], printed["max_new_tokens"], printed["split"]) == (0.7, 5, "heldout")
    for key in ("greedy_accuracy", "pass@1", "pass@3", "maj@3", "distinct_correct", "semantic_entropy",
                "distinct_1", "sample_mean_length"):
        assert printed[key] == rounded(final[key]), key
    # flags override; a --samples below the run's k keeps the k that fit
    assert main(["eval", "--run", str(run), "--problems", "5", "--samples", "2", "--temperature", "1.5",
                 "--split", "test"]) == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert (printed["problems"], printed["samples"], printed["k"], printed["temperature"]) == (5, 2, [1], 1.5)
    assert printed["split"] == "test"
    assert "pass@3" not in printed


def test_sampling_seeds_give_the_mean_and_spread_of_single_seed_evaluations(tmp_path):
    run = tmp_path / "run"
    Trainer(small_config(run, "sft_steps=20", "rl_steps=1", "eval_every=0", "eval_problems=8")).train()
    single = [run_evaluation(run=str(run), sampling_seeds=[s]) for s in (0, 1, 2)]
    combined = run_evaluation(run=str(run), sampling_seeds=[0, 1, 2])
    assert combined["sampling_seeds"] == [0, 1, 2]
    assert combined["greedy_accuracy"] == single[0]["greedy_accuracy"]  # greedy: measured once
    for key in ("pass@1", "pass@4", "semantic_entropy", "distinct_1", "sample_mean_length"):
        values = [result[key] for result in single]
        assert combined[key] == pytest.approx(sum(values) / 3), key
        spread = combined["across_seeds"][key]
        assert (spread["min"], spread["max"]) == (min(values), max(values)), key
    # the seeds sample differently (else the spread would say nothing)
    assert len({result["sample_mean_length"] for result in single}) > 1
    with pytest.raises(ValueError, match="--samples 0"):
        run_evaluation(run=str(run), samples=0, sampling_seeds=[0, 1])


def _one_op_only(prompt: str) -> str:
    """Right on one-operation expressions, one off on longer ones."""
    line = next((line for line in prompt.splitlines() if any(op in line for op in "+-*/")), "")
    return solve_arithmetic(prompt, error=0 if sum(line.count(op) for op in "+-*/") == 1 else 1)


def test_a_sweep_breaks_the_solve_rate_down_by_level(capsys):
    with StubOpenAIServer(answer=_one_op_only) as server:
        code = main(["eval", "--env", "rlvr/RandomCalc-v0", "--base-url", server.url, "--model", "stub",
                     "--problems", "4", "--samples", "3", "--k", "1", "3", "--set", "operators=[+]",
                     "--set", "min_operand=1", "--sweep", "num_ops=[1, 2]", "--sampling-seeds", "0", "1"])
    assert code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["problems"] == 8 and printed["greedy_accuracy"] == 0.5
    # each level's sampled figures beside its greedy rate (the mean over the two sampling seeds)
    right = {"sample_accuracy": 1, "pass@1": 1, "pass@3": 1}
    assert printed["by_difficulty"] == {
        "num_ops=1": {"problems": 4, "solved": 4, "greedy_accuracy": 1, **right},
        "num_ops=2": {"problems": 4, "solved": 0, "greedy_accuracy": 0, **{name: 0 for name in right}}}
    # the stub answers the same each time: one answer class, no spread over seeds;
    # "The value is \\boxed{v}." three times: 4 of 12 words and 3 of 9 word pairs distinct
    assert printed["semantic_entropy"] == 0 and printed["across_seeds"]["pass@1"]["std"] == 0
    assert printed["distinct_1"] == rounded(1 / 3) and printed["distinct_2"] == rounded(1 / 3)


def test_paraphrased_prompts_give_the_mean_and_spread_over_wordings(capsys):
    # the stub answers an expression standing on a line of its own, and nothing else: the second
    # wording hides it inside "... = ?", so the same problems score 1.0 and 0.0
    templates = ["{question}\n\nPut the value in \\boxed{{}}.", "{question} = ?"]
    with StubOpenAIServer() as server:
        code = main(["eval", "--env", "rlvr/RandomCalc-v0", "--base-url", server.url, "--model", "stub",
                     "--problems", "5", "--samples", "2", "--set", "num_ops=1", "--set", "operators=[+]",
                     "--paraphrase", templates[0], "--paraphrase", templates[1]])
        prompts = [request.body["messages"][-1]["content"] for request in server.requests]
    assert code == 0
    printed = yaml.safe_load(capsys.readouterr().out)
    assert printed["prompt_templates"] == templates and printed["problems"] == 5
    assert printed["greedy_accuracy"] == 0.5 and printed["pass@1"] == 0.5
    spread = printed["across_paraphrases"]["greedy_accuracy"]
    assert spread == {"mean": 0.5, "std": rounded(0.5**0.5), "min": 0.0, "max": 1.0}
    # the same five problems under each wording
    questions = {prompt.removesuffix(" = ?").split("\n\nPut the value")[0] for prompt in prompts}
    assert len(questions) == 5 and sum(prompt.endswith(" = ?") for prompt in prompts) == len(prompts) / 2
    assert main(["eval", "--env", "rlvr/RandomCalc-v0", "--model", "tiny", "--paraphrase", templates[0]]) == 2
    assert "two or more different prompt templates" in capsys.readouterr().err

