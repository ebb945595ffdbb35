"""Reward functions: plain functions shaped like TRL's, each scoring a batch of completions."""

from rlvr.rewards.math import math_reward, math_scores, score_math, verify_answer, verify_batch

__all__ = ["math_reward", "math_scores", "score_math", "verify_answer", "verify_batch"]
