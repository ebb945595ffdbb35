"""report.html: built from a real tiny run and from damaged or hostile run folders, parsed back with
html.parser (every chart drawn, nothing external, every text escaped), and opened in a real
browser where Debian's chromium, its driver and selenium are installed."""

from __future__ import annotations

import json
import math
import shutil
import tempfile
from html.parser import HTMLParser
from pathlib import Path
from types import SimpleNamespace

import pytest
import torch
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.cli import main
from rlvr.core.svg import MAX_POINTS, Series, line_chart, stacked_bars
from rlvr.training.builders import build_task, heldout_problems
from rlvr.training.config import load_config
from rlvr.training.evaluate import SAMPLE_TEXT_LIMIT, write_samples
from rlvr.training.metrics import wilson_interval
from rlvr.training.report import REPORT_FILE, build_report
from rlvr.training.run_files import FIELD_LIMIT, MAX_SAMPLES
from rlvr.training.trainer import Trainer

TINY = [
    "tiny_hidden_size=32", "tiny_num_layers=1", "tiny_num_heads=2", "tiny_intermediate_size=64",
    "max_new_tokens=4", "prompts_per_step=4", "group_size=4", "eval_problems=16", "eval_samples=4",
    "eval_k=[1, 2, 4]", "eval_every=2", "progress=false", "checkpoint_every=0", "plots=false",
    "tensorboard=false", "sft_steps=4", "sft_check_every=2", "sft_check_problems=8", "rl_steps=3",
]
CHART_TITLES = ("Reward per RL step", "Greedy accuracy", "Held-out pass@k at the evaluations", "Response length",
                "Policy entropy during RL (-mean log p of its samples)", "Time per RL step, by phase", "pass@k")


class Page(HTMLParser):
    """What the tests check in a report: charts and their drawn elements, scripts, links, sample rows."""

    def __init__(self, page: str) -> None:
        super().__init__(convert_charrefs=True)
        self.charts: list[dict] = []  # per <svg>: its aria-label and how many class="data" elements it holds
        self.scripts = 0
        self.attributes: list[tuple[str, str]] = []
        self.rows: list[dict] = []  # per sample row: its verdict and its cells' text
        self.notes = False
        self._svg_depth = 0
        self._in_samples = False
        self._cell: list[str] | None = None
        self.feed(page)
        self.close()

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        self.attributes += [(name, value or "") for name, value in attrs.items()]
        classes = (attrs.get("class") or "").split()
        if tag == "svg":
            self._svg_depth += 1
            self.charts.append({"label": attrs.get("aria-label"), "data": 0})
        elif self._svg_depth and "data" in classes:
            self.charts[-1]["data"] += 1
        if tag == "script":
            self.scripts += 1
        if tag == "div" and "notes" in classes:
            self.notes = True
        if tag == "table" and attrs.get("id") == "samples":
            self._in_samples = True
        if self._in_samples and tag == "tr" and "data-verdict" in attrs:
            self.rows.append({"verdict": attrs["data-verdict"], "cells": []})
        if self._in_samples and tag == "td" and self.rows:
            self._cell = []

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg_depth -= 1
        if tag == "td" and self._cell is not None:
            self.rows[-1]["cells"].append("".join(self._cell))
            self._cell = None
        if tag == "table":
            self._in_samples = False

    def handle_data(self, data):
        if self._cell is not None:
            self._cell.append(data)


def assert_self_contained(page: str, parsed: Page) -> None:
    assert "http:" not in page and "https:" not in page
    assert not [name for name, _ in parsed.attributes if name == "src" or name.startswith("on")]
    assert all(value == "data:," for name, value in parsed.attributes if name == "href")
    assert parsed.scripts == 1  # the page's own filter script, and nothing a run folder smuggled in


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    out = tmp_path_factory.mktemp("run")
    config = load_config("scenarios/quickstart.yaml", [*TINY, f"out_dir={out}"])
    summary = Trainer(config).train()
    return out, summary, config


def test_a_real_run_writes_a_complete_self_contained_report(tiny_run):
    out, summary, _ = tiny_run
    page = (out / REPORT_FILE).read_text()
    parsed = Page(page)
    assert_self_contained(page, parsed)
    assert not parsed.notes, "every file of a finished run is there: nothing should be reported missing"
    assert "could not be built" not in page
    assert [chart["label"] for chart in parsed.charts] == list(CHART_TITLES)
    assert all(chart["data"] > 0 for chart in parsed.charts), parsed.charts
    # the evaluation table: greedy accuracy with its Wilson interval over the held-out problems
    for phase in ("after_sft", "final"):
        record = summary[phase]
        n = int(record["num_problems"])
        low, high = wilson_interval(round(record["greedy_accuracy"] * n), n)
        assert f"{record['greedy_accuracy']:.3f} [{low:.3f}, {high:.3f}]" in page
    assert "rlvr train " in page and "--out" in page and "Python " in page


def test_the_saved_samples_are_the_final_evaluations_greedy_responses(tiny_run):
    out, summary, config = tiny_run
    lines = [json.loads(line) for line in (out / "samples.jsonl").read_text().splitlines()]
    assert len(lines) == config.eval_problems  # 16 held-out problems, under the 32 saved at most
    problems = heldout_problems(build_task(config), config, config.difficulty)
    assert [line["problem_id"] for line in lines] == [p.problem_id for p in problems]
    # the same weights and greedy decoding give the evaluation's responses: the same accuracy
    assert sum(line["correct"] for line in lines) / len(lines) == summary["final"]["greedy_accuracy"]
    rows = Page((out / REPORT_FILE).read_text()).rows
    assert [row["verdict"] for row in rows] == ["correct" if line["correct"] else "incorrect" for line in lines]
    assert [row["cells"][3] for row in rows] == ["\n" + line["response"] for line in lines]


def test_rlvr_report_rebuilds_the_page_from_the_folder(tiny_run, tmp_path, capsys):
    out, _, _ = tiny_run
    copy = tmp_path / "copy"
    shutil.copytree(out, copy)
    (copy / REPORT_FILE).unlink()
    assert main(["report", str(copy)]) == 0
    assert str(copy / REPORT_FILE) in capsys.readouterr().out
    parsed = Page((copy / REPORT_FILE).read_text())
    assert [chart["label"] for chart in parsed.charts] == list(CHART_TITLES)
    assert main(["report", str(tmp_path / "no-such-run")]) == 2
    assert "expected a run folder" in capsys.readouterr().err


def test_the_evaluation_table_shows_diversity_spread_and_levels_when_present(tiny_run, tmp_path):
    out, summary, _ = tiny_run
    page = (out / REPORT_FILE).read_text()  # a real run: sampled evaluations carry the diversity figures
    for name in ("semantic entropy (nats)", "distinct-1"):
        assert f"<th>{name}</th>" in page
    # distinct-2 only where some response had two words
    two_words = any("distinct_2" in summary[phase] for phase in ("after_sft", "final"))
    assert ("<th>distinct-2</th>" in page) == two_words
    assert "Solve rate per difficulty" not in page  # one difficulty: nothing to break down
    final = {"greedy_accuracy": 0.5, "num_problems": 8, "pass@1": 0.4, "semantic_entropy": 0.123456,
             "distinct_1": 0.5, "sampling_seeds": [0, 1],
             "across_seeds": {"pass@1": {"mean": 0.4, "std": 0.0141421, "min": 0.39, "max": 0.41},
                              "semantic_entropy": "<b>not a spread</b>"},
             "by_difficulty": {"num_ops=1": {"problems": 4, "solved": 4, "greedy_accuracy": 1.0},
                               "num_ops=<i>2</i>": {"problems": 4, "solved": 0, "greedy_accuracy": 0.0},
                               "junk": [1, 2]}}
    (tmp_path / "summary.json").write_text(json.dumps({"final": final}))
    page = build_report(tmp_path)
    assert "<td>0.4 ± 0.01414</td>" in page and "<td>0.1235</td>" in page  # 4 significant digits
    assert "<th>distinct-2</th>" not in page  # absent from every evaluation: no column
    low, high = wilson_interval(4, 4)
    assert f"<td>num_ops=1</td><td>4</td><td>1.000 [{low:.3f}, {high:.3f}]</td>" in page
    assert "num_ops=&lt;i&gt;2&lt;/i&gt;" in page and "<i>" not in page and "<b>" not in page
    assert "could not be built" not in page


def hostile_folder(folder: Path) -> None:
    """A run folder written by someone else: damaged lines, wrong types, markup, huge values."""
    steps = [{"step": s, "reward_mean": 0.1 * s, "accuracy": 0.2, "mean_length": 3, "time_total": 1.0,
              "time_sampling": 0.5, "time_fwd_bwd": 0.3} for s in range(1, 6)]
    steps[1]["reward_mean"] = "<script>alert(1)</script>"
    steps[2]["time_sampling"] = -5
    steps[3]["mean_length"] = 10**400
    lines = [json.dumps(record) for record in steps]
    lines.insert(2, '{"step": 3, "rew')  # cut short in the middle: read_metrics refuses the file
    lines.insert(3, "[" * 50_000)  # nested deeper than the parser's recursion limit
    lines.insert(4, "7" * 5000)  # an integer over Python's digit limit
    lines.append(json.dumps({"eval": "final", "step": "x", "greedy_accuracy": 1.5, "pass@</svg><script>": 1}))
    lines.append(json.dumps({"eval": "<b>bold</b>", "step": 2, "greedy_accuracy": 0.5}))
    (folder / "metrics.jsonl").write_text("\n".join(lines) + "\n")
    (folder / "summary.json").write_text(json.dumps({
        "after_sft": "not a record", "steps": "<i>many</i>",
        "final": {"greedy_accuracy": 0.5, "num_problems": 1e300, "pass@1": "<img src=x onerror=alert(1)>",
                  "pass@2": 0.7, "step": 5},
    }))
    samples = [{"index": i, "prompt": "2+2=", "response": str(i), "correct": i % 2 == 0} for i in range(MAX_SAMPLES + 50)]
    samples[0]["response"] = '<script>alert("x")</script>'
    samples[1]["response"] = "y" * 1_000_000
    samples[2]["prompt"] = "</pre></td></tr></table><script>document.body.remove()</script>"
    samples[3] = {"response": "\ud800 lone surrogate \u0000 nul", "components": {"correct": "yes", "<b>": 1},
                  "index": -4, "reward": [1]}
    lines = [json.dumps(sample) for sample in samples]
    lines.insert(5, "[1, 2]")
    (folder / "samples.jsonl").write_text("\n".join(lines))
    (folder / "config.yaml").write_text("model: !!python/object/apply:os.system ['echo hi']\n</pre><script>alert(1)</script>\n")
    (folder / "environment.json").write_text("[not json")


def test_a_hostile_folder_gives_a_partial_escaped_report(tmp_path):
    hostile_folder(tmp_path)
    page = build_report(tmp_path)
    parsed = Page(page)
    assert_self_contained(page, parsed)
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert "<b>" not in page and "<img" not in page
    assert "could not be built" not in page  # every section handled the input rather than failing
    assert parsed.notes
    for what in ("metrics.jsonl: damaged", "3 line(s) skipped", "environment.json: not JSON",
                 "samples.jsonl: 1 line(s) skipped", f"the first {MAX_SAMPLES} are shown"):
        assert what in page, what
    assert all(chart["data"] > 0 for chart in parsed.charts)
    assert len(parsed.rows) == MAX_SAMPLES - 1  # the first MAX_SAMPLES lines, less the one that is no object
    responses = [row["cells"][3] for row in parsed.rows]
    assert responses[0] == '\n<script>alert("x")</script>'
    assert responses[1].startswith("\n" + "y" * FIELD_LIMIT + " … [")
    assert len(responses[1]) < FIELD_LIMIT + 100
    assert "\ufffd nul" in responses[3] and "\x00" not in page
    assert parsed.rows[3]["verdict"] == "unknown"  # "yes" is no number: no verdict to trust
    assert "os.system" in page  # the config is shown as text, never loaded


def test_an_empty_folder_gives_a_report_that_says_what_is_missing(tmp_path):
    assert main(["report", str(tmp_path)]) == 0
    page = (tmp_path / REPORT_FILE).read_text()
    parsed = Page(page)
    assert_self_contained(page, parsed)
    assert parsed.charts == [] and parsed.rows == []
    for name in ("metrics.jsonl", "summary.json", "samples.jsonl", "config.yaml", "environment.json"):
        assert f"{name}: missing" in page
    assert "no reward data" in page and "no evaluation" in page


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet=st.characters(blacklist_categories=("Cs", "Cc")), max_size=300)
       | st.sampled_from(["</pre>", "<!--", "]]>", "</script><script>alert(1)</script>", "&amp;", "{body}"]))
def test_any_response_text_is_shown_exactly_and_runs_nothing(response):
    with tempfile.TemporaryDirectory() as folder:
        record = {"prompt": response, "response": response, "reason": response, "correct": False}
        (Path(folder) / "samples.jsonl").write_text(json.dumps(record) + "\n")
        page = build_report(folder)
    parsed = Page(page)
    assert parsed.scripts == 1
    (row,) = parsed.rows
    assert row["cells"][2] == row["cells"][3] == "\n" + response and row["cells"][8] == response


values = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-(10**30), 10**30),
                   st.none(), st.text(max_size=3), st.booleans())


@settings(max_examples=80, deadline=None)
@given(st.lists(st.tuples(values, values), max_size=40), st.booleans())
def test_charts_of_any_values_are_finite_svg_or_nothing(points, log2_x):
    xs, ys = [p[0] for p in points], [p[1] for p in points]
    for chart in (line_chart([Series("<a>", xs, ys)], title="t", xlabel="x", ylabel="y", marker=(1.0, "m"),
                             log2_x=log2_x),
                  stacked_bars(xs, {"a": ys, "b": list(reversed(ys))}, title="t", xlabel="x", ylabel="y")):
        if chart is not None:
            assert "nan" not in chart.lower() and "inf" not in chart.lower() and "<a>" not in chart
            assert 'class="data"' in chart


def test_long_series_are_thinned_to_a_bounded_chart():
    steps = list(range(100_000))
    chart = line_chart([Series("reward", steps, [math.sin(s / 500) for s in steps])], title="t", xlabel="x", ylabel="y")
    points = chart.split('points="')[1].split('"')[0].split()
    assert len(points) <= MAX_POINTS and len(chart) < 20_000


@given(st.integers(0, 10**6), st.integers(0, 10**6))
def test_wilson_interval_holds_the_rate_inside_zero_one(a, b):
    successes, total = min(a, b), max(a, b)
    low, high = wilson_interval(successes, total)
    rate = successes / total if total else 0.0
    assert 0.0 <= low <= rate <= high <= 1.0
    if total:
        assert high - low > 0  # never a zero-width interval, even at 0% or 100%
    with pytest.raises(ValueError, match="successes <= total"):
        wilson_interval(total + 1, total)


def test_write_samples_keeps_the_first_problems_and_cuts_long_texts(tmp_path):
    config = load_config("scenarios/quickstart.yaml", TINY)
    task = build_task(config)
    problems = heldout_problems(task, config, config.difficulty)[:6]
    answers = [str(p.answer) for p in problems]
    texts = [answers[0], "9" * (SAMPLE_TEXT_LIMIT + 500), "no idea", *answers[3:]]

    def sample(prompts, num_samples, **_):
        assert num_samples == 1 and len(prompts) == 4  # greedy, the first `limit` problems only
        return SimpleNamespace(texts=texts[: len(prompts)], completion_mask=torch.ones(len(prompts), 3))

    policy = SimpleNamespace(model=torch.nn.Linear(1, 1), sample=sample)
    assert write_samples(tmp_path / "samples.jsonl", policy, task, problems, limit=4) == 4
    lines = [json.loads(line) for line in (tmp_path / "samples.jsonl").read_text().splitlines()]
    assert [line["correct"] for line in lines] == [True, False, False, True]
    assert lines[1]["response"].endswith("[500 more characters cut]")
    assert lines[2]["reason"] and lines[2]["reward"] == 0.0
    assert policy.model.training  # the policy's mode is given back


# ---- a real browser ----------------------------------------------------------------------------
def _browser():
    webdriver = pytest.importorskip("selenium.webdriver", reason="selenium is not installed")
    chromium, driver = shutil.which("chromium"), shutil.which("chromedriver")
    if not chromium or not driver:
        pytest.skip("Debian's chromium and chromium-driver are not installed")
    options = webdriver.ChromeOptions()
    options.binary_location = chromium
    for argument in ("--headless=new", "--no-sandbox", "--disable-dev-shm-usage", "--disable-gpu"):
        options.add_argument(argument)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    return webdriver.Chrome(options=options, service=webdriver.ChromeService(executable_path=driver))


def check_in_browser(path: Path, charts: int, clicks: list[tuple[str, str]]) -> None:
    """Open the page: no console error, each of the `charts` charts drew something with an area,
    and each (group, value) filter click shows exactly the rows matching every group's choice."""
    from selenium.webdriver.common.by import By

    browser = _browser()
    try:
        browser.get(path.resolve().as_uri())
        errors = [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"]
        assert errors == []
        # every chart drew something with an area on the screen
        drawn = browser.execute_script(
            "return Array.from(document.querySelectorAll('svg.chart')).map(function (svg) {"
            "  return Array.from(svg.querySelectorAll('.data')).filter(function (el) {"
            "    var box = el.getBBox(); return box.width + box.height > 0; }).length; });")
        assert len(drawn) == charts and all(count > 0 for count in drawn), drawn
        rows = browser.find_elements(By.CSS_SELECTOR, "#samples tbody tr")
        assert rows
        values = [{group: row.get_attribute(f"data-{group}") for group, _ in clicks} for row in rows]
        chosen: dict[str, str] = {}
        counts = []
        for group, value in clicks:
            selector = f'button[data-group="{group}"][data-filter="{value}"]'
            browser.find_element(By.CSS_SELECTOR, selector).click()
            chosen[group] = value
            expected = sum(all(choice == "all" or row[name] == choice for name, choice in chosen.items())
                           for row in values)
            visible = sum(row.is_displayed() for row in rows)
            assert visible == expected, (group, value)
            assert browser.find_element(By.ID, "shown").text == f"showing {visible} of {len(rows)}"
            counts.append(visible)
        assert len(set(counts)) > 1  # the clicks changed the table
        assert [entry for entry in browser.get_log("browser") if entry["level"] == "SEVERE"] == []
    finally:
        browser.quit()


VERDICT_CLICKS = [("verdict", "correct"), ("verdict", "incorrect"), ("verdict", "all")]


def test_the_report_in_a_real_browser(tiny_run):
    out, _, _ = tiny_run
    check_in_browser(out / REPORT_FILE, len(CHART_TITLES), VERDICT_CLICKS)


def test_the_eval_report_in_a_real_browser(eval_folder):
    # a sweep: verdict and difficulty filters combine (num_ops=2 and correct: no row)
    check_in_browser(eval_folder / REPORT_FILE, 1, [("difficulty", "num_ops=2"), ("verdict", "correct"),
                                                    ("difficulty", "all"), ("verdict", "incorrect"),
                                                    ("difficulty", "num_ops=1")])


def test_a_multi_turn_report_in_a_real_browser(scripted_multiturn_run):
    check_in_browser(scripted_multiturn_run / REPORT_FILE, len(CHART_TITLES), VERDICT_CLICKS)
