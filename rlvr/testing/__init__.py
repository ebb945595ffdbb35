"""Conformance checkers for rlvr tasks and envs, usable on third-party envs too.

    from rlvr.testing import check_task, check_env_conformance
    check_env_conformance("rlvr/MathTree-v0")
"""

from rlvr.testing.conformance import ADVERSARIAL_RESPONSES, check_env_conformance, check_task

__all__ = ["ADVERSARIAL_RESPONSES", "check_env_conformance", "check_task"]
