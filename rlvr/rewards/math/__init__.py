"""Verifiable math rewards: answer extraction, exact numeric checks, math-verify in workers.

    from rlvr.rewards.math import math_reward, score_math, verify_answer

Numbers are compared exactly (`fractions.Fraction`, no sympy) and sets/intervals/tuples of
numbers structurally; everything else goes to math-verify in a pool of worker processes that
starts on first need, enforces a wall-clock limit per answer and shuts down at exit.
"""

from rlvr.rewards.math.extract import MODES, Extraction, extract_answer
from rlvr.rewards.math.numbers import parse_number
from rlvr.rewards.math.pool import shutdown_pool
from rlvr.rewards.math.reward import completion_text, math_reward, math_scores, score_math
from rlvr.rewards.math.values import check_extraction, read_value
from rlvr.rewards.math.verify import Verdict, clear_cache, verify_answer, verify_batch

__all__ = [
    "MODES",
    "Extraction",
    "Verdict",
    "check_extraction",
    "clear_cache",
    "completion_text",
    "extract_answer",
    "math_reward",
    "math_scores",
    "parse_number",
    "read_value",
    "score_math",
    "shutdown_pool",
    "verify_answer",
    "verify_batch",
]
