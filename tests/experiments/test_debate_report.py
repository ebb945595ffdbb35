"""The debate run's report.html and the belief figure's labels."""

from __future__ import annotations

import dataclasses
import json
import math
import re
from html.parser import HTMLParser

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from rlvr.experiments.debate import (
    ExperimentResult,
    ProtocolResult,
    belief_figure,
    check_hypotheses,
    run_experiment,
    run_scenario,
    write_outputs,
)
from rlvr.experiments.debate_report import MAX_DEBATES, MAX_TEXT, build_report

HOSTILE = '<script>alert("x")</script><img src="http://example.com/x.png">'


class Page(HTMLParser):
    """What a test needs from the page: charts (with their drawn elements), texts, tags, attributes."""

    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attributes: list[tuple[str, str]] = []
        self.texts: list[str] = []
        self.charts: list[dict] = []
        self.debates: list[str] = []
        self.scripts = 0
        self._svg = 0

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        values = dict(attrs)
        self.attributes.extend((k, v or "") for k, v in attrs)
        if tag == "script":
            self.scripts += 1
        if tag == "svg":
            self._svg += 1
            self.charts.append({"label": values.get("aria-label"), "data": 0, "bands": 0})
        elif self._svg and "data" in (values.get("class") or "").split():
            self.charts[-1]["data"] += 1
            self.charts[-1]["bands"] += "band" in (values.get("class") or "").split()
        if tag == "div" and "debate" in (values.get("class") or "").split():
            self.debates.append(values.get("data-protocol"))

    def handle_endtag(self, tag):
        if tag == "svg":
            self._svg -= 1

    def handle_data(self, data):
        self.texts.append(data)


def parse(page: str) -> Page:
    parser = Page()
    parser.feed(page)
    parser.close()
    return parser


@pytest.fixture(scope="module")
def small_run(tmp_path_factory):
    """A real run: 6 debates per protocol, the scenario's hypotheses, through write_outputs."""
    result = run_experiment(6, rounds=3, report_debates=3, difficulty={"num_ops": 2})
    result.hypotheses = check_hypotheses(result, [
        {"kind": "belief_constant", "protocol": "vanilla", "claim": "vanilla keeps the belief"},
        {"kind": "beats", "protocol": "confidence", "than": "majority_vote", "claim": "confidence beats the vote"},
    ])
    out = tmp_path_factory.mktemp("debate")
    paths = write_outputs(result, str(out))
    return result, paths


def test_the_report_of_a_real_run(small_run):
    result, paths = small_run
    with open(paths["report.html"], encoding="utf-8") as handle:
        page = handle.read()
    parsed = parse(page)
    # the belief chart: one line (and one band) per debating protocol, a title, axis labels, a legend
    (chart,) = parsed.charts
    debating = [p.name for p in result.protocols if len(p.belief) > 1]
    assert chart["bands"] == len(debating) and chart["data"] > 2 * len(debating)
    for label in ("Mean belief in the truth per round (bands: 95% interval)", "round", "mean belief in the truth",
                  *debating):
        assert label in parsed.texts
    assert "1.5" not in parsed.texts and {"1", "2", "3"} <= set(parsed.texts)  # ticks at whole rounds
    # the accuracy table carries each protocol's interval as the run computed it
    for protocol in result.protocols:
        mean, low, high = protocol.accuracy
        assert f"{mean:.3f} [{low:.3f}, {high:.3f}]" in parsed.texts
    # the hypotheses with their outcomes
    for outcome in result.hypotheses:
        assert outcome["claim"] in parsed.texts and outcome["outcome"] in parsed.texts
    # the kept debates, each round's answers and confidences per debater, one block per debate
    assert parsed.debates == [p.name for p in result.protocols for _ in range(3)]
    first = result.protocols[1].debates[0]
    for record in first["rounds"][-1]:
        assert any(f"confidence {record['confidence']:.3f}" in t for t in parsed.texts)
    # the filter: one button per protocol plus "all"
    filters = [v for k, v in parsed.attributes if k == "data-filter"]
    assert filters == ["all", *[p.name for p in result.protocols]]
    # self-contained: nothing fetched from anywhere
    assert not [v for k, v in parsed.attributes if k in ("src", "href") and not v.startswith("data:")]
    assert not re.search(r"https?://", page)
    # results.json holds the same debates
    with open(paths["results.json"]) as handle:
        saved = json.load(handle)
    assert saved["protocols"][1]["debates"][0] == first


def test_the_belief_figure_has_a_title_axis_labels_and_a_legend(small_run):
    pytest.importorskip("matplotlib")
    result, _ = small_run
    debating = [p for p in result.protocols if len(p.belief) > 1]
    axes = belief_figure(debating).axes[0]
    assert axes.get_title() and "belief" in axes.get_title()
    assert axes.get_xlabel() == "round" and axes.get_ylabel() == "mean belief in the truth"
    legend = axes.get_legend()
    assert legend is not None and [t.get_text() for t in legend.get_texts()] == [p.name for p in debating]


def hostile_result(text: str, debates: int = 2) -> ExperimentResult:
    turn = {"agent": text, "answer": text, "confidence": 0.5, "correct": False, "error": None}
    none = {"agent": "debater_1", "answer": None, "confidence": math.nan, "correct": False, "error": text}
    debate = {"question": text, "gold": text, "correct": True, "rounds": [[turn, none], [turn, none]]}
    protocol = ProtocolResult(name=text, accuracy=(0.5, math.nan, math.inf), baseline_accuracy=(0.5, 0.2, 0.8),
                              belief=[(0.5, 0.4, 0.6), (math.nan, math.nan, math.nan), (0.6, 0.5, 0.7)],
                              belief_change=(0.1, -0.1, 0.3), confidence_right=math.nan, confidence_wrong=0.4,
                              transcript=text, debates=[debate] * debates)
    return ExperimentResult(settings={text: text}, protocols=[protocol],
                            hypotheses=[{"claim": text, "outcome": text, "evidence": text}])


def test_hostile_text_is_escaped_and_the_page_loads_nothing():
    page = build_report(hostile_result(HOSTILE))
    parsed = parse(page)
    assert parsed.scripts == 1  # the page's own filter script, no other
    assert "img" not in parsed.tags
    assert "<script>alert" not in page and "&lt;script&gt;alert(&quot;x&quot;)" in page
    assert HOSTILE in parsed.texts  # shown as text, whole (it is under the length bound)
    assert "could not be built" not in page  # NaN, inf and a missing answer are shown, not fatal


@settings(max_examples=40, deadline=None)
@given(st.text(max_size=3 * MAX_TEXT))
def test_any_text_stays_text(text):
    page = build_report(hostile_result(text))
    parsed = parse(page)
    assert parsed.scripts == 1 and len(parsed.charts) == 1
    assert "could not be built" not in page
    assert not re.search(r"<(?!/?(?:html|head|meta|link|title|style|body|h[123]|section|p|figure|svg|text|rect|line|"
                         r"polyline|polygon|circle|g|table|thead|tbody|tr|th|td|div|button|pre|code|script|!doctype)\b)",
                         page, flags=re.IGNORECASE)


def test_debates_shown_are_bounded():
    page = build_report(hostile_result("x" * 10_000, debates=MAX_DEBATES + 30))
    parsed = parse(page)
    assert len(parsed.debates) == MAX_DEBATES
    assert max(len(t) for t in parsed.texts) <= 1 + 2000  # a question: the newline after <pre>, 2,000 characters
    assert len(page) < 2_000_000


def test_a_broken_section_leaves_the_others():
    result = hostile_result("fine")
    result.protocols[0] = dataclasses.replace(result.protocols[0], debates=[{"rounds": 7}])
    result.hypotheses = [{"claim": "still shown", "outcome": "held", "evidence": "e"}]
    page = build_report(result)
    assert "could not be built" in page and "still shown" in page and "<svg" in page


def test_report_debates_is_checked():
    with pytest.raises(ValueError, match=r"report_debates must be an integer in \[0, 100\], got -1"):
        run_experiment(2, report_debates=-1)


def test_the_scenario_writes_the_report(tmp_path):
    scenario = tmp_path / "debate.yaml"
    scenario.write_text("experiment: debate\nnum_debates: 3\nrounds: 2\nprotocols: [vanilla, confidence]\n"
                        "report_debates: 1\nhypotheses:\n  - {kind: belief_rises, protocol: confidence}\n")
    run_scenario(str(scenario), str(tmp_path / "out"))
    parsed = parse((tmp_path / "out" / "report.html").read_text(encoding="utf-8"))
    assert parsed.debates == ["vanilla", "confidence"]
    assert "belief_rises confidence" in parsed.texts
