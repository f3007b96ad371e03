"""A Hugging Face transformers client: a local causal LM, from a model folder or a GGUF file.

Scoring requests (``Request.continuations``) are tokenized the way lm-evaluation-harness's
``hf`` backend tokenizes ``loglikelihood`` requests: the prompt and prompt+continuation are
tokenized separately and the continuation's tokens are the tail of the whole string's tokens.
By default the prompt is computed once per request and its key/value cache shared by the
options (``hf_shared_prompt``); with ``share_prompt=False`` (or where the options do not share
one tokenized prompt) each option is fed whole, as lm-eval does: one sequence (prompt +
continuation, minus its last token) per option, batched across options and requests with right
padding, sorted by length. Only the hidden states at the scored positions go through the output
layer, so the 262,144-way log-softmax is computed at those positions alone.

Generation requests are greedy (temperature 0) or sampled with the request's seed, one
request at a time, cut at the first stop string.

Identity and path resolution: see ``hf_weights``; loading and GGUF conversion: ``hf_loading``;
generation: ``hf_generation``.
"""

from __future__ import annotations

import gc
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tony.core.errors import ModelError, RequestError
from tony.lm.clients.hf_generation import generate
from tony.lm.clients.hf_loading import convert_gguf_to_folder, import_backend, load_model
from tony.lm.clients.hf_shared_prompt import SharedPass, shared_passes
from tony.lm.clients.hf_weights import resolve_model_path, weights_identity
from tony.lm.types import Completion, Request

__all__ = ["TransformersClient", "convert_gguf_to_folder", "weights_identity"]

HEAD_CHUNK = 256
"""Scored positions per output-layer call (256 x 262,144 float32 logits is 256 MiB)."""


@dataclass
class _Sequence:
    """One (request, continuation) pair to score: the tokens fed and the tokens scored."""

    request: int
    option: int
    fed: list[int]
    """prompt + continuation tokens, minus the last (nothing is predicted after it)."""
    targets: list[int]
    """The continuation's tokens, predicted at positions first .. first + len - 1 of `fed`."""
    first: int


class TransformersClient:
    """A causal LM through Hugging Face transformers (CPU by default)."""

    def __init__(
        self,
        path: str | Path,
        *,
        gguf_file: str | None = None,
        batch_size: int = 8,
        dtype: str = "float32",
        device: str = "cpu",
        threads: int | None = None,
        share_prompt: bool = True,
    ) -> None:
        """``path``: a model folder, a .gguf file, or a folder with ``gguf_file``; ``batch_size``:
        sequences (prompt + one continuation) per forward pass when options are fed whole;
        ``threads``: torch's intra-op threads (process-wide; None keeps torch's default);
        ``share_prompt``: compute each request's prompt once for all its options.
        """
        if batch_size < 1:
            raise ModelError(f"batch_size must be at least 1, got {batch_size}")
        folder, gguf_name = resolve_model_path(path, gguf_file)
        self.batch_size = batch_size
        self.share_prompt = share_prompt
        self.device = device
        self.dtype = dtype
        self.source = folder / gguf_name if gguf_name else folder
        self.identity = weights_identity(folder, gguf_file=gguf_name, dtype=dtype)
        if threads is not None:
            torch, _ = import_backend()
            torch.set_num_threads(threads)
        t0 = time.perf_counter()
        self.tokenizer, self.model = load_model(folder, gguf_name, dtype, device)
        self.load_s = time.perf_counter() - t0
        """Seconds spent loading the tokenizer and the model."""
        config = self.model.config
        self.max_length = int(getattr(config, "max_position_embeddings", 0) or 2048)
        tok = self.tokenizer
        self._prefix_id = tok.bos_token_id if tok.bos_token_id is not None else tok.eos_token_id
        self._pad_id = next(i for i in (tok.pad_token_id, tok.eos_token_id, 0) if i is not None)
        self._head_from_hidden = self._check_head()

    # -- public API -------------------------------------------------------------------------------

    def complete(self, requests: list[Request]) -> list[Completion]:
        if self.model is None:
            raise ModelError("this TransformersClient is closed; create a new one")
        results: list[Completion | None] = [None] * len(requests)
        scoring = [i for i, r in enumerate(requests) if r.is_scoring]
        if self.share_prompt and self._head_from_hidden:
            for i, completion in zip(scoring, self._score_shared([requests[i] for i in scoring]), strict=True):
                results[i] = completion
        whole = [i for i in scoring if results[i] is None]
        for i, completion in zip(whole, self._score([requests[i] for i in whole]), strict=True):
            results[i] = completion
        for i, request in enumerate(requests):
            if not request.is_scoring:
                results[i] = self._generate(request)
        return [r for r in results if r is not None]

    def close(self) -> None:
        self.model = None
        self.tokenizer = None
        gc.collect()

    def __enter__(self) -> TransformersClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- tokenization (as lm-evaluation-harness's HFLM does it) ---------------------------------

    def _encode(self, text: str) -> list[int]:
        """Token ids with the tokenizer's special tokens (a BOS), unless the text starts with BOS."""
        bos = self.tokenizer.bos_token
        add_special = not (bos and text.startswith(bos))
        return list(self.tokenizer.encode(text, add_special_tokens=add_special))

    def encode_pair(self, prompt: str, continuation: str) -> tuple[list[int], list[int]]:
        """(prompt tokens, continuation tokens), split the way lm-evaluation-harness splits them.

        Trailing whitespace of the prompt moves to the continuation; the continuation's tokens
        are those of prompt+continuation after the prompt's own tokens. An empty prompt becomes
        the BOS token (EOS when there is none).
        """
        if not prompt:
            cont = list(self.tokenizer.encode(continuation, add_special_tokens=False))
            if cont and cont[0] == self._prefix_id:
                return cont[:1], cont[1:]
            return [self._prefix_id], cont
        n_spaces = len(prompt) - len(prompt.rstrip())
        if n_spaces:
            prompt, continuation = prompt[:-n_spaces], prompt[-n_spaces:] + continuation
        whole = self._encode(prompt + continuation)
        context = self._encode(prompt)
        return context, whole[len(context) :]

    # -- scoring -------------------------------------------------------------------------------------

    def _check_head(self) -> bool:
        """True when output-layer(hidden state) reproduces the model's own logits.

        Scoring applies the output layer (and Gemma-style final logit soft-capping) only at the
        scored positions; for an architecture where that does not reproduce the forward pass,
        fall back to the full forward pass's logits.
        """
        torch, _ = import_backend()
        ids = torch.tensor([self._encode("Hello world")], device=self.device)
        decoder = self.model.get_decoder() if hasattr(self.model, "get_decoder") else None
        if decoder is None or decoder is self.model or self.model.get_output_embeddings() is None:
            return False
        with torch.inference_mode():
            full = self.model(input_ids=ids).logits[0, -1].float()
            hidden = decoder(input_ids=ids).last_hidden_state[0, -1:]
            return bool(torch.allclose(full, self._head(hidden)[0], atol=1e-3, rtol=1e-4))

    def _head(self, hidden: Any) -> Any:
        """Logits (float32) from final hidden states: the output layer, then any final soft-capping."""
        torch, _ = import_backend()
        logits = self.model.get_output_embeddings()(hidden).float()
        cap = getattr(self.model.config, "final_logit_softcapping", None)
        if cap:
            logits = torch.tanh(logits / cap) * cap
        return logits

    def _sequences(self, requests: list[Request]) -> tuple[list[_Sequence], list[list[int]], list[int]]:
        sequences: list[_Sequence] = []
        lengths: list[list[int]] = []
        prompt_tokens: list[int] = []
        for r, request in enumerate(requests):
            lengths.append([])
            n_prompt = 0
            for o, continuation in enumerate(request.continuations):
                context, cont = self.encode_pair(request.prompt, continuation)
                n_prompt = max(n_prompt, len(context))
                lengths[r].append(len(cont))
                if not cont:
                    continue
                whole = (context + cont)[-(self.max_length + 1) :]
                if len(cont) >= len(whole):
                    raise RequestError(
                        f"a continuation of {len(cont)} tokens does not fit the model's context "
                        f"({self.max_length} tokens); shorten the options"
                    )
                fed = whole[:-1]
                sequences.append(_Sequence(r, o, fed, cont, len(fed) - len(cont)))
            prompt_tokens.append(n_prompt)
        return sequences, lengths, prompt_tokens

    def _score(self, requests: list[Request]) -> list[Completion]:
        if not requests:
            return []
        torch, _ = import_backend()
        t_start = time.perf_counter()
        sequences, lengths, prompt_tokens = self._sequences(requests)
        logprobs = [[0.0] * len(r.continuations) for r in requests]
        busy = [0.0] * len(requests)
        fed = [0] * len(requests)
        order = sorted(range(len(sequences)), key=lambda i: -len(sequences[i].fed))
        with torch.inference_mode():
            for start in range(0, len(order), self.batch_size):
                batch = [sequences[i] for i in order[start : start + self.batch_size]]
                t0 = time.perf_counter()
                sums = self._score_batch(batch)
                elapsed = time.perf_counter() - t0
                n_fed = sum(len(s.fed) for s in batch)
                for seq, value in zip(batch, sums, strict=True):
                    logprobs[seq.request][seq.option] = value
                    busy[seq.request] += elapsed * len(seq.fed) / n_fed
                    fed[seq.request] += len(seq.fed)
        # Tokenization and bookkeeping: shared in proportion to the tokens each request fed.
        overhead = time.perf_counter() - t_start - sum(busy)
        total_fed = sum(fed) or 1
        return [
            Completion(
                continuation_logprobs=tuple(logprobs[r]),
                continuation_lengths=tuple(lengths[r]),
                prompt_tokens=prompt_tokens[r],
                completion_tokens=sum(lengths[r]),
                processed_tokens=fed[r],
                wall_s=busy[r] + overhead * fed[r] / total_fed,
            )
            for r in range(len(requests))
        ]

    def _score_shared(self, requests: list[Request]) -> list[Completion | None]:
        """Requests scored after one pass over each prompt (None where that does not apply), the output
        layer applied to all their scored positions together."""
        torch, _ = import_backend()
        passes: list[SharedPass | None] = []
        busy: list[float] = []
        with torch.inference_mode():
            for start in range(0, len(requests), self.batch_size):
                t0 = time.perf_counter()
                group = shared_passes(self, requests[start : start + self.batch_size])
                passes += group
                # The group's decoder time, shared in proportion to the tokens each request fed.
                fed = [p.processed_tokens if p else 0 for p in group]
                busy += [(time.perf_counter() - t0) * n / max(sum(fed), 1) for n in fed]
            done = [p for p in passes if p is not None]
            if not done:
                return [None] * len(requests)
            t0 = time.perf_counter()
            targets = torch.tensor([t for p in done for t in p.targets], device=self.device)
            token_lp = self.token_logprobs_from_hidden(torch.cat([p.hidden for p in done]), targets)
            token_lp = token_lp.double().cpu().tolist()
            head_s = time.perf_counter() - t0
        rows_total = len(token_lp)
        out: list[Completion | None] = []
        for shared, seconds in zip(passes, busy, strict=True):
            if shared is None:
                out.append(None)
                continue
            mine, token_lp = token_lp[: len(shared.targets)], token_lp[len(shared.targets) :]
            logprobs = [0.0] * len(shared.lengths)
            for option, value in zip(shared.options, mine, strict=True):
                logprobs[option] += value
            out.append(Completion(
                continuation_logprobs=tuple(logprobs),
                continuation_lengths=tuple(shared.lengths),
                prompt_tokens=shared.prompt_tokens,
                completion_tokens=sum(shared.lengths),
                processed_tokens=shared.processed_tokens,
                wall_s=seconds + head_s * len(mine) / rows_total,
            ))
        return out

    def token_logprobs_from_hidden(self, hidden: Any, targets: Any) -> Any:
        """log p(target) at each row of final hidden states, through the output layer in chunks
        (bounding the positions x vocabulary logits in memory)."""
        torch, _ = import_backend()
        return torch.cat([
            self._token_logprobs(self._head(hidden[i : i + HEAD_CHUNK]), targets[i : i + HEAD_CHUNK])
            for i in range(0, len(targets), HEAD_CHUNK)
        ])

    def _score_batch(self, batch: list[_Sequence]) -> list[float]:
        """Summed log-probabilities of each sequence's targets; right padding + attention mask."""
        torch, _ = import_backend()
        width = max(len(s.fed) for s in batch)
        ids = torch.full((len(batch), width), self._pad_id, dtype=torch.long)
        mask = torch.zeros((len(batch), width), dtype=torch.long)
        rows: list[int] = []
        cols: list[int] = []
        targets: list[int] = []
        for b, seq in enumerate(batch):
            ids[b, : len(seq.fed)] = torch.tensor(seq.fed)
            mask[b, : len(seq.fed)] = 1
            rows.extend([b] * len(seq.targets))
            cols.extend(range(seq.first, seq.first + len(seq.targets)))
            targets.extend(seq.targets)
        ids, mask = ids.to(self.device), mask.to(self.device)
        rows_t = torch.tensor(rows, device=self.device)
        cols_t = torch.tensor(cols, device=self.device)
        target_t = torch.tensor(targets, device=self.device)
        if self._head_from_hidden:
            hidden = self.model.get_decoder()(input_ids=ids, attention_mask=mask).last_hidden_state[rows_t, cols_t]
            token_lp = self.token_logprobs_from_hidden(hidden, target_t)
        else:
            logits = self.model(input_ids=ids, attention_mask=mask).logits[rows_t, cols_t].float()
            token_lp = self._token_logprobs(logits, target_t)
        sums = torch.zeros(len(batch), dtype=torch.float64).index_add_(0, rows_t.cpu(), token_lp.double().cpu())
        return sums.tolist()

    @staticmethod
    def _token_logprobs(logits: Any, targets: Any) -> Any:
        """log softmax(logits)[target] per row, without materializing the whole log-softmax."""
        import torch

        return logits.gather(1, targets[:, None])[:, 0] - torch.logsumexp(logits, dim=-1)

    # -- generation ---------------------------------------------------------------------------------

    def _generate(self, request: Request) -> Completion:
        started = time.perf_counter()
        prompt_ids = self._encode(request.prompt) if request.prompt else [self._prefix_id]
        if len(prompt_ids) + request.max_tokens > self.max_length:
            raise RequestError(
                f"prompt of {len(prompt_ids)} tokens plus {request.max_tokens} to generate exceeds the model's "
                f"context of {self.max_length}; shorten the prompt"
            )
        return generate(self.model, self.tokenizer, prompt_ids, request, pad_id=self._pad_id, device=self.device,
                        started=started)
