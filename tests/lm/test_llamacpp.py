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


def test_in_place_log_softmax_is_bit_identical_to_the_whole_matrix_formula(client):
    """The reused-buffer log-softmax against the straightforward formula on the same real decode's logits."""
    completion = client.complete([Request(PROMPT, continuations=OPTIONS)])[0]
    # The request was one decode call; its logits are still in llama.cpp's buffer, one row per scored
    # position in batch order: the prompt's last token, then each option's tokens but its last.
    prompt = client.tokenize(PROMPT, add_bos=True)
    options = [client.tokenize(PROMPT + o, add_bos=True)[len(prompt) :] for o in OPTIONS]
    rows, targets, owner = [], [], []
    n = 1
    for seq, option in enumerate(options):
        previous = 0
        for offset, token in enumerate(option):
            rows.append(previous)
            targets.append(token)
            owner.append(seq)
            if offset < len(option) - 1:
                previous, n = n, n + 1
    pointer = llama_cpp.llama_get_logits(client._ctx.ctx)
    matrix = np.ctypeslib.as_array(pointer, shape=(n, client._n_vocab)).copy()
    peak = matrix.max(axis=1)
    log_norm = np.log(np.exp(matrix - peak[:, None]).sum(axis=1)) + peak
    expected = matrix[rows, targets] - log_norm[rows]
    assert expected.dtype == np.float32
    assert np.array_equal(client._token_logprobs(rows, targets), expected)
    totals = np.zeros(len(options))
    np.add.at(totals, owner, expected)
    assert list(completion.continuation_logprobs) == totals.tolist()


# chat-rendered prompts ------------------------------------------------------------


def test_a_chat_prompt_is_parsed_with_its_special_tokens_and_one_bos(client):
    bos = client.tokenize("", add_bos=True)
    assert len(bos) == 1  # Gemma adds a BOS
    turn = "<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"
    assert len(client.tokenize("<start_of_turn>", add_bos=False, special=True)) == 1
    assert len(client.tokenize("<start_of_turn>", add_bos=False)) > 1  # plain text: spelled out
    tokens = client.prompt_tokens(turn, special=True)
    assert tokens[:1] == bos and tokens.count(bos[0]) == 1
    assert client.prompt_tokens("<bos>" + turn, special=True) == tokens  # a template's own BOS is not doubled
    assert client.prompt_tokens(turn) == client.tokenize(turn, add_bos=True)  # plain prompts as before


@pytest.fixture(scope="module")
def smol():
    from tony.lm.clients.models import EmbeddedSmolLM2

    source = EmbeddedSmolLM2()
    try:
        return source.client(), source.chat_template()
    except ModelError as err:
        pytest.skip(str(err))


def test_smollm2_answers_a_chat_prompt_and_stops_at_the_end_of_its_turn(smol):
    client, template = smol
    prompt = template.render([{"role": "user", "content": "What is 2+2?"}])
    tokens = client.prompt_tokens(prompt, special=True)
    im_start, im_end = (client.tokenize(t, add_bos=False, special=True) for t in ("<|im_start|>", "<|im_end|>"))
    assert len(im_start) == len(im_end) == 1 and tokens[0] == im_start[0]  # no BOS added: the template starts it
    assert tokens.count(im_start[0]) == 3 and tokens.count(im_end[0]) == 2  # system, user, assistant turns
    limit = 64
    chat, raw = client.complete([
        Request(prompt, max_tokens=limit, parse_special=True),
        Request(prompt, max_tokens=4),  # the same text read as plain characters: another, longer prompt
    ])
    assert "4" in chat.text and "<|im_end|>" not in chat.text
    assert chat.completion_tokens < limit  # it ended its turn (<|im_end|> is an end-of-generation token)
    assert chat.prompt_tokens == len(tokens) < raw.prompt_tokens


def test_a_streamed_answer_is_the_completed_one_in_pieces(smol):
    client, template = smol
    prompt = template.render([{"role": "user", "content": "Name three colours."}])
    greedy = Request(prompt, max_tokens=24, parse_special=True)
    sampled = Request(prompt, max_tokens=24, parse_special=True, temperature=0.8, seed=7)
    stopped = Request(prompt, max_tokens=24, parse_special=True, stop=(",",))
    for request in (greedy, sampled, stopped):
        pieces = list(client.stream(request))
        assert len(pieces) > 1 and "".join(pieces) == client.complete([request])[0].text
    early = client.stream(greedy)
    first = next(early)
    early.close()  # a reader that stops listening: the sequence is dropped, the next answer is unchanged
    assert client.complete([greedy])[0].text.startswith(first)


# ---------------------------------------------------------------- requests that cannot be answered (issue 27, item 9)

LONG = "word " * 5000  # about 5,000 tokens, beyond the 4,096-token context


def test_an_over_long_request_is_a_request_error_and_the_model_stays_fine(client):
    from tony.core.errors import RequestError

    before = client.complete([Request(PROMPT, continuations=OPTIONS), Request(PROMPT, max_tokens=6)])
    too_long = [
        Request(LONG, continuations=(" x",)),
        Request(LONG, max_tokens=4),
        # a shared prefix longer than the context too: refused before any of it is decoded
        Request(LONG + PROMPT, continuations=(" x",), shared_prefix=LONG),
        Request(PROMPT, continuations=("",)),  # an option with no tokens
    ]
    for request in too_long:
        with pytest.raises(RequestError, match="context|no tokens"):
            client.complete([request])
    after = client.complete([Request(PROMPT, continuations=OPTIONS), Request(PROMPT, max_tokens=6)])
    assert after[0].continuation_logprobs == before[0].continuation_logprobs
    assert after[1].text == before[1].text


def test_complete_each_gives_the_request_error_in_place(client):
    from tony.core.errors import RequestError

    short_scoring, short_generation = Request(PROMPT, continuations=OPTIONS), Request(PROMPT, max_tokens=6)
    first, refused, last = client.complete_each([short_scoring, Request(LONG, max_tokens=4), short_generation])
    assert isinstance(refused, RequestError) and f"context of {client.n_ctx}" in str(refused)
    expected = client.complete([short_scoring, short_generation])
    assert first.continuation_logprobs == expected[0].continuation_logprobs and last.text == expected[1].text


def test_max_tokens_that_leave_no_room_for_any_prompt_fail_the_run(client):
    from tony.core.errors import RequestError

    with pytest.raises(ModelError, match="lower max_tokens") as caught:
        client.complete([Request(PROMPT, max_tokens=client.n_ctx)])
    assert not isinstance(caught.value, RequestError)  # every request of such a run would fail: not per instance
