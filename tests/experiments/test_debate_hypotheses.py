"""A debate scenario's claims are hypotheses: the run decides each from its 95% intervals."""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from rlvr.experiments.debate import ExperimentResult, ProtocolResult, check_hypotheses, run_scenario

SCENARIOS = Path(__file__).resolve().parents[2] / "rlvr" / "scenarios"


def _protocol(name: str, accuracy: tuple[float, float, float], change: tuple[float, float, float]) -> ProtocolResult:
    return ProtocolResult(name, accuracy, accuracy, [(0.5, 0.4, 0.6)], change, 0.8, 0.6)


RESULT = ExperimentResult(
    {},
    [
        _protocol("majority_vote", (0.47, 0.44, 0.50), (0.0, 0.0, 0.0)),
        _protocol("vanilla", (0.46, 0.43, 0.49), (0.001, -0.01, 0.012)),
        _protocol("confidence", (0.44, 0.41, 0.47), (0.02, 0.01, 0.03)),
        _protocol("better", (0.60, 0.57, 0.63), (-0.02, -0.03, -0.01)),
        _protocol("close", (0.49, 0.46, 0.52), (0.005, -0.004, 0.014)),
    ],
)


@pytest.mark.parametrize(
    ("hypothesis", "outcome"),
    [
        ({"kind": "belief_constant", "protocol": "vanilla"}, "held"),
        ({"kind": "belief_constant", "protocol": "confidence"}, "not held"),
        ({"kind": "belief_rises", "protocol": "confidence"}, "held"),
        ({"kind": "belief_rises", "protocol": "better"}, "not held"),
        ({"kind": "belief_rises", "protocol": "close"}, "inconclusive"),
        ({"kind": "beats", "protocol": "confidence", "than": "majority_vote"}, "not held"),
        ({"kind": "beats", "protocol": "better", "than": "majority_vote"}, "held"),
        ({"kind": "beats", "protocol": "close", "than": "majority_vote"}, "inconclusive"),
    ],
)
def test_each_hypothesis_is_decided_from_the_intervals(hypothesis: dict, outcome: str) -> None:
    [found] = check_hypotheses(RESULT, [hypothesis])
    assert found["outcome"] == outcome, found


def test_unknown_kinds_and_protocols_are_errors() -> None:
    with pytest.raises(ValueError, match="kind"):
        check_hypotheses(RESULT, [{"kind": "wins", "protocol": "vanilla"}])
    with pytest.raises(ValueError, match="not a protocol"):
        check_hypotheses(RESULT, [{"kind": "beats", "protocol": "vanilla", "than": "nobody"}])


@pytest.mark.parametrize("name", ["debate_confidence.yaml", "debate_answer_confidence.yaml"])
def test_built_in_debate_scenarios_state_their_claims_as_hypotheses_and_print_them(
    name: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    scenario = yaml.safe_load((SCENARIOS / name).read_text())
    assert scenario["hypotheses"], f"{name} states no hypothesis"
    scenario["num_debates"] = 40
    small = tmp_path / name
    small.write_text(yaml.safe_dump(scenario))
    run_scenario(str(small), str(tmp_path / "out"))
    printed = capsys.readouterr().out
    assert printed.count("- hypothesis ") == len(scenario["hypotheses"])
    results = yaml.safe_load((tmp_path / "out" / "results.json").read_text())
    assert {h["outcome"] for h in results["hypotheses"]} <= {"held", "not held", "inconclusive"}
