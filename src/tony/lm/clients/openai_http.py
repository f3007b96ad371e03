"""A client for OpenAI-compatible HTTP servers: llama.cpp's server, vLLM, OpenAI itself.

Generation goes to ``{base_url}/completions`` or ``{base_url}/chat/completions``.
Scoring (a request with continuations) always goes to ``{base_url}/completions``
with ``echo=true, logprobs=1``: the server returns the log-probability of every
token of prompt + continuation, and the continuation's tokens are summed.

Every HTTP call is retried with exponential backoff and jitter on 429, 5xx,
connection errors, time-outs and malformed answers; ``Retry-After`` is honoured.
The API key is read from the environment at each call and sent only as a Bearer
header: it is never stored on the client, and any echo of it in a server's error
text is masked before it reaches an exception.
"""

from __future__ import annotations

import email.utils
import logging
import math
import os
import random
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import httpx

from tony.core.errors import ModelError, ModelServerError, SpecError
from tony.lm.types import Completion, Request

__all__ = ["Endpoint", "OpenAICompatibleClient", "chat_messages", "text_part", "user_message"]

log = logging.getLogger(__name__)

Endpoint = Literal["completions", "chat"]

_MAX_BACKOFF_S = 30.0
"""Longest wait between two tries that the exponential backoff computes."""
_MAX_RETRY_AFTER_S = 120.0
"""Longest wait a server's Retry-After header can ask for."""
_SCORING_MAX_TOKENS = 1
"""max_tokens of a scoring call: llama.cpp's server reads 0 as "until the context is full", vLLM rejects 0."""
_ERROR_TEXT_CHARS = 300

_sleep = time.sleep  # the one place the client waits; tests replace it to record the backoff


# ---------------------------------------------------------------- chat messages
# A message's content is a list of typed parts. Only text exists today; image
# parts ({"type": "image_url", ...}) and audio parts ({"type": "input_audio", ...})
# slot in beside text_part once Request carries media.


def text_part(text: str) -> dict[str, Any]:
    return {"type": "text", "text": text}


def user_message(parts: list[dict[str, Any]]) -> dict[str, Any]:
    """One user message; a lone text part is sent as a plain string, which every server accepts."""
    if len(parts) == 1 and parts[0]["type"] == "text":
        return {"role": "user", "content": parts[0]["text"]}
    return {"role": "user", "content": parts}


def chat_messages(request: Request) -> list[dict[str, Any]]:
    return [user_message([text_part(request.prompt)])]


# ---------------------------------------------------------------- HTTP calls


@dataclass(frozen=True)
class _Call:
    """One HTTP call: a generation, or the scoring of one continuation."""

    path: str
    payload: dict[str, Any]


@dataclass(frozen=True)
class _Answer:
    body: dict[str, Any]
    wall_s: float
    """Seconds of the try that answered (backoff and failed tries excluded)."""


@dataclass(frozen=True)
class _Score:
    """The summed log-probability of one continuation and the token counts behind it."""

    logprob: float
    continuation_tokens: int
    prompt_tokens: int


class _Retryable(Exception):
    """A failed try worth another one; ``problem`` is a short, key-free description."""

    def __init__(self, problem: str, retry_after: float | None = None, hint: str = "see the server's log") -> None:
        super().__init__(problem)
        self.problem = problem
        self.retry_after = retry_after
        self.hint = hint


class OpenAICompatibleClient:
    """Answers requests through an OpenAI-compatible server.

    ``base_url`` includes the API prefix, as in the OpenAI SDK: ``http://127.0.0.1:8000/v1``.
    ``max_retries`` is the number of tries after the first one.
    ``logprobs=True`` asks for the log-probability of each generated token; off by default
    because llama.cpp's server sorts the whole vocabulary in Python for every token it
    reports (Gemma 3, 262k tokens: about 0.7 s a token, against 0.04 s without).
    """

    def __init__(
        self,
        base_url: str,
        model: str,
        *,
        api_key_env: str | None = "OPENAI_API_KEY",
        endpoint: Endpoint = "completions",
        max_concurrency: int = 4,
        timeout_s: float = 60.0,
        max_retries: int = 5,
        backoff_s: float = 0.5,
        logprobs: bool = False,
    ) -> None:
        if endpoint not in ("completions", "chat"):
            raise SpecError(f"endpoint must be 'completions' or 'chat', not {endpoint!r}")
        if max_concurrency < 1 or max_retries < 0 or timeout_s <= 0 or backoff_s < 0:
            raise SpecError("max_concurrency must be >= 1, max_retries >= 0, timeout_s > 0 and backoff_s >= 0")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.api_key_env = api_key_env
        self.endpoint: Endpoint = endpoint
        self.max_concurrency = max_concurrency
        self.timeout_s = timeout_s
        self.max_retries = max_retries
        self.backoff_s = backoff_s
        self.logprobs = logprobs
        self.identity = f"openai:{self.base_url}:{model}"
        self._http = httpx.Client(
            timeout=httpx.Timeout(timeout_s),
            limits=httpx.Limits(max_connections=max_concurrency, max_keepalive_connections=max_concurrency),
        )

    def __repr__(self) -> str:
        return f"OpenAICompatibleClient({self.base_url!r}, {self.model!r}, endpoint={self.endpoint!r})"

    # ------------------------------------------------------------ Client protocol

    def complete(self, requests: list[Request]) -> list[Completion]:
        calls = [self._calls_for(request) for request in requests]
        answers = iter(self._post_all([call for request_calls in calls for call in request_calls]))
        return [
            self._completion(request, [next(answers) for _ in request_calls])
            for request, request_calls in zip(requests, calls, strict=True)
        ]

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> OpenAICompatibleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ requests to calls

    def _calls_for(self, request: Request) -> list[_Call]:
        if request.is_scoring:
            return [self._scoring_call(request.prompt + continuation) for continuation in request.continuations]
        if request.max_tokens < 1:
            raise SpecError("a generation request needs max_tokens >= 1 (0 is only for scoring requests)")
        return [self._generation_call(request)]

    def _generation_call(self, request: Request) -> _Call:
        payload: dict[str, Any] = {
            "model": self.model,
            "max_tokens": request.max_tokens,
            "temperature": request.temperature,
        }
        if request.stop:
            payload["stop"] = list(request.stop)
        if request.temperature > 0 and request.seed is not None:
            payload["seed"] = request.seed
        if self.endpoint == "chat":
            payload["messages"] = chat_messages(request)
            if self.logprobs:
                payload["logprobs"] = True
            return _Call("/chat/completions", payload)
        payload["prompt"] = request.prompt
        if self.logprobs:
            payload["logprobs"] = 1
        return _Call("/completions", payload)

    def _scoring_call(self, text: str) -> _Call:
        payload = {
            "model": self.model,
            "prompt": text,
            "max_tokens": _SCORING_MAX_TOKENS,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        return _Call("/completions", payload)

    # ------------------------------------------------------------ answers to completions

    def _completion(self, request: Request, answers: list[_Answer]) -> Completion:
        if request.is_scoring:
            return self._scoring_completion(request, answers)
        answer = answers[0]
        choice = answer.body["choices"][0]
        usage = answer.body.get("usage") or {}
        if self.endpoint == "chat":
            text = (choice.get("message") or {}).get("content") or ""
            tokens, logprobs = _chat_token_logprobs(choice)
        else:
            text = choice.get("text") or ""
            tokens, logprobs = _completion_token_logprobs(choice)
        prompt_tokens = int(usage.get("prompt_tokens") or 0)
        completion_tokens = int(usage.get("completion_tokens") or len(tokens))
        return Completion(
            text=text,
            tokens=tokens,
            logprobs=logprobs,
            prompt_tokens=prompt_tokens,
            completion_tokens=completion_tokens,
            processed_tokens=prompt_tokens + completion_tokens,
            wall_s=answer.wall_s,
        )

    def _scoring_completion(self, request: Request, answers: list[_Answer]) -> Completion:
        scores = [
            self._continuation_score(request.prompt, continuation, answer)
            for continuation, answer in zip(request.continuations, answers, strict=True)
        ]
        return Completion(
            continuation_logprobs=tuple(score.logprob for score in scores),
            continuation_lengths=tuple(score.continuation_tokens for score in scores),
            prompt_tokens=scores[0].prompt_tokens,
            completion_tokens=sum(score.continuation_tokens for score in scores),
            processed_tokens=sum(score.prompt_tokens + score.continuation_tokens for score in scores),
            wall_s=sum(answer.wall_s for answer in answers),
        )

    def _continuation_score(self, prompt: str, continuation: str, answer: _Answer) -> _Score:
        """Sum the log-probabilities of the echoed tokens that cover the continuation.

        A token that straddles the prompt's end (the prompt's trailing space merged
        into the continuation's first word) counts as the continuation's.
        """
        logprobs = answer.body["choices"][0].get("logprobs") or {}
        offsets, token_logprobs = logprobs.get("text_offset"), logprobs.get("token_logprobs")
        if not offsets or not token_logprobs or len(offsets) != len(token_logprobs) or offsets[0] != 0:
            raise ModelError(
                f"model server {self.base_url} gave no log-probabilities for the prompt, which scoring needs "
                "(/v1/completions with echo=true and logprobs=1); use a server that supports them, e.g. llama.cpp's"
            )
        end_of_text = len(prompt) + len(continuation)
        spans = zip(offsets, [*offsets[1:], end_of_text], token_logprobs, strict=True)
        echoed = [(end, lp) for start, end, lp in spans if start < end_of_text]  # the generated token dropped
        picked = [lp for end, lp in echoed if end > len(prompt)]
        if not picked or any(lp is None for lp in picked):
            raise ModelError(
                f"model server {self.base_url} gave no log-probability for the first token of {continuation!r}; "
                "scoring needs a non-empty prompt before each continuation"
            )
        # the server's own count where it gives one (it includes a BOS token, as for generation)
        text_tokens = int((answer.body.get("usage") or {}).get("prompt_tokens") or len(echoed))
        return _Score(
            logprob=math.fsum(picked),
            continuation_tokens=len(picked),
            prompt_tokens=text_tokens - len(picked),
        )

    # ------------------------------------------------------------ HTTP with retries

    def _post_all(self, calls: list[_Call]) -> list[_Answer]:
        """Make every call, at most max_concurrency at once; answers in call order."""
        if len(calls) <= 1:
            return [self._post(call) for call in calls]
        with ThreadPoolExecutor(max_workers=self.max_concurrency, thread_name_prefix="tony-http") as pool:
            futures = [pool.submit(self._post, call) for call in calls]
            try:
                return [future.result() for future in futures]
            finally:
                for future in futures:
                    future.cancel()

    def _post(self, call: _Call) -> _Answer:
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
            return _Answer(body, time.perf_counter() - started)
        assert failure is not None
        tries = self.max_retries + 1
        raise self._server_error(f"did not answer after {tries} tries ({failure.problem}); {failure.hint}")

    def _try_once(self, call: _Call) -> dict[str, Any]:
        """One POST; returns the JSON body or raises _Retryable / ModelServerError."""
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
            raise _Retryable(f"HTTP {status}: {_error_text(response)}", retry_after=_retry_after_s(response))
        if not response.is_success:
            raise self._server_error(f"refused the request: HTTP {status}: {_error_text(response)}")
        try:
            body = response.json()
        except ValueError:
            raise _Retryable("malformed JSON answer") from None
        if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
            raise _Retryable("malformed answer: no choices")
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

    def _server_error(self, problem: str) -> ModelServerError:
        """A one-line error naming the server; a server's echo of the API key is masked."""
        message = f"model server {self.base_url} {problem}"
        key = self._api_key()
        return ModelServerError(message.replace(key, "***") if key else message)


def _completion_token_logprobs(choice: dict[str, Any]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Tokens and log-probabilities of a /completions choice, where the server gave them."""
    logprobs = choice.get("logprobs") or {}
    tokens, values = logprobs.get("tokens") or [], logprobs.get("token_logprobs") or []
    if len(tokens) != len(values) or any(value is None for value in values):
        return (), ()
    return tuple(tokens), tuple(float(value) for value in values)


def _chat_token_logprobs(choice: dict[str, Any]) -> tuple[tuple[str, ...], tuple[float, ...]]:
    """Tokens and log-probabilities of a /chat/completions choice, where the server gave them."""
    content = (choice.get("logprobs") or {}).get("content") or []
    return tuple(item["token"] for item in content), tuple(float(item["logprob"]) for item in content)


def _retry_after_s(response: httpx.Response) -> float | None:
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
