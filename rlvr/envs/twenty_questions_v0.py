"""`rlvr/TwentyQuestions2P-v0`: twenty questions with the answerer as a second agent (PettingZoo AEC).

    from rlvr.envs import twenty_questions_v0
    env = twenty_questions_v0.env(action_mode="text", answerer_reward="team")

or `rlvr.make_multi("rlvr/TwentyQuestions2P-v0", mode="aec")`. Players alternate and the answerer
must see each question before it answers, so the game has no parallel form: `parallel_env`
raises and says so. The id's doc card is `card` (what `rlvr list` shows); the rules and rewards in
full are documented in `rlvr.envs.elicitation.two_player_env`.

>>> game = env(seed=0)
>>> game.reset()
>>> game.agent_selection
'questioner'
"""

from __future__ import annotations

from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.envs.elicitation.task import TwentyQuestionsTask
from rlvr.envs.elicitation.two_player_env import TwentyQuestionsTwoPlayerEnv

card = EnvCard(
    summary="Two-player twenty questions (PettingZoo AEC, turn-based, no parallel form): a questioner asks "
    "about M yes/no attributes or guesses one of K entities; an answerer agent, who sees the hidden entity, "
    "replies yes/no (truthfully or not).",
    observation="questioner: Dict(prior, likelihood, answer_counts, questions_left) or prompt+transcript "
    "text; answerer: Dict(entity_attributes, question one-hot) or text naming the entity and the question",
    action="questioner Discrete(M + K) or 'ask: <attribute>' / 'guess: <entity>'; answerer Discrete(2) (0 "
    "yes, 1 no) or 'yes' / 'no'",
    reward="questioner: exact information gain (bits) of its eps-noise posterior per answer + bonus for a "
    "right guess; answerer: 1 per answer true to the latent table (answerer_reward='truthful', default) or "
    "the questioner's reward ('team'); unreadable actions earn 0 with the reason",
    task=TwentyQuestionsTask,
)


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
