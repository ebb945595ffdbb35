"""A tiny causal language model and character tokenizer, built in code with no download.

It is the model every CPU test, example and quickstart uses: a Llama-style decoder (rotary
positions, RMSNorm, SwiGLU MLP) with hidden size 128, 4 layers, 4 heads, MLP 512 and tied input
and output embeddings, about 0.9M parameters with the default 100-symbol vocabulary. Llama rather
than GPT-2 because it is the architecture family of the models the project trains for real
(Llama, Qwen2), so left padding, rotary position ids and the KV cache behave as they do there.

The tokenizer maps each character to one token: the special tokens `[PAD]` (0), `[BOS]` (1),
`[EOS]` (2), `[UNK]` (3), then newline and the 95 printable ASCII characters, which covers every
arithmetic prompt of the project's envs (digits, operators, letters, `\\boxed{}`). Anything else
becomes `[UNK]`. It is a `tokenizers` BPE model with no merges (so every character stays a token),
a `Fuse` decoder (else decoding puts spaces between characters) and a post-processor that starts
every encoded text with `[BOS]`. Both save with `save_pretrained` and reload with
`AutoModelForCausalLM.from_pretrained` / `AutoTokenizer.from_pretrained` like any HF checkpoint.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

SPECIAL_TOKENS = ("[PAD]", "[BOS]", "[EOS]", "[UNK]")
CHARACTERS = ("\n", *(chr(code) for code in range(32, 127)))


@dataclass(frozen=True)
class TinyModelConfig:
    """Shape of the tiny Llama-style model; the defaults give about 0.9M parameters."""

    hidden_size: int = 128
    """Width of the residual stream (and of the tied embedding)."""
    num_layers: int = 4
    """Number of decoder blocks."""
    num_heads: int = 4
    """Attention heads per block (no grouped-query sharing: as many key/value heads)."""
    intermediate_size: int = 512
    """Width of the SwiGLU MLP."""
    max_positions: int = 2048
    """Longest sequence (prompt + completion) the config advertises."""


def build_char_tokenizer(characters: str | None = None) -> Any:
    """A character-level `PreTrainedTokenizerFast`: one token per character, BOS first, left padding.

    `characters` replaces the default alphabet (newline + printable ASCII); special tokens always
    take ids 0-3 (PAD, BOS, EOS, UNK).
    """
    from tokenizers import Tokenizer, decoders, models, processors
    from transformers import PreTrainedTokenizerFast

    alphabet = tuple(dict.fromkeys(characters)) if characters is not None else CHARACTERS
    not_single = [symbol for symbol in alphabet if len(symbol) != 1]
    if not_single:
        raise ValueError(f"characters must be single characters, got {not_single!r}")
    vocab = {symbol: index for index, symbol in enumerate((*SPECIAL_TOKENS, *alphabet))}
    # BPE with no merges never joins characters, so each character is one token.
    backend = Tokenizer(models.BPE(vocab=vocab, merges=[], unk_token="[UNK]"))
    backend.add_special_tokens(list(SPECIAL_TOKENS))
    backend.decoder = decoders.Fuse()
    bos_id = vocab["[BOS]"]
    backend.post_processor = processors.TemplateProcessing(
        single="[BOS] $A", pair="[BOS] $A $B", special_tokens=[("[BOS]", bos_id)]
    )
    return PreTrainedTokenizerFast(
        tokenizer_object=backend,
        bos_token="[BOS]",
        eos_token="[EOS]",
        pad_token="[PAD]",
        unk_token="[UNK]",
        padding_side="left",
    )


def tiny_llama_config(vocab_size: int, shape: TinyModelConfig | None = None, **token_ids: int) -> Any:
    """The transformers `LlamaConfig` of the tiny model for a vocabulary of `vocab_size` tokens."""
    from transformers import LlamaConfig

    shape = shape or TinyModelConfig()
    return LlamaConfig(
        vocab_size=vocab_size,
        hidden_size=shape.hidden_size,
        intermediate_size=shape.intermediate_size,
        num_hidden_layers=shape.num_layers,
        num_attention_heads=shape.num_heads,
        num_key_value_heads=shape.num_heads,
        max_position_embeddings=shape.max_positions,
        tie_word_embeddings=True,
        **token_ids,
    )


def build_tiny_model(
    path: str | Path | None = None,
    seed: int = 0,
    shape: TinyModelConfig | None = None,
    characters: str | None = None,
) -> tuple[Any, Any]:
    """Build the tiny model (random weights from `seed`) and its tokenizer; save both to `path` if given.

    Returns `(model, tokenizer)`. The weights depend only on `seed` and `shape`: the global torch
    RNG is saved and restored around initialisation, so building a model does not disturb it.
    """
    import torch
    from transformers import LlamaForCausalLM

    tokenizer = build_char_tokenizer(characters)
    config = tiny_llama_config(
        len(tokenizer),
        shape,
        bos_token_id=tokenizer.bos_token_id,
        eos_token_id=tokenizer.eos_token_id,
        pad_token_id=tokenizer.pad_token_id,
    )
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = LlamaForCausalLM(config)
    model.eval()
    if path is not None:
        save_pretrained(model, tokenizer, path)
    return model, tokenizer


def save_pretrained(model: Any, tokenizer: Any, path: str | Path) -> Path:
    """Write model and tokenizer to one folder, loadable with `from_pretrained(path)`."""
    folder = Path(path)
    folder.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(folder)
    tokenizer.save_pretrained(folder)
    return folder


def count_parameters(model: Any) -> int:
    """Number of distinct parameters (tied embeddings counted once)."""
    return sum(parameter.numel() for parameter in model.parameters())
