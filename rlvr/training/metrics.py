"""Evaluation metrics over sampled answers: pass@k, maj@k, distinct-n, E^3, semantic entropy, the
spread of repeated measurements; `json_safe` for writing any metrics record as strict JSON and
`rounded` for printing one.

Plain Python (no torch), so evaluation scripts can use them without the training stack.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from collections.abc import Hashable, Iterable, Mapping, Sequence
from typing import Any


def pass_at_k(n: int, c: int, k: int) -> float:
    """Unbiased pass@k from n samples of which c are correct: 1 - C(n-c, k) / C(n, k).

    The chance that k samples drawn without replacement from the n contain a correct one.
    Computed as 1 - prod_{i=n-c+1}^{n} (1 - k/i), which avoids the huge binomials; it is exactly 1
    when n - c < k (every k-subset must contain a correct sample).

    >>> pass_at_k(10, 0, 1), round(pass_at_k(10, 3, 1), 6), pass_at_k(4, 2, 3)
    (0.0, 0.3, 1.0)
    >>> round(pass_at_k(5, 1, 2), 6)
    0.4
    """
    if not 0 <= c <= n or not 1 <= k <= n:
        raise ValueError(f"expected 0 <= c <= n and 1 <= k <= n, got n={n}, c={c}, k={k}")
    if n - c < k:
        return 1.0
    miss = 1.0
    for i in range(n - c + 1, n + 1):
        miss *= 1.0 - k / i
    return 1.0 - miss


def mean_pass_at_k(counts: Iterable[tuple[int, int]], k: int) -> float:
    """Mean pass@k over problems given as (n samples, c correct) pairs.

    >>> mean_pass_at_k([(4, 0), (4, 4)], k=2)
    0.5
    """
    values = [pass_at_k(n, c, k) for n, c in counts]
    if not values:
        raise ValueError("expected at least one (n, c) pair, got none")
    return sum(values) / len(values)


def majority_answer(answers: Sequence[Hashable | None]) -> Hashable | None:
    """The most frequent answer, ignoring None (unparsable); ties go to the earliest seen.

    >>> majority_answer(["3", None, "4", "4", "3"]), majority_answer([None, None])
    ('3', None)
    """
    counts = Counter(answer for answer in answers if answer is not None)
    if not counts:
        return None
    best = max(counts.values())
    return next(answer for answer in answers if answer is not None and counts[answer] == best)


def maj_at_k(answers: Sequence[Hashable | None], correct: Sequence[bool], k: int | None = None) -> float:
    """maj@k: 1.0 if the majority answer among the first k samples is correct, else 0.0.

    `answers` are canonical answer keys (equal when the verifier deems them equal; None when
    unparsable), `correct[i]` the verifier's verdict on sample i. k defaults to all samples.

    >>> maj_at_k(["4", "5", "5", None], [True, False, False, False])
    0.0
    >>> maj_at_k(["4", "5", "5", "4", "4"], [True, False, False, True, True])
    1.0
    >>> maj_at_k(["4", "5", "5", "4", "4"], [True, False, False, True, True], k=3)
    0.0
    """
    if len(answers) != len(correct):
        raise ValueError(
            f"expected one verdict per answer, got {len(answers)} answers and {len(correct)} verdicts"
        )
    k = len(answers) if k is None else k
    if not 1 <= k <= len(answers):
        raise ValueError(f"expected 1 <= k <= {len(answers)} samples, got k={k}")
    winner = majority_answer(answers[:k])
    if winner is None:
        return 0.0
    return float(any(ok for answer, ok in zip(answers[:k], correct[:k], strict=True) if answer == winner))


def ngrams(tokens: Sequence[Hashable], n: int) -> list[tuple]:
    """All contiguous n-grams of a token sequence."""
    return [tuple(tokens[i : i + n]) for i in range(len(tokens) - n + 1)]


def distinct_n(texts: Iterable[str | Sequence[Hashable]], n: int = 2) -> float:
    """distinct-n: unique n-grams / all n-grams, pooled over the texts (0.0 when there are none).

    Strings are split on whitespace; token-id sequences are used as they are.

    >>> distinct_n(["a b a b"], n=2)
    0.6666666666666666
    >>> distinct_n(["a b c", "a b c"], n=1), distinct_n([[1, 2], [2, 1]], n=2)
    (0.5, 1.0)
    """
    if n < 1:
        raise ValueError(f"expected n >= 1, got {n}")
    grams: list[tuple] = []
    for text in texts:
        tokens = text.split() if isinstance(text, str) else list(text)
        grams.extend(ngrams(tokens, n))
    return len(set(grams)) / len(grams) if grams else 0.0


def e3_score(accuracy: float, mean_tokens: float) -> float:
    """E^3 = accuracy^2 / mean tokens per response: accuracy bought with fewer tokens scores higher.

    >>> e3_score(0.5, 100.0)
    0.0025
    """
    if not 0.0 <= accuracy <= 1.0:
        raise ValueError(f"expected accuracy in [0, 1], got {accuracy}")
    if mean_tokens <= 0:
        raise ValueError(f"expected a positive mean token count, got {mean_tokens}")
    return accuracy**2 / mean_tokens


def semantic_entropy(answers: Sequence[Hashable | None], pool_unreadable: bool = False) -> float:
    """Entropy in nats (natural log) of the answers' equivalence classes: 0 when all G answers
    agree, at most log G when all differ.

    Answers equal as keys are one class (pass canonical forms the verifier deems equivalent).
    None marks an unreadable answer: by default each one is a class of its own, since nothing says
    two failures agree; with `pool_unreadable` they form one class together, so a policy that
    never answers counts as collapsed, not as maximally diverse (what evaluation reports).

    >>> semantic_entropy(["1", "1", "1"]), round(semantic_entropy(["1", "2"]), 4)
    (0.0, 0.6931)
    >>> round(semantic_entropy([None, None]), 4), semantic_entropy([None, None], pool_unreadable=True)
    (0.6931, 0.0)
    """
    if not answers:
        raise ValueError("expected at least one answer, got none")
    counts = Counter(answer for answer in answers if answer is not None)
    unreadable = sum(answer is None for answer in answers)
    sizes = list(counts.values()) + ([unreadable] if pool_unreadable and unreadable else [1] * unreadable)
    total = len(answers)
    return -sum(size / total * math.log(size / total) for size in sizes) + 0.0


def mean_distinct_n(groups: Iterable[Iterable[str | Sequence[Hashable]]], n: int) -> float | None:
    """distinct-n of each group of texts (one problem's samples), averaged over the groups; None when
    no group holds a single n-gram.

    Per group, then the mean: pooling every problem's samples together would count two problems'
    different answers as diversity. A group with no n-gram at all (one-word answers, for n = 2) has
    no distinct-n rather than a distinct-n of 0, so it is left out of the mean instead of reading as
    a collapsed policy.

    >>> mean_distinct_n([["a b", "a b"], ["a b", "c d"]], n=1)
    0.75
    >>> mean_distinct_n([["a b", "a c"], ["7", "8"]], n=2), mean_distinct_n([["7", "8"]], n=2)
    (1.0, None)
    """
    if n < 1:
        raise ValueError(f"expected n >= 1, got {n}")
    values = []
    for texts in groups:
        grams = [gram for text in texts
                 for gram in ngrams(text.split() if isinstance(text, str) else list(text), n)]
        if grams:
            values.append(len(set(grams)) / len(grams))
    return sum(values) / len(values) if values else None


def class_key(value: Any) -> Hashable:
    """`value` as a key for grouping answers: itself when hashable, else its sorted JSON text
    (a task whose canonical form is a list or a dict still groups equal answers together).

    >>> class_key("3+4"), class_key(None), class_key({"b": 1, "a": [2]})
    ('3+4', None, '{"a": [2], "b": 1}')
    """
    try:
        hash(value)
    except TypeError:
        return json.dumps(value, sort_keys=True, default=str)
    return value


def spread(values: Sequence[float]) -> dict[str, float]:
    """Mean, sample standard deviation (n - 1 in the denominator), min and max of repeated
    measurements, e.g. one metric under several sampling seeds.

    >>> spread([1.0, 3.0, 2.0])
    {'mean': 2.0, 'std': 1.0, 'min': 1.0, 'max': 3.0}
    """
    if len(values) < 2:
        raise ValueError(f"expected at least two values for a spread, got {len(values)}")
    mean = math.fsum(values) / len(values)
    variance = math.fsum((value - mean) ** 2 for value in values) / (len(values) - 1)
    return {"mean": mean, "std": math.sqrt(variance), "min": min(values), "max": max(values)}


def rounded(value: Any, digits: int = 4) -> Any:
    """`value` with every float rounded to `digits` significant digits, through dicts and lists, for
    printing (raw float32 values print as 0.30000001192092896); ints, NaN and inf stay as they are.

    >>> rounded({"pass@1": 0.30000001192092896, "k": [1, 8], "mean_length": 1234.5678, "solved": 1.0})
    {'pass@1': 0.3, 'k': [1, 8], 'mean_length': 1235.0, 'solved': 1.0}
    """
    if isinstance(value, bool) or value is None or isinstance(value, (str, int)):
        return value
    if hasattr(value, "item") and not isinstance(value, (Mapping, list, tuple)):
        try:  # numpy / torch scalars
            value = value.item()
        except (TypeError, ValueError):
            return value
    if isinstance(value, float):
        return float(f"{value:.{digits}g}") if math.isfinite(value) else value
    if isinstance(value, Mapping):
        return {key: rounded(item, digits) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [rounded(item, digits) for item in value]
    return value


def distinct_correct(answers: Sequence[Hashable | None], correct: Sequence[bool]) -> int:
    """Number of distinct canonical forms among the correct answers.

    >>> distinct_correct(["x+1", "1+x", "x+1", "2"], [True, True, True, False])
    2
    """
    if len(answers) != len(correct):
        raise ValueError(
            f"expected one verdict per answer, got {len(answers)} answers and {len(correct)} verdicts"
        )
    return len({class_key(answer) for answer, ok in zip(answers, correct, strict=True)
                if ok and answer is not None})


def wilson_interval(successes: int, total: int, z: float = 1.96) -> tuple[float, float]:
    """95% Wilson score interval of a pass rate: unlike p +- z*se it stays inside [0, 1] and is
    not a zero-width interval at 0% or 100%. (0.0, 0.0) when there are no trials.

    >>> [round(bound, 3) for bound in wilson_interval(50, 100)]
    [0.404, 0.596]
    >>> wilson_interval(0, 10)[0], wilson_interval(10, 10)[1]
    (0.0, 1.0)
    """
    if not 0 <= successes <= total:
        raise ValueError(f"expected 0 <= successes <= total, got successes={successes}, total={total}")
    if total == 0:
        return 0.0, 0.0
    p = successes / total
    centre = (p + z * z / (2 * total)) / (1 + z * z / total)
    half = z * math.sqrt(p * (1 - p) / total + z * z / (4 * total * total)) / (1 + z * z / total)
    # the interval always holds p; the min/max keep rounding from putting 1.0 just outside it at 100%
    return max(0.0, min(p, centre - half)), min(1.0, max(p, centre + half))


def json_safe(value: Any) -> Any:
    """`value` with every non-finite float (NaN, +-inf) replaced by None, through dicts and lists.

    Python's json writes NaN as a bare `NaN`, which is not JSON: strict readers (jq, JavaScript,
    pandas with some engines) reject the whole file. `null` says "no number" in every reader.
    Numbers that are not Python floats (numpy scalars) are converted to Python numbers first.

    >>> json_safe({"loss": float("nan"), "grad": [1.5, float("inf")], "step": 3, "eval": "rl"})
    {'loss': None, 'grad': [1.5, None], 'step': 3, 'eval': 'rl'}
    """
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return value
    if hasattr(value, "item") and not isinstance(value, (Mapping, list, tuple)):
        try:  # numpy / torch scalars
            value = value.item()
        except (TypeError, ValueError):
            return value
    if isinstance(value, float):
        return value if math.isfinite(value) else None
    if isinstance(value, Mapping):
        return {key: json_safe(item) for key, item in value.items()}
    if isinstance(value, (list, tuple)):
        return [json_safe(item) for item in value]
    return value


def run_summary(evaluations: Sequence[Mapping[str, Any]], final: Mapping[str, Any],
                timings: Mapping[str, float], steps: int) -> dict[str, Any]:
    """A training run's after-SFT and after-RL figures; the RL figure is the mean greedy accuracy of
    the last three evaluations (a single one is noisy on a few hundred problems).

    >>> evals = [{"eval": "after_sft", "greedy_accuracy": 0.5, "sft_steps": 9},
    ...          {"eval": "rl", "greedy_accuracy": 0.6}, {"eval": "final", "greedy_accuracy": 0.7}]
    >>> summary = run_summary(evals, evals[-1], {"rl_s": 1.0}, 4)
    >>> summary["greedy_accuracy_after_sft"], round(summary["greedy_accuracy_after_rl"], 4)
    (0.5, 0.65)
    """
    after_sft = next((e for e in evaluations if e["eval"] == "after_sft"), None)
    last_three = [e["greedy_accuracy"] for e in evaluations if e["eval"] in ("rl", "final")][-3:]
    return {
        "after_sft": after_sft,
        "final": final,
        "greedy_accuracy_after_sft": None if after_sft is None else after_sft["greedy_accuracy"],
        "sft_steps": None if after_sft is None else after_sft.get("sft_steps"),
        "greedy_accuracy_after_rl": sum(last_three) / len(last_three),
        "steps": steps,
        **timings,
    }


def describe_evaluation(label: str, metrics: Mapping[str, Any], ks: Sequence[int]) -> str:
    """One line of an evaluation's figures.

    >>> describe_evaluation("after RL", {"greedy_accuracy": 0.5, "num_problems": 8, "pass@2": 0.75}, [2])
    'after RL (8 held-out problems): greedy 0.500, pass@2 0.750'
    >>> levels = {"n=1": {"greedy_accuracy": 1.0, "pass@1": 0.9}, "n=2": {"greedy_accuracy": 0.0}}
    >>> describe_evaluation("final", {"greedy_accuracy": 0.5, "num_problems": 8, "by_difficulty": levels}, [])
    'final (8 held-out problems): greedy 0.500; n=1: greedy 1.000, pass@1 0.900; n=2: greedy 0.000'
    """
    parts = [f"greedy {metrics['greedy_accuracy']:.3f}"]
    parts += [f"pass@{k} {metrics.get(f'pass@{k}', math.nan):.3f}" for k in ks]
    line = f"{label} ({int(metrics['num_problems'])} held-out problems): " + ", ".join(parts)
    levels = metrics.get("by_difficulty")
    for level, values in (levels.items() if isinstance(levels, Mapping) else ()):
        if isinstance(values, Mapping) and isinstance(values.get("greedy_accuracy"), (int, float)):
            line += f"; {level}: greedy {values['greedy_accuracy']:.3f}"
            if isinstance(values.get("pass@1"), (int, float)):
                line += f", pass@1 {values['pass@1']:.3f}"
    return line
