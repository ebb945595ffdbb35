"""Group rollouts: shapes, grouping, and rewards equal to the verifier's scores of the texts."""

from __future__ import annotations

import pytest
import torch

from rlvr.training.builders import build_policy, build_task
from rlvr.training.config import load_config
from rlvr.training.rollout import ProblemStream, collect_group_rollouts


@pytest.fixture(scope="module")
def setup():
    config = load_config("scenarios/quickstart.yaml", ["max_new_tokens=6", "progress=false"])
    return build_task(config), build_policy(config), config


def test_rollout_shapes_and_rewards_match_the_verifier(setup):
    task, policy, config = setup
    problems = ProblemStream(task, seed=3, difficulty=config.difficulty).take(3)
    batch = collect_group_rollouts(policy, task, problems, group_size=4, max_new_tokens=6, temperature=1.0, seed=5)
    assert batch.rewards.shape == (3, 4) and batch.rewards.dtype == torch.float32
    sample = batch.sample
    rows, width = sample.completion_ids.shape
    assert rows == 12 and width <= 6
    assert sample.logprobs.shape == sample.completion_mask.shape == (12, width)
    assert batch.lengths.shape == batch.finished.shape == (3, 4)
    assert set(batch.components) >= {"correct"}
    for row, text in enumerate(sample.texts):
        problem = problems[row // 4]
        assert sample.prompt_ids[row] == policy.encode([problem.prompt])[0]  # rows grouped by problem
        score = task.score(problem, text)
        assert batch.rewards[row // 4, row % 4] == pytest.approx(score.reward)
        assert batch.errors[row] == score.error
    # the decoded texts are the completion tokens (EOS and padding left out)
    decoded = policy.tokenizer.batch_decode(sample.completion_lists(), skip_special_tokens=True)
    assert decoded == sample.texts


def test_oracle_texts_get_reward_one_and_wrong_ones_zero(setup):
    task, _, config = setup
    from rlvr.training.rollout import score_texts

    problems = ProblemStream(task, seed=0, difficulty=config.difficulty).take(2)
    texts = [str(problems[0].answer), "7x", str(problems[1].answer), str(int(problems[1].answer) + 1)]
    rewards, components, errors = score_texts(task, problems, texts, 2)
    assert rewards.tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert components["correct"].tolist() == [[1.0, 0.0], [1.0, 0.0]]
    assert errors[0] is None and errors[1]


def test_problem_stream_is_seeded_and_resumable(setup):
    task, _, config = setup
    stream = ProblemStream(task, seed=1, difficulty=config.difficulty)
    first = [p.problem_id for p in stream.take(5)]
    resumed = ProblemStream(task, seed=1, difficulty=config.difficulty)
    resumed.load_state_dict({"seed": 1, "index": 2})
    assert [p.problem_id for p in resumed.take(3)] == first[2:]
    assert all(p.split == "train" for p in stream.take(20))


def test_same_seed_same_rollouts(setup):
    task, policy, config = setup
    problems = ProblemStream(task, seed=0, difficulty=config.difficulty).take(2)
    one = collect_group_rollouts(policy, task, problems, 3, max_new_tokens=6, seed=11)
    two = collect_group_rollouts(policy, task, problems, 3, max_new_tokens=6, seed=11)
    assert torch.equal(one.sample.completion_ids, two.sample.completion_ids)
    assert torch.equal(one.rewards, two.rewards)


class ScriptedPolicy:
    """Answers greedily with the gold answer for even problems; samples come from a script."""

    def __init__(self, problems, sampled_answers):
        self.problems, self.sampled = problems, sampled_answers
        self.model = torch.nn.Linear(1, 1)

    def sample(self, prompts, num_samples=1, seed=None, temperature=1.0, **_):
        from rlvr.agents.policy import SampleBatch

        by_prompt = {p.prompt: i for i, p in enumerate(self.problems)}
        texts = []
        for prompt in prompts:
            index = by_prompt[prompt]
            if temperature == 0:
                texts.append(str(self.problems[index].answer) if index % 2 == 0 else "0")
            else:
                texts.extend(self.sampled[index][:num_samples])
        mask = torch.ones(len(texts), 2, dtype=torch.bool)
        return SampleBatch([[1]] * len(texts), [0] * len(texts), torch.zeros(len(texts), 2, dtype=torch.long),
                           mask, torch.zeros(len(texts), 2), texts, [True] * len(texts))


def test_evaluate_worked_numbers(setup):
    from rlvr.training.evaluate import evaluate

    task, _, config = setup
    problems = ProblemStream(task, seed=4, difficulty=config.difficulty, split="eval").distinct(2)
    gold = [str(p.answer) for p in problems]
    wrong = [str(int(g) + 1) for g in gold]
    # problem 0: 1 of 4 correct, majority wrong; problem 1: 3 of 4 correct
    sampled = [[gold[0], wrong[0], wrong[0], "x"], [gold[1], wrong[1], gold[1], gold[1]]]
    metrics = evaluate(ScriptedPolicy(problems, sampled), task, problems, num_samples=4, ks=(1, 2, 4))
    assert metrics["greedy_accuracy"] == 0.5  # even problems answered right greedily
    assert metrics["sample_accuracy"] == pytest.approx(4 / 8)
    assert metrics["pass@1"] == pytest.approx((1 / 4 + 3 / 4) / 2)
    assert metrics["pass@2"] == pytest.approx(((1 - 3 / 6) + (1 - 0 / 6)) / 2)  # 1 - C(n-c,2)/C(4,2)
    assert metrics["pass@4"] == pytest.approx(1.0)
    assert metrics["maj@4"] == pytest.approx(0.5)  # problem 0's majority is the wrong answer
    assert metrics["maj@1"] == pytest.approx(1.0)  # both first samples are right
