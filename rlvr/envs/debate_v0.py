"""`rlvr/Debate-v0`: multi-agent debate over any registered verifiable text task (PettingZoo).

    from rlvr.envs import debate_v0
    env = debate_v0.parallel_env(task="rlvr/RandomCalc-v0", num_debaters=3, rounds=3)
    aec = debate_v0.env(update="confidence")          # the same env, agent by agent

or `rlvr.make_multi("rlvr/Debate-v0", mode="parallel")`. Options and rewards are documented on
`rlvr.envs.debate.env.DebateParallelEnv`.

>>> env = parallel_env(num_debaters=2, rounds=1)
>>> observations, infos = env.reset(seed=0)
>>> sorted(observations)
['debater_0', 'debater_1']
"""

from __future__ import annotations

from typing import Any

from pettingzoo.utils.conversions import parallel_to_aec

from rlvr.envs.debate.env import DebateParallelEnv


def raw_env(**kwargs: Any) -> DebateParallelEnv:
    """The unwrapped parallel env."""
    return DebateParallelEnv(**kwargs)


def parallel_env(**kwargs: Any) -> DebateParallelEnv:
    """The debate as a PettingZoo ParallelEnv (every debater speaks once per round)."""
    return raw_env(**kwargs)


def env(**kwargs: Any):
    """The debate as a PettingZoo AEC env (converted from the parallel one)."""
    return parallel_to_aec(raw_env(**kwargs))
