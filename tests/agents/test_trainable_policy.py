"""What the trainer uses of a policy is declared (`TrainablePolicy`) and checked when it is given one."""

from __future__ import annotations

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.hf import TransformersPolicy  # noqa: E402
from rlvr.agents.policy import TRAINABLE_MEMBERS, TrainablePolicy, check_trainable  # noqa: E402
from rlvr.agents.tiny import TinyModelConfig, build_tiny_model  # noqa: E402


@pytest.fixture(scope="module")
def policy():
    model, tokenizer = build_tiny_model(seed=0, shape=TinyModelConfig(16, 1, 2, 32))
    return TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=2)


def test_the_transformers_policy_is_trainable(policy):
    assert isinstance(policy, TrainablePolicy)
    check_trainable(policy)
    assert policy.after_update() is None


def test_the_declared_members_are_the_protocols():
    declared = {name for name in dir(TrainablePolicy) if not name.startswith("_")} | set(
        TrainablePolicy.__annotations__)
    assert set(TRAINABLE_MEMBERS) == declared


class _Partial:
    """Samples and scores, but has no model, tokenizer or `after_update`."""

    pad_token_id, stop_token_ids, device = 0, (1,), "cpu"

    def sample(self, prompts, num_samples=1, **_):
        raise NotImplementedError

    def score(self, *args, **kwargs):
        raise NotImplementedError

    def act(self, observations, infos):
        return ["" for _ in observations]

    def encode(self, prompts):
        return [[0] for _ in prompts]


def test_the_trainer_names_what_a_given_policy_lacks(tmp_path):
    from rlvr.training.config import load_config
    from rlvr.training.trainer import Trainer

    assert not isinstance(_Partial(), TrainablePolicy)
    with pytest.raises(TypeError, match=r"_Partial is not a trainable policy: it lacks model, tokenizer, after_update"):
        Trainer(load_config({"out_dir": str(tmp_path), "progress": False}), policy=_Partial())
