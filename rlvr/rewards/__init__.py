"""Reward functions: plain functions shaped like TRL's, each scoring a batch of completions."""

from rlvr.rewards.distributional import (
    abstention_reward,
    dcs_from_logprobs,
    distributional_correctness,
    diversity_reward,
)
from rlvr.rewards.judge import StubJudge, expected_score, judge_reward, pairwise_preference
from rlvr.rewards.math import math_reward, math_scores, score_math, verify_answer, verify_batch
from rlvr.rewards.qa import exact_match_reward, f1_reward, qa_scores
from rlvr.rewards.rubric import Rubric

__all__ = [
    "Rubric",
    "StubJudge",
    "abstention_reward",
    "dcs_from_logprobs",
    "distributional_correctness",
    "diversity_reward",
    "exact_match_reward",
    "expected_score",
    "f1_reward",
    "judge_reward",
    "math_reward",
    "math_scores",
    "pairwise_preference",
    "qa_scores",
    "score_math",
    "verify_answer",
    "verify_batch",
]
