"""`rlvr/TwentyQuestions2P-v0`: twenty questions with the answerer as a second agent (PettingZoo AEC).

    from rlvr.envs import twenty_questions_v0
    env = twenty_questions_v0.env(action_mode="text", answerer_reward="team")

or `rlvr.make_multi("rlvr/TwentyQuestions2P-v0", mode="aec")`. Players alternate and the answerer
must see each question before it answers, so the game has no parallel form: `parallel_env`
raises and says so. Rules and rewards are documented on
`rlvr.envs.elicitation.two_player_env.TwentyQuestionsTwoPlayerEnv`.

>>> game = env(seed=0)
>>> game.reset()
>>> game.agent_selection
'questioner'
"""

from __future__ import annotations

from typing import Any

from rlvr.envs.elicitation.two_player_env import TwentyQuestionsTwoPlayerEnv


def raw_env(**kwargs: Any) -> TwentyQuestionsTwoPlayerEnv:
    """The unwrapped AEC env."""
    return TwentyQuestionsTwoPlayerEnv(**kwargs)


def env(**kwargs: Any) -> TwentyQuestionsTwoPlayerEnv:
    """The game as a PettingZoo AEC env (questioner, then answerer, in turn)."""
    return raw_env(**kwargs)


def parallel_env(**kwargs: Any) -> Any:
    """Not available: a turn-based game where one player reacts to the other has no parallel form."""
    raise NotImplementedError(
        "rlvr/TwentyQuestions2P-v0 is turn-based (the answerer must see each question before it "
        "answers), so it has no ParallelEnv; use env(...) or make_multi(env_id, mode='aec')"
    )
