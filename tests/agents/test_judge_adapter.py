"""policy_judge over the tiny CPU model: log-probs of each score token after the rendered prompt,
checked against a plain forward pass written here, and usable by the judge rewards."""

from __future__ import annotations

import math

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.judge_adapter import policy_judge  # noqa: E402
from rlvr.rewards.judge import expected_score, judge_reward, pairwise_preference  # noqa: E402

TEMPLATE = "Rate this reply: {text}\nScore:"
TOKENS = ("1", "2", "3", "4", "5", "10")


def reference_logprob(model, tokenizer, prompt: str, continuation: str) -> float:
    prompt_ids = tokenizer(prompt)["input_ids"]
    continuation_ids = tokenizer(continuation, add_special_tokens=False)["input_ids"]
    ids = torch.tensor([prompt_ids + continuation_ids])
    with torch.no_grad():
        log_probs = torch.log_softmax(model(input_ids=ids).logits[0].float(), dim=-1)
    start = len(prompt_ids)
    return sum(float(log_probs[start - 1 + i, token]) for i, token in enumerate(continuation_ids))


def test_log_probs_match_a_plain_forward_pass(tiny, policy):
    model, tokenizer = tiny
    judge = policy_judge(policy, TEMPLATE, TOKENS, batch_size=5)  # batches split mid-text on purpose
    texts = ["fine", "a much longer reply about 12*7 = 84"]
    tables = judge(texts)
    assert [list(t) for t in tables] == [list(TOKENS)] * 2
    for text, table in zip(texts, tables, strict=True):
        for token in TOKENS:
            expected = reference_logprob(model, tokenizer, TEMPLATE.format(text=text), token)
            assert table[token] == pytest.approx(expected, abs=1e-4)
    # "10" is two character tokens: its log-prob is the sum, so below either digit alone
    assert tables[0]["10"] < tables[0]["1"]
    single = [math.exp(tables[0][t]) for t in TOKENS[:5]]
    assert 0 < sum(single) < 1


def test_the_policy_judge_plugs_into_the_judge_rewards(policy):
    judge = policy_judge(policy, "{text}", TOKENS[:5])
    value = expected_score(judge(["x"])[0]).value
    assert 1.0 <= value <= 5.0
    rewards = judge_reward(["a", "b"], prompts=["q", "q"], judge=judge)
    assert all(0.0 <= r <= 1.0 for r in rewards)
    pair_judge = policy_judge(policy, "{text}", ("A", "B"))
    forward = pairwise_preference(pair_judge, "q", "yes", "no").probability
    backward = pairwise_preference(pair_judge, "q", "no", "yes").probability
    assert forward + backward == pytest.approx(1.0, abs=1e-6)


def test_bad_configuration_is_a_clear_error(policy):
    with pytest.raises(ValueError, match="must contain"):
        policy_judge(policy, "no placeholder")
    with pytest.raises(ValueError, match="at least one"):
        policy_judge(policy, "{text}", ())
