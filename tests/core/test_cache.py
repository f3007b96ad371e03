"""The request cache (tony.core.cache) on a real store, SQLite and PostgreSQL: keys made of the model's identity,
the canonical request and the seed; answers that round-trip; a sampled request cached only with its seed."""

from __future__ import annotations

import pytest

from tony.core.cache import RequestCache
from tony.core.spec import content_key
from tony.core.store import Store
from tony.lm.types import Request

MODEL = "gemma-3-270m@sha256:0123"
REQUEST = {"prompt": "2 + 2 =", "max_tokens": 3, "stop": ["\n"]}


def test_keys_change_with_each_part_and_not_with_field_order(store: Store) -> None:
    cache = RequestCache(store, MODEL)
    key = cache.key(REQUEST, None)
    # Pinned: a store's cached answers stay reachable only while the key is made the same way.
    assert key == content_key({"model": MODEL, "request": REQUEST, "seed": None})
    assert cache.key(dict(reversed(list(REQUEST.items()))), None) == key  # canonical: field order does not matter
    assert RequestCache(store, MODEL).key(REQUEST, None) == key  # nothing but its inputs
    different = [
        RequestCache(store, "gemma-3-270m@sha256:4567").key(REQUEST, None),  # same name, other weights
        cache.key({**REQUEST, "prompt": "2 + 3 ="}, None),
        cache.key({**REQUEST, "max_tokens": 4}, None),
        cache.key(REQUEST, 0),  # seed 0 is a seed, not "no seed"
        cache.key(REQUEST, 1),
    ]
    assert len({key, *different}) == 1 + len(different)


def test_answers_round_trip_through_the_store(store: Store) -> None:
    cache = RequestCache(store, MODEL)
    answers = {cache.key({**REQUEST, "prompt": f"{i} + 2 ="}, None): {"text": f" {i + 2}", "logprobs": [-0.25 * i],
                                                                      "tokens": ["\u00e9", "\U0001f600"]}
               for i in range(3)}
    assert cache.get_many(list(answers)) == {}
    cache.put_many(answers)
    cache.put_many({})
    assert cache.get_many([*answers, cache.key(REQUEST, None)]) == answers  # a key never stored is left out
    reopened = RequestCache(Store(store.url), MODEL)
    assert reopened.get_many(list(answers)) == answers


def test_a_stored_answer_is_not_replaced(store: Store) -> None:
    """The first answer stays: a rerun (or a concurrent run) never changes what earlier runs were scored on."""
    cache = RequestCache(store, MODEL)
    key = cache.key(REQUEST, None)
    cache.put_many({key: {"text": " 4"}})
    cache.put_many({key: {"text": " 5"}})
    assert cache.get_many([key]) == {key: {"text": " 4"}}


def test_two_models_never_share_an_answer(store: Store) -> None:
    a, b = RequestCache(store, MODEL), RequestCache(store, "smollm2-135m-instruct@sha256:89ab")
    a.put_many({a.key(REQUEST, None): {"text": " 4"}})
    assert b.get_many([b.key(REQUEST, None)]) == {}
    b.put_many({b.key(REQUEST, None): {"text": " four"}})
    assert a.get_many([a.key(REQUEST, None)]) == {a.key(REQUEST, None): {"text": " 4"}}


def answered(cache: RequestCache, request: Request) -> dict | None:
    """The stored answer of `request`, looked up as a run looks it up (tony.lm.run)."""
    key = cache.key(request.cache_form(), request.cache_seed())
    return cache.get_many([key]).get(key)


def store_answer(cache: RequestCache, request: Request, text: str) -> None:
    cache.put_many({cache.key(request.cache_form(), request.cache_seed()): {"text": text}})


def test_a_greedy_request_is_keyed_without_its_seed(store: Store) -> None:
    cache = RequestCache(store, MODEL)
    greedy = Request(prompt="2 + 2 =", max_tokens=3, seed=1)
    assert greedy.cache_seed() is None and "seed" not in greedy.cache_form()
    store_answer(cache, greedy, " 4")
    # Greedy decoding does not depend on a seed: the answer serves the same request under any seed, or none.
    for seed in (1, 2, None):
        assert answered(cache, Request(prompt="2 + 2 =", max_tokens=3, seed=seed)) == {"text": " 4"}


@pytest.mark.parametrize("temperature", [0.7, 1e-6])
def test_a_sampled_request_is_cached_only_with_its_seed(store: Store, temperature: float) -> None:
    cache = RequestCache(store, MODEL)
    sampled = Request(prompt="Once upon a time", max_tokens=8, temperature=temperature, seed=1)
    assert sampled.cache_seed() == 1
    store_answer(cache, sampled, " there was a cat")
    assert answered(cache, sampled) == {"text": " there was a cat"}
    assert answered(cache, Request(prompt="Once upon a time", max_tokens=8, temperature=temperature, seed=1)) == {
        "text": " there was a cat"}
    # Another seed is another sample: never served the stored one.
    assert answered(cache, Request(prompt="Once upon a time", max_tokens=8, temperature=temperature, seed=2)) is None
    # Nor is the greedy request with the same prompt, whatever its seed.
    assert answered(cache, Request(prompt="Once upon a time", max_tokens=8, seed=1)) is None
    store_answer(cache, Request(prompt="Once upon a time", max_tokens=8, temperature=temperature, seed=2), " it rained")
    assert answered(cache, sampled) == {"text": " there was a cat"}


def test_a_sampled_request_without_a_seed_is_refused():
    from tony.core.errors import SpecError

    with pytest.raises(SpecError, match="needs a seed"):
        Request(prompt="Once upon a time", max_tokens=8, temperature=0.7)
    assert Request(prompt="Once upon a time", max_tokens=8).cache_seed() is None  # greedy: no seed needed
