"""TransformersPolicy on the tiny CPU model: seeded sampling, log-prob consistency, padding, stops."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
pytest.importorskip("transformers")

from rlvr.agents.base import Agent  # noqa: E402
from rlvr.agents.hf import TransformersPolicy  # noqa: E402
from rlvr.agents.policy import Policy  # noqa: E402

PROMPTS = ["1+2=", "What is 12*7? Answer: ", "(3-4)/5 ="]


def reference_logprobs(model, prompt_ids, completion_ids):
    """Log-probs of a completion from a plain unpadded forward pass: no policy code involved."""
    ids = torch.tensor([list(prompt_ids) + list(completion_ids)])
    with torch.no_grad():
        logits = model(input_ids=ids).logits[0].float()
    start = len(prompt_ids)
    log_probs = torch.log_softmax(logits[start - 1 : -1], dim=-1)
    return log_probs.gather(-1, torch.tensor(completion_ids)[:, None]).squeeze(-1)


def test_policy_satisfies_the_protocols(policy):
    assert isinstance(policy, Policy)
    assert isinstance(policy, Agent)


def test_sampling_is_deterministic_under_a_seed(policy):
    first = policy.sample(PROMPTS, num_samples=2, seed=7)
    again = policy.sample(PROMPTS, num_samples=2, seed=7)
    other = policy.sample(PROMPTS, num_samples=2, seed=8)
    assert torch.equal(first.completion_ids, again.completion_ids)
    assert torch.equal(first.logprobs, again.logprobs)
    assert first.texts == again.texts
    assert not torch.equal(first.completion_ids, other.completion_ids)


def test_batch_layout_groups_rows_by_prompt(policy):
    batch = policy.sample(PROMPTS, num_samples=3, seed=0)
    assert batch.prompt_index == [0, 0, 0, 1, 1, 1, 2, 2, 2]
    assert len(batch) == 9 == batch.completion_ids.shape[0] == len(batch.texts) == len(batch.finished)
    assert batch.prompt_ids[3] == policy.encode([PROMPTS[1]])[0]
    assert batch.prompt_ids[0][0] == policy.tokenizer.bos_token_id
    assert batch.completion_ids.shape == batch.logprobs.shape == batch.completion_mask.shape
    assert batch.num_tokens() == sum(len(row) for row in batch.completion_lists())


@pytest.mark.parametrize(("temperature", "top_p"), [(1.0, 1.0), (0.7, 0.9), (1.5, 1.0)])
def test_sample_logprobs_equal_score_and_a_plain_forward(policy, temperature, top_p):
    # Raw (temperature-1) log-probs whatever the sampling settings: what pi_old must be.
    batch = policy.sample(PROMPTS, num_samples=2, temperature=temperature, top_p=top_p, seed=3)
    with torch.no_grad():
        scored = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask)["logprobs"]
    torch.testing.assert_close(scored, batch.logprobs, atol=1e-5, rtol=1e-5)
    for row, completion in enumerate(batch.completion_lists()):
        expected = reference_logprobs(policy.model, batch.prompt_ids[row], completion)
        torch.testing.assert_close(batch.logprobs[row, : len(completion)], expected, atol=1e-5, rtol=1e-5)
    assert (batch.logprobs[~batch.completion_mask] == 0).all()
    assert (batch.logprobs[batch.completion_mask] < 0).all()


def test_left_padding_gives_the_same_completions_as_each_prompt_alone(policy):
    together = policy.sample(PROMPTS, temperature=0.0, max_new_tokens=10)
    for index, prompt in enumerate(PROMPTS):
        alone = policy.sample([prompt], temperature=0.0, max_new_tokens=10)
        assert together.completion_lists()[index] == alone.completion_lists()[0]
        width = alone.completion_ids.shape[1]
        torch.testing.assert_close(together.logprobs[index, :width], alone.logprobs[0], atol=1e-5, rtol=1e-5)


def test_score_is_batch_invariant_and_accepts_lists(policy):
    batch = policy.sample(PROMPTS, num_samples=2, seed=11)
    need = ("logprobs", "entropy", "vocab_mean_logprob")
    with torch.no_grad():
        together = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=need)
        from_lists = policy.score(batch.prompt_ids, batch.completion_lists(), need=need)
        for row, completion in enumerate(batch.completion_lists()):
            alone = policy.score([batch.prompt_ids[row]], [completion], need=need)
            for name in need:
                width = len(completion)
                torch.testing.assert_close(together[name][row, :width], alone[name][0, :width], atol=1e-5, rtol=1e-5)
    for name in need:
        torch.testing.assert_close(from_lists[name], together[name][:, : from_lists[name].shape[1]])


def test_a_stop_token_ends_its_row_and_the_rest_is_padding(tiny):
    model, tokenizer = tiny
    greedy = TransformersPolicy(model, tokenizer, device="cpu", temperature=0.0, max_new_tokens=8)
    free = greedy.sample(PROMPTS)
    assert free.completion_mask.all() and not any(free.finished)
    stop = int(free.completion_ids[0, 2])  # the first row's third greedy token becomes its stop token
    stopping = TransformersPolicy(model, tokenizer, device="cpu", temperature=0.0, max_new_tokens=8, stop_token_ids=[stop])
    batch = stopping.sample(PROMPTS)
    first_stop = free.completion_ids[0].tolist().index(stop)
    assert batch.finished[0]
    assert batch.completion_lists()[0] == free.completion_ids[0, : first_stop + 1].tolist()
    assert not batch.completion_mask[0, first_stop + 1 :].any()
    assert (batch.completion_ids[0, first_stop + 1 :] == stopping.pad_token_id).all()
    assert (batch.logprobs[0, first_stop + 1 :] == 0).all()
    for row, completion in enumerate(batch.completion_lists()):
        free_row = free.completion_ids[row].tolist()
        expected = free_row[: free_row.index(stop) + 1] if stop in free_row else free_row
        assert completion == expected
        assert batch.finished[row] == (stop in free_row)


def test_a_tiny_top_p_is_greedy(policy):
    greedy = policy.sample(PROMPTS, temperature=0.0, max_new_tokens=10)
    nucleus_of_one = policy.sample(PROMPTS, temperature=1.0, top_p=1e-6, max_new_tokens=10, seed=5)
    assert torch.equal(greedy.completion_ids, nucleus_of_one.completion_ids)


def test_sampled_frequencies_follow_the_tempered_nucleus(policy):
    rows, temperature = 4000, 0.15
    prompt = policy.encode(["7*8="])[0]
    with torch.no_grad():
        logits = policy.model(input_ids=torch.tensor([prompt])).logits[0, -1].float()
    expected = torch.softmax(logits / temperature, dim=-1)
    # the tiny model's raw distribution is nearly flat; a low temperature makes a sampler that
    # ignored it (or mis-scaled it) stand out: the untempered distribution is this far away
    assert 0.5 * (torch.softmax(logits, dim=-1) - expected).abs().sum() > 0.5
    batch = policy.sample([prompt], num_samples=rows, max_new_tokens=1, temperature=temperature, seed=1)
    counts = torch.bincount(batch.completion_ids[:, 0], minlength=expected.numel()).float()
    total_variation = 0.5 * (counts / rows - expected).abs().sum()
    assert total_variation < 0.06  # ~0.03 from sampling noise at 4000 draws
    # a top_p just under the mass of the 3 most likely tokens keeps exactly those 3
    sorted_probs, order = expected.sort(descending=True)
    top_p = float(sorted_probs[:3].sum()) - 1e-3
    cut = policy.sample([prompt], num_samples=500, max_new_tokens=1, temperature=temperature, top_p=top_p, seed=2)
    assert set(cut.completion_ids[:, 0].tolist()) == set(order[:3].tolist())


def test_score_computes_only_what_is_asked_and_matches_manual_formulas(policy):
    batch = policy.sample(PROMPTS[:2], num_samples=2, seed=4)
    with torch.no_grad():
        only = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=["vocab_mean_logprob"])
        full = policy.score(
            batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=("entropy", "vocab_mean_logprob")
        )
    assert set(only) == {"vocab_mean_logprob"}
    completion = batch.completion_lists()[1]
    ids = torch.tensor([batch.prompt_ids[1] + completion])
    with torch.no_grad():
        log_probs = torch.log_softmax(policy.model(input_ids=ids).logits[0].float(), dim=-1)
    start = len(batch.prompt_ids[1])
    steps = log_probs[start - 1 : -1]
    width = len(completion)
    torch.testing.assert_close(only["vocab_mean_logprob"][1, :width], steps.mean(-1), atol=1e-5, rtol=1e-5)
    manual_entropy = -(steps.exp() * steps).sum(-1)
    torch.testing.assert_close(full["entropy"][1, :width], manual_entropy, atol=1e-4, rtol=1e-4)
    with pytest.raises(ValueError, match="did you mean 'entropy'"):
        policy.score(batch.prompt_ids, batch.completion_ids, need=["entropie"])


def test_score_carries_gradients(policy):
    batch = policy.sample(PROMPTS[:1], num_samples=2, seed=9)
    scored = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask)
    loss = -(scored["logprobs"].sum())
    loss.backward()
    gradient = policy.model.get_input_embeddings().weight.grad
    assert gradient is not None and gradient.abs().sum() > 0
    policy.model.zero_grad(set_to_none=True)


def test_chat_messages_use_the_tokenizer_template(tiny):
    model, tokenizer = tiny
    plain = TransformersPolicy(model, tokenizer, device="cpu")
    messages = [{"role": "user", "content": "2+2"}]
    with pytest.raises(ValueError, match="no chat template"):
        plain.encode([messages])
    tokenizer.chat_template = "{% for m in messages %}<{{ m['role'] }}>{{ m['content'] }}\n{% endfor %}A:"
    try:
        chat = TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=3, seed=0)
        expected = tokenizer("<user>2+2\nA:", add_special_tokens=False)["input_ids"]
        assert chat.encode([messages]) == [expected]
        assert chat.encode(["2+2"]) == [tokenizer("2+2")["input_ids"]]  # text stays text unless asked
        forced = TransformersPolicy(model, tokenizer, device="cpu", chat_template=True)
        assert forced.encode(["2+2"]) == [expected]
        action = chat.act(["ignored when messages exist"], [{"messages": messages}])
        assert len(action) == 1 and isinstance(action[0], str)
    finally:
        tokenizer.chat_template = None


def test_policy_acts_in_a_text_env(tiny):
    import gymnasium as gym

    import rlvr  # noqa: F401  (registers the envs)
    from rlvr.agents.rollout import play_episode

    model, tokenizer = tiny
    agent = TransformersPolicy(model, tokenizer, device="cpu", max_new_tokens=16, seed=0)
    env = gym.make("rlvr/RandomCalc-v0", render_mode="ansi")
    for seed in range(2):
        episode = play_episode(env, agent, seed=seed)
        assert episode.steps == 1
        assert episode.total_reward in (0.0, 1.0)
        assert isinstance(episode.actions[0], str) and len(episode.actions[0]) <= 16


def test_shared_prompt_passes_equal_one_pass_per_row_in_values_and_gradients(policy):
    """Rows that share a prompt run it once (its cache copied); nothing else may change."""
    batch = policy.sample(["12+7=", "3*4="], num_samples=3, max_new_tokens=5, seed=4)
    need = ("logprobs", "entropy", "vocab_mean_logprob")

    def scored_and_gradient(shared):
        policy.model.zero_grad()
        if shared:
            out = policy.score(batch.prompt_ids, batch.completion_ids, batch.completion_mask, need=need)
        else:  # one row at a time: no prompt is shared, so the plain one-pass path runs
            rows = [policy.score(batch.prompt_ids[i : i + 1], batch.completion_ids[i : i + 1],
                                 batch.completion_mask[i : i + 1], need=need) for i in range(len(batch))]
            out = {name: torch.cat([row[name] for row in rows]) for name in need}
        sum(value.sum() for value in out.values()).backward()
        gradient = torch.cat([p.grad.flatten() for p in policy.model.parameters() if p.grad is not None])
        return {name: value.detach() for name, value in out.items()}, gradient

    shared, shared_gradient = scored_and_gradient(True)
    plain, plain_gradient = scored_and_gradient(False)
    for name in need:
        torch.testing.assert_close(shared[name], plain[name], atol=2e-5, rtol=0)
    torch.testing.assert_close(shared_gradient, plain_gradient, atol=1e-4, rtol=1e-3)
    policy.model.zero_grad()
