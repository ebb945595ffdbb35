"""The arithmetic kit's small parts: the operator knob, printing with minimal parentheses, and the
rule that the arithmetic families share the kit instead of importing one another."""

from __future__ import annotations

import ast
from fractions import Fraction
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from rlvr.envs.arithmetic.exact import (
    ATOM_PRECEDENCE,
    BINARY_OPERATORS,
    PRECEDENCE,
    apply_operator,
    join_operands,
)
from rlvr.envs.arithmetic.knobs import OperatorsKnob
from tests.envs.arithmetic.reference import reference_evaluate

ENVS = Path(__file__).resolve().parents[3] / "rlvr" / "envs"
ARITHMETIC_FAMILIES = ("arithmetic", "mathtree", "countdown", "game24", "random_calc")


def test_operators_knob_reads_strings_and_lists_and_canonicalises_the_order():
    knob = OperatorsKnob("operators", BINARY_OPERATORS, "doc")
    assert knob.check("*+") == ("+", "*")
    assert knob.check(["/", "-"]) == ("-", "/")
    assert knob.check(("+",)) == ("+",)


def test_operators_knob_keeps_the_order_when_asked():
    knob = OperatorsKnob("operators", BINARY_OPERATORS, "doc", alphabet=(*BINARY_OPERATORS, "^"), keep_order=True)
    assert knob.check(("^", "*", "+")) == ("^", "*", "+")
    assert knob.check("*^") == ("*", "^")


@pytest.mark.parametrize("value", [(), "", ("+", "+"), ("%",), ("+", "^"), "+-%"])
def test_operators_knob_rejects_bad_sets_saying_what_it_expected(value):
    knob = OperatorsKnob("operators", BINARY_OPERATORS, "doc")
    with pytest.raises(ValueError, match=r"'operators' expects a non-empty tuple of distinct operators from"):
        knob.check(value)


def test_operators_knob_rejects_a_wrong_type():
    with pytest.raises(TypeError, match="operators"):
        OperatorsKnob("operators", BINARY_OPERATORS, "doc").check(3)


def _trees(depth: int):
    leaves = st.integers(0, 30).map(lambda n: (Fraction(n), str(n), ATOM_PRECEDENCE))
    if depth == 0:
        return leaves

    def combine(parts):
        op, left, right = parts
        value = apply_operator(left[0], op, right[0])
        if value is None:
            return left
        return value, join_operands(op, left[1], left[2], right[1], right[2]), PRECEDENCE[op]

    smaller = _trees(depth - 1)
    return st.one_of(leaves, st.tuples(st.sampled_from(BINARY_OPERATORS), smaller, smaller).map(combine))


@given(_trees(4))
def test_printed_expressions_evaluate_to_the_value_they_were_built_from(tree):
    value, text, _ = tree
    assert reference_evaluate(text) is not None, text
    assert reference_evaluate(text)[0] == value, text


@given(_trees(3), st.sampled_from(BINARY_OPERATORS), _trees(3))
def test_no_parentheses_are_added_that_precedence_makes_unnecessary(left, op, right):
    text = join_operands(op, left[1], left[2], right[1], right[2])
    wrapped_left = text.startswith("(" + left[1] + ")")
    assert wrapped_left == (left[2] < PRECEDENCE[op])
    wrapped_right = text.endswith("(" + right[1] + ")")
    assert wrapped_right == (right[2] < PRECEDENCE[op] or (right[2] == PRECEDENCE[op] and op in "-/"))
    spaced = join_operands(op, left[1], left[2], right[1], right[2], " ")
    assert spaced.replace(" ", "") == text


def _family_imports(path: Path) -> set[str]:
    """The families (folders or modules directly under rlvr/envs) that a module imports."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        names = [alias.name for alias in node.names] if isinstance(node, ast.Import) else []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["rlvr", "envs"] and len(parts) > 2:
                found.add(parts[2])
    return found


@pytest.mark.parametrize("family", ARITHMETIC_FAMILIES)
def test_arithmetic_families_import_only_themselves_and_the_kit(family):
    folder = ENVS / family
    paths = sorted(folder.rglob("*.py")) if folder.is_dir() else [ENVS / f"{family}.py"]
    assert paths and all(path.exists() for path in paths)
    allowed = {family} if family == "arithmetic" else {family, "arithmetic"}
    for path in paths:
        stray = _family_imports(path) - allowed
        assert not stray, f"{path.relative_to(ENVS)} imports the families {sorted(stray)}"
