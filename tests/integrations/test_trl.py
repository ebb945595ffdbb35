"""TRL integration: reward functions, problem datasets, env rollouts, and GRPOTrainer on the tiny model."""

from __future__ import annotations

import subprocess
import sys
from types import SimpleNamespace

import numpy as np
import pytest

pytest.importorskip("trl")
torch = pytest.importorskip("torch")

from rlvr.core import Problem, PromptTemplate, Score, Task, TextEnv  # noqa: E402
from rlvr.envs.random_calc import RandomCalcTask  # noqa: E402
from rlvr.integrations.trl import (  # noqa: E402
    EnvRollout,
    RlvrReward,
    env_reward,
    problem_from_json,
    problem_to_json,
    problems_dataset,
    reward_funcs,
)

SMALL_SUMS = {"num_ops": 1, "operators": ["+"], "min_operand": 0, "max_operand": 9}


@pytest.fixture(autouse=True, scope="module")
def one_thread():
    """The tiny model's matmuls are too small to share: on a busy 2-core machine one thread runs
    several times faster than two."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def calc() -> RandomCalcTask:
    return RandomCalcTask(template=PromptTemplate(instruction="", text="{expression}="))


@pytest.fixture(scope="module")
def rows(calc):
    return problems_dataset(calc, n=6, seed=3, difficulty=SMALL_SUMS)


# ---- reward functions -------------------------------------------------------------------------------
def test_right_answers_score_one_and_wrong_answers_zero(calc, rows):
    reward = RlvrReward(calc)
    problems = [problem_from_json(text) for text in rows["problem"]]
    right = [p.answer for p in problems]
    wrong = [str(int(p.answer) + 1) for p in problems]
    assert reward(prompts=rows["prompt"], completions=right, problem=rows["problem"]) == [1.0] * len(rows)
    assert reward(prompts=rows["prompt"], completions=wrong, problem=rows["problem"]) == [0.0] * len(rows)


def test_conversational_completions_are_scored_by_the_last_assistant_message(calc, rows):
    reward = RlvrReward(calc)
    problem = problem_from_json(rows["problem"][0])
    completions = [
        [{"role": "assistant", "content": problem.answer}],
        [{"role": "assistant", "content": [{"type": "text", "text": problem.answer}]}],
        [{"role": "assistant", "content": "let me check"}, {"role": "tool", "content": "ok"},
         {"role": "assistant", "content": problem.answer}],
        [{"role": "assistant", "content": problem.answer}, {"role": "assistant", "content": "-1"}],
    ]
    assert reward(completions=completions, problem=[rows["problem"][0]] * 4) == [1.0, 1.0, 1.0, 0.0]


def test_bad_completions_score_zero_with_a_reason_logged(calc, rows):
    reward = RlvrReward(calc)
    logged = {}
    completions = [12, "", "no digits here", None]
    values = reward(completions=completions, problem=[rows["problem"][0]] * 4,
                    log_extra=lambda column, values: logged.setdefault(column, values))
    assert values == [0.0] * 4
    errors = [score.error for score in reward.last_scores]
    assert all(errors), errors
    assert "got int" in errors[0] and "got NoneType" in errors[3]
    assert logged == {"rlvr_random_calc_error": errors}


def test_a_missing_problem_column_is_named(calc):
    with pytest.raises(KeyError, match="'problem'.*problems_dataset"):
        RlvrReward(calc)(completions=["1"], answer=["1"])
    with pytest.raises(ValueError, match="2 completions but 1 problems"):
        RlvrReward(calc)(completions=["1", "2"], problem=["{}"])
    with pytest.raises(ValueError, match=r"missing \['version'"):
        RlvrReward(calc)(completions=["1"], problem=['{"task": "random_calc"}'])


def test_importing_the_module_imports_neither_trl_nor_torch():
    code = ("import sys, rlvr.integrations.trl; "
            "print(sorted(m for m in ('trl', 'datasets', 'torch', 'transformers') if m in sys.modules))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "[]"


def test_rows_of_other_tasks_get_none(calc, rows):
    other = Problem(task="another-task", version=0, content={"x": 1}, prompt="x?", messages=(), answer="1")
    column = [rows["problem"][0], "", problem_to_json(other)]
    answer = problem_from_json(rows["problem"][0]).answer
    assert RlvrReward(calc)(completions=[answer, answer, answer], problem=column) == [1.0, None, None]


def test_require_eos_zeroes_completions_cut_off_at_the_length_limit(calc, rows):
    eos = 2
    problem = problem_from_json(rows["problem"][0])
    ids = [[5, 6, eos], [5, 6, 7], []]
    reward = RlvrReward(calc, require_eos=True, eos_token_id=eos)
    values = reward(completions=[problem.answer] * 3, completion_ids=ids, problem=[rows["problem"][0]] * 3)
    assert values == [1.0, 0.0, 0.0]
    assert "no EOS" in reward.last_scores[1].error
    # without the option a cut-off right answer earns the reward, as in the project's trainer
    assert RlvrReward(calc)(completions=[problem.answer], completion_ids=[[5, 6, 7]], problem=[rows["problem"][0]]) == [1.0]
    with pytest.raises(ValueError, match="eos_token_id"):
        RlvrReward(calc, require_eos=True)


def test_component_functions_log_components_from_one_scoring_pass(calc, rows, monkeypatch):
    funcs = reward_funcs(calc, components=("correct", "relative_error_reward"))
    assert [f.__name__ for f in funcs] == ["rlvr_random_calc", "rlvr_random_calc_correct",
                                           "rlvr_random_calc_relative_error_reward"]
    assert [f.weight for f in funcs] == [1.0, 0.0, 0.0]
    calls = []
    original = RandomCalcTask.score
    monkeypatch.setattr(RandomCalcTask, "score", lambda self, p, r: calls.append(r) or original(self, p, r))
    problem = problem_from_json(rows["problem"][0])
    gold = int(problem.answer)
    completions, column = [str(gold), str(gold + 1)], [rows["problem"][0]] * 2
    values = [f(completions=completions, problem=column) for f in funcs]
    assert len(calls) == 2  # one verdict per completion, shared by the three functions
    expected_closeness = 0.9 * (1 - 1 / max(gold, 1))
    assert values[0] == [1.0, 0.0] and values[1] == [1.0, 0.0]
    assert values[2][0] == 1.0 and values[2][1] == pytest.approx(expected_closeness)
    # a new batch is scored again
    funcs[0](completions=list(completions), problem=column)
    assert len(calls) == 4


def test_env_reward_passes_the_rollout_column_on():
    assert env_reward(["a", "b"], env_reward=[1, 0.25]) == [1.0, 0.25]
    with pytest.raises(KeyError, match="EnvRollout"):
        env_reward(["a"])


# ---- datasets ---------------------------------------------------------------------------------------
def test_problems_dataset_columns_and_reproducibility(calc):
    data = problems_dataset(calc, n=20, seed=1, difficulty=SMALL_SUMS)
    assert set(data.column_names) == {"prompt", "problem", "problem_id"}
    problems = [problem_from_json(text) for text in data["problem"]]
    assert data["prompt"] == [p.prompt for p in problems]
    assert data["problem_id"] == [p.problem_id for p in problems]
    assert all(p.split == "train" and p.difficulty["operators"] == ["+"] for p in problems)
    assert all(p.prompt.endswith("=") and " + " in p.prompt for p in problems)
    assert problems_dataset(calc, n=20, seed=1, difficulty=SMALL_SUMS)["problem"] == data["problem"]
    assert problems_dataset(calc, n=20, seed=2, difficulty=SMALL_SUMS)["problem"] != data["problem"]
    held_out = problems_dataset(calc, n=10, seed=1, split="eval", difficulty=SMALL_SUMS)
    assert all(problem_from_json(text).split == "eval" for text in held_out["problem"])


def test_problems_dataset_conversational_prompts_and_env_defaults():
    data = problems_dataset("rlvr/RandomCalc-v0", n=3, seed=0, conversational=True, template="{expression}=")
    problem = problem_from_json(data["problem"][0])
    assert data["prompt"][0] == [{"role": "user", "content": problem.prompt}]
    # an env id brings its own settings: the step env plays countdown problems
    steps = problems_dataset("rlvr/MathTreeStep-v0", n=2, seed=0, split=None)
    assert all(problem_from_json(text).content["mode"] == "countdown" for text in steps["problem"])
    with pytest.raises(KeyError, match="num_ops"):
        problems_dataset("rlvr/RandomCalc-v0", n=2, difficulty={"num_op": 1})


# ---- env rollouts -----------------------------------------------------------------------------------
class EchoTask(Task):
    """Repeat a number; the prompt is just 'n:'."""

    name = "test-echo"
    default_template = PromptTemplate(instruction="", text="{question}:")

    def generate(self, rng: np.random.Generator, difficulty) -> Problem:
        n = int(rng.integers(0, 100))
        return self.make_problem(str(n), {"n": n}, str(n), difficulty)

    def score(self, problem: Problem, response: str) -> Score:
        return Score.binary(response.strip() == problem.answer)


class ThreeTurnEnv(TextEnv):
    """Three actions an episode, 0.5 reward each; the observation gains '|k' after action k."""

    task_class = EchoTask

    def reset(self, *, seed=None, options=None):
        self._turns = 0
        return super().reset(seed=seed, options=options)

    def step(self, action):
        self._turns += 1
        observation = self.problem.prompt + "".join(f"|{k}" for k in range(1, self._turns + 1))
        return observation, 0.5, self._turns == 3, False, {"correct": self._turns == 3, "error": None}


@pytest.fixture(scope="module")
def tiny():
    from rlvr.agents.tiny import build_tiny_model

    return build_tiny_model(seed=0)


def fake_trainer(model, tokenizer, max_completion_length):
    args = SimpleNamespace(max_completion_length=max_completion_length, temperature=1.0, top_p=1.0, seed=0)
    return SimpleNamespace(model=model, processing_class=tokenizer, args=args)


def test_env_rollout_plays_every_turn_and_masks_the_env_text(tiny):
    from rlvr.agents.hf import TransformersPolicy

    model, tokenizer = tiny
    problems = [EchoTask().problem_at(0, i) for i in range(3)]
    rollout = EnvRollout(ThreeTurnEnv, problems, max_turn_tokens=4)
    prompts = [p.prompt for p in problems for _ in range(2)]
    model.train()
    out = rollout(prompts, fake_trainer(model, tokenizer, max_completion_length=40))
    assert model.training  # the trainer's mode is restored after sampling
    assert out["env_turns"] == [3] * 6 and out["env_reward"] == [1.5] * 6 and out["env_correct"] == [1.0] * 6
    assert out["prompt_ids"] == tokenizer(prompts)["input_ids"]
    policy = TransformersPolicy(model, tokenizer, device="cpu", dtype=torch.float32)
    for prompt_ids, ids, mask, logprobs in zip(out["prompt_ids"], out["completion_ids"], out["env_mask"],
                                               out["logprobs"], strict=True):
        assert len(ids) == len(mask) == len(logprobs) <= 3 * 4 + 4
        env_text = tokenizer.decode([t for t, m in zip(ids, mask, strict=True) if not m])
        assert env_text == "|1|2"  # the env's new text after actions 1 and 2, nothing after the last
        # each model token's log-prob is that of the whole sequence so far: the layout the loss sees
        with torch.no_grad():
            rescored = policy.score([prompt_ids], [ids])["logprobs"][0]
        model_rows = torch.tensor(mask, dtype=torch.bool)
        assert torch.allclose(torch.tensor(logprobs)[model_rows], rescored[model_rows], atol=1e-4)
        assert all(value == 0.0 for value, m in zip(logprobs, mask, strict=True) if not m)


def test_env_rollout_keeps_to_the_token_budget_and_max_turns(tiny):
    model, tokenizer = tiny
    problems = [EchoTask().problem_at(0, i) for i in range(2)]
    prompts = [p.prompt for p in problems]
    short = EnvRollout(ThreeTurnEnv, problems)(prompts, fake_trainer(model, tokenizer, max_completion_length=5))
    assert all(len(ids) <= 5 for ids in short["completion_ids"])
    assert all(turns < 3 for turns in short["env_turns"])  # the budget ended the episodes early
    one = EnvRollout(ThreeTurnEnv, problems, max_turns=1)(prompts, fake_trainer(model, tokenizer, 40))
    assert one["env_turns"] == [1, 1] and one["env_reward"] == [0.5, 0.5]


def test_env_rollout_refuses_unknown_and_ambiguous_prompts(tiny):
    model, tokenizer = tiny
    problem = EchoTask().problem_at(0, 0)
    rollout = EnvRollout(ThreeTurnEnv, [problem])
    with pytest.raises(KeyError, match="same dataset"):
        rollout(["not a prompt"], fake_trainer(model, tokenizer, 8))
    with pytest.raises(ValueError, match="conversational=False"):
        rollout([[{"role": "user", "content": problem.prompt}]], fake_trainer(model, tokenizer, 8))
    twin = Problem(task="test-echo", version=0, content={"n": -1}, prompt=problem.prompt, messages=(), answer="x")
    with pytest.raises(ValueError, match="share the prompt"):
        EnvRollout(ThreeTurnEnv, [problem, twin])


# ---- GRPOTrainer ------------------------------------------------------------------------------------
def grpo_config(tmp_path, **overrides):
    from trl import GRPOConfig

    settings = dict(
        output_dir=str(tmp_path / "trl"), per_device_train_batch_size=16, num_generations=4,
        max_completion_length=5, max_steps=2, learning_rate=1e-3, lr_scheduler_type="constant",
        loss_type="grpo", beta=0.0, bf16=False, gradient_checkpointing=False, use_cpu=True,
        report_to="none", save_strategy="no", logging_steps=1, disable_tqdm=True, seed=0,
    )
    settings.update(overrides)
    return GRPOConfig(**settings)


def test_grpo_trainer_trains_the_tiny_model_on_rlvr_rewards(tmp_path):
    from trl import GRPOTrainer

    from rlvr.agents.tiny import build_tiny_model

    model, tokenizer = build_tiny_model(seed=0)
    before = {name: p.detach().clone() for name, p in model.named_parameters()}
    # the dense reward gives random outputs graded credit, so the groups carry a gradient
    task = RandomCalcTask(template=PromptTemplate(instruction="", text="{expression}="), dense_reward=True)
    dataset = problems_dataset(task, n=32, seed=0, difficulty=SMALL_SUMS)
    reward, correct = reward_funcs(task, components=("correct",))
    seen = []

    def counted(prompts, completions, completion_ids, **columns):
        seen.append((len(completions), len(completion_ids), len(columns["problem"]), type(completions[0])))
        return reward(prompts=prompts, completions=completions, completion_ids=completion_ids, **columns)

    trainer = GRPOTrainer(model=model, reward_funcs=[counted, correct], train_dataset=dataset,
                          processing_class=tokenizer, args=grpo_config(tmp_path, reward_weights=[1.0, 0.0]))
    trainer.train()
    assert seen == [(16, 16, 16, str)] * 2
    changed = [name for name, p in model.named_parameters() if not torch.equal(p.detach(), before[name])]
    assert changed, "no weight moved"
    logged = [entry for entry in trainer.state.log_history if "rewards/rlvr_random_calc_correct/mean" in entry]
    assert len(logged) == 2 and all(0.0 <= entry["rewards/counted/mean"] <= 1.0 for entry in logged)


def test_grpo_trainer_plays_a_multi_turn_env_through_rollout_func(tmp_path, tiny, monkeypatch):
    from datasets import Dataset
    from trl import GRPOTrainer

    monkeypatch.setenv("TRL_EXPERIMENTAL_SILENCE", "1")
    model, tokenizer = tiny
    problems = [EchoTask().problem_at(0, i) for i in range(8)]
    dataset = Dataset.from_list([{"prompt": p.prompt, "problem": problem_to_json(p)} for p in problems])
    seen = []

    def spy(completions, env_turns, env_reward, **columns):
        seen.append((list(env_turns), list(env_reward), list(completions)))
        return [0.0] * len(completions)

    trainer = GRPOTrainer(
        model=model, reward_funcs=[env_reward, spy], train_dataset=dataset, processing_class=tokenizer,
        rollout_func=EnvRollout(ThreeTurnEnv, dataset, max_turn_tokens=3),
        args=grpo_config(tmp_path, per_device_train_batch_size=8, max_completion_length=16, max_steps=1),
    )
    trainer.train()
    (turns, rewards, completions), = seen
    assert turns == [3] * 8 and rewards == [1.5] * 8
    # TRL decodes the whole rollout; the env's text sits between the actions
    assert all("|1" in text and "|2" in text for text in completions), completions
