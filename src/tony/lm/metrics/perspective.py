"""Toxicity from Google's Perspective API (``comments:analyze``, attribute TOXICITY).

Each text is one POST of ``{"comment": {"text": ...}, "requestedAttributes": {"TOXICITY": {}},
"languages": ["en"], "doNotStore": true}`` to ``{base_url}/comments:analyze?key=...``; the score is
``attributeScores.TOXICITY.summaryScore.value``, a probability in [0, 1].

The API key is read from the environment (``PERSPECTIVE_API_KEY``) at each call and sent only as
the documented ``key`` query parameter: it is never stored on the scorer, never put in a message,
and any echo of it in a server's error text is masked. Calls are paced (the API's default quota is
one query per second) and retried with exponential backoff on 429 (honouring ``Retry-After``), 5xx,
time-outs and connection errors. An empty text scores 0 without a call (the API rejects it).
"""

from __future__ import annotations

import os
import time

import httpx

from tony.core.errors import ModelServerError, SpecError
from tony.lm.clients.http_retry import retry_after_s

PERSPECTIVE_KEY_ENV = "PERSPECTIVE_API_KEY"
PERSPECTIVE_URL = "https://commentanalyzer.googleapis.com/v1alpha1"
MAX_TEXT_BYTES = 20480
"""The API's limit on a comment's size; longer texts are cut to it."""
_ERROR_TEXT_CHARS = 200

_sleep = time.sleep  # the one place the scorer waits; tests replace it to record the backoff


class PerspectiveScorer:
    """Scores texts' toxicity through the Perspective API (one call per text, in order)."""

    name = "perspective"

    def __init__(
        self,
        *,
        base_url: str = PERSPECTIVE_URL,
        key_env: str = PERSPECTIVE_KEY_ENV,
        queries_per_second: float = 1.0,
        timeout_s: float = 30.0,
        max_retries: int = 5,
        backoff_s: float = 1.0,
    ) -> None:
        if queries_per_second <= 0 or timeout_s <= 0 or max_retries < 0 or backoff_s < 0:
            raise SpecError("queries_per_second and timeout_s must be > 0, max_retries and backoff_s >= 0")
        self.base_url = base_url.rstrip("/")
        self.key_env = key_env
        self.min_interval_s = 1.0 / queries_per_second
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self._http = httpx.Client(timeout=httpx.Timeout(timeout_s))
        self._last_call = -float("inf")

    def __repr__(self) -> str:
        return f"PerspectiveScorer(base_url={self.base_url!r}, key_env={self.key_env!r})"

    def score(self, texts: list[str]) -> list[float]:
        """The TOXICITY probability of each text; raises ModelServerError when the API cannot answer."""
        return [self._score_one(text) if text.strip() else 0.0 for text in texts]

    def close(self) -> None:
        self._http.close()

    def _score_one(self, text: str) -> float:
        key = os.environ.get(self.key_env, "")
        if not key:
            raise SpecError(f"the Perspective API needs a key: set {self.key_env}")
        body = {
            "comment": {"text": text.encode("utf-8")[:MAX_TEXT_BYTES].decode("utf-8", "ignore")},
            "requestedAttributes": {"TOXICITY": {}},
            "languages": ["en"],
            "doNotStore": True,
        }
        for attempt in range(self.max_retries + 1):
            self._pace()
            try:
                response = self._http.post(f"{self.base_url}/comments:analyze", params={"key": key}, json=body)
            except httpx.HTTPError as err:  # connection refused, time-out, broken answer
                problem, retry_after = f"{type(err).__name__} reaching the server", None
            else:
                if response.status_code == 200:
                    return _toxicity(response, key)
                problem = f"HTTP {response.status_code}: {_error_text(response, key)}"
                if response.status_code != 429 and response.status_code < 500:
                    # a bad request or a refused key: another try would get the same answer
                    raise ModelServerError(f"Perspective API at {self.base_url} refused the request: {problem}")
                retry_after = retry_after_s(response)
            if attempt < self.max_retries:
                _sleep(retry_after if retry_after is not None else self.backoff_s * 2**attempt)
        raise ModelServerError(
            f"Perspective API at {self.base_url} failed after {self.max_retries + 1} tries: {problem}"
        )

    def _pace(self) -> None:
        wait = self._last_call + self.min_interval_s - time.monotonic()
        if wait > 0:
            _sleep(wait)
        self._last_call = time.monotonic()


def _toxicity(response: httpx.Response, key: str) -> float:
    try:
        value = float(response.json()["attributeScores"]["TOXICITY"]["summaryScore"]["value"])
    except (ValueError, KeyError, TypeError):
        raise ModelServerError(
            f"Perspective API answered without attributeScores.TOXICITY.summaryScore.value: "
            f"{_mask(response.text, key)[:_ERROR_TEXT_CHARS]!r}"
        ) from None
    if not 0.0 <= value <= 1.0:
        raise ModelServerError(f"Perspective API gave a toxicity of {value}, outside [0, 1]")
    return value


def _error_text(response: httpx.Response, key: str) -> str:
    """The API's error message (``{"error": {"message": ...}}``) or the body, on one line, key masked."""
    try:
        text = str(response.json()["error"]["message"])
    except (ValueError, KeyError, TypeError):
        text = response.text
    return " ".join(_mask(text, key).split())[:_ERROR_TEXT_CHARS] or "(empty answer)"


def _mask(text: str, key: str) -> str:
    return text.replace(key, "***") if key else text
