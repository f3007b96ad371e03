"""Scoring requests' options with each prompt computed once (transformers backend).

The prompts of a group of requests go through the model together (right-padded); their key/value
cache rows are then repeated, one per option, and only each option's own tokens are fed after its
prompt, at the positions they would have in the whole sequence. The log-probabilities are those of
feeding prompt + option whole (as lm-evaluation-harness does), to float rounding, at about half
the tokens for a typical multiple-choice question.

Work is grouped because on a CPU a forward pass costs at least a read of every weight: many rows
per pass, and one output-layer product for the scored positions of the whole group.
"""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

from tony.lm.types import Request


@dataclass
class SharedPass:
    """One request's final hidden states at its scored positions, before the output layer."""

    hidden: Any
    """[rows, width]: the hidden state that predicts each scored token."""
    targets: list[int]
    """The token each row predicts."""
    options: list[int]
    """Which option each row belongs to."""
    lengths: list[int]
    prompt_tokens: int
    processed_tokens: int


@dataclass
class _Tokenized:
    request: int
    context: list[int]
    continuations: list[list[int]]


def shared_passes(client: Any, requests: list[Request]) -> list[SharedPass | None]:
    """The decoder's passes for a group of requests; None for a request whose options do not share
    one tokenized prompt or do not fit the context (the caller feeds those whole)."""
    tokenized: list[_Tokenized] = []
    for r, request in enumerate(requests):
        pairs = [client.encode_pair(request.prompt, c) for c in request.continuations]
        context = pairs[0][0]
        fits = len(context) + max(len(c) for _, c in pairs) <= client.max_length
        if fits and all(ctx == context for ctx, _ in pairs):
            tokenized.append(_Tokenized(r, context, [cont for _, cont in pairs]))
    out: list[SharedPass | None] = [None] * len(requests)
    for item, result in zip(tokenized, _group_pass(client, tokenized), strict=True):
        out[item.request] = result
    return out


def _group_pass(client: Any, group: list[_Tokenized]) -> list[SharedPass]:
    import torch

    if not group:
        return []
    width = max(len(g.context) for g in group)
    ids = torch.full((len(group), width), client._pad_id, dtype=torch.long)
    mask = torch.zeros((len(group), width), dtype=torch.long)
    for i, g in enumerate(group):
        ids[i, : len(g.context)] = torch.tensor(g.context)
        mask[i, : len(g.context)] = 1
    decoder = client.model.get_decoder()
    out = decoder(input_ids=ids.to(client.device), attention_mask=mask.to(client.device), use_cache=True)
    last = out.last_hidden_state
    tails = [(i, o, cont) for i, g in enumerate(group) for o, cont in enumerate(g.continuations) if len(cont) > 1]
    tail_hidden = None
    if tails:
        cache = out.cache if hasattr(out, "cache") else out.past_key_values
        tail_hidden = _tail_hidden(client, cache, mask, [len(g.context) for g in group], tails)
    results = []
    for i, g in enumerate(group):
        scored = [(o, cont) for o, cont in enumerate(g.continuations) if cont]
        # Each option's first token is predicted from the prompt's last position.
        parts = [last[i, len(g.context) - 1 : len(g.context)].expand(len(scored), -1)]
        targets = [cont[0] for _, cont in scored]
        options = [o for o, _ in scored]
        mine = [(t, o, cont) for t, (j, o, cont) in enumerate(tails) if j == i]
        if mine:
            assert tail_hidden is not None  # computed whenever any option has a tail
            parts += [tail_hidden[t, : len(cont) - 1] for t, _, cont in mine]
            targets += [token for _, _, cont in mine for token in cont[1:]]
            options += [o for _, o, cont in mine for _ in cont[1:]]
        processed = len(g.context) + sum(len(cont) - 1 for _, _, cont in mine)
        results.append(SharedPass(torch.cat(parts), targets, options, [len(c) for c in g.continuations],
                                  len(g.context), processed))
    return results


def _tail_hidden(client: Any, cache: Any, prompt_mask: Any, prompt_lengths: list[int],
                 tails: list[tuple[int, int, list[int]]]) -> Any:
    """[tails, width, hidden]: the hidden states over each option's tokens after the first, fed as
    one right-padded batch after its own prompt's cache row, at the positions that follow its prompt."""
    import torch

    width = max(len(cont) - 1 for _, _, cont in tails)
    owners = torch.tensor([i for i, _, _ in tails])
    ids = torch.full((len(tails), width), client._pad_id, dtype=torch.long)
    tail_mask = torch.zeros((len(tails), width), dtype=torch.long)
    positions = torch.zeros((len(tails), width), dtype=torch.long)
    for b, (i, _, cont) in enumerate(tails):
        ids[b, : len(cont) - 1] = torch.tensor(cont[:-1])
        tail_mask[b, : len(cont) - 1] = 1
        positions[b] = torch.arange(prompt_lengths[i], prompt_lengths[i] + width)
    cache.batch_select_indices(owners.to(client.device))
    mask = torch.cat([prompt_mask[owners], tail_mask], dim=1)
    decoder = client.model.get_decoder()
    # transformers 5.x renamed the forward argument past_key_values to cache.
    cache_arg = "cache" if "cache" in inspect.signature(decoder.forward).parameters else "past_key_values"
    return decoder(
        input_ids=ids.to(client.device), attention_mask=mask.to(client.device),
        position_ids=positions.to(client.device), use_cache=False, **{cache_arg: cache},
    ).last_hidden_state
