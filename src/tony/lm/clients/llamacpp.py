"""llama.cpp in-process, with the fast path for scoring continuations.

A scoring request is one decode call: the prompt's tokens belong to every
continuation's sequence in one unified KV cache, each continuation's tokens
follow under its own sequence id, and logits are computed only at the
positions that are scored. The log-softmax is done in float32 numpy.

A request's `shared_prefix` (instructions and few-shot examples, the same for
every instance of a run) is decoded on its own once and its KV copied into the
sequences of every later request with the same prefix. It is always decoded
on its own, reused or not, so a score depends only on the request, never on
what was evaluated before it.
(llama-cpp-python's OpenAI-style `logprobs` is about 100x slower with this
model's 262,144-token vocabulary.) See ../shared/notes/multiple-choice-scoring.md.
"""

from __future__ import annotations

import ctypes
import os
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from tony.core.errors import ModelError, RequestError, all_or_first_refusal
from tony.lm.types import Completion, Request

DEFAULT_CONTEXT = 4096
MAX_SEQUENCES = 64
PREFIX_SEQ = MAX_SEQUENCES - 1
"""Holds the KV of the last shared prefix (instructions, few-shot examples); options use the others."""


class LlamaCppClient:
    """A GGUF model run by llama.cpp in this process."""

    def __init__(
        self,
        model_path: str | Path,
        *,
        identity: str,
        n_ctx: int = DEFAULT_CONTEXT,
        n_threads: int | None = None,
    ) -> None:
        import llama_cpp
        from llama_cpp import _internals

        path = Path(model_path)
        if not path.is_file():
            raise ModelError(f"GGUF file not found: {path}; pass path= to an existing .gguf file")
        self._lib = llama_cpp
        self.identity = identity
        llama_cpp.llama_backend_init()
        _silence_llama_log(llama_cpp)
        model_params = llama_cpp.llama_model_default_params()
        try:
            self._model = _internals.LlamaModel(path_model=str(path), params=model_params, verbose=False)
        except ValueError as err:
            raise ModelError(f"llama.cpp could not load {path}: {err}") from None
        ctx_params = llama_cpp.llama_context_default_params()
        ctx_params.n_ctx = n_ctx
        ctx_params.n_batch = n_ctx
        ctx_params.n_ubatch = min(n_ctx, 512)
        ctx_params.n_seq_max = MAX_SEQUENCES
        ctx_params.kv_unified = True
        # llama.cpp's CPU flash-attention kernel gives different numbers for small and large
        # batches (up to ~0.5 nats here); without it a score does not depend on how many
        # options share the decode call.
        ctx_params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        threads = n_threads or os.cpu_count() or 1
        ctx_params.n_threads = ctx_params.n_threads_batch = threads
        self._ctx = _internals.LlamaContext(model=self._model, params=ctx_params, verbose=False)
        self.n_ctx = n_ctx
        self._vocab = self._model.vocab
        self._batch = llama_cpp.llama_batch_init(n_ctx, 0, MAX_SEQUENCES)
        self._n_vocab = self._model.n_vocab()
        # Scratch row for the log-softmax: reused, so scoring allocates no vocabulary-sized arrays.
        self._row_buffer = np.empty(self._n_vocab, dtype=np.float32)
        self._add_bos = self._model.add_bos_token()
        self._bos = self._model.token_bos()
        self._prefix: list[int] = []  # tokens whose KV sequence PREFIX_SEQ holds

    # ------------------------------------------------------------------
    def complete(self, requests: list[Request]) -> list[Completion]:
        return all_or_first_refusal(self.complete_each(requests))

    def complete_each(self, requests: list[Request]) -> list[Completion | RequestError]:
        """Answer each request; one that cannot be answered (too long for the context, no tokens) gives its
        RequestError in its place, so the others' answers are kept. A fault of the model raises."""
        out: list[Completion | RequestError] = []
        for request in requests:
            try:
                out.append(self._score(request) if request.is_scoring else self._generate(request))
            except RequestError as refused:  # raised before any decoding, so the KV cache is as it was
                out.append(refused)
        return out

    def close(self) -> None:
        if self._batch is not None:
            self._lib.llama_batch_free(self._batch)
            self._batch = None
        self._ctx.close()
        self._model.close()

    def tokenize(self, text: str, *, add_bos: bool, special: bool = False) -> list[int]:
        """Tokens of `text`; with `special`, special-token texts (e.g. "<|im_end|>") become those tokens."""
        return self._model.tokenize(text.encode("utf-8"), add_bos=add_bos, special=special)

    def prompt_tokens(self, text: str, *, special: bool = False) -> list[int]:
        """A prompt's tokens, BOS first where the model adds one. A chat-rendered prompt (`special`) is
        parsed with its special tokens, and gets no second BOS when its template already wrote one."""
        if not special:
            return self.tokenize(text, add_bos=self._add_bos)
        tokens = self.tokenize(text, add_bos=False, special=True)
        if self._add_bos and tokens[:1] != [self._bos]:
            tokens.insert(0, self._bos)
        return tokens

    # scoring -------------------------------------------------------------
    def _score(self, request: Request) -> Completion:
        start = time.perf_counter()
        prompt = self.prompt_tokens(request.prompt, special=request.parse_special)
        if not prompt:
            raise RequestError("cannot score a continuation of an empty prompt with a model that adds no BOS token")
        options = [self._continuation_tokens(prompt, request, c) for c in request.continuations]
        groups = self._groups(len(prompt), options)  # checked before any decoding: nothing else may overflow
        logprobs: list[float] = []
        shared = self._shared_length(request, prompt)
        processed = self._load_prefix(prompt[:shared])
        for group in groups:
            logprobs.extend(self._score_group(prompt, shared, [options[i] for i in group]))
            processed += len(prompt) - shared + sum(len(options[i]) for i in group)
        lengths = tuple(len(o) for o in options)
        return Completion(
            continuation_logprobs=tuple(logprobs),
            continuation_lengths=lengths,
            prompt_tokens=len(prompt),
            completion_tokens=sum(lengths),
            processed_tokens=processed,
            wall_s=time.perf_counter() - start,
        )

    def _continuation_tokens(self, prompt: list[int], request: Request, continuation: str) -> list[int]:
        """The continuation's tokens as the tail of tokenizing prompt + continuation (as lm-eval does)."""
        whole = self.prompt_tokens(request.prompt + continuation, special=request.parse_special)
        tail = whole[len(prompt) :] if whole[: len(prompt)] == prompt else self.tokenize(continuation, add_bos=False)
        if not tail:
            raise RequestError(f"continuation {continuation!r} has no tokens of its own; give non-empty options")
        return tail

    def _groups(self, prompt_len: int, options: list[list[int]]) -> list[list[int]]:
        """Split options so that each decode call fits the batch and the sequence limit; RequestError when
        the prompt and an option do not fit the context at all (that request only: the model is fine)."""
        if prompt_len + max(len(o) for o in options) > self.n_ctx:
            raise RequestError(
                f"prompt and option need {prompt_len + max(len(o) for o in options)} tokens, more than the "
                f"context of {self.n_ctx}; use fewer few-shot examples or a larger n_ctx"
            )
        groups: list[list[int]] = [[]]
        used = prompt_len
        for i, option in enumerate(options):
            if groups[-1] and (used + len(option) > self.n_ctx or len(groups[-1]) == PREFIX_SEQ):
                groups.append([])
                used = prompt_len
            groups[-1].append(i)
            used += len(option)
        return groups

    def _score_group(self, prompt: list[int], shared: int, options: list[list[int]]) -> list[float]:
        batch = self._batch
        n = 0
        all_seqs = range(len(options))
        self._copy_prefix(all_seqs, shared)
        # Rows whose logits we need, and for each the token they must predict.
        wanted_rows: list[int] = []
        targets: list[int] = []
        owner: list[int] = []
        for pos in range(shared, len(prompt)):
            self._put(n, prompt[pos], pos, all_seqs, logits=pos == len(prompt) - 1)
            n += 1
        prompt_last = n - 1
        for seq, option in enumerate(options):
            previous_row = prompt_last
            for offset, token in enumerate(option):
                wanted_rows.append(previous_row)
                targets.append(token)
                owner.append(seq)
                is_last = offset == len(option) - 1
                self._put(n, token, len(prompt) + offset, (seq,), logits=not is_last)
                previous_row = n
                n += 1
        batch.n_tokens = n
        self._decode()
        scores = self._token_logprobs(wanted_rows, targets)
        self._drop(all_seqs)
        totals = np.zeros(len(options), dtype=np.float64)
        np.add.at(totals, np.asarray(owner), scores)
        return totals.tolist()

    # generation ----------------------------------------------------------
    def stream(self, request: Request) -> Iterator[str]:
        """The answer to a generation request piece by piece, each yielded as soon as it is decoded (bytes of a
        character split over tokens wait for the rest); joined, the pieces are `complete`'s text."""
        return self._decode_answer(request, _Answer())

    def _generate(self, request: Request) -> Completion:
        start = time.perf_counter()
        answer = _Answer()
        for _ in self._decode_answer(request, answer):
            pass
        return Completion(
            text=answer.text,
            tokens=tuple(self._piece(t).decode("utf-8", errors="replace") for t in answer.tokens),
            logprobs=tuple(answer.logprobs),
            prompt_tokens=answer.prompt_tokens,
            completion_tokens=len(answer.tokens),
            processed_tokens=answer.processed + max(len(answer.tokens) - 1, 0),
            wall_s=time.perf_counter() - start,
        )

    def _decode_answer(self, request: Request, answer: _Answer) -> Iterator[str]:
        """Decode the answer to `request` into `answer` token by token (greedy, or sampled with the request's
        seed), yielding each new piece of its text."""
        prompt = self.prompt_tokens(request.prompt, special=request.parse_special)
        if request.max_tokens >= self.n_ctx:  # no prompt fits beside it: every request of the run would fail
            raise ModelError(
                f"max_tokens of {request.max_tokens} leaves no room for a prompt in the context of {self.n_ctx}; "
                "lower max_tokens or raise n_ctx"
            )
        if not prompt:
            raise RequestError("cannot generate from an empty prompt with a model that adds no BOS token")
        if len(prompt) + request.max_tokens > self.n_ctx:
            raise RequestError(
                f"prompt of {len(prompt)} tokens plus {request.max_tokens} to generate exceeds the context of "
                f"{self.n_ctx}; shorten the prompt or raise n_ctx"
            )
        rng = np.random.default_rng(request.seed) if request.temperature > 0 else None
        shared = self._shared_length(request, prompt)
        answer.prompt_tokens = len(prompt)
        answer.processed = self._load_prefix(prompt[:shared]) + len(prompt) - shared
        self._copy_prefix((0,), shared)
        try:  # the sequence is dropped also when a reader stops the stream early
            for row, pos in enumerate(range(shared, len(prompt))):
                self._put(row, prompt[pos], pos, (0,), logits=pos == len(prompt) - 1)
            self._batch.n_tokens = len(prompt) - shared
            self._decode()
            row = len(prompt) - shared - 1
            raw = b""
            while len(answer.tokens) < request.max_tokens:
                token, logprob = _choose(self._logits_row(row), request.temperature, rng)
                if self._lib.llama_vocab_is_eog(self._vocab, token):
                    break
                answer.tokens.append(token)
                answer.logprobs.append(logprob)
                raw += self._piece(token)
                text = raw.decode("utf-8", errors="ignore")
                cut = _first_stop(text, request.stop)
                text = text if cut is None else text[:cut]
                if len(text) > len(answer.text):
                    yield text[len(answer.text):]
                answer.text = text
                if cut is not None:
                    break
                self._put(0, token, len(prompt) + len(answer.tokens) - 1, (0,), logits=True)
                self._batch.n_tokens = 1
                self._decode()
                row = 0
        finally:
            self._drop((0,))

    # the shared prefix -----------------------------------------------------
    def _shared_length(self, request: Request, prompt: list[int]) -> int:
        """Tokens of `prompt` that belong to its shared prefix (at least one prompt token is left over)."""
        if not request.shared_prefix:
            return 0
        head = self.prompt_tokens(request.shared_prefix, special=request.parse_special)
        common = 0
        for a, b in zip(head, prompt, strict=False):
            if a != b:
                break
            common += 1
        return min(common, len(prompt) - 1)

    def _load_prefix(self, tokens: list[int]) -> int:
        """Make sequence PREFIX_SEQ hold exactly `tokens`, decoded on their own; returns tokens decoded."""
        if tokens == self._prefix:
            return 0
        self._lib.llama_memory_seq_rm(self._ctx.memory, PREFIX_SEQ, -1, -1)
        self._prefix = []
        for pos, token in enumerate(tokens):
            self._put(pos, token, pos, (PREFIX_SEQ,), logits=False)
        if tokens:
            self._batch.n_tokens = len(tokens)
            self._decode()
        self._prefix = list(tokens)
        return len(tokens)

    def _copy_prefix(self, seqs, shared: int) -> None:
        for seq in seqs if shared else ():
            self._lib.llama_memory_seq_cp(self._ctx.memory, PREFIX_SEQ, seq, 0, shared)

    def _drop(self, seqs) -> None:
        for seq in seqs:
            self._lib.llama_memory_seq_rm(self._ctx.memory, seq, -1, -1)

    # low-level helpers -----------------------------------------------------
    def _put(self, i: int, token: int, pos: int, seqs, *, logits: bool) -> None:
        batch = self._batch
        batch.token[i] = token
        batch.pos[i] = pos
        count = 0
        for count, seq in enumerate(seqs, start=1):
            batch.seq_id[i][count - 1] = seq
        batch.n_seq_id[i] = count
        batch.logits[i] = logits

    def _decode(self) -> None:
        code = self._lib.llama_decode(self._ctx.ctx, self._batch)
        if code != 0:
            self._lib.llama_memory_clear(self._ctx.memory, True)
            self._prefix = []
            raise ModelError(f"llama.cpp decode failed with code {code} (batch of {self._batch.n_tokens} tokens)")

    def _logits_row(self, batch_row: int) -> np.ndarray:
        pointer = self._lib.llama_get_logits_ith(self._ctx.ctx, batch_row)
        return np.ctypeslib.as_array(pointer, shape=(self._n_vocab,))

    def _token_logprobs(self, rows: list[int], targets: list[int]) -> np.ndarray:
        """log p(target | row) for each (batch row, target). The rows are exactly those decoded with
        logits on, so llama.cpp holds their logits contiguously in batch order: read them in place,
        and normalize each row once even when several options share it (the prompt's last token).

        The normalizer is the float32 log-sum-exp of each row, computed one row at a time in one
        reused buffer (a 1 MB row stays in the CPU's cache between subtracting, exponentiating and
        summing): bit-identical to `log(exp(m - max).sum(axis=1)) + max` over the whole matrix,
        without its two new rows x vocabulary arrays per call."""
        distinct = sorted(set(rows))
        where = {row: i for i, row in enumerate(distinct)}
        pointer = self._lib.llama_get_logits(self._ctx.ctx)
        matrix = np.ctypeslib.as_array(pointer, shape=(len(distinct), self._n_vocab))
        buffer = self._row_buffer
        peak = matrix.max(axis=1)
        sums = np.empty(len(distinct), dtype=np.float32)
        for i, row in enumerate(matrix):
            np.subtract(row, peak[i], out=buffer)
            sums[i] = np.exp(buffer, out=buffer).sum()
        log_norm = np.log(sums) + peak
        index = np.fromiter((where[r] for r in rows), dtype=np.intp, count=len(rows))
        return matrix[index, np.asarray(targets)] - log_norm[index]

    def _piece(self, token: int) -> bytes:
        buffer = ctypes.create_string_buffer(64)
        n = self._lib.llama_token_to_piece(self._vocab, token, buffer, 64, 0, False)
        return buffer.raw[: max(n, 0)]


@dataclass
class _Answer:
    """A generated answer as it is decoded."""

    prompt_tokens: int = 0
    processed: int = 0
    """Tokens run through the model for the prompt (its shared prefix only once)."""
    tokens: list[int] = field(default_factory=list)
    logprobs: list[float] = field(default_factory=list)
    text: str = ""


def _choose(logits: np.ndarray, temperature: float, rng: np.random.Generator | None) -> tuple[int, float]:
    """Greedy (temperature 0) or sampled next token, with its log-probability under the model."""
    peak = float(logits.max())
    log_norm = float(np.log(np.exp(logits - peak).sum())) + peak
    if rng is None:
        token = int(logits.argmax())
    else:
        scaled = (logits - peak) / temperature
        probs = np.exp(scaled - scaled.max())
        token = int(rng.choice(len(probs), p=probs / probs.sum()))
    return token, float(logits[token]) - log_norm


def _first_stop(text: str, stops: tuple[str, ...]) -> int | None:
    hits = [text.find(s) for s in stops if s and s in text]
    return min(hits) if hits else None


_LOG_CALLBACK = None


def _silence_llama_log(llama_cpp) -> None:
    """Keep llama.cpp's loading chatter off the terminal (errors surface as ModelError)."""
    global _LOG_CALLBACK
    if _LOG_CALLBACK is None:
        _LOG_CALLBACK = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(_LOG_CALLBACK, ctypes.c_void_p(0))
