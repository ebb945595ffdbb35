"""The kit's exhaustive solver: solution counts against a brute force that enumerates every
expression tree, and found solutions against an independent evaluator."""

from __future__ import annotations

import numpy as np

from rlvr.envs.arithmetic.solver import count_solutions, find_solution
from tests.envs.arithmetic.reference import brute_force_count, independent_value


def test_count_solutions_matches_brute_force():
    rng = np.random.default_rng(7)
    cases = [((3, 3, 8, 8), 24), ((1, 2, 3, 4), 24), ((1, 1, 1, 1), 24), ((0, 0, 2, 3), 0), ((0, 1, 1), 1)]
    cases += [(tuple(int(n) for n in rng.integers(0, 7, size=int(rng.integers(2, 5)))), int(rng.integers(-3, 13)))
              for _ in range(40)]
    for numbers, target in cases:
        assert count_solutions(numbers, target) == brute_force_count(numbers, target), (numbers, target)
        found = find_solution(numbers, target)
        if count_solutions(numbers, target):
            value, literals = independent_value(found)
            assert value == target and sorted(literals) == sorted(numbers), (numbers, found)
        else:
            assert found is None
