"""The trainable `Policy` protocol: sample completions with their log-probs, and score them again.

A policy is an `Agent` (text observations in, one completion each out) that the training loop can
also ask for two things:

- `sample(prompts, num_samples, ...) -> SampleBatch`: `num_samples` completions per prompt, with
  the log-probability of every sampled token under the model. These are pi_old in the RL losses.
- `score(prompt_ids, completion_ids, completion_mask, need=...)`: one forward pass over
  prompt + completion that returns per-token tensors for the completion tokens. The loss declares
  what it needs (`need`), and only that is computed, because the vocabulary-wide quantities
  (entropy, ROVER's vocabulary-mean log-prob) cost a full pass over the vocabulary per token.

Log-probs, in `sample` and `score` alike, are of the model's raw distribution: log-softmax of the
logits at temperature 1, whatever temperature and top-p the sampler used. That is the pi_old that
importance ratios and ROVER's Q-values are defined with, and it makes `sample` and `score` agree
token for token (a check every implementation must pass).

`TrainablePolicy` is everything the training loop uses of a policy: the two calls above plus the
learner's `model` and `device`, the ids that end and pad a completion, the tokenizer and prompt
encoder (multi-turn episodes tokenize the env's replies) and `after_update()`, called whenever the
learner's weights change (a policy that samples elsewhere, vLLM or a server, pushes them there).
The trainer checks a policy it is given against it and names what is missing.

This module imports no torch: tensors appear only as values an implementation puts in a batch.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

from rlvr.agents.base import Agent
from rlvr.core.hints import did_you_mean

SCORE_QUANTITIES = ("logprobs", "entropy", "vocab_mean_logprob", "chosen_logit", "hidden_state")
"""What `Policy.score` can compute per completion token:

- `logprobs`: log pi(token_t | prefix) of the given token (raw model distribution);
- `entropy`: entropy of pi(. | prefix) over the whole vocabulary;
- `vocab_mean_logprob`: mean over the vocabulary of log pi(v | prefix) (ROVER's V-bar term; its
  negative is the "self-certainty" logsumexp(z) - mean(z) of the logits z);
- `chosen_logit`: the raw logit of the given token (UCAS's token term);
- `hidden_state`: the last-layer hidden state that predicts the token, [rows, T, H] (the
  representation plug-ins; a policy without one may refuse it).
"""


def check_needs(need: Iterable[str]) -> tuple[str, ...]:
    """Validate the quantities a loss asks `score` for; return them without duplicates, in order.

    >>> check_needs(["entropy", "logprobs", "entropy"])
    ('entropy', 'logprobs')
    >>> check_needs(["logprob"])
    Traceback (most recent call last):
    ...
    ValueError: unknown score quantity 'logprob' (did you mean 'logprobs'?); expected some of logprobs, entropy, vocab_mean_logprob, chosen_logit, hidden_state
    """
    if isinstance(need, str):
        need = (need,)
    wanted = tuple(dict.fromkeys(need))
    for name in wanted:
        if name not in SCORE_QUANTITIES:
            hint = did_you_mean(name, SCORE_QUANTITIES, most=1, cutoff=0.6, quoted=True)
            raise ValueError(
                f"unknown score quantity {name!r}{hint}; expected some of {', '.join(SCORE_QUANTITIES)}"
            )
    return wanted


@dataclass
class SampleBatch:
    """Completions sampled by a policy: `num_samples` consecutive rows per prompt.

    Row `i` answers prompt `prompt_index[i]`. The tensors are right-padded to the longest
    completion: `completion_mask[i, t]` is true for generated tokens (the EOS that ended a row
    included) and false for padding after it, where `completion_ids` holds the pad id and
    `logprobs` holds 0.
    """

    prompt_ids: list[list[int]]
    """Token ids of each row's prompt (after any chat template), unpadded; one entry per row."""
    prompt_index: list[int]
    """Which of the given prompts each row answers."""
    completion_ids: Any
    """Long tensor [rows, T]: sampled token ids, pad id after the end of each row."""
    completion_mask: Any
    """Bool tensor [rows, T]: true for generated tokens."""
    logprobs: Any
    """Float32 tensor [rows, T]: raw (temperature 1) model log-prob of each sampled token."""
    texts: list[str]
    """Decoded completions, special tokens (EOS) left out; empty strings without a tokenizer."""
    finished: list[bool]
    """True where the row ended with a stop token, false where it hit `max_new_tokens`."""

    def __len__(self) -> int:
        return len(self.prompt_ids)

    def completion_lists(self) -> list[list[int]]:
        """Completion token ids of each row as plain lists, padding removed."""
        ids, mask = self.completion_ids.tolist(), self.completion_mask.tolist()
        return [[token for token, keep in zip(row, keep_row, strict=True) if keep] for row, keep_row in zip(ids, mask, strict=True)]

    def num_tokens(self) -> int:
        """Generated tokens in the batch (padding excluded)."""
        return int(self.completion_mask.sum())


@runtime_checkable
class Policy(Agent, Protocol):
    """An `Agent` that samples completions with log-probs and re-scores them for training.

    Prompts are texts, chat messages (lists of `{"role", "content"}` dicts) or lists of token ids.
    """

    def sample(
        self,
        prompts: Sequence[str] | Sequence[Sequence[int]] | Sequence[Sequence[dict[str, str]]],
        num_samples: int = 1,
        max_new_tokens: int | None = None,
        temperature: float | None = None,
        top_p: float | None = None,
        seed: int | None = None,
    ) -> SampleBatch:
        """Sample `num_samples` completions per prompt (rows grouped by prompt)."""
        ...

    def score(
        self,
        prompt_ids: Sequence[Sequence[int]],
        completion_ids: Any,
        completion_mask: Any = None,
        need: Iterable[str] = ("logprobs",),
    ) -> dict[str, Any]:
        """Per-token tensors [rows, T] aligned with `completion_ids`, one per name in `need`.

        `completion_ids` is a right-padded tensor with its `completion_mask`, or a list of id
        lists (then padded here). Values at padded positions are 0. Gradients flow when the
        caller has them enabled, so the same call serves the learner and pi_old.
        """
        ...


@runtime_checkable
class TrainablePolicy(Policy, Protocol):
    """A `Policy` the training loop can train: what `rlvr.training.trainer.Trainer` uses of it."""

    model: Any
    """The learner: a torch module whose parameters the optimizer updates."""
    device: Any
    """Where the learner's tensors live."""
    tokenizer: Any
    """Text <-> ids (multi-turn episodes tokenize the env's replies with it)."""
    pad_token_id: int
    """The id after a completion's end (its mask is false there)."""
    stop_token_ids: Sequence[int]
    """The ids that end a completion; the first ends SFT targets."""

    def encode(self, prompts: Sequence[Any]) -> list[list[int]]:
        """Prompt ids as `sample` would read each prompt (chat template applied)."""
        ...

    def after_update(self) -> None:
        """The learner's weights changed (an optimizer step, a warm-up, a loaded checkpoint)."""
        ...


TRAINABLE_MEMBERS = ("sample", "score", "act", "model", "device", "tokenizer", "pad_token_id", "stop_token_ids",
                     "encode", "after_update")
"""The members of `TrainablePolicy`, in the order an error names the missing ones."""


def check_trainable(policy: Any) -> None:
    """Refuse (TypeError) a policy the trainer could not use, naming every member it lacks."""
    missing = [name for name in TRAINABLE_MEMBERS if not hasattr(policy, name)]
    if missing:
        raise TypeError(f"{type(policy).__name__} is not a trainable policy: it lacks {', '.join(missing)} "
                        f"(see rlvr.agents.policy.TrainablePolicy)")
