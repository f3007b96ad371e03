"""A client for OpenAI-compatible HTTP servers: llama.cpp's server, vLLM, OpenAI itself.

Generation goes to ``{base_url}/completions`` or ``{base_url}/chat/completions``.
Scoring (a request with continuations) always goes to ``{base_url}/completions``
with ``echo=true, logprobs=1``: the server returns the log-probability of every
token of prompt + continuation, and the continuation's tokens are summed.

Every HTTP call goes through ``http_retry.RetryingPoster``: bounded concurrency, retries with
backoff on 429, 5xx, connection errors, time-outs and answers without choices, ``Retry-After``
honoured, the API key read from the environment at each call and never stored or shown. A request
the server refuses as a bad request (400, 413, 422: too long for its context, a field it rejects)
raises ``RequestError``; ``complete_each`` gives it in that request's place, keeping the others' answers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any, Literal

from tony.core.errors import ModelError, RequestError, SpecError, all_or_first_refusal
from tony.lm.clients.http_retry import Answer, Call, RetryingPoster
from tony.lm.types import Completion, Request

__all__ = ["Endpoint", "OpenAICompatibleClient", "chat_messages", "text_part", "user_message"]


Endpoint = Literal["completions", "chat"]

_SCORING_MAX_TOKENS = 1
"""max_tokens of a scoring call: llama.cpp's server reads 0 as "until the context is full", vLLM rejects 0."""


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
    """The request's conversation (its system, user and assistant turns), or its prompt as one user message."""
    if not request.messages:
        return [user_message([text_part(request.prompt)])]
    return [user_message([text_part(content)]) if role == "user" else {"role": role, "content": content}
            for role, content in request.messages]


@dataclass(frozen=True)
class _Score:
    """The summed log-probability of one continuation and the token counts behind it."""

    logprob: float
    continuation_tokens: int
    prompt_tokens: int


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
        self.endpoint: Endpoint = endpoint
        self.logprobs = logprobs
        self.identity = f"openai:{self.base_url}:{model}"
        self._poster = RetryingPoster(self.base_url, api_key_env=api_key_env, max_concurrency=max_concurrency,
                                      timeout_s=timeout_s, max_retries=max_retries, backoff_s=backoff_s,
                                      malformed=_no_choices)

    def __repr__(self) -> str:
        return f"OpenAICompatibleClient({self.base_url!r}, {self.model!r}, endpoint={self.endpoint!r})"

    # ------------------------------------------------------------ Client protocol

    def complete(self, requests: list[Request]) -> list[Completion]:
        """Answer each request; RequestError for the first one the server refuses."""
        return all_or_first_refusal(self.complete_each(requests))

    def complete_each(self, requests: list[Request]) -> list[Completion | RequestError]:
        """Answer each request, a refused one (RequestError) in its place; a run-level fault raises."""
        calls = [self._calls_for(request) for request in requests]
        answers = iter(self._poster.post_each([call for request_calls in calls for call in request_calls]))
        out: list[Completion | RequestError] = []
        for request, request_calls in zip(requests, calls, strict=True):
            mine = [next(answers) for _ in request_calls]
            refused = [a for a in mine if isinstance(a, RequestError)]
            # The ignore: without a refusal every answer is an Answer (mypy does not narrow a list).
            out.append(refused[0] if refused else self._completion(request, mine))  # type: ignore[arg-type]
        return out

    def close(self) -> None:
        self._poster.close()

    def __enter__(self) -> OpenAICompatibleClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------ requests to calls

    def _calls_for(self, request: Request) -> list[Call]:
        if request.is_scoring:
            return [self._scoring_call(request.prompt + continuation) for continuation in request.continuations]
        if request.max_tokens < 1:
            raise SpecError("a generation request needs max_tokens >= 1 (0 is only for scoring requests)")
        return [self._generation_call(request)]

    def _generation_call(self, request: Request) -> Call:
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
            return Call("/chat/completions", payload)
        payload["prompt"] = request.prompt
        if self.logprobs:
            payload["logprobs"] = 1
        return Call("/completions", payload)

    def _scoring_call(self, text: str) -> Call:
        payload = {
            "model": self.model,
            "prompt": text,
            "max_tokens": _SCORING_MAX_TOKENS,
            "temperature": 0.0,
            "echo": True,
            "logprobs": 1,
        }
        return Call("/completions", payload)

    # ------------------------------------------------------------ answers to completions

    def _completion(self, request: Request, answers: list[Answer]) -> Completion:
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

    def _scoring_completion(self, request: Request, answers: list[Answer]) -> Completion:
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

    def _continuation_score(self, prompt: str, continuation: str, answer: Answer) -> _Score:
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


def _no_choices(body: Any) -> str | None:
    if not isinstance(body, dict) or not isinstance(body.get("choices"), list) or not body["choices"]:
        return "no choices"
    return None
