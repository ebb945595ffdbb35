"""LATR over multi-turn episodes: a branch forks its episode's env with the KV cache, so every
episode's rewards are those a fresh env gives when its actions are replayed; MathTreeStep's clone
is an exact fork; exact log-probs of the action tokens; what cannot be forked is refused."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.training.builders import build_env, build_policy, build_task  # noqa: E402
from rlvr.training.config import TrainConfig, load_config  # noqa: E402
from rlvr.training.generators import GenerationContext, make_generator  # noqa: E402
from rlvr.training.generators.tree_decode import Branch, TreeStats  # noqa: E402
from rlvr.training.generators.tree_episodes import fork_env, tree_episodes  # noqa: E402
from rlvr.training.rollout import ProblemStream  # noqa: E402
from tests.training.conftest import MULTITURN  # noqa: E402
from tests.training.test_trainer import SMALL  # noqa: E402


class History:
    """A multi-turn env that never ends and whose every reward depends on all actions before it:
    an episode stepped in another episode's env, or forked after its parent stepped, gets other rewards."""

    def __init__(self) -> None:
        self.history: list[str] = []
        self.prompt = ""

    def reset(self, *, options):
        self.history, self.prompt = [], options["problem"].prompt
        return self.prompt, {}

    def step(self, action):
        self.history.append(action)
        return self.prompt + "|".join(self.history), float(len("".join(self.history)) % 3), False, False, {"reply": "|"}

    def clone(self):
        twin = History()
        twin.history, twin.prompt = list(self.history), self.prompt
        return twin


@pytest.fixture(scope="module")
def tiny():
    config = load_config("scenarios/quickstart.yaml", [*SMALL, "out_dir=unused"])
    policy, task = build_policy(config), build_task(config)
    return policy, task, ProblemStream(task, 0, config.difficulty).take(2)


def _replayed(problem, actions):
    env = History()
    env.reset(options={"problem": problem})
    return [env.step(action)[1] for action in actions]


def test_tree_episodes_fork_the_env_and_keep_exact_logprobs(tiny):
    policy, task, problems = tiny
    latr = make_generator("latr", {"min_second": 0.0, "max_gap": 1.0, "windows": [2]})
    latr.bind(GenerationContext(policy, task, 4, 4, max_turns=3, make_env=History))
    batch, *_ = latr.generate(problems, 3, 0)
    assert latr.metrics()["latr_branches"] >= 2 and latr.metrics()["tree_share"] > 0.25
    assert batch.rewards.shape == (2, 4) and batch.turns.tolist() == [[3] * 4] * 2
    for row, texts in enumerate(batch.episode_texts):
        assert batch.turn_rewards[row] == _replayed(problems[row // 4], texts[0::2])
    sample, actions = batch.sample, batch.action_mask
    with torch.no_grad():
        scored = policy.score(sample.prompt_ids, sample.completion_ids, sample.completion_mask)["logprobs"]
    torch.testing.assert_close(scored * actions, sample.logprobs * actions, atol=1e-5, rtol=1e-5)


class SecondTurnBrancher:
    """A decoder stand-in: each prompt writes 'ab' in the first call (turn 1) and 'c' after; in the
    second call the first prompt also grows a branch that writes 'dd' instead."""

    def __init__(self, policy):
        self.policy, self.calls = policy, 0

    def decode(self, prompt_ids, quotas, *, groups, **settings):
        self.calls += 1
        ids = self.policy.tokenizer("ab" if self.calls == 1 else "c", add_special_tokens=False)["input_ids"]
        rows = [[Branch(i, tokens=list(ids), logprobs=[-0.5] * len(ids))] for i in range(len(prompt_ids))]
        if self.calls == 2:
            other = self.policy.tokenizer("dd", add_special_tokens=False)["input_ids"]
            rows[0].append(Branch(0, rows[0][0], 0, list(other), [-1.0] * len(other), serial=99))
        return rows, TreeStats(branches=int(self.calls == 2))


def test_a_branch_in_a_later_turn_takes_a_copy_of_its_parents_env(tiny):
    policy, _, problems = tiny
    batch, stats, tree_rows = tree_episodes(SecondTurnBrancher(policy), policy, History, problems[:1], 3, 2,
                                            max_turns=3, env_pool=[], decode={})
    assert stats.branches == 1 and tree_rows == 2
    actions = [texts[0::2] for texts in batch.episode_texts]
    assert sorted(actions) == [["ab", "c", "c"], ["ab", "c", "c"], ["ab", "dd", "c"]]
    for row, played in enumerate(actions):
        assert batch.turn_rewards[row] == _replayed(problems[0], played)


def test_mathtree_step_env_forks_exactly():
    from rlvr.envs.mathtree.step_env import solution_steps

    config = TrainConfig(**{**MULTITURN, "out_dir": "unused"}).validate()
    env = build_env(config)
    problem = ProblemStream(env.task, 0, dict(env.difficulty)).take(1)[0]
    steps = solution_steps(problem)
    env.reset(options={"problem": problem})
    env.step(steps[0])
    twin = fork_env(env, lambda: build_env(config))
    ours, theirs = env.step(steps[1]), twin.step("1 + 1 = 3")
    for played, outcome in ((steps[:2], ours), ([steps[0], "1 + 1 = 3"], theirs)):
        fresh = build_env(config)
        fresh.reset(options={"problem": problem})
        replay = [fresh.step(action) for action in played][-1]
        assert replay[:4] == outcome[:4] and replay[4].get("error") == outcome[4].get("error")
    assert ours[1] == 1.0 and theirs[1] == 0.0


def test_what_cannot_be_forked_is_refused(tiny):
    class Plain:
        pass

    with pytest.raises(ValueError, match="neither clone"):
        fork_env(Plain(), Plain)
    policy, task, problems = tiny
    latr = make_generator("latr")
    latr.bind(GenerationContext(policy, task, 4, 4, max_turns=2, make_env=History, workers=lambda: object()))
    with pytest.raises(ValueError, match="without rollout_workers"):
        latr.generate(problems, 0, 0)
    with pytest.raises(ValueError, match="make_env"):
        make_generator("latr").bind(GenerationContext(policy, task, 4, 4, max_turns=2))
