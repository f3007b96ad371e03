"""What tony's LLM judges share: the judge model named like a run entry's model, the rubric sent the way the model
takes a conversation, and answers through the request cache of a results store.

A judge gets two turns, a system turn (who it is) and a user turn (the rubric with the request and the response).
A model with a chat template gets them rendered by it; an OpenAI-compatible chat endpoint gets them as turns
(`Request.messages`); any other model gets plain text ending with a cue (e.g. "Label:") where its answer goes.
Greedy decoding, so an answer is cached without a seed and grading the same completions twice asks the model once.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from tony.core.errors import RequestError

if TYPE_CHECKING:
    from tony.core.store import Store
    from tony.lm.chat import ChatTemplate
    from tony.lm.clients.models import ModelSource
    from tony.lm.types import Completion, Request

DEFAULT_JUDGE = "smollm2-135m-instruct"
"""The judge when none is named: the embedded chat model (weak; name a capable one for real grading)."""


def model_source(spec: str) -> ModelSource:
    """A model from a run entry's model part: a name (`tony ls model`), optionally with its arguments as
    `NAME:key=value,...` (e.g. `openai:base_url=http://localhost:8000/v1,model=m,endpoint=chat`)."""
    from tony.core.registry import registry
    from tony.lm.suite import parse_entry

    fields = parse_entry(spec)
    name = fields.pop("scenario")
    return registry.get("model", name).parse(fields)


def json_object(text: str) -> tuple[bool, dict[str, Any] | None]:
    """Whether a judge's answer (stripped) is written as JSON, fenced (```json ... ```) or bare (starting with "{"),
    and the object it holds: None where it is no valid JSON object."""
    fenced = re.fullmatch(r"```(?:json)?\s*(.*?)\s*```", text, flags=re.DOTALL)
    if not fenced and not text.startswith("{"):
        return False, None
    try:
        data = json.loads(fenced.group(1) if fenced else text)
    except json.JSONDecodeError:
        return True, None
    return True, data if isinstance(data, dict) else None


def judge_request(system: str, user: str, cue: str, *, template: ChatTemplate | None, as_turns: bool,
                  max_tokens: int) -> Request:
    """The request that asks a judge: the turns rendered by `template`, sent as turns (`as_turns`), or else as plain
    text with `cue` on its own line where the answer is to be written."""
    from tony.lm.types import Request

    if template is not None:
        prompt = template.render([{"role": "system", "content": system}, {"role": "user", "content": user}])
        return Request(prompt=prompt, max_tokens=max_tokens, parse_special=True)
    if as_turns:
        return Request(prompt=f"{system}\n\n{user}", max_tokens=max_tokens,
                       messages=(("system", system), ("user", user)))
    return Request(prompt=f"{system}\n\n{user}\n\n{cue}", max_tokens=max_tokens)


def ask_judge(model: str, store: Store | str | None, turns: Sequence[tuple[str, str]], *, cue: str,
              max_tokens: int) -> list[Completion | RequestError]:
    """The judge `model`'s answer to each (system, user) pair: from the request cache of `store` (a Store, or a
    directory or database URL; None: ./tony-results) where stored, else from the model, loaded on first need. A
    request the model refuses (e.g. too long for its context) gives its RequestError and is not cached."""
    from tony.core.cache import RequestCache
    from tony.core.store import Store
    from tony.lm.run import answer_each
    from tony.lm.types import Completion

    source = model_source(model)
    template = source.chat_template()
    requests = [judge_request(system, user, cue, template=template, as_turns=source.takes_messages(),
                              max_tokens=max_tokens) for system, user in turns]
    cache = RequestCache(store if isinstance(store, Store) else Store(store), source.identity())
    keys = [cache.key(r.cache_form(), r.cache_seed()) for r in requests]
    found = cache.get_many(list(dict.fromkeys(keys)))
    missing = {k: r for k, r in zip(keys, requests, strict=True) if k not in found}
    refused: dict[str, RequestError] = {}
    if missing:
        answers = dict(zip(missing, answer_each(source.client(), list(missing.values())), strict=True))
        refused = {k: a for k, a in answers.items() if isinstance(a, RequestError)}
        fresh = {k: a.to_json() for k, a in answers.items() if not isinstance(a, RequestError)}
        cache.put_many(fresh)
        found.update(fresh)
    return [refused[k] if k in refused else Completion.from_json(found[k]) for k in keys]

