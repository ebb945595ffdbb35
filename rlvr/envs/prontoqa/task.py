"""`ProntoQATask` (`rlvr/ProntoQA-v0`, env in `env.py`): true or false over a fictional ontology.

The prompt lists rules such as "Every wumpus is a yumpus." (shuffled, distractors included) and
one fact "Rex is a wumpus.", then asks "True or false: Rex is a zumpus." The label is what
forward chaining derives: True if it derives the query, False if it derives its negation
(the generator guarantees one of the two, by a chain of exactly `hops` steps).

Response format: the proof inside `<proof> </proof>` tags, one step per line, each step three
sentences: "Rex is a wumpus. Every wumpus is a yumpus. So Rex is a yumpus." (case, spacing and
the connective so/thus/therefore/hence are free), then the answer in `<answer> </answer>` tags:
True or False (yes/no also read). Without `<answer>` tags the last non-empty line is read when it
is just "True"/"False", optionally after "Answer:". Without `<proof>` tags every line of the
response is a candidate step.

Scoring, components:
- "correct": 1 if the answer equals the label.
- "proof_prefix": k / hops, where k is the length of the longest prefix of the response's steps
  (lines that read as steps, in order; other lines are skipped) equal to the gold chain's steps.
  The gold chain is the only derivation of the query literal, so this is the share of the
  required reasoning reproduced in order.
reward = (1 - proof_weight) * correct + proof_weight * proof_prefix (proof_weight 0.5 by default).

With `negation=False` no rule or query is negative, so every label is True and only the proof
separates responses; with `negation=True` (default) labels are balanced.

>>> import numpy as np
>>> task = ProntoQATask()
>>> problem = task.sample(np.random.default_rng(0), {"hops": 2})
>>> task.score(problem, task.solve(problem)).reward
1.0
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any, ClassVar

import numpy as np

from rlvr.core.difficulty import Knob
from rlvr.core.problem import Problem, Score
from rlvr.core.task import Task
from rlvr.core.templates import PromptTemplate
from rlvr.envs.prontoqa.theory import (
    forward_chain,
    generate_theory,
    literal_text,
    normal_step,
    parse_step,
    proof_of,
    rule_text,
    step_text,
)

MAX_RESPONSE_LINES = 500
_ANSWER_TAG = re.compile(r"<answer>(.{0,200}?)</answer>", re.IGNORECASE | re.DOTALL)
_PROOF_TAG = re.compile(r"<proof>(.*?)</proof>", re.IGNORECASE | re.DOTALL)
_BARE_ANSWER = re.compile(r"^(?:(?:final\s+)?answer\s*(?:is)?\s*:?\s*)?(true|false)\.?$", re.IGNORECASE)
_ANSWER_WORDS = {"true": "True", "yes": "True", "false": "False", "no": "False"}

PROOF_TEMPLATE = PromptTemplate(
    instruction="Reason step by step. Write the proof inside <proof> </proof> tags, one step per line, each "
    "step as 'Rex is a wumpus. Every wumpus is a yumpus. So Rex is a yumpus.', then the answer (True or "
    "False) inside <answer> </answer> tags."
)


def read_answer(response: str) -> str:
    """'True' or 'False', or an error text starting with 'no answer' / 'unreadable answer'."""
    tags = _ANSWER_TAG.findall(response)
    if tags:
        words = re.findall(r"[a-z]+", tags[-1].lower())
        found = {_ANSWER_WORDS[w] for w in words if w in _ANSWER_WORDS}
        if len(found) != 1 or len(words) > 3:
            return f"unreadable answer {tags[-1][:60]!r}: expected True or False"
        return found.pop()
    lines = [line.strip() for line in response.splitlines()[-MAX_RESPONSE_LINES:] if line.strip()]
    match = _BARE_ANSWER.match(lines[-1]) if lines else None
    if match is None:
        return "no answer: expected <answer>True</answer> or <answer>False</answer>"
    return match[1].capitalize()


def response_steps(response: str) -> list:
    """The steps the response states, in order (lines that do not read as steps are skipped)."""
    proofs = _PROOF_TAG.findall(response)
    body = proofs[-1] if proofs else _ANSWER_TAG.sub("", response)
    steps = []
    for line in body.splitlines()[:MAX_RESPONSE_LINES]:
        step = parse_step(line)
        if step is not None:
            steps.append(step)
    return steps


class ProntoQATask(Task):
    """True/false questions over a made-up ontology, with a proof (see the module doc)."""

    name: ClassVar[str] = "prontoqa"
    version: ClassVar[int] = 0
    reward_range: ClassVar[tuple[float, float]] = (0.0, 1.0)
    knobs: ClassVar[tuple[Knob, ...]] = (
        Knob("hops", 3, "rules in the chain from the fact to the answer (the proof's length)", low=1, high=10),
        Knob("distractors", 2, "extra rules off the proof: dead-end branches and rules from unrelated concepts",
             low=0, high=30),
        Knob("negation", True, "allow a negative last rule and negative queries (balances True/False labels)"),
    )
    default_template: ClassVar[PromptTemplate] = PROOF_TEMPLATE

    def __init__(self, template: PromptTemplate | None = None, *, proof_weight: float = 0.5) -> None:
        super().__init__(template)
        if not 0.0 <= proof_weight <= 1.0:
            raise ValueError(f"proof_weight must be in [0, 1], got {proof_weight!r}")
        self.proof_weight = float(proof_weight)

    def generate(self, rng: np.random.Generator, difficulty: Mapping[str, Any]) -> Problem:
        hops = difficulty["hops"]
        facts, rules, query, label = generate_theory(rng, hops, difficulty["distractors"], difficulty["negation"])
        derived = forward_chain(facts, rules)
        negated = (query[0], query[1], not query[2])
        if query in derived:
            chained_label, target = True, query
        elif negated in derived:
            chained_label, target = False, negated
        else:
            raise AssertionError(f"{self.name}: the generated theory decides neither {query} nor its negation")
        proof = proof_of(target, derived)
        if chained_label != label or len(proof) != hops:
            raise AssertionError(f"{self.name}: generator and chainer disagree (label {label} vs {chained_label}, "
                                 f"{len(proof)} steps vs {hops} hops)")
        sentences = [rule_text(rule) + "." for rule in rules] + [literal_text(fact) + "." for fact in facts]
        question = " ".join(sentences) + f"\n\nTrue or false: {literal_text(query)}."
        content = {"facts": [list(f) for f in facts], "rules": [list(r) for r in rules], "query": list(query)}
        metadata = {"proof": [step_text(step) for step in proof], "hops": hops,
                    "proof_steps": [[list(part) for part in step] for step in proof]}
        return self.make_problem(question, content, "True" if label else "False", difficulty, metadata)

    def score(self, problem: Problem, response: str) -> Score:
        if not isinstance(response, str):
            return Score.zero(f"a response must be a string, got {type(response).__name__}", proof_prefix=0.0)
        gold_steps = [normal_step(tuple(tuple(part) for part in step)) for step in problem.metadata["proof_steps"]]
        matched = 0
        for step, gold in zip(response_steps(response), gold_steps, strict=False):
            if step != gold:
                break
            matched += 1
        prefix = matched / len(gold_steps)
        answer = read_answer(response)
        if answer not in ("True", "False"):
            return Score(self.proof_weight * prefix, {"correct": 0.0, "proof_prefix": prefix}, None, answer)
        correct = answer == problem.answer
        reward = (1.0 - self.proof_weight) * correct + self.proof_weight * prefix
        error = None if correct else f"the answer is {problem.answer}, not {answer}"
        return Score(reward, {"correct": float(correct), "proof_prefix": prefix}, answer, error)

    def solve(self, problem: Problem) -> str:
        proof = "\n".join(problem.metadata["proof"])
        return f"<proof>\n{proof}\n</proof>\n<answer>{problem.answer}</answer>"
