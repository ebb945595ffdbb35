"""`MathTreeVectorEnv`: `num_envs` copies of the MathTree token MDP advanced together with numpy.

`gym.make_vec("rlvr/MathTree-v0", num_envs=1024)` builds it (the id's `vector_entry_point`). It is
the same MDP as `MathTreeEnv` with the synthetic vocabulary and `action_mode="token"` (other
tokenizers and chunk mode raise a clear error: use `vectorization_mode="sync"` for those):

- spaces: the single spaces are `MathTreeEnv`'s own, batched with gymnasium's `batch_space`
  (a Dict of `(n, ...)` int64 arrays; actions `MultiDiscrete([|V|] * n)`), so policies transfer.
- step: ids are appended to a `(n, horizon)` array and the grammar automaton advances with one
  `transitions[state, action]` lookup for all envs; an episode ends on EOS or at the horizon.
  Only finished episodes whose automaton state is accepting are evaluated (exact integer
  arithmetic on the id row, `evaluate_ids`, cached by the ids); the others earn 0 without any
  per-env Python. An id outside `[0, |V|)` ends the episode with reward 0, as in `MathTreeEnv`.
- autoreset: `AutoresetMode.NEXT_STEP`; an env that finished on step t is reset on step t+1 and
  its action there is ignored (reward 0, not terminated).
- info: `correct` and `parsed` (bool, with the masks `_correct`/`_parsed` marking the envs whose
  episode ended this step) and `problem_index` (int64, every step). `env.problem(k)` turns an
  index into its `Problem` (target mode: for the env's lifetime; countdown: while a sub-env
  plays it). Reset info holds `problem_index` only.
- reset options: `difficulty` (all sub-envs, from these resets on; the vocabulary is fixed and
  the horizon may only shrink, as in `MathTreeEnv`) and gymnasium's `reset_mask`.
- observations are fresh arrays each call (`copy=True`, the default), since users may keep them;
  `copy=False` returns the internal buffers, which the next `step`/`reset` overwrites.

Problem streams. In "target" mode (the default) problems are drawn by a vectorised sampler with
exactly the distribution of `MathTreeTask.generate`: numbers uniform from the task's solution
pool, operators uniform, the same random adjacent merges and minimal parentheses, exact rational
values (int64 with gcd reduction; a row whose intermediate values could overflow is evaluated
exactly in Python instead), and rejection of rows that are too long, divide by zero, are not
integers or fall outside the target range. The stream is its own: the same seed gives the same
problems for this env (chunks of `CHUNK_ROWS` draws from `np.random.default_rng(seed)`), not the
problems of `MathTreeEnv`'s per-problem `SeedSequence` stream, which has the same distribution.
`split=` rejects targets of other splits (a target-mode problem is a function of its target, so
its id and split are computed once per target). `env.problem(k)` builds the `Problem` on demand;
its `metadata["solution"]` is the first drawn expression with that target. In "countdown" mode
each problem comes from `task.problem_at(seed, index)` (the plain env's own stream, about 0.3 ms
a problem: correct but much slower).
"""


from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
from gymnasium.vector import AutoresetMode, VectorEnv
from gymnasium.vector.utils import batch_space

from rlvr.core.hints import did_you_mean
from rlvr.core.problem import Problem, make_problem_id, split_of
from rlvr.core.seeding import MAX_SPLIT_ATTEMPTS, fresh_seed
from rlvr.envs.mathtree.batched import (
    CHUNK_ROWS,
    NOT_PARSED,
    VALUE_CACHE_SIZE,
    TargetSampler,
    evaluate_ids,
    response_value,
    token_kinds,
)
from rlvr.envs.mathtree.env import VOCABULARY_KNOBS, MathTreeEnv
from rlvr.envs.mathtree.task import MAX_GENERATION_ATTEMPTS

RESET_OPTIONS = ("difficulty", "reset_mask")
COUNTDOWN_INDEX_BASE = 1 << 40
"""Problem indices of countdown problems start here (target-mode records count up from 0)."""


class MathTreeVectorEnv(VectorEnv):
    """Batched `MathTreeEnv` (see the module doc). Keyword arguments that are not parameters are
    difficulty knobs, as for `MathTreeEnv`; `max_episode_steps` (from `make_vec`) truncates."""

    metadata = {"autoreset_mode": AutoresetMode.NEXT_STEP, "render_modes": []}

    def __init__(self, num_envs: int = 1, *, difficulty: Mapping[str, Any] | None = None,
                 split: str | None = None, action_mode: str = "token", tokenizer: Any = None,
                 max_prompt_length: int | None = None, max_episode_steps: int | None = None,
                 render_mode: str | None = None, copy: bool = True, **knobs: Any) -> None:
        if action_mode != "token" or tokenizer is not None:
            raise ValueError(
                "MathTreeVectorEnv supports the synthetic vocabulary with action_mode='token' only, got "
                f"action_mode={action_mode!r}, tokenizer={tokenizer!r}; use gym.make_vec(..., "
                "vectorization_mode='sync') for other tokenizers or chunk actions")
        if render_mode is not None:
            raise ValueError(f"MathTreeVectorEnv does not render; render_mode must be None, got {render_mode!r}")
        if int(num_envs) < 1:
            raise ValueError(f"num_envs must be >= 1, got {num_envs}")
        # A plain env resolves and validates the options exactly as MathTreeEnv does and lends its
        # spaces, tokenizer and automaton.
        self.template = env = MathTreeEnv(difficulty=difficulty, split=split, max_prompt_length=max_prompt_length,
                                          **knobs)
        self.task, self.split, self.difficulty = env.task, env.split, dict(env.difficulty)
        self.num_envs, self.horizon, self.copy = int(num_envs), env.horizon, bool(copy)
        self.max_episode_steps = max_episode_steps
        self.single_observation_space, self.single_action_space = env.observation_space, env.action_space
        self.observation_space = batch_space(self.single_observation_space, self.num_envs)
        self.action_space = batch_space(self.single_action_space, self.num_envs)
        self.num_actions, self.pad_id, self.eos_id = env.num_actions, env.pad_id, env.eos_id
        automaton = env.automaton
        self._transitions, self._accepting = automaton.transitions, automaton.accepting
        self._start = automaton.start
        self._kinds = token_kinds(env.vocabulary.tokens)
        n, width = self.num_envs, env.max_prompt_length
        # Per sub-env state. Targets, horizons and modes are per env because a masked reset may
        # change the difficulty of some sub-envs only.
        self._prompt = np.full((n, width), self.pad_id, np.int64)
        self._prompt_length = np.zeros(n, np.int64)
        self._response = np.full((n, self.horizon), self.pad_id, np.int64)
        self._length = np.zeros(n, np.int64)
        self._state = np.full(n, self._start, np.int64)
        self._problem_index = np.zeros(n, np.int64)
        self._target = np.zeros(n, np.int64)
        self._episode_horizon = np.full(n, self.horizon, np.int64)
        self._countdown_env = np.zeros(n, bool)
        self._autoreset = np.zeros(n, bool)
        self._every = np.arange(n)
        # Target-mode records, one per target and difficulty (index = problem index), kept for the
        # env's lifetime in about 150 bytes each: the Problem itself is built on demand.
        self._records = 0
        self._rec_prompt = np.zeros((0, width), np.int64)
        self._rec_prompt_length = np.zeros(0, np.int64)
        self._rec_target = np.zeros(0, np.int64)
        self._rec_split_ok = np.zeros(0, bool)
        self._rec_solution: list[str] = []
        self._rec_difficulty: list[dict[str, Any]] = []
        self._countdown_problems: dict[int, Problem] = {}
        self._values: dict[bytes, int] = {}
        self._stream_seed: int | None = None
        self._index = -1
        self._start_difficulty()

    # ------------------------------------------------------------------ problems
    def problem(self, index: int) -> Problem:
        """The `Problem` behind a `info["problem_index"]` value (countdown problems are kept
        while a sub-env plays them)."""
        index = int(index)
        if index >= COUNTDOWN_INDEX_BASE:
            if index not in self._countdown_problems:
                raise KeyError(f"countdown problem {index} is no longer held (kept while a sub-env plays it)")
            return self._countdown_problems[index]
        if not 0 <= index < self._records:
            raise KeyError(f"no problem with index {index}; this env has drawn {self._records} target-mode problems")
        return self.task._build(self._rec_difficulty[index], int(self._rec_target[index]), [],
                                self._rec_solution[index])

    def current_problems(self) -> list[Problem]:
        """The problem each sub-env plays (the finished one until its autoreset)."""
        return [self.problem(k) for k in self._problem_index.tolist()]

    def _start_difficulty(self) -> None:
        """New knobs: a new sampler, an empty queue and an empty target table."""
        d = self.difficulty
        self._countdown = d["mode"] == "countdown"
        self._sampler = None if self._countdown else TargetSampler(self.task.check_difficulty(d), d)
        self._target_table = np.full(0 if self._countdown else d["target_max"] - d["target_min"] + 1, -1, np.int64)
        self._queue, self._head = np.zeros(0, np.int64), 0

    def _encode_prompts(self, prompts: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
        width = self._prompt.shape[1]
        block = np.full((len(prompts), width), self.pad_id, np.int64)
        for row, ids in enumerate(prompts):
            if len(ids) > width:
                raise ValueError(f"the prompt has {len(ids)} tokens, more than max_prompt_length={width}; "
                                 "pass a larger max_prompt_length")
            block[row, : len(ids)] = ids
        return block, np.array([len(ids) for ids in prompts], np.int64)

    def _add_records(self, targets: list[int], solutions: list[str]) -> np.ndarray:
        """New target-mode records: prompt ids, split membership and what rebuilds the Problem."""
        count, d = self._records, self.difficulty
        if count + len(targets) > len(self._rec_target):  # grow by doubling: amortised O(1) a record
            size = max(2 * len(self._rec_target), count + len(targets), 256)
            self._rec_prompt = np.resize(self._rec_prompt, (size, self._rec_prompt.shape[1]))
            self._rec_prompt_length, self._rec_target, self._rec_split_ok = (
                np.resize(x, size) for x in (self._rec_prompt_length, self._rec_target, self._rec_split_ok))
        # A target-mode problem is its content (what `MathTreeTask` hashes) and its compact prompt:
        # both follow from the target (tests check ids and prompts against MathTreeEnv).
        vocab = self.template.vocabulary
        content = {"mode": "target", "digits": vocab.digits, "operators": vocab.operators,
                   "parentheses": vocab.parentheses}
        end = count + len(targets)
        ids = [make_problem_id(self.task.name, self.task.version, {**content, "target": t}) for t in targets]
        self._rec_split_ok[count:end] = [self.split is None or split_of(i) == self.split for i in ids]
        self._rec_prompt[count:end], self._rec_prompt_length[count:end] = self._encode_prompts(
            [self.template.tokenizer.encode(f"={t}") for t in targets])
        self._rec_target[count:end] = targets
        self._rec_solution += solutions
        self._rec_difficulty += [d] * len(targets)
        self._records = end
        return np.arange(count, end)

    def _draw_records(self, count: int) -> np.ndarray:
        """The next `count` target-mode problems of the stream, as record indices."""
        if self._head + count > len(self._queue):
            fresh, drawn = [self._queue[self._head:]], 0
            have = len(fresh[0])
            while have < count:
                block = self._target_block()
                fresh.append(block)
                have, drawn = have + len(block), drawn + CHUNK_ROWS
                if have == 0 and drawn >= MAX_GENERATION_ATTEMPTS * MAX_SPLIT_ATTEMPTS:
                    raise RuntimeError(
                        f"mathtree: no problem of split {self.split!r} in {drawn} random expressions at difficulty "
                        f"{self.difficulty}; widen the targets or the numbers")
            self._queue, self._head = np.concatenate(fresh), 0
        records = self._queue[self._head: self._head + count]
        self._head += count
        return records

    def _target_block(self) -> np.ndarray:
        """Record indices of one chunk of sampled expressions, in draw order, split applied."""
        batch = self._sampler.draw(self._stream_rng, CHUNK_ROWS)
        slots = batch["targets"] - self.difficulty["target_min"]
        unknown = np.flatnonzero(self._target_table[slots] < 0)
        if len(unknown):  # first sight of a target: one record
            new_slots, first = np.unique(slots[unknown], return_index=True)
            targets = batch["targets"][unknown[first]].tolist()
            solutions = [self._sampler.text(batch, int(batch["rows"][k])) for k in unknown[first]]
            self._target_table[new_slots] = self._add_records(targets, solutions)
        records = self._target_table[slots]
        return records[self._rec_split_ok[records]]

    # ------------------------------------------------------------------ gymnasium API
    def reset(self, *, seed: int | None = None, options: Mapping[str, Any] | None = None):
        """Reset every sub-env (or those in `options["reset_mask"]`). `seed` restarts the problem
        stream; `options={"difficulty": {...}}` changes the knobs from these resets on."""
        if seed is not None and not isinstance(seed, (int, np.integer)):
            raise TypeError(f"seed must be an int or None (one stream feeds every sub-env), got {seed!r}")
        super().reset(seed=seed)
        options = dict(options or {})
        unknown = [k for k in options if k not in RESET_OPTIONS]
        if unknown:
            raise KeyError(f"unknown reset option {unknown[0]!r}; expected some of {list(RESET_OPTIONS)}"
                           + did_you_mean(unknown[0], RESET_OPTIONS))
        if options.get("difficulty"):
            self._change_difficulty(options["difficulty"])
        if seed is not None or self._stream_seed is None:
            self._stream_seed = int(seed) if seed is not None else fresh_seed(self.np_random)
            self._stream_rng = np.random.default_rng(self._stream_seed)
            self._queue, self._head, self._index = np.zeros(0, np.int64), 0, -1
        mask = options.get("reset_mask")
        envs = self._every
        if mask is not None:
            mask = np.asarray(mask)
            if mask.shape != (self.num_envs,) or mask.dtype != np.bool_:
                raise ValueError(f"options['reset_mask'] must be a bool array of shape ({self.num_envs},), "
                                 f"got {mask.dtype} {mask.shape}")
            envs = np.flatnonzero(mask)
        self._reset_envs(envs)
        self._autoreset[envs] = False
        return self._observation(), self._index_info()

    def step(self, actions: Any):
        if self._stream_seed is None:
            raise RuntimeError("step() called before reset(); call reset() first")
        actions = np.asarray(actions)
        if actions.shape != (self.num_envs,):
            raise ValueError(f"actions must have shape ({self.num_envs},), one token id per sub-env, got {actions.shape}")
        resetting = self._autoreset
        if not np.issubdtype(actions.dtype, np.integer):  # as in MathTreeEnv: reward 0, episode over
            bad, invalid = np.ones(self.num_envs, bool), True
        else:
            invalid = bool(actions.min() < 0 or actions.max() >= self.num_actions)
            bad = (actions < 0) | (actions >= self.num_actions) if invalid else None
        if invalid:
            actions = np.where(bad, 0, actions).astype(np.int64)
        # Advance every row, then reset the rows that finished last step (so their action is
        # ignored): whole-array operations are cheaper than selecting the live rows first.
        previous = self._state
        position = np.minimum(self._length, self.horizon - 1)
        self._response[self._every, position] = actions
        self._length += 1
        self._state = self._transitions[previous, actions]
        if invalid:  # an invalid id is not appended
            undo = np.flatnonzero(bad & ~resetting)
            self._response[undo, position[undo]] = self.pad_id
            self._length[undo] -= 1
            self._state[undo] = previous[undo]
        if resetting.any():
            self._reset_envs(np.flatnonzero(resetting))
        # EOS ends the episode whatever state it leads to (after an incomplete prefix: `dead`).
        terminated = ((actions == self.eos_id) & ~resetting) | (self._length >= self._episode_horizon)
        scorable = terminated & self._accepting[self._state]
        if invalid:
            terminated |= bad & ~resetting
            scorable &= ~bad
        truncated = np.zeros(self.num_envs, bool)
        if self.max_episode_steps is not None:
            truncated = self._length >= self.max_episode_steps  # as gymnasium's TimeLimit
        finished = terminated | truncated
        correct, parsed = np.zeros(self.num_envs, bool), np.zeros(self.num_envs, bool)
        scored = np.flatnonzero(scorable)
        if len(scored):
            self._score(scored, correct, parsed)
        self._autoreset = finished
        info = self._index_info()
        info.update(correct=correct, _correct=finished, parsed=parsed, _parsed=finished.copy())
        return self._observation(), correct.astype(np.float64), terminated, truncated, info

    # ------------------------------------------------------------------ internals
    def _change_difficulty(self, change: Mapping[str, Any]) -> None:
        proposed = self.task.difficulty(self.difficulty, change)
        fixed = [k for k in VOCABULARY_KNOBS if proposed[k] != self.difficulty[k]]
        if fixed:
            raise ValueError(f"the vocabulary knobs {fixed} fix the action space and are set at construction; "
                             "make a new env to change them")
        if proposed["horizon"] > self.horizon:
            raise ValueError(f"horizon {proposed['horizon']} exceeds the horizon {self.horizon} the spaces were "
                             "built for; make a new env with a larger horizon")
        self.task.check_difficulty(proposed)
        self.difficulty = proposed
        self._start_difficulty()

    def _reset_envs(self, envs: np.ndarray) -> None:
        if self._countdown:
            self._reset_countdown(envs)
        else:
            records = self._draw_records(len(envs))
            self._problem_index[envs] = records
            self._prompt[envs] = self._rec_prompt[records]
            self._prompt_length[envs] = self._rec_prompt_length[records]
            self._target[envs] = self._rec_target[records]
        self._countdown_env[envs] = self._countdown
        self._episode_horizon[envs] = self.difficulty["horizon"]
        self._response[envs] = self.pad_id
        self._length[envs] = 0
        self._state[envs] = self._start

    def _reset_countdown(self, envs: np.ndarray) -> None:
        """Countdown mode: the plain env's per-problem stream, one `problem_at` call per reset."""
        problems = []
        for _ in range(len(envs)):
            self._index += 1
            problems.append(self.task.problem_at(self._stream_seed, self._index, self.difficulty, self.split))
        self._prompt[envs], self._prompt_length[envs] = self._encode_prompts(
            [self.template.encode_prompt(p) for p in problems])
        self._target[envs] = [p.content["target"] for p in problems]
        self._problem_index[envs] = COUNTDOWN_INDEX_BASE + self._index - len(envs) + 1 + np.arange(len(envs))
        self._countdown_problems.update(zip(self._problem_index[envs].tolist(), problems, strict=True))
        if len(self._countdown_problems) > 4 * self.num_envs:  # keep only what sub-envs still play
            playing = set(self._problem_index.tolist())
            self._countdown_problems = {k: p for k, p in self._countdown_problems.items() if k in playing}

    def _score(self, envs: np.ndarray, correct: np.ndarray, parsed: np.ndarray) -> None:
        """Evaluate finished, grammatical responses through a cache keyed by the padded id rows."""
        width, kinds, cache = self.horizon, self._kinds, self._values
        if len(cache) > VALUE_CACHE_SIZE:
            cache.clear()
        blob = self._response[envs].astype(np.uint8).tobytes()  # ids and pad are < 256
        keys = [blob[start: start + width] for start in range(0, len(blob), width)]
        found = [cache.get(key) for key in keys]
        for i, hit in enumerate(found):
            if hit is None:
                found[i] = cache[keys[i]] = response_value(evaluate_ids(keys[i], kinds))
        values = np.array(found, np.int64)
        ok = values != NOT_PARSED
        parsed[envs] = ok
        correct[envs] = values == self._target[envs]
        countdown = envs[self._countdown_env[envs] & ok]
        for env in countdown.tolist():  # the task also checks which numbers were used
            ids = [i for i in self._response[env, : self._length[env]].tolist() if i != self.eos_id]
            problem = self.problem(self._problem_index[env])
            correct[env] = self.task.score(problem, self.template.decode_response(ids)).correct

    def _observation(self) -> dict[str, np.ndarray]:
        obs = {"prompt_ids": self._prompt, "prompt_length": self._prompt_length,
               "response_ids": self._response, "response_length": self._length}
        return {k: v.copy() for k, v in obs.items()} if self.copy else obs

    def _index_info(self) -> dict[str, np.ndarray]:
        return {"problem_index": self._problem_index.copy(), "_problem_index": np.ones(self.num_envs, bool)}
