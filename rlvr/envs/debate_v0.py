"""`rlvr/Debate-v0`: multi-agent debate over any registered verifiable text task (PettingZoo).

    from rlvr.envs import debate_v0
    env = debate_v0.parallel_env(task="rlvr/RandomCalc-v0", num_debaters=3, rounds=3)
    aec = debate_v0.env(update="confidence")          # the same env, agent by agent

or `rlvr.make_multi("rlvr/Debate-v0", mode="parallel")`. The id's doc card is `card` (what `rlvr list`
shows); the options and rewards in full are documented in `rlvr.envs.debate.env`.

>>> env = parallel_env(num_debaters=2, rounds=1)
>>> observations, infos = env.reset(seed=0)
>>> sorted(observations)
['debater_0', 'debater_1']
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from rlvr.core.cards import EnvCard
from rlvr.envs.debate.env import DebateParallelEnv

card = EnvCard(
    summary="Multi-agent debate (PettingZoo): N debaters answer a question from any registered text task "
    "over R rounds, seeing peers' previous messages; init vanilla|diverse, update vanilla|confidence; final "
    "answer = majority vote (ties by summed confidence, then seeded draw).",
    observation="text per debater: the question, its previous answer and the peers' previous messages",
    action="text ('answer: X\\nconfidence: 0.8\\nrationale: ...' or any task response) or a dict {answer, "
    "confidence, rationale}; under init='diverse' a list of samples in round 0",
    reward="at the last round: l1*[a_i = y] + l2*[vote = y] - l3*(c_i - [a_i = y])^2 (defaults 1, 1, 1); an "
    "unusable message earns 0 with the reason; info: round-0 majority-vote correctness, transcript",
)


def raw_env(**kwargs: Any) -> DebateParallelEnv:
    """The unwrapped parallel env."""
    return DebateParallelEnv(**kwargs)


def parallel_env(**kwargs: Any) -> DebateParallelEnv:
    """The debate as a PettingZoo ParallelEnv (every debater speaks once per round)."""
    return raw_env(**kwargs)


def env(**kwargs: Any):
    """The debate as a PettingZoo AEC env (converted from the parallel one)."""
    return parallel_to_aec(raw_env(**kwargs))
