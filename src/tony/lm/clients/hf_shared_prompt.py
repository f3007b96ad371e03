"""Scoring a request's options with the prompt computed once (transformers backend).

The prompt goes through the model once; its key/value cache is repeated for every option, and
only each option's own tokens are fed after it. The log-probabilities are those of feeding
prompt + option whole (as lm-evaluation-harness does), to float rounding, at about half the
tokens for a typical multiple-choice question.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from tony.lm.types import Request


@dataclass
class SharedScore:
    logprobs: list[float]
    lengths: list[int]
    prompt_tokens: int
    processed_tokens: int


def score_sharing_prompt(client: Any, request: Request) -> SharedScore | None:
    """The request's options scored after one pass over its prompt; None when the options do not
    share one tokenized prompt or do not fit the context (the caller then feeds them whole)."""
    import torch

    pairs = [client.encode_pair(request.prompt, c) for c in request.continuations]
    context = pairs[0][0]
    longest = max(len(cont) for _, cont in pairs)
    if any(ctx != context for ctx, _ in pairs) or len(context) + longest > client.max_length:
        return None
    decoder = client.model.get_decoder()
    logprobs = [0.0] * len(pairs)
    with torch.inference_mode():
        out = decoder(input_ids=torch.tensor([context], device=client.device), use_cache=True)
        first = client._head(out.last_hidden_state[0, -1:])[0]
        first = first - torch.logsumexp(first, dim=-1)
        for o, (_, cont) in enumerate(pairs):
            if cont:
                logprobs[o] = float(first[cont[0]])
        rest = [(o, cont) for o, (_, cont) in enumerate(pairs) if len(cont) > 1]
        if rest:
            cache = out.cache if hasattr(out, "cache") else out.past_key_values
            for o, value in zip([o for o, _ in rest], _score_tails(client, cache, len(context),
                                                                    [cont for _, cont in rest]), strict=True):
                logprobs[o] += value
    processed = len(context) + sum(len(cont) - 1 for _, cont in rest)
    return SharedScore(logprobs, [len(cont) for _, cont in pairs], len(context), processed)


def _score_tails(client: Any, cache: Any, past: int, continuations: list[list[int]]) -> list[float]:
    """Summed log-probabilities of each continuation's tokens after the first, fed as one right-padded
    batch after the cached prompt."""
    import torch

    width = max(len(c) - 1 for c in continuations)
    ids = torch.full((len(continuations), width), client._pad_id, dtype=torch.long)
    mask = torch.zeros((len(continuations), past + width), dtype=torch.long)
    mask[:, :past] = 1
    rows, cols, targets = [], [], []
    for b, cont in enumerate(continuations):
        ids[b, : len(cont) - 1] = torch.tensor(cont[:-1])
        mask[b, past : past + len(cont) - 1] = 1
        rows += [b] * (len(cont) - 1)
        cols += range(len(cont) - 1)
        targets += cont[1:]
    cache.batch_repeat_interleave(len(continuations))
    decoder = client.model.get_decoder()
    # transformers 5.x renamed the forward argument past_key_values to cache.
    cache_arg = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
    hidden = decoder(
        input_ids=ids.to(client.device), attention_mask=mask.to(client.device), use_cache=False, **{cache_arg: cache}
    ).last_hidden_state[torch.tensor(rows), torch.tensor(cols)]
    token_lp = client.token_logprobs_from_hidden(hidden, torch.tensor(targets, device=client.device))
    sums = torch.zeros(len(continuations), dtype=torch.float64)
    return sums.index_add_(0, torch.tensor(rows), token_lp.double().cpu()).tolist()
