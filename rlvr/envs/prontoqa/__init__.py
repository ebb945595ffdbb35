"""PrOntoQA-style reasoning: true or false over a made-up ontology, answered with a proof chain."""

from rlvr.envs.prontoqa.env import ProntoQAEnv
from rlvr.envs.prontoqa.task import ProntoQATask, read_answer, response_steps
from rlvr.envs.prontoqa.theory import forward_chain, generate_theory, parse_step, proof_of, step_text

__all__ = [
    "ProntoQAEnv",
    "ProntoQATask",
    "forward_chain",
    "generate_theory",
    "parse_step",
    "proof_of",
    "read_answer",
    "response_steps",
    "step_text",
]
