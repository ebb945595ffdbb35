"""`ProntoQAEnv` (`rlvr/ProntoQA-v0`): one question per episode, proof and answer in one response.

The task (theory generation, proof reading, scoring, the oracle) is `ProntoQATask` in `task.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.prontoqa.task import ProntoQATask


class ProntoQAEnv(TextEnv):
    """`rlvr/ProntoQA-v0`: one question per episode, proof and answer in one response (doc card: `card`)."""

    task_class: ClassVar[type[Task]] = ProntoQATask
    task_options = ("proof_weight",)
    card = EnvCard(
        summary="PrOntoQA-style deduction over a generated fictional ontology ('Every wumpus is a "
        "yumpus.'): true or false with a proof chain of exactly `hops` modus ponens steps, distractor rules "
        "and optional negation; labels checked by forward chaining.",
        observation="text prompt: shuffled rules, one fact, 'True or false: Rex is a ...'",
        action="text response: <proof> one step per line </proof> then <answer>True|False</answer>",
        reward="(1 - proof_weight) * correct + proof_weight * proof_prefix, proof_weight 0.5 by default; "
        "proof_prefix = share of the gold chain's steps reproduced in order from the first; components: "
        "correct, proof_prefix",
        task=task_class,
    )
