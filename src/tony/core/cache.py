"""The request cache: model answers keyed by model identity, canonical request and seed.

A greedy request is keyed without a seed (its answer does not depend on
one); a sampled request only ever with its seed, so two different samples
are never confused.
"""

from __future__ import annotations

from typing import Any

from tony.core.spec import content_key
from tony.core.store import Store


class RequestCache:
    def __init__(self, store: Store, model_identity: str) -> None:
        self.store = store
        self.model_identity = model_identity

    def key(self, request: dict[str, Any], seed: int | None) -> str:
        return content_key({"model": self.model_identity, "request": request, "seed": seed})

    def get_many(self, keys: list[str]) -> dict[str, dict[str, Any]]:
        return self.store.cache_get_many(keys)

    def put_many(self, answers: dict[str, dict[str, Any]]) -> None:
        self.store.cache_put_many(self.model_identity, answers)
