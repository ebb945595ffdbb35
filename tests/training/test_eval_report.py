"""`rlvr eval`'s output folder and report.html, and the multi-turn samples of a training run: real
evaluations (a stub server over a difficulty sweep, a tiny multi-turn run) parsed back, a command
that repeats the evaluation exactly, and hostile folders."""

from __future__ import annotations

import json
import re
import shlex

import pytest
import yaml

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.cli import main  # noqa: E402
from rlvr.training.eval_report import build_eval_report, default_out  # noqa: E402
from rlvr.training.metrics import wilson_interval  # noqa: E402
from rlvr.training.report import REPORT_FILE  # noqa: E402
from rlvr.training.run_files import FIELD_LIMIT, MAX_TURNS  # noqa: E402
from tests.agents.stub_openai_server import StubOpenAIServer  # noqa: E402
from tests.training.conftest import right_on_one_operation  # noqa: E402
from tests.training.test_report import Page, assert_self_contained  # noqa: E402


def samples_of(folder):
    return [json.loads(line) for line in (folder / "samples.jsonl").read_text().splitlines()]


def test_rlvr_eval_writes_results_samples_and_a_report(eval_folder):
    results = json.loads((eval_folder / "results.json").read_text())
    assert results["greedy_accuracy"] == 0.5 and results["num_problems"] == 12
    # every problem of both levels is under the 32 samples kept: each with the verifier's verdict
    samples = samples_of(eval_folder)
    assert len(samples) == 12
    assert [s["correct"] for s in samples] == [s["difficulty"]["num_ops"] == 1 for s in samples]
    assert all(s["reason"] for s in samples if not s["correct"])
    page = (eval_folder / REPORT_FILE).read_text()
    parsed = Page(page)
    # the server's address is shown as text; nothing links to it or loads from it
    assert_self_contained(page.replace(results["source"].split()[0], ""), parsed)
    assert not [value for _, value in parsed.attributes if "http" in value]
    assert "could not be built" not in page and not parsed.notes
    assert [chart["label"] for chart in parsed.charts] == ["pass@k"] and parsed.charts[0]["data"] > 0
    low, high = wilson_interval(6, 12)
    assert f"0.500 [{low:.3f}, {high:.3f}]" in page
    low, high = wilson_interval(6, 6)
    # the stub server is right on every one-operation problem and wrong on the others, sampled too
    assert f"<td>num_ops=1</td><td>6</td><td>1.000 [{low:.3f}, {high:.3f}]</td><td>1</td>" in page
    assert results["by_difficulty"]["num_ops=2"]["pass@1"] == 0.0
    assert [row["verdict"] for row in parsed.rows] == ["correct" if s["correct"] else "incorrect" for s in samples]
    for level in ("num_ops=1", "num_ops=2"):  # a difficulty filter, one button per level
        assert f'data-group="difficulty" data-filter="{level}"' in page
        assert page.count(f'data-difficulty="{level}"') == 6
    assert [row["cells"][8] for row in parsed.rows] == [s["reason"] or "" for s in samples]


def test_the_recorded_command_repeats_the_evaluation(eval_folder, tmp_path, capsys):
    results = json.loads((eval_folder / "results.json").read_text())
    argv = shlex.split(results["command"])
    assert argv[:2] == ["rlvr", "eval"] and argv[argv.index("--out") + 1] == str(eval_folder)
    argv[argv.index("--out") + 1] = str(tmp_path / "again")
    url = argv[argv.index("--base-url") + 1]
    with StubOpenAIServer(answer=right_on_one_operation) as server:  # a new server at a new port
        argv[argv.index("--base-url") + 1] = server.url
        assert main(argv[1:]) == 0
    again = json.loads((tmp_path / "again" / "results.json").read_text())
    drop = ("command", "source")
    assert {k: v for k, v in again.items() if k not in drop} == {k: v for k, v in results.items() if k not in drop}
    assert url in results["source"]
    assert samples_of(tmp_path / "again") == samples_of(eval_folder)
    printed = capsys.readouterr()
    assert "report: " in printed.err and "report: " not in printed.out  # stdout stays the metrics' YAML
    metrics = yaml.safe_load(printed.out)
    assert metrics["greedy_accuracy"] == 0.5
    # numbers printed to 4 significant digits at most, never a raw float32
    assert not re.search(r"\d\.\d{5,}", printed.out)


def test_a_run_folder_is_evaluated_into_run_eval_by_default(tmp_path):
    assert default_out(str(tmp_path / "run")) == tmp_path / "run" / "eval"
    assert default_out(None).parts[-2:] == ("runs", "eval")


def test_a_hostile_eval_folder_gives_an_escaped_bounded_report(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps({
        "source": "<script>alert(1)</script>", "env_id": "<b>env</b>", "greedy_accuracy": 2.0, "num_problems": -1,
        "pass@1": "<img src=x>", "by_difficulty": {"<i>x</i>": "junk", "ok": {"problems": 2, "greedy_accuracy": 0.5}},
        "across_seeds": {"pass@1": {"mean": "<b>", "std": 1e400}}, "across_paraphrases": [1, 2],
        "command": "rlvr eval </pre><script>alert(2)</script>", "k": [1, {"a": "<b>"}],
    }))
    turns = [{"role": "<b>env</b>", "text": "<script>alert(3)</script>", "reward": "x"}] * (MAX_TURNS + 30)
    samples = [{"index": 0, "prompt": "p", "turns": turns, "correct": True, "difficulty": {"n": [1, {"<i>": 2}]}},
               {"index": 1, "prompt": "q", "turns": "not a list", "correct": False, "difficulty": {"n": 2}},
               {"index": 2, "response": "z" * (3 * FIELD_LIMIT), "turns": [{"role": "env", "text": 5}] * 3,
                "difficulty": "junk"}]
    (tmp_path / "samples.jsonl").write_text("\n".join(map(json.dumps, samples)))
    page = build_eval_report(tmp_path)
    parsed = Page(page)
    assert_self_contained(page, parsed)
    assert "<script>alert" not in page and "<b>" not in page and "<img" not in page and "<i>" not in page
    assert "could not be built" not in page
    assert "environment.json: missing" in page
    assert page.count('class="turn policy"') == MAX_TURNS  # a role that is not "env" is the policy's
    assert page.count('class="turn env"') == 3 and len(parsed.rows) == 3
    assert 'data-group="difficulty"' in page  # three different levels, one of them no difficulty at all


def test_multi_turn_runs_save_greedy_episodes_turn_by_turn(multiturn_run):
    out, summary = multiturn_run
    samples = samples_of(out)
    assert len(samples) == 6  # every held-out problem (under the 32 kept)
    for sample in samples:
        roles = [turn["role"] for turn in sample["turns"]]
        # the policy acts first and last; the env's reply sits between two actions
        assert roles[0] == roles[-1] == "policy" and all(a != b for a, b in zip(roles, roles[1:], strict=False))
        actions = [turn for turn in sample["turns"] if turn["role"] == "policy"]
        assert len(actions) == sample["turns_taken"] <= 2
        assert sample["reward"] == pytest.approx(sum(turn["reward"] for turn in actions))
        assert sample["correct"] == (sample["components"]["correct"] == 1.0)
        assert sample["correct"] or sample["reason"]
    # greedy episodes with the final weights: the final evaluation's greedy figures
    assert sum(s["correct"] for s in samples) / len(samples) == summary["final"]["greedy_accuracy"]
    assert sum(s["turns_taken"] for s in samples) / len(samples) == pytest.approx(summary["final"]["mean_turns"])
    assert "could not be built" not in (out / REPORT_FILE).read_text()


def test_the_report_shows_each_turn_with_the_env_replies_marked(scripted_multiturn_run):
    samples = samples_of(scripted_multiturn_run)
    # three numbers: two steps, the env's "(left: ...)" reply between them; correct when the target is the sum
    assert [[turn["role"] for turn in s["turns"]] for s in samples] == [["policy", "env", "policy"]] * 6
    assert 0 < sum(s["correct"] for s in samples) < 6
    page = (scripted_multiturn_run / REPORT_FILE).read_text()
    parsed = Page(page)
    assert "could not be built" not in page and len(parsed.rows) == 6
    assert page.count('class="turn env"') == page.count(">env reply<") == 6
    assert page.count('class="turn policy"') == 12 and page.count("policy, turn 2 · reward") == 6
    assert "transcript (policy turns, env replies marked)" in page
    for sample, row in zip(samples, parsed.rows, strict=True):
        assert row["verdict"] == ("correct" if sample["correct"] else "incorrect")
        first, reply, last = (turn["text"] for turn in sample["turns"])
        assert row["cells"][3] == (f"policy, turn 1 · reward 0\n{first}env reply\n{reply}"
                                   f"policy, turn 2 · reward {sample['turns'][2]['reward']:g}\n{last}")


def test_rlvr_eval_of_a_multi_turn_run_writes_its_episodes(multiturn_run, tmp_path):
    out, summary = multiturn_run
    assert main(["eval", "--run", str(out), "--samples", "0", "--out", str(tmp_path / "eval")]) == 0
    assert samples_of(tmp_path / "eval") == samples_of(out)  # the same greedy episodes of the same weights
    assert ">env reply<" in (tmp_path / "eval" / REPORT_FILE).read_text() or not any(
        turn["role"] == "env" for s in samples_of(out) for turn in s["turns"])



def test_rlvr_report_rebuilds_an_eval_folders_own_report(eval_folder, tmp_path):
    import shutil

    copy = tmp_path / "copy"
    shutil.copytree(eval_folder, copy)
    (copy / REPORT_FILE).unlink()
    assert main(["report", str(copy)]) == 0
    page = (copy / REPORT_FILE).read_text()
    assert "Evaluation report: rlvr/RandomCalc-v0" in page and 'data-group="difficulty"' in page
    # a compare or debate run's results.json names no `rlvr eval` command: the run report, as before
    (copy / "results.json").write_text(json.dumps({"scenario": "x.yaml", "command": "rlvr run x"}))
    assert main(["report", str(copy)]) == 0
    assert "Run report: copy" in (copy / REPORT_FILE).read_text()


def test_multi_turn_evaluations_over_seeds_show_a_bar_when_asked(multiturn_run, capsys):
    from rlvr.training.evaluation_run import run_evaluation

    out, _ = multiturn_run
    quiet = run_evaluation(run=str(out), samples=2, sampling_seeds=[0, 1], progress=None)
    assert "episode evaluations" not in capsys.readouterr().err  # stderr is no terminal here
    shown = run_evaluation(run=str(out), samples=2, sampling_seeds=[0, 1], progress=True)
    assert "2/2" in capsys.readouterr().err and shown == quiet
