"""The torch-free parts of the Policy protocol: quantity names and lazy package exports."""

from __future__ import annotations

import subprocess
import sys

import pytest

from rlvr.agents.policy import SCORE_QUANTITIES, check_needs


def test_check_needs_keeps_order_and_rejects_unknown_names():
    assert check_needs(SCORE_QUANTITIES) == SCORE_QUANTITIES
    assert check_needs("entropy") == ("entropy",)
    with pytest.raises(ValueError, match="expected some of logprobs"):
        check_needs(["hidden_states"])


def test_importing_the_agents_package_imports_no_torch():
    code = "import sys, rlvr, rlvr.agents, rlvr.agents.policy; print('torch' in sys.modules, 'transformers' in sys.modules)"
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.split() == ["False", "False"]
