"""The debate experiment: seeded debates of simulated debaters through `rlvr/Debate-v0`.

Every protocol plays the same questions and the same initial debaters (debate i draws its
debaters from `SeedSequence([seed, i])`), so protocols differ only in how they debate. For each
protocol it reports final majority-vote accuracy, the round-0 majority-vote baseline, and the
mean belief in the truth per round, each with a 95% interval (mean +- 1.96 standard errors over
debates), plus the paired change in mean belief from the first to the last round. A scenario's
claims are hypotheses (`hypotheses:` in its file, see `check_hypotheses`): the run prints, and
writes to results.json, whether each held, failed, or was inconclusive at 95%.

    from rlvr.experiments.debate import run_scenario
    print(run_scenario("scenarios/debate_confidence.yaml", "runs/debate"))

The plot is drawn with matplotlib, imported only when it is drawn (Agg canvas, no pyplot), so
importing this module or any env never imports it; without matplotlib the other outputs are
still written and table.md says why the plot is missing.
"""

from __future__ import annotations

import json
import os
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np

from rlvr.agents.debate import SimulatedDebaters, SimulationConfig, numeric_candidates
from rlvr.core.progress import progress_bar
from rlvr.envs.debate.env import DebateParallelEnv, format_transcript
from rlvr.envs.debate.protocol import answer_key
from rlvr.experiments.debate_report import write_report

PROTOCOLS: Mapping[str, dict[str, Any]] = {
    "majority_vote": {"init": "vanilla", "update": "vanilla", "debate": False},
    "vanilla": {"init": "vanilla", "update": "vanilla", "debate": True},
    "diverse": {"init": "diverse", "update": "vanilla", "debate": True},
    "confidence": {"init": "vanilla", "update": "confidence", "debate": True},
    "diverse_confidence": {"init": "diverse", "update": "confidence", "debate": True},
}
"""Protocol name -> how the env is configured; majority_vote is a single round (no debate)."""
Z_95 = 1.959963984540054
MAX_REPORT_DEBATES = 100
"""At most this many debates per protocol are kept whole (results.json and report.html stay small)."""


def mean_ci(values: Sequence[float] | np.ndarray) -> tuple[float, float, float]:
    """(mean, low, high): the normal-approximation 95% interval of the mean.

    >>> mean_ci([0.0, 1.0, 0.0, 1.0])[0]
    0.5
    """
    data = np.asarray(values, dtype=float)
    mean = float(data.mean())
    half = Z_95 * float(data.std(ddof=1)) / np.sqrt(len(data)) if len(data) > 1 else float("nan")
    return mean, mean - half, mean + half


@dataclass
class ProtocolResult:
    name: str
    accuracy: tuple[float, float, float]
    baseline_accuracy: tuple[float, float, float]
    belief: list[tuple[float, float, float]]
    """Mean belief in the truth (over debaters and debates) at each round's announcement."""
    belief_change: tuple[float, float, float]
    """Paired per-debate change of that mean from the first to the last round."""
    confidence_right: float
    confidence_wrong: float
    transcript: str = ""
    debates: list[dict[str, Any]] = field(default_factory=list)
    """The first debates as records for the report: question, gold answer, whether the final vote
    was right, and per round each debater's answer (text), confidence and verdict."""


@dataclass
class ExperimentResult:
    settings: dict[str, Any]
    protocols: list[ProtocolResult] = field(default_factory=list)
    hypotheses: list[dict[str, str]] = field(default_factory=list)
    """Each stated hypothesis with its outcome ("held", "not held", "inconclusive") and evidence."""


HYPOTHESIS_KINDS = ("belief_constant", "belief_rises", "beats")


def check_hypotheses(result: ExperimentResult, hypotheses: Sequence[Mapping[str, Any]]) -> list[dict[str, str]]:
    """Decide each hypothesis from the 95% intervals, conservatively:
    - `belief_constant` (protocol): held when the interval of the mean belief's change holds 0;
    - `belief_rises` (protocol): held when that interval lies above 0, not held when the mean
      change is <= 0, else inconclusive;
    - `beats` (protocol, than): final accuracy; held when the intervals do not overlap and the
      protocol is ahead, not held when its mean is not above the other's, else inconclusive.
    """
    by_name = {p.name: p for p in result.protocols}
    outcomes = []
    for hypothesis in hypotheses:
        kind, name = hypothesis.get("kind"), hypothesis.get("protocol")
        if kind not in HYPOTHESIS_KINDS:
            raise ValueError(f"hypothesis kind must be one of {HYPOTHESIS_KINDS}, got {kind!r}")
        names = [name] + ([hypothesis.get("than")] if kind == "beats" else [])
        missing = [n for n in names if n not in by_name]
        if missing:
            raise ValueError(f"hypothesis {hypothesis!r} names {missing[0]!r}, not a protocol of this run")
        protocol = by_name[name]
        mean, low, high = protocol.belief_change
        if kind == "belief_constant":
            outcome = "held" if low <= 0 <= high else "not held"
            evidence = f"belief change {_ci(protocol.belief_change, 4)}"
        elif kind == "belief_rises":
            outcome = "held" if low > 0 else "not held" if mean <= 0 else "inconclusive"
            evidence = f"belief change {_ci(protocol.belief_change, 4)}"
        else:
            other = by_name[hypothesis["than"]]
            (a, a_low, _), (b, _, b_high) = protocol.accuracy, other.accuracy
            outcome = "held" if a_low > b_high else "not held" if a <= b else "inconclusive"
            evidence = f"accuracy {_ci(protocol.accuracy)} vs {other.name} {_ci(other.accuracy)}"
        claim = str(hypothesis.get("claim") or f"{kind} {name}")
        outcomes.append({"claim": claim, "outcome": outcome, "evidence": evidence})
    return outcomes


def format_hypotheses(outcomes: Sequence[Mapping[str, str]]) -> str:
    return "\n".join(f"- hypothesis {o['outcome'].upper()}: {o['claim']} ({o['evidence']})" for o in outcomes)


def _debate(env: DebateParallelEnv, protocol: Mapping[str, Any], rng: np.random.Generator,
            config: SimulationConfig, samples: int, reset_kwargs: Mapping[str, Any]) -> dict[str, Any]:
    """Play one debate with simulated debaters; returns per-round beliefs and outcomes."""
    _, infos = env.reset(**reset_kwargs)
    problem = env.problem
    n = env.num_debaters
    candidates = numeric_candidates(problem.answer, config.num_candidates, rng)
    index_of = {answer_key(c): k for k, c in enumerate(candidates)}
    # Draw the diverse pool even for vanilla runs: debaters 0..n-1 are then the same in both.
    pool = SimulatedDebaters.draw(n * samples, config, rng)
    group = pool.subset(list(range(n))) if protocol["init"] == "vanilla" else pool
    beliefs, right, confidences = [], [], []
    actions: dict[str, Any]
    for round_number in range(env.rounds):
        answers, stated = group.announce(rng)
        if round_number == 0 and protocol["init"] == "diverse":
            actions = {
                agent: [{"answer": candidates[a], "confidence": float(c)}
                        for a, c in zip(answers[i * samples:(i + 1) * samples], stated[i * samples:(i + 1) * samples], strict=True)]
                for i, agent in enumerate(env.possible_agents)
            }
        else:
            actions = {agent: {"answer": candidates[a], "confidence": float(c)}
                       for agent, a, c in zip(env.possible_agents, answers, stated, strict=True)}
        _, rewards, _, _, infos = env.step(actions)
        if round_number == 0 and protocol["init"] == "diverse":
            kept = [infos[a]["round0_source"]["agent"] * samples + infos[a]["round0_source"]["sample"]
                    for a in env.possible_agents]
            group, answers, stated = group.subset(kept), answers[kept], stated[kept]
        beliefs.append(float(group.beliefs[:, 0].mean()))
        right.extend(bool(a == 0) for a in answers)
        confidences.extend(float(c) for c in stated)
        records = infos[env.possible_agents[0]]["transcript"][-1]
        heard = np.array([index_of.get(r["key"], -1) if r["valid"] else -1 for r in records])
        group.update(heard, np.array([r["confidence"] for r in records]), protocol["update"])
    info = infos[env.possible_agents[0]]
    # Plain JSON values only (answers as text): these records go to results.json and the report.
    rounds = [[{"agent": str(r["agent"]), "answer": None if not r["valid"] else str(r["answer"]),
                "confidence": float(r["confidence"]), "correct": bool(r["correct"]),
                "error": None if r["error"] is None else str(r["error"])} for r in records]
              for records in env.transcript]
    record = {"question": str(problem.prompt), "gold": str(problem.answer), "correct": bool(info["vote"]["correct"]),
              "rounds": rounds}
    return {"beliefs": beliefs, "record": record, "correct": bool(info["vote"]["correct"]),
            "baseline": bool(info["baseline_vote_correct"]), "right": right, "confidences": confidences,
            "transcript": format_transcript(problem.prompt, env.transcript)}


def run_experiment(
    num_debates: int = 1000,
    *,
    num_debaters: int = 3,
    rounds: int = 3,
    samples_per_debater: int = 2,
    protocols: Sequence[str] = tuple(PROTOCOLS),
    task: str = "rlvr/RandomCalc-v0",
    difficulty: Mapping[str, Any] | None = None,
    simulation: SimulationConfig | Mapping[str, Any] | None = None,
    seed: int = 0,
    report_debates: int = 5,
    progress: bool | None = False,
) -> ExperimentResult:
    """Run `num_debates` seeded debates per protocol and summarise them with 95% intervals; the
    first `report_debates` debates of each protocol are kept whole for the report. `progress`: a
    bar over the debates on stderr (None: when stderr is a terminal)."""
    config = simulation if isinstance(simulation, SimulationConfig) else SimulationConfig(**dict(simulation or {}))
    unknown = [p for p in protocols if p not in PROTOCOLS]
    if unknown:
        raise KeyError(f"unknown protocol {unknown[0]!r}; expected some of {list(PROTOCOLS)}")
    if isinstance(report_debates, bool) or not isinstance(report_debates, int) or not 0 <= report_debates <= MAX_REPORT_DEBATES:
        raise ValueError(f"report_debates must be an integer in [0, {MAX_REPORT_DEBATES}], got {report_debates!r}")
    settings = {"num_debates": num_debates, "num_debaters": num_debaters, "rounds": rounds,
                "samples_per_debater": samples_per_debater, "task": task, "difficulty": dict(difficulty or {}),
                "simulation": asdict(config), "seed": seed}
    result = ExperimentResult(settings)
    bar = progress_bar(len(protocols) * num_debates, progress, "debates", unit="debate")
    for name in protocols:
        protocol = PROTOCOLS[name]
        env = DebateParallelEnv(task, num_debaters=num_debaters, rounds=rounds if protocol["debate"] else 1,
                                init=protocol["init"], update=protocol["update"], difficulty=difficulty)
        runs = []
        for i in range(num_debates):
            rng = np.random.default_rng(np.random.SeedSequence([seed, i]))
            reset_kwargs = {"seed": seed} if i == 0 else {}
            runs.append(_debate(env, protocol, rng, config, samples_per_debater, reset_kwargs))
            if bar is not None:
                bar.update(1)
        beliefs = np.array([r["beliefs"] for r in runs])
        right = np.concatenate([r["right"] for r in runs])
        confidences = np.concatenate([r["confidences"] for r in runs])
        result.protocols.append(ProtocolResult(
            name=name,
            accuracy=mean_ci([r["correct"] for r in runs]),
            baseline_accuracy=mean_ci([r["baseline"] for r in runs]),
            belief=[mean_ci(beliefs[:, k]) for k in range(beliefs.shape[1])],
            belief_change=mean_ci(beliefs[:, -1] - beliefs[:, 0]),
            confidence_right=float(confidences[right].mean()) if right.any() else float("nan"),
            confidence_wrong=float(confidences[~right].mean()) if (~right).any() else float("nan"),
            transcript=runs[0]["transcript"],
            debates=[r["record"] for r in runs[:report_debates]],
        ))
    if bar is not None:
        bar.close()
    return result


def _ci(value: tuple[float, float, float], digits: int = 3) -> str:
    mean, low, high = value
    return f"{mean:.{digits}f} [{low:.{digits}f}, {high:.{digits}f}]"


def format_table(result: ExperimentResult) -> str:
    """A Markdown table: one row per protocol, 95% intervals in brackets."""
    s = result.settings
    lines = [
        f"Debate experiment: {s['num_debates']} debates per protocol, {s['num_debaters']} debaters, "
        f"{s['rounds']} rounds, task {s['task']}, seed {s['seed']}, simulation {s['simulation']}",
        "",
        "| protocol | final accuracy | round-0 majority vote | belief in truth, round 1 -> last | change | "
        "confidence right / wrong |",
        "|---|---|---|---|---|---|",
    ]
    for p in result.protocols:
        lines.append(
            f"| {p.name} | {_ci(p.accuracy)} | {_ci(p.baseline_accuracy)} | "
            f"{' -> '.join(f'{b[0]:.3f}' for b in p.belief)} | {_ci(p.belief_change, 4)} | "
            f"{p.confidence_right:.3f} / {p.confidence_wrong:.3f} |"
        )
    lines.append("")
    lines.append("Per-round mean belief in the truth (95% interval):")
    for p in result.protocols:
        lines.append(f"- {p.name}: " + "; ".join(f"round {k + 1}: {_ci(b)}" for k, b in enumerate(p.belief)))
    if result.hypotheses:
        lines += ["", "Hypotheses stated by the scenario, as the run found them:", format_hypotheses(result.hypotheses)]
    return "\n".join(lines)


def write_outputs(result: ExperimentResult, out_dir: str) -> dict[str, str]:
    """table.md, results.json, beliefs.png (mean belief per round, one line per debating
    protocol, colours in table order), transcripts.txt (the first debate of each protocol) and
    report.html (`rlvr.experiments.debate_report`: the belief curves, tables and first debates).

    Returns the paths written: beliefs.png is left out when no protocol debates (a single round
    has nothing to plot) or when matplotlib is missing (then table.md and a warning say so)."""
    os.makedirs(out_dir, exist_ok=True)
    paths = {name: os.path.join(out_dir, name)
             for name in ("table.md", "results.json", "beliefs.png", "transcripts.txt", "report.html")}
    debating = [p for p in result.protocols if len(p.belief) > 1]
    missing_plot = None
    if debating:
        try:
            plot_beliefs(paths["beliefs.png"], debating)
        except ImportError as error:  # matplotlib is an optional dependency: keep every other output
            missing_plot = f"beliefs.png not drawn: {error}"
            warnings.warn(missing_plot, stacklevel=2)
    if not debating or missing_plot:
        del paths["beliefs.png"]
    colours = ", ".join(f"{p.name}=rgb{PALETTE[k % len(PALETTE)]}" for k, p in enumerate(debating))
    with open(paths["table.md"], "w") as handle:
        handle.write(format_table(result) + f"\n\nbeliefs.png: x = round, y = mean belief in the truth (0..1, "
                     f"gridlines every 0.1), shaded = 95% interval; lines: {colours}\n")
        if missing_plot:
            handle.write(missing_plot + "\n")
    with open(paths["results.json"], "w") as handle:
        json.dump(asdict(result), handle, indent=1)
    with open(paths["transcripts.txt"], "w") as handle:
        for p in result.protocols:
            handle.write(f"===== {p.name}\n{p.transcript}\n\n")
    write_report(result, paths["report.html"])
    return paths


PALETTE = ((31, 119, 180), (255, 127, 14), (44, 160, 44), (214, 39, 40), (148, 103, 189), (140, 86, 75))
"""Line colours (RGB), in protocol order; table.md names each protocol's colour."""


def plot_beliefs(path: str, protocols: Sequence[ProtocolResult]) -> None:
    """Draw `belief_figure(protocols)` to a PNG at `path`."""
    belief_figure(protocols).savefig(path)


def belief_figure(protocols: Sequence[ProtocolResult]) -> Any:
    """A matplotlib Figure: each protocol's mean belief in the truth per round, its 95% interval
    shaded, with a title, labelled axes and a legend naming the protocols.

    The y axis spans the intervals rounded out to tenths, one tenth of margin either side, within
    [0, 1]. Raises ImportError, with the install hint, when matplotlib is missing.
    """
    try:  # imported here: importing the experiment (or any env) must not import matplotlib
        from matplotlib.backends.backend_agg import FigureCanvasAgg
        from matplotlib.figure import Figure
        from matplotlib.ticker import MultipleLocator
    except ImportError as error:
        raise ImportError("the belief plot needs matplotlib: pip install matplotlib") from error
    low = min(b[1] for p in protocols for b in p.belief)
    high = max(b[2] for p in protocols for b in p.belief)
    y_range = (max(0.0, np.floor(low * 10) / 10 - 0.1), min(1.0, np.ceil(high * 10) / 10 + 0.1))
    # The Agg canvas directly rather than pyplot: no global figure state, no backend switch.
    figure = Figure(figsize=(6.4, 4.0), dpi=100)
    FigureCanvasAgg(figure)
    axes = figure.add_subplot()
    for k, protocol in enumerate(protocols):
        colour = tuple(c / 255 for c in PALETTE[k % len(PALETTE)])
        rounds = np.arange(1, len(protocol.belief) + 1)
        means, lows, highs = (np.array([b[i] for b in protocol.belief]) for i in range(3))
        axes.fill_between(rounds, np.clip(lows, *y_range), np.clip(highs, *y_range), color=colour, alpha=0.2,
                          linewidth=0)
        axes.plot(rounds, means, color=colour, marker="o", label=protocol.name)
    axes.set_xticks(np.arange(1, max(len(p.belief) for p in protocols) + 1))
    axes.set_ylim(*y_range)
    axes.yaxis.set_major_locator(MultipleLocator(0.1))
    axes.grid(axis="y", color="0.88")
    axes.set_xlabel("round")
    axes.set_ylabel("mean belief in the truth")
    axes.set_title("Mean belief in the truth per round (shaded: 95% interval)")
    axes.legend(title="protocol")
    return figure


SCENARIO_KEYS = ("experiment", "num_debates", "num_debaters", "rounds", "samples_per_debater", "protocols",
                 "task", "difficulty", "simulation", "seed", "hypotheses", "report_debates")


def run_scenario(path: str, out_dir: str, progress: bool | None = False) -> str:
    """Run a debate scenario file, write its outputs to `out_dir`, print and return the table;
    `progress` as for `run_experiment`."""
    import yaml

    with open(path) as handle:
        scenario = yaml.safe_load(handle) or {}
    unknown = [k for k in scenario if k not in SCENARIO_KEYS]
    if unknown:
        raise KeyError(f"{path}: unknown key {unknown[0]!r}; a debate scenario takes {list(SCENARIO_KEYS)}")
    if scenario.pop("experiment", "debate") != "debate":
        raise ValueError(f"{path}: experiment must be 'debate'")
    hypotheses = scenario.pop("hypotheses", None) or []
    result = run_experiment(**scenario, progress=progress)
    result.hypotheses = check_hypotheses(result, hypotheses)
    write_outputs(result, out_dir)
    table = format_table(result)
    print(table)
    return table
