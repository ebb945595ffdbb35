"""Fixtures of the training tests: folders the report tests share, an `rlvr eval` of a stub server
over a difficulty sweep (right on one level, wrong on the other) and a tiny multi-turn training
run. Imports happen inside the fixtures, so collecting tests needs no torch."""

from __future__ import annotations

import pytest

SWEEP_ARGS = ["--env", "rlvr/RandomCalc-v0", "--model", "stub", "--problems", "6", "--samples", "2", "--k", "1", "2",
              "--set", 'operators=["+"]', "--sweep", "num_ops=[1, 2]", "--no-progress"]
MULTITURN = {
    "env_id": "rlvr/MathTreeStep-v0", "difficulty": {"number_count": 3}, "max_turns": 3,
    "tiny_hidden_size": 32, "tiny_num_layers": 1, "tiny_num_heads": 2, "tiny_intermediate_size": 64,
    "max_new_tokens": 6, "prompts_per_step": 2, "group_size": 2, "rl_steps": 1, "eval_every": 0,
    "eval_problems": 6, "eval_samples": 2, "eval_k": [1, 2], "progress": False,
    "prompt_template": "{numbers}>{target}:", "plots": False, "tensorboard": False, "sft_steps": 0,
}


def right_on_one_operation(prompt: str) -> str:
    """The exact value of a one-operation expression, one off for longer ones."""
    from tests.agents.stub_openai_server import solve_arithmetic

    return solve_arithmetic(prompt, error=0 if prompt.count("+") == 1 else 1)


@pytest.fixture(scope="module")
def eval_folder(tmp_path_factory):
    """The output folder of `rlvr eval` against the stub server: 12 problems, 6 at each level."""
    from rlvr.cli import main
    from tests.agents.stub_openai_server import StubOpenAIServer

    out = tmp_path_factory.mktemp("eval") / "out"
    with StubOpenAIServer(answer=right_on_one_operation) as server:
        assert main(["eval", "--base-url", server.url, *SWEEP_ARGS, "--out", str(out)]) == 0
    return out


@pytest.fixture(scope="module")
def scripted_multiturn_run(multiturn_run, tmp_path_factory):
    """A copy of the multi-turn run whose samples are `SummingStepPolicy`'s episodes on the run's
    held-out problems (two turns each, an env reply between them, some correct), report rebuilt."""
    import shutil

    from rlvr.training.builders import build_env, heldout_problems
    from rlvr.training.config import load_config
    from rlvr.training.multiturn import write_transcripts
    from rlvr.training.report import write_report

    out = tmp_path_factory.mktemp("scripted") / "run"
    shutil.copytree(multiturn_run[0], out)
    config = load_config({**MULTITURN, "out_dir": str(out)})
    env = build_env(config)
    problems = heldout_problems(env.task, config, env.difficulty)
    write_transcripts(out / "samples.jsonl", SummingStepPolicy(), lambda: build_env(config), problems,
                      max_turns=config.max_turns)
    write_report(out)
    return out


@pytest.fixture(scope="module")
def multiturn_run(tmp_path_factory):
    from rlvr.training.config import load_config
    from rlvr.training.trainer import Trainer

    out = tmp_path_factory.mktemp("multiturn")
    summary = Trainer(load_config({**MULTITURN, "out_dir": str(out)})).train()
    return out, summary


class SummingStepPolicy:
    """A scripted policy for `rlvr/MathTreeStep-v0` with the "{numbers}>{target}:" template: each
    turn it adds the first two numbers left (read from the prompt, then from the env's last
    "(left: ...)" reply), so an episode of n numbers takes n - 1 turns, with an env reply between
    turns, and is correct exactly when the target is the sum. Characters are its tokens."""

    pad_token_id = 0
    stop_token_ids = (1,)

    def __init__(self) -> None:
        import torch

        self.model = torch.nn.Linear(1, 1)

    def encode(self, texts):
        return [[ord(char) for char in text] for text in texts]

    def tokenizer(self, text, add_special_tokens=False):
        return {"input_ids": [ord(char) for char in text]}

    def sample(self, prompts, num_samples=1, **_):
        import re

        import torch

        from rlvr.agents.policy import SampleBatch

        texts = []
        for ids in prompts:
            context = "".join(map(chr, ids))
            notes = re.findall(r"left: ([^)]*)\)", context)
            numbers = [int(n) for n in re.findall(r"-?\d+", notes[-1] if notes else context.split(">")[0])]
            texts.append(f"{numbers[0]} + {numbers[1]} = {numbers[0] + numbers[1]}")
        width = max(map(len, texts))
        ids = torch.tensor([[ord(c) for c in text] + [0] * (width - len(text)) for text in texts])
        mask = ids != 0
        return SampleBatch([list(p) for p in prompts], list(range(len(prompts))), ids, mask,
                           torch.zeros(ids.shape), texts, [True] * len(texts))
