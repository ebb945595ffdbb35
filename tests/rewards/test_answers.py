"""The one answer reader on the conventions real models emit, and the verdicts that depend on it.

Each case below was scored wrongly before the reader was rebuilt (measured on independently
labelled pairs: Minerva endings, thousands separators, matrices and their transposes, nested
boxes, display math, hedges between formulas, several different final answers).
"""

from __future__ import annotations

import pytest

from rlvr.rewards.answers import boxed_answer, closing_math, final_segment, tagged_answer, unwrap_math
from rlvr.rewards.math import extract_answer, math_reward, math_scores, score_math

MATRIX = r"\begin{pmatrix} 1 & 2 \\ 3 & 4 \end{pmatrix}"
TRANSPOSE = r"\begin{pmatrix} 1 & 3 \\ 2 & 4 \end{pmatrix}"

RIGHT = [
    ("12", "Work...\nFinal Answer: The final answer is $12$. I hope it is correct."),
    (r"\frac{3}{4}", "Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct."),
    (r"62,\!980", "so the total is \\boxed{62980}"),
    ("62980", "Answer: $62{,}980$"),
    (r"1{,}000", "The answer is 1,000."),
    ("4", r"Hence \boxed{\boxed{4}}."),
    ("12", "The answer is \\[12\\]"),
    ("12", "The answer is \\(12\\)."),
    ("7", "<think>maybe \\boxed{3}? no.</think>\nSo the answer is \\boxed{7}."),
    ("711", "<answer>711</answer>"),
    ("5", "<answer>The answer is $\\boxed{5}$</answer>"),
    ("9", "**Final answer**: 9"),
    ("9", "**Answer:** $9$"),
    (MATRIX, r"The matrix is $\boxed{\begin{pmatrix}1&2\\3&4\end{pmatrix}}$."),
    (MATRIX, "**Answer:** \\(\\begin{pmatrix} 1 & 2\\\\\n3 & 4 \\end{pmatrix}\\)"),
    ("-2, 5", "Final Answer: The final answer is $x = -2 \\text{ or } x = 5$. I hope it is correct."),
    (r"2 \pm \sqrt{3}", r"\boxed{2-\sqrt{3}, 2+\sqrt{3}}"),
    (r"\frac{\pi}{3}", r"Thus $\boxed{\frac{\pi}{3}}$, and restating, the answer is $\boxed{\pi/3}$."),
    ("24", "So the area is $24$."),
    ("12", "Therefore the sum is\n\\[ 12 \\]"),
    # the one held-out miss of the first blind run: a whole quantity set as text
    (r"12\text{ cm}", r"The final answer is: $\boxed{\text{12 cm}}$"),
]

WRONG = [
    (MATRIX, rf"\boxed{{{TRANSPOSE}}}"),  # a transpose is another matrix
    ("439", "The answer is $439$ or $878$."),  # a hedge between formulas
    ("785", "$\\boxed{785}$\n\nHmm, on reflection, the answer is -785."),  # two final answers
    ("3", r"\boxed{3} or maybe \boxed{4}"),
    ("7", "<think>the answer is \\boxed{7}"),  # a trace cut short: no final answer
    ("7", "<answer>7"),  # an unclosed tag
    (r"(1, 2)", r"\boxed{\{1, 2\}}"),  # a set is not an ordered pair
    (r"\frac{10\pi}{7}", "Now we substitute $\\frac{10}{7}\\pi$ into $3 \\times"),  # cut short
    (r"2 \pm \sqrt{3}", r"\boxed{2+\sqrt{3}}"),  # one of the two values
]


@pytest.mark.parametrize(("gold", "response"), RIGHT)
def test_conventions_real_models_emit_are_read(gold: str, response: str) -> None:
    score = score_math(gold, response, timeout=10.0)
    assert score.reward == 1.0, score


@pytest.mark.parametrize(("gold", "response"), WRONG)
def test_transposes_hedges_and_several_answers_score_zero(gold: str, response: str) -> None:
    score = score_math(gold, response, timeout=10.0)
    assert score.reward == 0.0, score


def test_several_different_boxes_score_zero_through_every_entry_point() -> None:
    """Refused in the extractor is not enough: the rewards must pay 0 for it too."""
    response = r"\boxed{3} or maybe \boxed{4}"
    assert extract_answer(response).error == "several boxed answers with different values"
    assert score_math("3", response).reward == 0.0
    assert math_reward([response], answer=["3"]) == [0.0]
    assert [s.reward for s in math_scores([response, r"\boxed{3}"], answer=["3", "3"])] == [0.0, 1.0]


def test_the_reader_parts() -> None:
    assert final_segment("a</think>b</THINK>c") == ("c", None)
    assert tagged_answer("<answer>1</answer> then <answer>2</answer>").answer == "2"
    assert boxed_answer(r"\boxed{1} and \boxed{1}").error is None
    assert unwrap_math("The final answer is $x$. I hope it is correct.") == "x"
    assert closing_math("It is $3$ or $4$.").error == "hedged answer"
    assert closing_math("no formula here") is None
