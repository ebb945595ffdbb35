"""The tiny model builder: character tokenizer, parameter count, save/reload as a HF checkpoint."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.tiny import (  # noqa: E402
    CHARACTERS,
    SPECIAL_TOKENS,
    build_char_tokenizer,
    build_tiny_model,
    count_parameters,
)


def test_char_tokenizer_is_one_token_per_character_and_decodes_without_spaces():
    tokenizer = build_char_tokenizer()
    text = "Evaluate (9 + 18 - 4) * 18, put it in \\boxed{}.\n"
    ids = tokenizer(text)["input_ids"]
    assert ids[0] == tokenizer.bos_token_id == 1
    assert len(ids) == len(text) + 1
    assert tokenizer.decode(ids, skip_special_tokens=True) == text
    assert len(tokenizer) == len(SPECIAL_TOKENS) + len(CHARACTERS) == 100
    assert (tokenizer.pad_token_id, tokenizer.eos_token_id) == (0, 2)
    assert tokenizer("é")["input_ids"] == [1, tokenizer.unk_token_id]
    assert tokenizer.padding_side == "left"


def test_tiny_model_shape_and_seeded_weights():
    model, tokenizer = build_tiny_model(seed=0)
    again, _ = build_tiny_model(seed=0)
    other, _ = build_tiny_model(seed=1)
    assert 0.9e6 < count_parameters(model) < 1.2e6
    assert model.config.tie_word_embeddings
    assert model.get_input_embeddings().weight.data_ptr() == model.get_output_embeddings().weight.data_ptr()
    assert model.config.vocab_size == len(tokenizer)
    weight = model.get_input_embeddings().weight
    assert torch.equal(weight, again.get_input_embeddings().weight)
    assert not torch.equal(weight, other.get_input_embeddings().weight)


def test_global_torch_rng_is_left_alone():
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    build_tiny_model(seed=5)
    assert torch.equal(torch.rand(3), expected)


def test_save_and_reload_with_auto_classes_gives_identical_logits(tmp_path):
    from transformers import AutoModelForCausalLM, AutoTokenizer

    model, tokenizer = build_tiny_model(path=tmp_path / "tiny", seed=3)
    loaded_model = AutoModelForCausalLM.from_pretrained(tmp_path / "tiny", local_files_only=True)
    loaded_tokenizer = AutoTokenizer.from_pretrained(tmp_path / "tiny", local_files_only=True)
    text = "What is 12*7?"
    assert loaded_tokenizer(text)["input_ids"] == tokenizer(text)["input_ids"]
    assert loaded_tokenizer.decode(loaded_tokenizer(text)["input_ids"], skip_special_tokens=True) == text
    ids = torch.tensor([tokenizer(text)["input_ids"]])
    with torch.no_grad():
        assert torch.equal(model(input_ids=ids).logits, loaded_model(input_ids=ids).logits)


def test_policy_loads_from_a_saved_folder(tmp_path):
    from rlvr.agents.hf import TransformersPolicy

    model, _ = build_tiny_model(path=tmp_path / "tiny", seed=3)
    policy = TransformersPolicy(str(tmp_path / "tiny"), device="cpu", max_new_tokens=6)
    from_object = TransformersPolicy(model, build_char_tokenizer(), device="cpu", max_new_tokens=6)
    assert policy.stop_token_ids == [2] and policy.pad_token_id == 0
    first = policy.sample(["1+1="], num_samples=2, seed=0)
    second = from_object.sample(["1+1="], num_samples=2, seed=0)
    assert torch.equal(first.completion_ids, second.completion_ids)
