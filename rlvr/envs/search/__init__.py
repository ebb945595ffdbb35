"""Search agents over a local BM25 corpus, with citation and entity rubric rewards.

`corpus` builds and indexes documents (generated from a knowledge graph, or a user's JSONL file),
`calls` reads tool calls in tag or JSON syntax, `rewards` holds the reward formulas (entity credit,
CaRR rubrics, C-GRPO), `task` the `SearchQATask` and `env` the multi-turn `SearchQAEnv`
(`rlvr/SearchQA-v0`). Exact match and F1 are the generic QA metrics of `rlvr.rewards.qa`, also
importable from here.
"""

from rlvr.envs.search.calls import ToolCall, parse_call
from rlvr.envs.search.corpus import Corpus, Document, Hit, load_corpus, tokenize
from rlvr.envs.search.env import SearchQAEnv
from rlvr.envs.search.rewards import cgrpo_reward, rubric_reward
from rlvr.envs.search.task import REWARD_MODES, SearchQATask
from rlvr.rewards.qa import exact_match, f1_score, squad_normalise

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
