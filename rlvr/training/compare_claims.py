"""What a compare scenario claims, checked by its run: the warm-up bar and the hypotheses.

A comparison means something only where the warm-up left the baseline able to solve a fair share
of the problems, and the claim in a scenario's header is a hypothesis until its run says whether
it held. Both are stated in the scenario file and decided from the finished runs:

    warmup_bar: {metric: "pass@1[hops=[1,2,3]]", at_least: 0.2}
    hypotheses:
      - {arm: path, than: outcome, metric: "solve_rate[hops=[4,5]]", expect: higher,
         claim: "path rewards solve more 4-5 hop problems than the outcome alone"}
      - {arm: path, than: outcome, metric: "solve_rate[hops=[1,2,3]]", expect: similar, within: 0.1}

`metric` is a key of an evaluation as the compare tables read it (`greedy_accuracy`, `pass@8`,
`train_entropy`, `solve_rate[LEVEL]`, `pass@1[LEVEL]`, ...).

- The warm-up bar is checked on each seed's evaluation after SFT (shared by that seed's arms).
- A hypothesis compares two arms seed by seed on the final evaluation (the arms of a seed share a
  warm-up, so the paired difference leaves out how good the warm-up was), or an arm with its
  seed's warm-up (`than: after_sft`), over the seeds whose warm-up cleared the bar. From the mean difference d and its 95% t-interval [lo, hi] over those
  seeds, conservatively: `higher` holds when lo > 0, fails when d <= 0; `lower` the mirror image;
  `similar` (|difference| under `within`) holds when [lo, hi] lies inside [-within, within], fails
  when it lies outside it. Anything else, or fewer than two seeds, is inconclusive.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping, Sequence
from typing import Any

EXPECTATIONS = ("higher", "lower", "similar")
AFTER_SFT = "after_sft"
"""`than: after_sft` compares an arm's final evaluation with its own seed's evaluation after the
warm-up (did RL move the figure at all?)."""
HYPOTHESIS_KEYS = ("arm", "than", "metric", "expect", "within", "claim")
BAR_KEYS = ("metric", "at_least")

_T975 = (12.706, 4.303, 3.182, 2.776, 2.571, 2.447, 2.365, 2.306, 2.262, 2.228, 2.201, 2.179, 2.160, 2.145,
         2.131, 2.120, 2.110, 2.101, 2.093, 2.086, 2.080, 2.074, 2.069, 2.064, 2.060, 2.056, 2.052, 2.048,
         2.045, 2.042)
"""Student t 0.975 quantiles for 1-30 degrees of freedom (beyond: 1.96)."""


def t975(degrees: int) -> float:
    """The two-sided 95% Student t quantile.

    >>> t975(2), t975(100)
    (4.303, 1.96)
    """
    if degrees < 1:
        raise ValueError(f"a t quantile needs at least one degree of freedom, got {degrees}")
    return _T975[degrees - 1] if degrees <= len(_T975) else 1.96


def check_claims_spec(source: str, bar: Any, hypotheses: Any, arms: Sequence[str]) -> tuple[dict[str, Any] | None,
                                                                                          list[dict[str, Any]]]:
    """The scenario's `warmup_bar` and `hypotheses`, checked before any run starts: errors name
    `source` and the entry."""
    checked_bar = None
    if bar is not None:
        if not isinstance(bar, Mapping) or set(bar) != set(BAR_KEYS):
            raise ValueError(f"{source}: warmup_bar must be a mapping with keys {list(BAR_KEYS)}, got {bar!r}")
        if not isinstance(bar["metric"], str) or not _is_number(bar["at_least"]):
            raise ValueError(f"{source}: warmup_bar needs a metric name and a number at_least, got {bar!r}")
        checked_bar = {"metric": bar["metric"], "at_least": float(bar["at_least"])}
    if hypotheses is None:
        return checked_bar, []
    if AFTER_SFT in arms:
        raise ValueError(f"{source}: an arm named {AFTER_SFT!r} cannot be told from the warm-up in hypotheses; rename it")
    if not isinstance(hypotheses, list):
        raise ValueError(f"{source}: hypotheses must be a list, got {type(hypotheses).__name__}")
    out = []
    for entry in hypotheses:
        if not isinstance(entry, Mapping):
            raise ValueError(f"{source}: each hypothesis must be a mapping, got {entry!r}")
        unknown = [key for key in entry if key not in HYPOTHESIS_KEYS]
        if unknown:
            raise ValueError(f"{source}: hypothesis key {unknown[0]!r} unknown; expected some of {list(HYPOTHESIS_KEYS)}")
        if entry.get("arm") not in arms:
            raise ValueError(f"{source}: hypothesis arm {entry.get('arm')!r} is not an arm; arms: {list(arms)}")
        if entry.get("than") not in (*arms, AFTER_SFT):
            raise ValueError(f"{source}: hypothesis than {entry.get('than')!r} is neither an arm nor {AFTER_SFT!r}; "
                             f"arms: {list(arms)}")
        if entry["arm"] == entry["than"]:
            raise ValueError(f"{source}: a hypothesis compares two different arms, got {entry['arm']!r} twice")
        if not isinstance(entry.get("metric"), str) or entry.get("expect") not in EXPECTATIONS:
            raise ValueError(f"{source}: a hypothesis needs a metric name and expect one of {list(EXPECTATIONS)}, "
                             f"got {dict(entry)!r}")
        within = entry.get("within")
        if (entry["expect"] == "similar") != (within is not None):
            raise ValueError(f"{source}: `within` (a positive number) goes with expect: similar and only there, "
                             f"got {dict(entry)!r}")
        if within is not None and not (_is_number(within) and within > 0):
            raise ValueError(f"{source}: within must be a positive number, got {within!r}")
        out.append(dict(entry))
    return checked_bar, out


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def warmup_outcomes(bar: Mapping[str, Any] | None, after_sft: Mapping[int, Mapping[str, float]]) -> dict[int, dict[str, Any]]:
    """{seed: {"value", "held"}} of the bar on each seed's after-SFT numbers (value None and held
    False where the evaluation lacks the metric); {} without a bar.

    >>> warmup_outcomes({"metric": "pass@1", "at_least": 0.2}, {0: {"pass@1": 0.3}, 1: {"pass@1": 0.1}, 2: {}})
    {0: {'value': 0.3, 'held': True}, 1: {'value': 0.1, 'held': False}, 2: {'value': None, 'held': False}}
    """
    if not bar:
        return {}
    out = {}
    for seed, numbers in after_sft.items():
        value = numbers.get(bar["metric"])
        out[seed] = {"value": value, "held": value is not None and value >= bar["at_least"]}
    return out


def decide(expect: str, differences: Sequence[float], within: float | None = None) -> tuple[str, dict[str, float]]:
    """The outcome ("held", "not held", "inconclusive") of one hypothesis from its per-seed paired
    differences (arm minus `than`), and the figures it was decided on.

    >>> decide("higher", [0.10, 0.12, 0.08])[0], decide("higher", [0.1, -0.2, 0.05])[0]
    ('held', 'not held')
    >>> decide("similar", [0.01, -0.01, 0.0], within=0.1)[0], decide("higher", [0.3])[0]
    ('held', 'inconclusive')
    """
    n = len(differences)
    if n == 0:
        return "inconclusive", {"seeds": 0}
    mean = sum(differences) / n
    figures = {"seeds": n, "mean": mean}
    if n < 2:
        return "inconclusive", figures
    sem = math.sqrt(sum((d - mean) ** 2 for d in differences) / (n - 1)) / math.sqrt(n)
    low, high = mean - t975(n - 1) * sem, mean + t975(n - 1) * sem
    figures.update(sem=sem, low=low, high=high)
    if expect == "higher":
        return ("held" if low > 0 else "not held" if mean <= 0 else "inconclusive"), figures
    if expect == "lower":
        return ("held" if high < 0 else "not held" if mean >= 0 else "inconclusive"), figures
    assert within is not None
    inside, outside = -within <= low and high <= within, high < -within or low > within
    return ("held" if inside else "not held" if outside else "inconclusive"), figures


def hypothesis_outcomes(hypotheses: Sequence[Mapping[str, Any]], finals: Mapping[str, Mapping[int, Mapping[str, float]]],
                        eligible: Callable[[int], bool]) -> list[dict[str, Any]]:
    """Each hypothesis decided on the final numbers ({arm: {seed: numbers}}) of the seeds both arms
    finished and `eligible` admits (those whose warm-up cleared the bar)."""
    outcomes = []
    for hypothesis in hypotheses:
        arm, than, metric = hypothesis["arm"], hypothesis["than"], hypothesis["metric"]
        mine, theirs = finals.get(arm, {}), finals.get(than, {})
        seeds = sorted(seed for seed in mine if seed in theirs and eligible(seed))
        measured = [seed for seed in seeds if metric in mine[seed] and metric in theirs[seed]]
        differences = [mine[seed][metric] - theirs[seed][metric] for seed in measured]
        outcome, figures = decide(hypothesis["expect"], differences, hypothesis.get("within"))
        claim = hypothesis.get("claim") or f"{arm} {hypothesis['expect']} than {than} on {metric}"
        if seeds and not measured:
            known = sorted(next(iter(mine.values())) if mine else [])
            figures["missing"] = f"no evaluation holds {metric!r}; it holds {known}"
        outcomes.append({"claim": str(claim), "arm": arm, "than": than, "metric": metric,
                         "expect": hypothesis["expect"], "within": hypothesis.get("within"),
                         "outcome": outcome, **figures})
    return outcomes


def claims_text(bar: Mapping[str, Any] | None, warmups: Mapping[int, Mapping[str, Any]],
                outcomes: Sequence[Mapping[str, Any]]) -> str:
    """Markdown lines: the bar per seed, then each hypothesis with its outcome and evidence."""
    lines = []
    if bar:
        cells = [f"seed {seed}: {_value(entry['value'])} ({'cleared' if entry['held'] else 'NOT cleared'})"
                 for seed, entry in sorted(warmups.items())]
        lines += ["", f"Warm-up bar: {bar['metric']} >= {bar['at_least']:g} after SFT; " + "; ".join(cells)]
    if outcomes:
        lines += ["", "Hypotheses stated by the scenario, as the run found them (paired by seed, 95% t-interval"
                  + (", seeds that cleared the warm-up bar" if bar else "") + "):"]
        for o in outcomes:
            if "missing" in o:
                evidence = o["missing"]
            elif "low" in o:
                evidence = (f"{o['arm']} - {o['than']} on {o['metric']}: {o['mean']:+.3f} "
                            f"[{o['low']:+.3f}, {o['high']:+.3f}] over {o['seeds']} seeds")
            else:
                evidence = f"{o['seeds']} seed(s), too few for an interval"
            if o.get("within") is not None:
                evidence += f"; similar means within ±{o['within']:g}"
            lines.append(f"- hypothesis {o['outcome'].upper()}: {o['claim']} ({evidence})")
    return "\n".join(lines) + ("\n" if lines else "")


def _value(value: float | None) -> str:
    return "absent" if value is None else f"{value:.3f}"
