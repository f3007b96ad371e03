"""The fastest way we know to score multiple-choice options with llama-cpp-python: the reference
that tony's llama.cpp multiple-choice path is measured against (benchmarks/mc_scoring_compare.py).

One decode call per question. The prompt's tokens are decoded once, each belonging to every
option's sequence in one unified KV cache; each option's tokens follow under its own sequence
id; logits are computed only at the positions that are scored (the prompt's last token and
every option token but the last). The log-softmax is float32, one row at a time in one reused
buffer. See ../shared/notes/multiple-choice-scoring.md for the measurements behind each choice.

Written from scratch on llama-cpp-python's C API (no tony code), with the same context
parameters as tony's client: n_ctx 4096, n_batch 4096, n_ubatch 512, 64 sequences, unified KV
cache, flash attention off, as many threads as CPUs.

Input: a JSONL file, one question per line, in tony's schema (`input`, `choices`, `id`); the
prompt is `Q: {input}\\nA:` and option `c` is scored as the continuation `" " + c`, its tokens
being the tail of tokenizing prompt + continuation (as tony and lm-evaluation-harness do).
Output: JSON with every question's log-likelihoods (in `choices` order) and choice (argmax).

    .venv/bin/python benchmarks/mc_reference_scorer.py --model GGUF --questions Q.jsonl --out OUT.json
"""

from __future__ import annotations

import argparse
import ctypes
import json
import os
import sys
import time

import llama_cpp
import numpy as np

N_CTX = 4096
N_SEQ = 64


class Scorer:
    def __init__(self, model_path: str) -> None:
        llama_cpp.llama_backend_init()
        self._quiet = llama_cpp.llama_log_callback(lambda level, text, user_data: None)
        llama_cpp.llama_log_set(self._quiet, ctypes.c_void_p(0))
        self.model = llama_cpp.llama_model_load_from_file(model_path.encode(), llama_cpp.llama_model_default_params())
        if not self.model:
            raise SystemExit(f"llama.cpp could not load {model_path}")
        params = llama_cpp.llama_context_default_params()
        params.n_ctx = params.n_batch = N_CTX
        params.n_ubatch = 512
        params.n_seq_max = N_SEQ
        params.kv_unified = True
        params.flash_attn_type = llama_cpp.LLAMA_FLASH_ATTN_TYPE_DISABLED
        params.n_threads = params.n_threads_batch = os.cpu_count() or 1
        self.ctx = llama_cpp.llama_init_from_model(self.model, params)
        self.memory = llama_cpp.llama_get_memory(self.ctx)
        self.vocab = llama_cpp.llama_model_get_vocab(self.model)
        self.n_vocab = llama_cpp.llama_vocab_n_tokens(self.vocab)
        self.add_bos = llama_cpp.llama_vocab_get_add_bos(self.vocab)
        self.batch = llama_cpp.llama_batch_init(N_CTX, 0, N_SEQ)
        self.tokens = (llama_cpp.llama_token * N_CTX)()
        self.row = np.empty(self.n_vocab, dtype=np.float32)

    def tokenize(self, text: str, add_bos: bool) -> list[int]:
        data = text.encode("utf-8")
        n = llama_cpp.llama_tokenize(self.vocab, data, len(data), self.tokens, N_CTX, add_bos, False)
        if n < 0:
            raise SystemExit(f"more than {N_CTX} tokens: {text[:60]!r}...")
        return self.tokens[:n]

    def put(self, i: int, token: int, pos: int, seqs: range | tuple[int, ...], logits: bool) -> None:
        b = self.batch
        b.token[i], b.pos[i], b.n_seq_id[i], b.logits[i] = token, pos, len(seqs), logits
        for j, seq in enumerate(seqs):
            b.seq_id[i][j] = seq

    def score(self, question: str, choices: list[str]) -> tuple[list[float], int]:
        """Log-likelihood of each choice, and the number of tokens decoded."""
        text = f"Q: {question}\nA:"
        prompt = self.tokenize(text, self.add_bos)
        options = []
        for choice in choices:
            whole = self.tokenize(f"{text} {choice}", self.add_bos)
            options.append(whole[len(prompt) :] if whole[: len(prompt)] == prompt else
                           self.tokenize(f" {choice}", False))
        fed = len(prompt) + sum(len(o) for o in options)
        if len(options) > N_SEQ or fed > N_CTX:
            raise SystemExit(f"{len(options)} options / {fed} tokens do not fit one decode call")
        every = range(len(options))
        for pos, token in enumerate(prompt):
            self.put(pos, token, pos, every, pos == len(prompt) - 1)
        n, row = len(prompt), 0  # row: which logits row predicts the next token
        rows, targets, owner = [], [], []
        for seq, option in enumerate(options):
            previous = 0
            for offset, token in enumerate(option):
                rows.append(previous)
                targets.append(token)
                owner.append(seq)
                last = offset == len(option) - 1
                self.put(n, token, len(prompt) + offset, (seq,), not last)
                n += 1
                if not last:
                    row += 1
                    previous = row
        self.batch.n_tokens = n
        if llama_cpp.llama_decode(self.ctx, self.batch) != 0:
            raise SystemExit("llama_decode failed")
        logits = np.ctypeslib.as_array(llama_cpp.llama_get_logits(self.ctx), shape=(row + 1, self.n_vocab))
        peak = logits.max(axis=1)
        sums = np.empty(row + 1, dtype=np.float32)
        for i in range(row + 1):
            np.subtract(logits[i], peak[i], out=self.row)
            sums[i] = np.exp(self.row, out=self.row).sum()
        token_scores = logits[rows, targets] - (np.log(sums) + peak)[rows]
        totals = [0.0] * len(options)
        for seq, value in zip(owner, token_scores.tolist(), strict=True):
            totals[seq] += value
        llama_cpp.llama_memory_clear(self.memory, False)
        return totals, fed


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="the GGUF file")
    parser.add_argument("--questions", required=True, help="JSONL: input, choices (and id) per line")
    parser.add_argument("--out", required=True, help="where to write the JSON result")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    scorer = Scorer(args.model)
    loaded = time.perf_counter()
    results, fed = [], 0
    with open(args.questions, encoding="utf-8") as lines:
        for number, line in enumerate(lines, start=1):
            if not line.strip():
                continue
            row = json.loads(line)
            scores, tokens = scorer.score(row["input"], row["choices"])
            fed += tokens
            results.append({"id": row.get("id", number), "loglikelihoods": scores,
                            "choice": max(range(len(scores)), key=scores.__getitem__)})
    done = time.perf_counter()
    with open(args.out, "w", encoding="utf-8") as out:
        json.dump({"model": args.model, "load_s": loaded - start, "score_s": done - loaded, "tokens_fed": fed,
                   "questions": results}, out)
    return 0


if __name__ == "__main__":
    sys.exit(main())
