"""LATR's lookahead trees over multi-turn episodes: a branch forks the policy's KV cache and its
episode's env, so a tree over an env that answers back stays exact.

Each turn every live episode decodes its action through `ForkingDecoder`, with its own prompt
(the episode's prompt and its turns so far). Where an action branches, the new episode is a copy of
its parent as it stood at the start of the turn: its tokens, rewards and texts so far, and its env
through `env.clone()` (or a fresh env given the parent's `get_state()`), taken before the parent's
action is stepped. Both then step their own action in their own env. `rlvr/MathTreeStep-v0` keeps
its whole state (remaining numbers, steps taken, RNG) in what `clone()` copies, so a branch's
rewards and observations are those a fresh env reaches by replaying the branch's actions (tested).

Per problem: one tree episode that may grow to `quota` episodes (finished ones count), and
G - quota plain episodes (the same decode, never branching); a tree that found fewer branch points
leaves its slots to plain episodes played afterwards, so every group has G episodes.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Sequence
from typing import Any

from rlvr.training.generators.tree_decode import Branch, ForkingDecoder, TreeStats
from rlvr.training.multiturn import EpisodeBatch, _Episode, _to_batch


def fork_env(env: Any, make_env: Callable[[], Any]) -> Any:
    """An independent env in `env`'s state: `env.clone()`, else a fresh env given `get_state()`."""
    if hasattr(env, "clone"):
        return env.clone()
    if hasattr(env, "get_state") and hasattr(env, "set_state"):
        twin = make_env()
        twin.set_state(copy.deepcopy(env.get_state()))
        return twin
    raise ValueError(f"tree episodes fork the env, but {type(env).__name__} has neither clone() nor "
                     "get_state()/set_state()")


def tree_episodes(decoder: ForkingDecoder, policy: Any, make_env: Callable[[], Any], problems: Sequence[Any],
                  group_size: int, quota: int, *, max_turns: int, env_pool: list[Any],
                  decode: dict[str, Any]) -> tuple[EpisodeBatch, TreeStats, int]:
    """G episodes per problem, up to `quota` of them grown as a tree (module doc); the batch, the
    decodes' branch and prune counts, and how many episodes came from trees. `decode`: the keyword
    arguments of `ForkingDecoder.decode` (sampling settings, generator, windows, thresholds)."""
    stats = TreeStats()
    groups_of: dict[int, int] = {}  # id(episode) -> its group: a problem's tree, or one plain episode alone
    quotas: list[int] = []
    envs: dict[int, Any] = {}
    order: list[list[_Episode]] = [[] for _ in problems]

    def start(problem_index: int, tree: bool) -> _Episode:
        slot = sum(len(episodes) for episodes in order)
        while len(env_pool) <= slot:
            env_pool.append(make_env())
        env = env_pool[slot]
        observation = env.reset(options={"problem": problems[problem_index]})[0]
        episode = _Episode(slot, observation, policy.encode([observation])[0])
        groups_of[id(episode)], envs[id(episode)] = (problem_index if tree else len(quotas)), env
        if not tree:
            quotas.append(1)
        order[problem_index].append(episode)
        return episode

    quotas.extend([quota] * len(problems))  # group b < B: problem b's tree
    episodes = [start(b, tree=True) for b in range(len(problems))]
    episodes += [start(b, tree=False) for b in range(len(problems)) for _ in range(group_size - quota)]
    _play(decoder, policy, make_env, episodes, groups_of, quotas, envs, order, max_turns, decode, stats)
    tree_count = sum(1 for episodes_of in order for e in episodes_of if groups_of[id(e)] < len(problems))
    extra = [start(b, tree=False) for b in range(len(problems)) for _ in range(group_size - len(order[b]))]
    if extra:
        _play(decoder, policy, make_env, extra, groups_of, quotas, envs, order, max_turns, decode, stats)
    flat = [episode for episodes_of in order for episode in episodes_of]
    return _to_batch(policy, problems, group_size, flat), stats, tree_count


def _play(decoder: ForkingDecoder, policy: Any, make_env: Callable[[], Any], episodes: list[_Episode],
          groups_of: dict[int, int], quotas: list[int], envs: dict[int, Any], order: list[list[_Episode]],
          max_turns: int, decode: dict[str, Any], stats: TreeStats) -> None:
    """Play `episodes` (and the branches they grow) to their end or `max_turns`."""
    problem_of = {id(e): b for b, episodes_of in enumerate(order) for e in episodes_of}
    for turn in range(max_turns):
        active = [episode for episode in episodes if not episode.done]
        if not active:
            return
        groups = [groups_of[id(episode)] for episode in active]
        finished = [0] * len(quotas)  # a group's finished episodes keep their slots
        for episode in episodes:
            if episode.done:
                finished[groups_of[id(episode)]] += 1
        room = [max(1, quota - done) for quota, done in zip(quotas, finished, strict=True)]
        trees, step_stats = decoder.decode([episode.prompt_ids + episode.tokens for episode in active], room,
                                           groups=groups, **decode)
        stats.branches, stats.pruned = stats.branches + step_stats.branches, stats.pruned + step_stats.pruned
        moves: list[tuple[_Episode, Branch]] = []
        for episode, rows in zip(active, trees, strict=True):
            moves.append((episode, rows[0]))  # the root: this episode's own action
            for branch in rows[1:]:  # a branch: a copy of the episode as the turn began, with its own env
                twin = copy.deepcopy(episode)
                groups_of[id(twin)], envs[id(twin)] = groups_of[id(episode)], fork_env(envs[id(episode)], make_env)
                problem_of[id(twin)] = problem_of[id(episode)]
                order[problem_of[id(episode)]].append(twin)
                episodes.append(twin)
                moves.append((twin, branch))
        texts = policy.tokenizer.batch_decode([branch.tokens for _, branch in moves], skip_special_tokens=True) \
            if getattr(policy, "tokenizer", None) is not None else [""] * len(moves)
        for (episode, branch), text in zip(moves, texts, strict=True):
            observation, reward, terminated, truncated, info = envs[id(episode)].step(text)
            stepped = (observation, float(reward), bool(terminated), bool(truncated), dict(info))
            episode.record_turn(policy, branch.tokens, branch.logprobs, text, stepped, turn, max_turns)

