"""Search agents over a local BM25 corpus, with citation and entity rubric rewards.

`corpus` builds and indexes documents (generated from a knowledge graph, or a user's JSONL file),
`calls` reads tool calls in tag or JSON syntax, `rewards` holds the reward formulas (exact match,
F1, entity credit, CaRR rubrics, C-GRPO), `task` the `SearchQATask` and `env` the multi-turn
`SearchQAEnv` (`rlvr/SearchQA-v0`).
"""

from rlvr.envs.search.calls import ToolCall, parse_call
from rlvr.envs.search.corpus import Corpus, Document, Hit, load_corpus, tokenize
from rlvr.envs.search.env import SearchQAEnv
from rlvr.envs.search.rewards import cgrpo_reward, exact_match, f1_score, rubric_reward, squad_normalise
from rlvr.envs.search.task import REWARD_MODES, SearchQATask

__all__ = [
    "REWARD_MODES",
    "Corpus",
    "Document",
    "Hit",
    "SearchQAEnv",
    "SearchQATask",
    "ToolCall",
    "cgrpo_reward",
    "exact_match",
    "f1_score",
    "load_corpus",
    "parse_call",
    "rubric_reward",
    "squad_normalise",
    "tokenize",
]
