"""`MathTreeEnv` (`rlvr/MathTree-v0`): the ROVER token-level MDP on MathTree problems.

The policy writes an expression one token at a time over a small synthetic vocabulary (digits,
+ - * /, parentheses, EOS; see `vocab.py`) or over any tokenizer's vocabulary (`tokenizer=`).
Appending is deterministic, so the MDP is a tree; the reward is 1 when the finished expression
equals the target (and, in countdown mode, uses the given numbers), else 0, and comes only at
the end. On such an MDP, acting greedily on Q of the uniform random policy,

    Q^u(s, a) = r(s, a) + (1/|V|) * sum_a' Q^u(s', a'),

is optimal (ROVER): Q^u(s, a) is the probability that uniform play after `a` reaches a rewarding
leaf, which is positive exactly when some rewarding leaf lies below `a`. `env.q_uniform()` gives
that Q exactly for the current state (synthetic vocabulary, small |V|^H; see `oracle.py`).

The vocabulary and the horizon fix the spaces, so they are set at construction; a per-episode
`reset(options={"difficulty": ...})` may lower the horizon but not change the vocabulary.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rlvr.core.cards import EnvCard
from rlvr.core.problem import Problem, Score
from rlvr.core.token_env import TokenEnv
from rlvr.envs.mathtree.grammar import build_automaton
from rlvr.envs.mathtree.task import MathTreeTask, compact_prompt
from rlvr.envs.mathtree.vocab import SyntheticTokenizer, Vocabulary

VOCABULARY_KNOBS = ("digits", "operators", "parentheses")


class MathTreeEnv(TokenEnv):
    """`rlvr/MathTree-v0`: MathTree one token a step (doc card: `card`; the MDP and its oracle: the
    module doc). Keyword arguments that are not parameters are difficulty knobs of `MathTreeTask`."""

    task_class = MathTreeTask
    card = EnvCard(
        summary="The ROVER token-level MDP: write an arithmetic expression equal to a target (optionally "
        "using given numbers), one token a step; a tree with binary terminal reward and an exact Q-uniform "
        "oracle for small vocabularies.",
        observation="Dict(prompt_ids, prompt_length, response_ids, response_length), padded token ids",
        action="Discrete(|V|) one token a step (action_mode='token'), or a sequence of ids "
        "(action_mode='chunk')",
        reward="1 if the finished expression parses and equals the target (exact Fractions), else 0; "
        "components: correct, parsed, uses_numbers",
        task=task_class,
    )

    def __init__(
        self,
        task: MathTreeTask | None = None,
        *,
        action_mode: str = "token",
        tokenizer: Any = None,
        max_prompt_length: int | None = None,
        render_mode: str | None = None,
        difficulty: Mapping[str, Any] | None = None,
        split: str | None = None,
        template: Any = None,
        **knobs: Any,
    ) -> None:
        self.synthetic = tokenizer is None
        if "horizon" in knobs:  # the knob, not TokenEnv's parameter of the same name
            difficulty = {**(difficulty or {}), "horizon": knobs.pop("horizon")}
        self._oracle_cache: tuple[Any, Any] | None = None
        super().__init__(
            task, tokenizer=tokenizer, action_mode=action_mode, max_prompt_length=max_prompt_length,
            render_mode=render_mode, difficulty=difficulty, split=split, template=template, **knobs,
        )
        self.task.check_difficulty(self.difficulty)
        self.vocabulary = Vocabulary.from_difficulty(self.difficulty)
        if self.synthetic:
            self.automaton = build_automaton(self.vocabulary.tokens, max(1, self.horizon // 2))
            self._decode_table = self.tokenizer._decode_table

    # ------------------------------------------------------------------ TokenEnv hooks
    def default_tokenizer(self) -> SyntheticTokenizer:
        return SyntheticTokenizer(Vocabulary.from_difficulty(self.difficulty))

    def default_num_actions(self) -> int:
        if isinstance(self.tokenizer, SyntheticTokenizer):
            return self.tokenizer.num_actions
        return super().default_num_actions()

    def default_horizon(self) -> int:
        return int(self.difficulty["horizon"])

    def default_max_prompt_length(self) -> int:
        if not self.synthetic:
            return 512
        # Longest compact prompt at the constructed difficulty: "n,n,...,n=-target".
        d = self.difficulty
        number_digits = len(str(d["number_max"]))
        target_digits = max(len(str(d["target_min"])), len(str(d["target_max"])))
        return d["number_count"] * (number_digits + 1) + 1 + target_digits

    def episode_horizon(self) -> int:
        return int(self.difficulty["horizon"])

    def encode_prompt(self, problem: Problem) -> list[int]:
        if self.synthetic:
            return self.tokenizer.encode(compact_prompt(problem))
        return super().encode_prompt(problem)

    def decode_response(self, ids: Sequence[int]) -> str:
        if self.synthetic:
            table = self._decode_table
            return "".join([table[i] for i in ids])
        return super().decode_response(ids)

    def error_score(self, reason: str) -> Score:
        countdown = self.problem is not None and self.problem.content.get("mode") == "countdown"
        return Score.zero(reason, None, parsed=0.0, **({"uses_numbers": 0.0} if countdown else {}))

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        change = dict((options or {}).get("difficulty") or {})
        if change:
            proposed = self.task.difficulty(self.difficulty, change)
            fixed = [k for k in VOCABULARY_KNOBS if proposed[k] != self.difficulty[k]]
            if fixed and self.synthetic:
                raise ValueError(
                    f"the vocabulary knobs {fixed} fix the action space and are set at construction; "
                    "make a new env to change them"
                )
            if proposed["horizon"] > self.horizon:
                raise ValueError(
                    f"horizon {proposed['horizon']} exceeds the horizon {self.horizon} the spaces were built for; "
                    "make a new env with a larger horizon"
                )
            self.task.check_difficulty(proposed)
        observation, info = super().reset(seed=seed, options=options)
        self._oracle_cache = None
        return observation, info

    def step(self, action: Any):
        observation, reward, terminated, truncated, info = super().step(action)
        if terminated:
            info["parsed_answer"] = info.get("parsed_answer") or self.decode_response(
                [i for i in info["response_ids"] if i != self.eos_id]
            )
        return observation, reward, terminated, truncated, info

    def render(self) -> str | None:
        text = super().render()
        if text is not None and self.synthetic:
            text += f"\n[response] {self.decode_response(self._response)}"
        return text

    # ------------------------------------------------------------------ exact oracle
    def oracle(self, max_leaves: int | None = None):
        """The `MathTreeOracle` of the current problem and episode horizon (cached per episode)."""
        from rlvr.envs.mathtree.oracle import DEFAULT_MAX_LEAVES, MathTreeOracle

        if not self.synthetic:
            raise ValueError("the exact oracle needs the synthetic vocabulary (no tokenizer=)")
        if self.problem is None:
            raise RuntimeError("call reset() before asking for the oracle")
        key = (self.problem.problem_id, self._episode_horizon)
        if self._oracle_cache is None or self._oracle_cache[0] != key:
            oracle = MathTreeOracle(self.task, self.problem, self.vocabulary, self._episode_horizon,
                                    max_leaves=max_leaves or DEFAULT_MAX_LEAVES)
            self._oracle_cache = (key, oracle)
        return self._oracle_cache[1]

    def q_uniform(self):
        """Q^u(s, a) for every action `a` at the current state (a numpy array of length |V|)."""
        return self.oracle().q_uniform(tuple(self._response))

    def __getstate__(self) -> dict[str, Any]:
        # The oracle's memo can be large and is cheap to rebuild.
        state = dict(self.__dict__)
        state["_oracle_cache"] = None
        return state
