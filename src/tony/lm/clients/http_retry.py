"""POSTing JSON to a model server with bounded concurrency and retries.

Every call is retried with exponential backoff and jitter on 429, 5xx, connection errors,
time-outs and answers the caller finds malformed; ``Retry-After`` (seconds or an HTTP date) is
honoured. A 400, 413 or 422 is about that request (too long for the context, a bad field): it is not
retried and raises ``RequestError``, so a run records that one instance as an error and goes on;
every other 4xx (a refused key, an unknown model or path) fails the run, as the server is no use to it.
The API key is read from the environment at each call and sent only as a Bearer header; any echo of
it in a server's error text is masked before it reaches an exception.
"""

from __future__ import annotations

import email.utils
import logging
import os
import random
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

import httpx

from tony.core.errors import ModelServerError, RequestError, all_or_first_refusal

log = logging.getLogger(__name__)

_MAX_BACKOFF_S = 30.0
"""Longest wait between two tries that the exponential backoff computes."""
_MAX_RETRY_AFTER_S = 120.0
"""Longest wait a server's Retry-After header can ask for."""
_ERROR_TEXT_CHARS = 300
REQUEST_STATUSES = frozenset({400, 413, 422})
"""4xx answers about the request itself (bad request, payload too large, unprocessable): that request fails alone."""

_sleep = time.sleep  # the one place a poster waits; tests replace it to record the backoff


@dataclass(frozen=True)
class Call:
    """One HTTP call: a path under the base URL and its JSON payload."""

    path: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class Answer:
    body: dict[str, Any]
    wall_s: float
    """Seconds of the try that answered (backoff and failed tries excluded)."""


class _Retryable(Exception):
    """A failed try worth another one; ``problem`` is a short, key-free description."""

    def __init__(self, problem: str, retry_after: float | None = None, hint: str = "see the server's log") -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.hint = hint


class RetryingPoster:
    """POSTs calls to ``base_url``, at most ``max_concurrency`` at once, each tried up to 1 + ``max_retries`` times.

    ``malformed`` names what is wrong with a JSON body the caller cannot use (None when it is
    fine); such an answer is retried like a 5xx.
    """

    def __init__(self, base_url: str, *, api_key_env: str | None, max_concurrency: int, timeout_s: float,
                 max_retries: int, backoff_s: float, malformed: Callable[[Any], str | None]) -> None:
        self.base_url, self.api_key_env, self.malformed = base_url, api_key_env, malformed
        self.max_concurrency, self.timeout_s = max_concurrency, timeout_s
        self.max_retries, self.backoff_s = max_retries, backoff_s
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )

    def close(self) -> None:
        self._http.close()

    def post_all(self, calls: list[Call]) -> list[Answer]:
        """Make every call, at most max_concurrency at once; answers in call order (a refusal raises)."""
        return all_or_first_refusal(self.post_each(calls))

    def post_each(self, calls: list[Call]) -> list[Answer | RequestError]:
        """Make every call, at most max_concurrency at once, in call order; a call the server refuses as a
        bad request gives its RequestError in its place, so the other calls' answers are kept. Any other
        failure raises (and the calls not yet started are not made)."""
        if len(calls) <= 1:
            return [self._post_or_refusal(call) for call in calls]
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="tony-http") as pool:
            futures = [pool.submit(self._post_or_refusal, call) for call in calls]
            try:
                return [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()

    def _post_or_refusal(self, call: Call) -> Answer | RequestError:
        try:
            return self.post(call)
        except RequestError as refusal:
            return refusal

    def post(self, call: Call) -> Answer:
        failure: _Retryable | None = None
        for attempt in range(self.max_retries + 1):
            if failure is not None:
                _sleep(self._delay(attempt, failure.retry_after))
            started = time.perf_counter()
            try:
                body = self._try_once(call)
            except _Retryable as problem:
                failure = problem
                log.debug("model server %s: %s (try %d)", self.base_url, problem.problem, attempt + 1)
                continue
            return Answer(body, time.perf_counter() - started)
        assert failure is not None
        tries = self.max_retries + 1
        raise self.server_error(f"did not answer after {tries} tries ({failure.problem}); {failure.hint}")

    def _try_once(self, call: Call) -> dict[str, Any]:
        """One POST; returns the JSON body or raises _Retryable / RequestError / ModelServerError."""
        try:
            response = self._http.post(self.base_url + call.path, json=call.payload, headers=self._headers())
        except httpx.TimeoutException:
            raise _Retryable(f"no answer within {self.timeout_s:g} s") from None
        except httpx.ConnectError as exc:
            raise _Retryable(f"cannot connect: {_one_line(str(exc))}", hint="is it running?") from None
        except httpx.TransportError as exc:
            raise _Retryable(f"{type(exc).__name__}: {_one_line(str(exc))}") from None
        status = response.status_code
        if status == 429 or status >= 500:
            raise _Retryable(f"HTTP {status}: {_error_text(response)}", retry_after=retry_after_s(response))
        if status in REQUEST_STATUSES:
            raise self.request_error(f"refused this request: HTTP {status}: {_error_text(response)}")
        if not response.is_success:
            raise self.server_error(f"refused the request: HTTP {status}: {_error_text(response)}")
        try:
            body = response.json()
        except ValueError:
            raise _Retryable("malformed JSON answer") from None
        problem = self.malformed(body)
        if problem:
            raise _Retryable(f"malformed answer: {problem}")
        return body

    def _delay(self, attempt: int, retry_after: float | None) -> float:
        """Seconds to wait before try number ``attempt`` (1 is the first retry)."""
        if retry_after is not None:
            return retry_after
        base = min(_MAX_BACKOFF_S, self.backoff_s * 2 ** (attempt - 1))
        return base + random.uniform(0, base)

    def _api_key(self) -> str | None:
        return os.environ.get(self.api_key_env) if self.api_key_env else None

    def _headers(self) -> dict[str, str]:
        key = self._api_key()
        return {"Authorization": f"Bearer {key}"} if key else {}

    def server_error(self, problem: str) -> ModelServerError:
        """A one-line error naming the server; a server's echo of the API key is masked."""
        return ModelServerError(self._message(problem))

    def request_error(self, problem: str) -> RequestError:
        """A one-line error about one request (the server is fine), naming the server, the key masked."""
        return RequestError(self._message(problem))

    def _message(self, problem: str) -> str:
        message = f"model server {self.base_url} {problem}"
        key = self._api_key()
        return message.replace(key, "***") if key else message


def retry_after_s(response: httpx.Response) -> float | None:
    """The server's Retry-After (seconds or an HTTP date), clamped to [0, _MAX_RETRY_AFTER_S]."""
    value = response.headers.get("Retry-After")
    if not value:
        return None
    try:
        seconds = float(value)
    except ValueError:
        try:
            when = email.utils.parsedate_to_datetime(value)
        except (TypeError, ValueError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = (when - datetime.now(UTC)).total_seconds()
    return min(max(seconds, 0.0), _MAX_RETRY_AFTER_S)


def _error_text(response: httpx.Response) -> str:
    """The server's error message on one line: OpenAI's {"error": {"message": ...}}, or the raw body."""
    try:
        body = response.json()
    except ValueError:
        body = None
    error = body.get("error", body.get("detail")) if isinstance(body, dict) else None
    if isinstance(error, dict):
        error = error.get("message")
    text = str(error) if error else response.text
    return _one_line(text)[:_ERROR_TEXT_CHARS] or response.reason_phrase


def _one_line(text: str) -> str:
    return " ".join(text.split())
