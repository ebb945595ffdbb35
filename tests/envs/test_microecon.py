"""MicroEcon (`rlvr/MicroEcon-v0`): answers checked against an independent solve written here, the
kinds knob, and the Task/env conformance checks."""

from __future__ import annotations

from fractions import Fraction

import gymnasium as gym
import pytest
from gymnasium.utils.env_checker import check_env

from rlvr.envs.microecon import MicroEconEnv, MicroEconTask
from rlvr.testing import check_env_conformance, check_task


def test_task_and_env_conformance():
    check_task(MicroEconTask(), n=25)
    check_env(MicroEconEnv(), skip_render_check=True)
    env_id = "rlvr-test/MicroEconEnv-v0"
    gym.register(id=env_id, entry_point="rlvr.envs.microecon:MicroEconEnv")
    try:
        check_env_conformance(env_id, episodes=8)
    finally:
        gym.registry.pop(env_id)


def independent_answer(kind, a, b, c, d, t):
    """Solve the market again: Cramer's rule on the linear system, surpluses by geometry."""

    def equilibrium(shift):
        # Q + bP = a ; Q - dP = c - d*shift  (supply with the tax: Q = c + d(P - shift))
        det = Fraction(1 * (-d) - b * 1)
        q = Fraction(a * (-d) - b * (c - d * shift)) / det
        p = Fraction(1 * (c - d * shift) - a * 1) / det
        return p, q

    p0, q0 = equilibrium(0)
    pt, qt = equilibrium(t)
    if kind == "equilibrium_price":
        return p0
    if kind == "equilibrium_quantity":
        return q0
    if kind == "tax_buyer_price":
        return pt
    if kind == "tax_incidence":
        return (pt - p0) / t
    if kind == "consumer_surplus":
        choke = Fraction(a, b)  # price at which demand is zero
        return (choke - p0) * q0 / 2
    # deadweight loss: the triangle between the curves from Q_t to Q*, height = the tax
    return Fraction(t) * (q0 - qt) / 2


@pytest.mark.parametrize("integer_answers", [False, True])
def test_microecon_answers_are_exact(integer_answers):
    task = MicroEconTask()
    for index in range(40):
        problem = task.problem_at(11, index, {"integer_answers": integer_answers})
        c = problem.content
        expected = independent_answer(c["kind"], c["a"], c["b"], c["c"], c["d"], c["t"])
        assert Fraction(problem.answer) == expected
        if integer_answers:
            assert expected.denominator == 1
        assert task.score(problem, task.solve(problem)).correct
        latex = f"\\frac{{{expected.numerator}}}{{{expected.denominator}}}"
        assert task.score(problem, f"The answer is $\\boxed{{{latex}}}$").correct
        decimal = f"{float(expected):.4f}"
        # a decimal counts exactly when it is the exact value (27.2 = 136/5), never when rounded (31.7143)
        assert task.score(problem, f"\\boxed{{{decimal}}}").correct == (Fraction(decimal) == expected)
        assert not task.score(problem, f"\\boxed{{{expected + Fraction(1, 7)}}}").correct


def test_microecon_kinds_knob():
    task = MicroEconTask()
    kinds = {task.problem_at(0, i, {"kinds": ("consumer_surplus",)}).content["kind"] for i in range(5)}
    assert kinds == {"consumer_surplus"}
    with pytest.raises(ValueError, match="distinct kinds"):
        task.difficulty({"kinds": ("elasticity",)})
