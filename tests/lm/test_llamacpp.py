"""The llama.cpp fast path against an independent computation with llama-cpp-python's own Llama class."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import ModelError
from tony.lm.types import Request

llama_cpp = pytest.importorskip("llama_cpp")
pytestmark = pytest.mark.slow

PROMPT = "Q: What is the capital of France?\nA:"
OPTIONS = (" Paris", " Lyon, a city in the south", " banana")


@pytest.fixture(scope="module")
def client():
    from tony.lm.clients.models import EmbeddedGemma

    source = EmbeddedGemma()
    return source.client()


@pytest.fixture(scope="module")
def reference_model():
    from tony.lm.clients.models import embedded_gguf_path

    # Same kernels as tony's client (no flash attention): the two differ only in how the batch is laid out.
    return llama_cpp.Llama(str(embedded_gguf_path()), n_ctx=512, logits_all=True, flash_attn=False, verbose=False)


def reference_logprob(model, prompt: str, continuation: str, split: int | None = None) -> float:
    """Evaluate prompt + continuation as one sequence (in two evaluations when `split` is given:
    tokens before it, then the rest) and sum log-softmax at each continuation token."""
    context = model.tokenize(prompt.encode(), add_bos=True)
    whole = model.tokenize((prompt + continuation).encode(), add_bos=True)
    assert whole[: len(context)] == context
    model.reset()
    if split:
        model.eval(whole[:split])
        model.eval(whole[split:])
    else:
        model.eval(whole)
    logits = np.asarray(model.scores[: len(whole)], dtype=np.float64)
    logsoftmax = logits - np.log(np.exp(logits - logits.max(1, keepdims=True)).sum(1, keepdims=True)) - logits.max(
        1, keepdims=True
    )
    return float(sum(logsoftmax[i - 1, whole[i]] for i in range(len(context), len(whole))))


def test_fast_path_matches_one_sequence_per_option(client, reference_model):
    completion = client.complete([Request(PROMPT, continuations=OPTIONS)])[0]
    expected = [reference_logprob(reference_model, PROMPT, o) for o in OPTIONS]
    # Batches of other sizes take other matrix kernels in llama.cpp: a few hundredths of a nat.
    assert completion.continuation_logprobs == pytest.approx(expected, abs=0.05)
    assert int(np.argmax(completion.continuation_logprobs)) == int(np.argmax(expected)) == 0


def test_tokens_processed_are_the_minimum(client):
    completion = client.complete([Request(PROMPT, continuations=OPTIONS)])[0]
    assert completion.processed_tokens == completion.prompt_tokens + sum(completion.continuation_lengths)
    assert completion.prompt_tokens == len(client.tokenize(PROMPT, add_bos=True))


def test_many_options_split_into_several_calls_give_the_same_scores(client):
    options = tuple(f" option number {i}" for i in range(70))  # more than one call's 64 sequences
    together = client.complete([Request(PROMPT, continuations=options)])[0].continuation_logprobs
    alone = [client.complete([Request(PROMPT, continuations=(o,))])[0].continuation_logprobs[0] for o in options[:3]]
    assert len(together) == 70
    assert together[:3] == pytest.approx(alone, abs=1e-3)


def test_greedy_generation_is_deterministic_and_stops(client):
    request = Request("The capital of France is", max_tokens=24, stop=(".",))
    first, second = client.complete([request, request])
    assert first.text == second.text and first.text and "." not in first.text
    assert len(first.logprobs) == first.completion_tokens and all(lp <= 0 for lp in first.logprobs)


def test_sampling_depends_only_on_the_seed(client):
    request = Request("Once upon a time", max_tokens=12, temperature=1.0, seed=7)
    assert client.complete([request])[0].text == client.complete([request])[0].text
    others = {client.complete([Request("Once upon a time", max_tokens=12, temperature=1.0, seed=s)])[0].text
              for s in range(4)}
    assert len(others) > 1


def test_a_prompt_longer_than_the_context_is_a_clear_error(client):
    with pytest.raises(ModelError, match="context"):
        client.complete([Request("word " * 5000, continuations=(" x",))])


def test_a_shared_prefix_is_reused_without_changing_the_result(client, reference_model):
    prefix = "Answer each question with the name of a city.\n\nQ: What is the capital of Italy?\nA: Rome\n\n"
    first = Request(prefix + PROMPT, continuations=OPTIONS, shared_prefix=prefix)
    second = Request(prefix + "Q: What is the capital of Spain?\nA:", continuations=(" Madrid", " Paris"),
                     shared_prefix=prefix)
    unrelated = Request("Hello", continuations=(" world",), shared_prefix="")
    cold = client.complete([unrelated, second])[1]  # the prefix is decoded for this request
    warm = client.complete([first, second])[1]  # the prefix is reused from the first request
    assert warm.continuation_logprobs == cold.continuation_logprobs  # independent of what came before
    assert warm.processed_tokens < warm.prompt_tokens + sum(warm.continuation_lengths)
    # Independently: llama-cpp-python evaluating the prefix, then the rest, then reading log-softmax.
    # (Against one-batch evaluation the numbers move by up to ~0.2 nats: llama.cpp's kernels depend
    # on the batch size.)
    split = len(reference_model.tokenize(prefix.encode(), add_bos=True))
    expected = [reference_logprob(reference_model, second.prompt, o, split=split) for o in second.continuations]
    assert warm.continuation_logprobs == pytest.approx(expected, abs=1e-3)
    generated = client.complete([Request(second.prompt, max_tokens=4, shared_prefix=prefix),
                                 Request(second.prompt, max_tokens=4)])
    assert generated[0].text == generated[1].text
