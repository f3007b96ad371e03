"""Greedy or seeded sampled generation with a transformers model, cut at the first stop string."""

from __future__ import annotations

import time
from typing import Any

from tony.lm.clients.hf_loading import import_backend
from tony.lm.types import Completion, Request


class _StopStrings:
    """Stops generation once the generated text contains a stop string.

    (transformers' own ``stop_strings`` precomputes tables over the whole vocabulary, which
    takes seconds for a 262,144-token vocabulary; decoding the generated tokens is cheap.)
    """

    def __init__(self, tokenizer: Any, prompt_len: int, stops: list[str]) -> None:
        self.tokenizer = tokenizer
        self.prompt_len = prompt_len
        self.stops = stops

    def __call__(self, input_ids: Any, scores: Any, **kwargs: Any) -> Any:
        import torch

        done = [
            any(
                s in self.tokenizer.decode(row[self.prompt_len :].tolist(), skip_special_tokens=True)
                for s in self.stops
            )
            for row in input_ids
        ]
        return torch.tensor(done, dtype=torch.bool, device=input_ids.device)


def generate(model: Any, tokenizer: Any, prompt_ids: list[int], request: Request, *, pad_id: int | None, device: str,
             started: float) -> Completion:
    """The completion of `request` from its encoded prompt; `started` is when the request's work began."""
    torch, transformers = import_backend()
    if request.max_tokens <= 0:
        return Completion(prompt_tokens=len(prompt_ids), wall_s=time.perf_counter() - started)
    sampled = request.temperature > 0
    eos = model.generation_config.eos_token_id
    config = transformers.GenerationConfig(
        max_new_tokens=request.max_tokens,
        do_sample=sampled,
        temperature=request.temperature if sampled else None,
        top_k=0 if sampled else None,
        top_p=1.0 if sampled else None,
        eos_token_id=eos,
        pad_token_id=pad_id,
        bos_token_id=tokenizer.bos_token_id,
        return_dict_in_generate=True,
        output_logits=True,
    )
    stops = [s for s in request.stop if s]
    criteria = transformers.StoppingCriteriaList([_StopStrings(tokenizer, len(prompt_ids), stops)])
    ids = torch.tensor([prompt_ids], device=device)
    torch_device = torch.device(device)
    devices = [torch_device.index or 0] if torch_device.type == "cuda" else []  # the RNGs fork_rng saves and restores
    with torch.inference_mode(), torch.random.fork_rng(devices=devices):
        torch.manual_seed(request.seed if request.seed is not None else 0)
        out = model.generate(
            input_ids=ids,
            attention_mask=torch.ones_like(ids),
            generation_config=config,
            stopping_criteria=criteria if stops else None,
        )
    new_ids = out.sequences[0, len(prompt_ids) :].tolist()
    lps = [
        float(torch.log_softmax(step[0].float(), dim=-1)[token])
        for step, token in zip(out.logits, new_ids, strict=False)
    ]
    eos_ids = set(eos if isinstance(eos, list) else [eos] if eos is not None else [])
    kept = len(new_ids)
    while kept and new_ids[kept - 1] in eos_ids:
        kept -= 1
    text = tokenizer.decode(new_ids[:kept], skip_special_tokens=True)
    cut = min((i for i in (text.find(s) for s in request.stop if s) if i >= 0), default=-1)
    if cut >= 0:
        text = text[:cut]
        kept = next(
            k for k in range(kept + 1) if len(tokenizer.decode(new_ids[:k], skip_special_tokens=True)) >= cut
        )
    tokens = tuple(tokenizer.decode([i]) for i in new_ids[:kept])
    return Completion(
        text=text,
        tokens=tokens,
        logprobs=tuple(lps[:kept]),
        prompt_tokens=len(prompt_ids),
        completion_tokens=len(new_ids),
        processed_tokens=len(prompt_ids) + max(0, len(new_ids) - 1),
        wall_s=time.perf_counter() - started,
    )
