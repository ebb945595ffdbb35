"""Conformance checkers for rlvr tasks and envs, usable on third-party envs too.

    from rlvr.testing import check_task, check_env_conformance, fuzz_env
    check_env_conformance("rlvr/MathTree-v0")
    fuzz_env("rlvr/MathTree-v0", n=200, seed=0).check()    # hostile actions; see rlvr.testing.fuzz
"""

from rlvr.testing.conformance import ADVERSARIAL_RESPONSES, check_env_conformance, check_task
from rlvr.testing.fuzz import Failure, FuzzReport, declared_reward_range, fuzz_env
from rlvr.testing.hostile import fixed_actions, mutate, random_action

__all__ = [
    "ADVERSARIAL_RESPONSES", "Failure", "FuzzReport", "check_env_conformance", "check_task",
    "declared_reward_range", "fixed_actions", "fuzz_env", "mutate", "random_action",
]
