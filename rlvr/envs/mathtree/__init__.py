"""MathTree: the ROVER token-level MDP (write an expression equal to a target), its exact
Q-uniform oracle, and a step-level variant.

- `MathTreeTask`: generator + verifier (text view), `solve` returns a correct expression.
- `MathTreeEnv` (`rlvr/MathTree-v0`): one token a step (or a chunk of ids), terminal reward.
- `MathTreeStepEnv` (`rlvr/MathTreeStep-v0`): one "a op b = c" step a turn (countdown).
- `MathTreeOracle`, `UniformQ`, `ExplicitTree`: exact Q of the uniform random policy.
- `PrefixAutomaton` (`build_automaton`): the grammar as a numpy transition table.

Parsing and exact evaluation of expression text are the arithmetic kit's (`rlvr.envs.arithmetic`).
"""

from rlvr.envs.mathtree.env import MathTreeEnv
from rlvr.envs.mathtree.grammar import PrefixAutomaton, build_automaton, canonical_expression
from rlvr.envs.mathtree.oracle import (
    ExplicitTree,
    MathTreeMDP,
    MathTreeOracle,
    UniformQ,
    q_uniform,
    softmax_policy,
)
from rlvr.envs.mathtree.step_env import MathTreeStepEnv, solution_steps
from rlvr.envs.mathtree.task import MathTreeTask, compact_prompt
from rlvr.envs.mathtree.vocab import SyntheticTokenizer, Vocabulary

__all__ = [
    "ExplicitTree",
    "MathTreeEnv",
    "MathTreeMDP",
    "MathTreeOracle",
    "MathTreeStepEnv",
    "MathTreeTask",
    "PrefixAutomaton",
    "SyntheticTokenizer",
    "UniformQ",
    "Vocabulary",
    "build_automaton",
    "canonical_expression",
    "compact_prompt",
    "q_uniform",
    "softmax_policy",
    "solution_steps",
]
