"""`PluralisticTask` and `PluralisticEnv` (`rlvr/Pluralistic-v0`): one reply, K user groups.

Each problem has K synthetic user groups whose tastes are weights w_k in [-1, 1] over four
features of a reply, all computed by code from the text inside `<response>...</response>`:

- `length`: content words (words that are not politeness markers), min(count, 40) / 40;
- `politeness`: distinct markers among please / thank(s) / sorry / kindly / appreciate, min(n, 2) / 2;
- `lists`: lines that start with a bullet ("-", "*", "•", "1." or "1)"), min(n, 3) / 3;
- `numbers`: numerals such as 3 or 2.5, min(n, 3) / 3.

Group k's reward is r_k = sum_f [w_f phi_f if w_f >= 0 else |w_f| (1 - phi_f)] / sum_f |w_f|,
in [0, 1]: a liked feature pays as it grows, a disliked one as it shrinks. The task's reward,
by the `mode` knob:
- `mean`: the average over groups (the usual single reward model's compromise);
- `maxmin`: the worst group's reward (MaxMin-RLHF's egalitarian objective), so maxmin <= mean;
- `routed`: the prompt carries a one-hot context naming one group, and the reward is that
  group's r_k exactly.

The four features can be set independently (words, markers, bullet lines and numerals do not
overlap), so the best reachable reward is found exactly by enumerating the feature grid; the
oracle writes a reply on the best grid point, and "correct" means reaching that optimum.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from itertools import product
from typing import Any, ClassVar

import numpy as np

from rlvr.core.cards import EnvCard
from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.core.text_env import TextEnv

FEATURES = ("length", "politeness", "lists", "numbers")
LENGTH_CAP, POLITENESS_CAP, LIST_CAP, NUMBER_CAP = 40, 2, 3, 3
MODES = ("mean", "maxmin", "routed")
MAX_RESPONSE_CHARS = 20_000
TOLERANCE = 1e-9
_MARKERS = {"please": "please", "thank": "thank", "thanks": "thank", "sorry": "sorry", "kindly": "kindly",
            "appreciate": "appreciate"}
_WORD = re.compile(r"[A-Za-z]+(?:'[A-Za-z]+)?")
_NUMBER = re.compile(r"(?<![\w.])\d+(?:\.\d+)?(?![\w])")
_BULLET = re.compile(r"^[ \t]*(?:[-*•]|\d+[.)])(?=\s|$)", re.MULTILINE)
_RESPONSE = re.compile(r"<response>(.*?)</response>", re.DOTALL)
_TOPICS = ("saving money", "learning a language", "sleeping better", "starting to run", "cooking at home",
           "planning a trip", "keeping plants alive", "writing a cover letter", "studying for exams",
           "moving to a new city")
_FILLER = ("here", "is", "some", "advice", "that", "should", "help", "you", "with", "this", "topic", "today")
_FEATURE_WORDS = {"length": "long replies", "politeness": "polite wording", "lists": "bulleted lists",
                  "numbers": "concrete numbers"}


def features(text: str) -> np.ndarray:
    """The four feature values in [0, 1] of a reply's text (see the module doc).

    >>> features("Please note:\\n- sleep 8 hours\\n- thanks").tolist()
    [0.075, 1.0, 0.6666666666666666, 0.3333333333333333]
    """
    words = [w.lower() for w in _WORD.findall(text)]
    markers = {_MARKERS[w] for w in words if w in _MARKERS}
    content = sum(1 for w in words if w not in _MARKERS)
    body = _BULLET.sub(" ", text)  # "1." starting a list item is a bullet, not a numeral
    bullets = len(_BULLET.findall(text))
    numerals = len(_NUMBER.findall(body))
    return np.array([min(content, LENGTH_CAP) / LENGTH_CAP, min(len(markers), POLITENESS_CAP) / POLITENESS_CAP,
                     min(bullets, LIST_CAP) / LIST_CAP, min(numerals, NUMBER_CAP) / NUMBER_CAP])


def group_rewards(weights: np.ndarray, phi: np.ndarray) -> np.ndarray:
    """r_k for every group (rows of `weights`) at feature values `phi` ([..., F] broadcasts)."""
    weights = np.asarray(weights, dtype=float)
    positive, negative = np.clip(weights, 0, None), np.clip(-weights, 0, None)
    phi = np.asarray(phi, dtype=float)
    total = np.abs(weights).sum(-1)
    return (phi[..., None, :] * positive + (1 - phi[..., None, :]) * negative).sum(-1) / total


def combine(rewards: np.ndarray, mode: str, route: int) -> np.ndarray:
    """The task's reward from the group rewards (last axis = groups)."""
    if mode == "mean":
        return rewards.mean(-1)
    if mode == "maxmin":
        return rewards.min(-1)
    return rewards[..., route]


def _grid() -> np.ndarray:
    levels = [np.arange(cap + 1) / cap for cap in (LENGTH_CAP, POLITENESS_CAP, LIST_CAP, NUMBER_CAP)]
    return np.array(list(product(*levels)))


_GRID = _grid()


def best_point(weights: np.ndarray, mode: str, route: int) -> tuple[np.ndarray, float]:
    """(feature values, reward) of the best reachable reply, by enumerating the feature grid."""
    values = combine(group_rewards(weights, _GRID), mode, route)
    index = int(np.argmax(values))  # first best: deterministic
    return _GRID[index], float(values[index])


def write_reply(phi: np.ndarray, topic: str) -> str:
    """A reply whose features are exactly `phi` (a grid point)."""
    content = round(phi[0] * LENGTH_CAP)
    markers = ("please", "thanks")[: round(phi[1] * POLITENESS_CAP)]
    numerals = [str(n) for n in (3, 5, 7)][: round(phi[3] * NUMBER_CAP)]
    words = [_FILLER[i % len(_FILLER)] for i in range(content)]
    lines = [" ".join([*words, *markers, *numerals])]
    lines += ["-"] * round(phi[2] * LIST_CAP)
    body = "\n".join(line for line in lines if line)
    return f"Advice on {topic}, written for the groups above.\n<response>\n{body}\n</response>"


class PluralisticTask(Task):
    """Write one reply for several user groups with conflicting tastes (see the module doc)."""

    name: ClassVar[str] = "pluralistic"
    version: ClassVar[int] = 0
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("groups", 3, "number of user groups K", low=1, high=8),
        Knob("mode", "maxmin", "how group rewards combine", choices=MODES),
        Knob("describe_groups", True, "state each group's tastes in the prompt (else they must be learned)"),
    )
    default_template: ClassVar[PromptTemplate] = PromptTemplate(
        instruction="Write your reply inside <response> </response> tags; only the text inside counts."
    )

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        k, mode = difficulty["groups"], difficulty["mode"]
        weights = np.round(rng.uniform(-1, 1, size=(k, len(FEATURES))), 2)
        # a group that cares about nothing has no reward; give it a mild taste for length
        weights[np.abs(weights).sum(-1) == 0, 0] = 0.5
        route = int(rng.integers(k))
        topic = _TOPICS[int(rng.integers(len(_TOPICS)))]
        lines = [f"A user asks for advice on {topic}. Your reply will be read by {k} user group(s)."]
        if difficulty["describe_groups"]:
            lines.append(f"Each taste is a weight in [-1, 1] on a feature of the reply: long replies = content words "
                         f"(up to {LENGTH_CAP}); polite wording = distinct words among please, thanks, sorry, kindly, "
                         f"appreciate (up to {POLITENESS_CAP}); bulleted lists = lines starting with a bullet (up to "
                         f"{LIST_CAP}); concrete numbers = numerals (up to {NUMBER_CAP}).")
            for index, row in enumerate(weights):
                tastes = ", ".join(f"{_FEATURE_WORDS[f]} ({w:+.2f})" for f, w in zip(FEATURES, row, strict=True))
                lines.append(f"Group {index} weights: {tastes}.")
        if mode == "routed":
            context = [1 if i == route else 0 for i in range(k)]
            lines.append(f"Context (one-hot over groups): {context}. Write for this group.")
        elif mode == "maxmin":
            lines.append("Your score is the satisfaction of the least satisfied group.")
        else:
            lines.append("Your score is the average satisfaction over the groups.")
        content = {"topic": topic, "weights": weights.tolist(), "mode": mode,
                   "route": route if mode == "routed" else None}
        phi, best = best_point(weights, mode, route)
        metadata = {"best_reward": best, "best_features": phi.tolist(), "features": list(FEATURES)}
        return self.make_problem("\n".join(lines), content, f"{best:.6f}", difficulty, metadata)

    def score(self, problem: Problem, response: str) -> Score:
        weights = np.asarray(problem.content["weights"], dtype=float)
        k = len(weights)
        empty = {"format": 0.0, **{f"group_{i}": 0.0 for i in range(k)}, "mean": 0.0, "min": 0.0}
        if not isinstance(response, str):
            return Score.zero(f"response must be a string, got {type(response).__name__}", **empty)
        if len(response) > MAX_RESPONSE_CHARS:
            return Score.zero(f"response has {len(response)} characters, more than {MAX_RESPONSE_CHARS}", **empty)
        found = _RESPONSE.findall(response)
        if not found:
            return Score.zero("expected the reply inside <response> </response> tags", **empty)
        phi = features(found[-1])
        rewards = group_rewards(weights, phi)
        mode, route = problem.content["mode"], problem.content["route"] or 0
        reward = float(combine(rewards, mode, route))
        components = {"correct": float(reward >= problem.metadata["best_reward"] - TOLERANCE), "format": 1.0,
                      **{f"group_{i}": float(r) for i, r in enumerate(rewards)},
                      "mean": float(rewards.mean()), "min": float(rewards.min())}
        return Score(reward, components, found[-1].strip()[:200], None)

    def solve(self, problem: Problem) -> str:
        return write_reply(np.asarray(problem.metadata["best_features"]), problem.content["topic"])


class PluralisticEnv(TextEnv):
    """`rlvr/Pluralistic-v0`: one reply an episode, scored by K synthetic user groups (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = PluralisticTask
    card = EnvCard(
        summary="One reply read by K synthetic user groups with conflicting tastes (weights in [-1, 1] over "
        "code-computed features: content words, politeness markers, bullet lines, numerals); modes mean, "
        "maxmin (egalitarian, MaxMin-RLHF) or routed by a one-hot context.",
        observation="text prompt: topic, each group's weights (describe_groups=True), the mode, the one-hot "
        "context when routed",
        action="text response with the reply inside <response> </response> tags",
        reward="mean | min | routed group's r_k, each r_k in [0, 1]; correct = the optimum over the feature "
        "grid; components: correct, format, group_<k>, mean, min",
        task=task_class,
    )
