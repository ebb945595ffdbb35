"""`experiment: compare`: arms share one warm-up per seed; results, table and plots are written."""

from __future__ import annotations

import json

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.compare import load_scenario  # noqa: E402
from rlvr.training.compare_claims import decide  # noqa: E402

BASE = {
    "env_id": "rlvr/MathTree-v0", "prompt_template": "{numbers}>{target}=",
    "difficulty": {"mode": "countdown", "number_count": 2, "operators": "+*", "parentheses": False, "horizon": 6},
    "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
    "sft_steps": 3, "rl_steps": 2, "prompts_per_step": 2, "group_size": 4, "max_new_tokens": 5,
    "eval_problems": 8, "eval_samples": 4, "eval_k": [1, 2, 4], "eval_every": 1, "progress": False,
    "plots": False, "tensorboard": False, "device": "cpu",
}


def test_arms_start_from_one_warmup_and_report_per_seed(tmp_path, capsys):
    scenario = tmp_path / "compare.yaml"
    scenario.write_text(yaml.safe_dump({
        "experiment": "compare", "seeds": [0, 1], "base": BASE,
        "arms": {"grpo": {}, "rover": {"loss": "rover", "advantage": "dr_grpo", "updates_per_batch": 2}},
        "warmup_bar": {"metric": "pass@4", "at_least": 0.0},
        "hypotheses": [{"arm": "rover", "than": "grpo", "metric": "pass@1", "expect": "lower", "claim": "c1"}],
    }))
    out = tmp_path / "out"
    assert main(["run", str(scenario), "--out", str(out)]) == 0
    report = json.loads((out / "results.json").read_text())
    # the claims are decided from the runs' own numbers: each seed cleared a bar of 0, and the
    # hypothesis's outcome is the one its paired differences give
    assert [entry["held"] for entry in report["warmup_bar"]["seeds"].values()] == [True, True]
    differences = [report["per_seed"]["rover"][seed]["final"]["pass@1"] - report["per_seed"]["grpo"][seed]["final"]["pass@1"]
                   for seed in ("0", "1")]
    [hypothesis] = report["hypotheses"]
    assert hypothesis["outcome"] == decide("lower", differences)[0] and hypothesis["seeds"] == 2
    assert f"hypothesis {hypothesis['outcome'].upper()}: c1" in capsys.readouterr().out
    assert "Warm-up bar: pass@4 >= 0 after SFT" in (out / "summary.md").read_text()
    for seed in ("0", "1"):
        grpo, rover = report["per_seed"]["grpo"][seed], report["per_seed"]["rover"][seed]
        assert grpo["after_sft"] == rover["after_sft"]  # the same warm-up checkpoint
        assert {"pass@4", "distinct_correct"} <= set(rover["final"])
        steps = [json.loads(line) for line in (out / f"seed{seed}" / "rover" / "metrics.jsonl").read_text().splitlines()]
        assert [line["step"] for line in steps if "eval" not in line] == [1, 2]
    # different seeds warm up differently
    assert report["per_seed"]["grpo"]["0"]["after_sft"] != report["per_seed"]["grpo"]["1"]["after_sft"]
    table = (out / "summary.md").read_text()
    assert "| rover |" in table and "| after SFT |" in table and "pass@4" in table
    assert {"pass_at_k.png", "heldout_accuracy.png"} <= {p.name for p in out.glob("*.png")}


def test_a_bad_arm_fails_before_any_work(tmp_path):
    scenario = tmp_path / "bad.yaml"
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": BASE, "arms": {"x": {"los": "rover"}}}))
    with pytest.raises(ValueError, match="did you mean"):
        load_scenario(scenario)
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": BASE, "arms": {}}))
    with pytest.raises(ValueError, match="arms"):
        load_scenario(scenario)


def test_the_table_holds_the_diversity_figures_and_solve_rates_per_level():
    from rlvr.training.compare_tables import mean_over_seeds, summary_table

    def run(seed: int, entropy: float, two_words: bool) -> dict:
        final = {"greedy_accuracy": 0.5, "pass@1": 0.25, "pass@4": 0.75, "maj@4": 0.5, "distinct_correct": 1.5,
                 "semantic_entropy": entropy, "distinct_1": 0.4, "mean_length": 6.0,
                 "by_difficulty": {"num_ops=1": {"problems": 4, "greedy_accuracy": 1.0 - seed / 4, "pass@1": 0.5,
                                                 "pass@4": 0.75},
                                   "num_ops=2": {"problems": 4, "greedy_accuracy": seed / 4, "pass@1": seed / 8,
                                                 "pass@4": 0.5}}}
        if two_words:
            final["distinct_2"] = 0.9
        return {"after_sft": final, "final": final}

    per_seed = {0: run(0, 0.2, True), 1: run(1, 0.4, False)}  # distinct-2 from one seed only
    mean = mean_over_seeds(per_seed)["final"]
    assert mean["semantic_entropy"] == pytest.approx(0.3) and mean["solve_rate[num_ops=2]"] == pytest.approx(0.125)
    assert "distinct_2" not in mean  # no mean over seeds that lack it
    table = summary_table({"seeds": [0, 1], "mean": {"grpo": {"after_sft": mean, "final": mean}}})
    head = table.splitlines()[2]
    for column in ("maj@4", "distinct_correct", "semantic_entropy", "distinct_1", "solve_rate[num_ops=1]",
                   "solve_rate[num_ops=2]", "pass@1[num_ops=1]", "pass@1[num_ops=2]"):
        assert f" {column} " in head, column
    assert "pass@4[" not in head  # per level pass@1 alone: the wider k stay over all problems
    assert mean["pass@1[num_ops=2]"] == pytest.approx(1 / 16)
    assert "| grpo | 0.500 ± 0.000 |" in table and "0.300 ± 0.100" in table  # entropy: mean ± standard error
    # the plots read the k of pass@k over all problems only, with levels beside them
    from rlvr.training.compare_plots import pass_at_k_keys
    from rlvr.training.compare_tables import paired_differences

    assert pass_at_k_keys(mean) == [1, 4]
    paired = paired_differences({"grpo": per_seed, "other": per_seed})["other"]
    assert paired["pass@1[num_ops=2]"]["mean"] == 0.0 and "solve_rate[num_ops=1]" in paired


def test_no_progress_turns_every_runs_bars_off(tmp_path, monkeypatch):
    from rlvr.training import compare

    seen = []

    class Recorder:
        def __init__(self, config):
            seen.append(config.progress)

        def train(self):
            raise SystemExit  # the configs are what this test is about

    monkeypatch.setattr("rlvr.training.trainer.Trainer", Recorder)
    scenario = tmp_path / "compare.yaml"
    scenario.write_text(yaml.safe_dump({"experiment": "compare", "base": {**BASE, "progress": True},
                                        "arms": {"grpo": {}}}))
    for progress, expected in ((False, False), (None, False), (True, True)):  # None: pytest's stderr is no terminal
        with pytest.raises(SystemExit):
            compare.run_scenario(scenario, tmp_path / "out", progress=progress)
        assert seen.pop() is expected


def _scenario(path, arms, **base):
    path.write_text(yaml.safe_dump({"experiment": "compare", "seeds": [0], "base": {**BASE, **base}, "arms": arms}))
    return path


def test_an_interrupted_run_resumes_the_unfinished_arm_and_redoes_nothing(tmp_path, monkeypatch):
    from rlvr.training import compare
    from rlvr.training.sampled_entropy import ENTROPY_KEY
    from rlvr.training.trainer import Trainer

    arms = {"a": {}, "b": {"lr": 1.0e-4}}
    scenario = _scenario(tmp_path / "compare.yaml", arms, rl_steps=4, checkpoint_every=2, eval_every=2)
    out = tmp_path / "out"
    rl_step, load = Trainer.rl_step, Trainer.load_checkpoint

    def killed_in_b(self):
        if self.out_dir.name == "b" and self.step == 3:  # after b's checkpoint at step 2
            raise KeyboardInterrupt
        return rl_step(self)

    monkeypatch.setattr(Trainer, "rl_step", killed_in_b)
    with pytest.raises(KeyboardInterrupt):
        compare.run_scenario(scenario, out)
    assert (out / "seed0" / "a" / compare.DONE_FILE).is_file() and not (out / "seed0" / "b" / compare.DONE_FILE).exists()
    assert set(json.loads((out / "results.json").read_text())["per_seed"]) == {"a"}  # written after a finished

    started = {}  # run folder -> the step its training started from

    def recording_load(self):
        loaded = load(self)
        started[self.out_dir.name] = self.step
        return loaded

    monkeypatch.setattr(Trainer, "rl_step", rl_step)
    monkeypatch.setattr(Trainer, "load_checkpoint", recording_load)
    report = compare.run_scenario(scenario, out)
    assert started == {"b": 2}  # neither the warm-up nor arm a trained again; b went on from its checkpoint
    assert set(report["per_seed"]) == {"a", "b"}
    steps = [json.loads(line) for line in (out / "seed0" / "b" / "metrics.jsonl").read_text().splitlines()]
    assert [s["step"] for s in steps if "eval" not in s] == [1, 2, 3, 4]  # the lost step 3 redone once
    assert all(s[ENTROPY_KEY] > 0 for s in steps if "eval" not in s)

    assert "train_entropy" in report["mean"]["b"]["final"] and (out / "entropy.png").is_file()
    assert json.loads((out / "environment.json").read_text())["packages"]["torch"]

    # appending an arm runs that arm only; changing what a finished run measured is refused
    started.clear()
    compare.run_scenario(_scenario(scenario, {**arms, "c": {"lr": 2.0e-4}}, rl_steps=4, checkpoint_every=2,
                                   eval_every=2), out)
    assert started == {"c": 0} and set(json.loads((out / "results.json").read_text())["per_seed"]) == {"a", "b", "c"}
    with pytest.raises(ValueError, match="differing keys: rl_steps"):
        compare.run_scenario(_scenario(scenario, arms, rl_steps=5, checkpoint_every=2, eval_every=2), out)


def test_curves_average_over_seeds_then_over_blocks_of_steps():
    from rlvr.training.compare_plots import _mean_curve

    per_seed = {0: [(1, 1.0), (2, 2.0), (3, 3.0)], 1: [(1, 3.0), (2, 4.0), (3, 5.0)]}
    assert _mean_curve(per_seed) == ([1, 2, 3], [2.0, 3.0, 4.0])
    assert _mean_curve(per_seed, width=2) == ([2, 3], [2.5, 4.0])


def test_the_heldout_curve_leaves_out_the_warm_ups_train_split_checks(tmp_path):
    from rlvr.training.compare import _heldout_curve

    lines = [{"eval": "sft_check", "sft_step": 50, "train_greedy_accuracy": 0.1},
             {"eval": "after_sft", "step": 0, "greedy_accuracy": 0.4}, {"step": 1, "reward_mean": 0.5},
             {"eval": "final", "step": 1, "greedy_accuracy": 0.5}]
    (tmp_path / "metrics.jsonl").write_text("".join(json.dumps(line) + "\n" for line in lines))
    assert _heldout_curve(tmp_path / "metrics.jsonl") == [(0, 0.4), (1, 0.5)]


def test_paired_differences_count_the_seeds_on_each_side():
    from rlvr.training.compare_tables import paired_differences, paired_table

    def final(acc, pass64):
        return {"final": {"greedy_accuracy": acc, "pass@1": acc / 2, "pass@64": pass64}}

    results = {"grpo": {0: final(0.5, 0.9), 1: final(0.4, 0.8), 2: final(0.6, 0.95)},
               "other": {0: final(0.6, 0.92), 1: final(0.5, 0.79), 2: final(0.9, 0.99)}, "unfinished": {}}
    paired = paired_differences(results)
    assert paired["other"]["greedy_accuracy"] == {"mean": pytest.approx(1 / 6), "sem": pytest.approx(0.0666666667),
                                                  "seeds": 3, "above": 3, "below": 0}
    assert (paired["other"]["pass@64"]["above"], paired["other"]["pass@64"]["below"]) == (2, 1)
    assert "unfinished" not in paired  # no seed to pair
    table = paired_table({"per_seed": results, "paired": paired})
    assert "each arm minus grpo" in table and "| other | +0.167 ± 0.067 (3/0) |" in table


def test_a_field_added_to_the_config_since_a_run_finished_keeps_it_comparable():
    from rlvr.training.compare import _changed_keys
    from rlvr.training.config import TrainConfig

    wanted = {"lr": 1e-4, "rl_steps": 4, "generator": None}  # generator: a field the stored run predates
    assert _changed_keys({"lr": 1e-4, "rl_steps": 4}, wanted, TrainConfig) == []
    assert _changed_keys({"lr": 1e-4, "rl_steps": 4}, {**wanted, "generator": "latr"}, TrainConfig) == ["generator"]
    assert _changed_keys({"lr": 1e-4, "rl_steps": 4, "gone": 1}, wanted, TrainConfig) == ["gone"]
    assert _changed_keys({"lr": 2e-4, "rl_steps": 4}, wanted, TrainConfig) == ["lr"]


@pytest.mark.parametrize("text", ["{not json", "[1, 2]", '{"config": 3, "result": {}}', "\udcff"])
def test_a_damaged_record_of_a_finished_run_is_an_error_naming_it(tmp_path, text):
    from rlvr.training.compare import DONE_FILE, _read_done

    path = tmp_path / DONE_FILE
    path.write_bytes(text.encode("utf-8", "surrogateescape"))
    with pytest.raises(ValueError, match=DONE_FILE):
        _read_done(path)
