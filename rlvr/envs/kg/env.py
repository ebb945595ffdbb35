"""`KGPathEnv` (`rlvr/KGPath-v0`, `rlvr/KGPathLong-v0`): one multi-hop question an episode, one response.

The task (graph and path sampling, the question, the rewards) is `KGPathTask` in `task.py`.
"""

from __future__ import annotations

from typing import ClassVar

from rlvr.core.cards import EnvCard
from rlvr.core.task import Task
from rlvr.core.text_env import TextEnv
from rlvr.envs.kg.task import KGPathTask


class KGPathEnv(TextEnv):
    """`rlvr/KGPath-v0` and `rlvr/KGPathLong-v0`: one multi-hop question per episode, one response per
    episode (doc cards: `card` and `long_card`)."""

    task_class: ClassVar[type[Task]] = KGPathTask
    task_options = ("reward_mode", "solution_style")
    card = EnvCard(
        summary="Knowledge-graph multi-hop questions: a small fictional typed graph per problem; the prompt "
        "lists the path's facts plus distractor facts and asks 'What is the r_L of ... the r_1 of E0?' "
        "(unique answer by construction); free-form or multiple choice. Trains on 1-3 hops.",
        observation="text prompt (facts, question, options in multiple_choice format)",
        action="text response: reasoning, then the entity (or option letter) in <answer></answer> tags, a "
        "\\boxed{} or an 'Answer:' line",
        reward="reward_mode='binary' (default): 1 if the answer is the gold entity; 'paper': +0.1/-1.0 plus "
        "path alignment min(1.5, (1.2*cov + 0.3*[hits>=2])*rep); 'paper_entity' and 'entity' use the "
        "order-aware entity coverage; components: correct, path_coverage, entity_coverage, path_alignment, "
        "repetition",
        task=task_class,
    )
    long_card = EnvCard(
        summary="The held-out long-path test of rlvr/KGPath-v0: the same questions with 4-5 hop paths.",
        observation=card.observation,
        action="text response: reasoning, then the entity (or option letter) in <answer></answer> tags",
        reward="as rlvr/KGPath-v0 (reward_mode='binary' by default)",
        task=task_class,
    )
