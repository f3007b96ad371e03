"""`openai_audio` as a run's model: any OpenAI-compatible audio chat endpoint (a native audio model, or
`tony voice serve`) answering a language-model run's requests.

A prompt's text goes as `text` content parts; where it holds a spoken prompt's marker (a speech-channel variant
sent as audio, tony.voice.spoken) the audio goes there as an `input_audio` part. A conversation request
(`Request.messages`, chat=true) keeps its turns, the system turn as the system message. The answer is the
transcript of the spoken reply (what the endpoint says it said), cut at the request's stop strings, and is
scored as a text answer is. The reply's audio is kept as a content-hashed WAV (tony.voice.spoken) named in the
completion's `audio`, and goes into the store with the records (tony.voice.artifacts), where the drill-down
plays it beside its transcript.

A scoring request (multiple choice: the letters " A", " B", ... or the options as continuations) cannot be
scored by an endpoint that only speaks, so the model's generated choice stands for it: the continuation its
answer names gets log-probability 0 and every other UNCHOSEN_LOGPROB; an answer that names none gives them
all 0, and its text is kept in the completion: the joint adapter then takes the option the answer names in words
(options read out, answered "Mercury" rather than "A"), and where it names none the tie stands (its first option
shown).
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any, ClassVar

from tony.lm.adapters.multiple_choice import UNCHOSEN_LOGPROB, named_option
from tony.lm.clients.models import ModelSource
from tony.lm.types import Client, Completion, Request
from tony.voice.client import OpenAIAudioClient, audio_part
from tony.voice.spoken import load_audio, split_marked, store_audio

if TYPE_CHECKING:
    from tony.core.store import Store

CHOICE_MAX_TOKENS = 16
"""Tokens a multiple-choice answer may take (a letter, or a short option)."""
_LETTER = (re.compile(r"^\W*([A-Z])\W*$"), re.compile(r"^\s*\(([A-Za-z])\)"), re.compile(r"^\s*([A-Z])\s*[).:,]"),
           re.compile(r"\b(?:answer|option|choice|letter)\s+(?:is\s+)?\(?([A-Za-z])\b", re.IGNORECASE))
"""Where an answer names a letter: alone, first in brackets or before punctuation, or after "answer is"."""


class OpenAIAudioModel(ModelSource):
    """An OpenAI-compatible audio chat endpoint (input_audio in, streamed audio out); the key, where one is
    needed, is read from the environment variable named."""

    hears_audio: ClassVar[bool] = True
    """A speech channel sends such a model the audio itself, not a transcript (tony.voice.channel)."""
    chat_default: ClassVar[bool] = True

    base_url: str = "http://127.0.0.1:8090/v1"
    """The endpoint's base URL (`tony voice serve` listens on port 8090 by default)."""
    model: str = "tony-voice"
    """The model name sent in each request (`tony voice serve` answers any)."""
    voice: str = "alloy"
    """The voice asked for in the answer (the endpoint's own voice names)."""
    api_key_env: str | None = None
    """The environment variable holding the API key (none for a local server)."""
    timeout_s: float = 120.0
    """Seconds to wait for a whole spoken answer."""

    def identity(self) -> str:
        return f"openai_audio:{self.base_url.rstrip('/')}:{self.model}"

    def takes_messages(self) -> bool:
        return True

    @classmethod
    def keep_artifacts(cls, records: list[dict[str, Any]], store: Store, run_id: str) -> None:
        from tony.voice.artifacts import keep_spoken_answers

        keep_spoken_answers(store, run_id, records)

    def load(self) -> Client:
        return AudioModelClient(OpenAIAudioClient(self.base_url, self.model, voice=self.voice,
                                                  api_key_env=self.api_key_env, timeout_s=self.timeout_s),
                                self.identity())


class AudioModelClient:
    """The `Client` of an `OpenAIAudioModel`: one streamed spoken answer per request, in order."""

    def __init__(self, endpoint: OpenAIAudioClient, identity: str) -> None:
        self.endpoint = endpoint
        self.identity = identity

    def complete(self, requests: list[Request]) -> list[Completion]:
        return [self._complete(request) for request in requests]

    def _complete(self, request: Request) -> Completion:
        tokens = CHOICE_MAX_TOKENS if request.is_scoring else request.max_tokens
        reply = self.endpoint.ask(messages(request), tokens)
        audio = store_audio(reply.audio) if len(reply.audio) else ""
        if request.is_scoring:
            choice = chosen(reply.transcript, request.continuations)
            scores = tuple(0.0 if choice is None or i == choice else UNCHOSEN_LOGPROB
                           for i in range(len(request.continuations)))
            return Completion(text=reply.transcript, continuation_logprobs=scores,
                              continuation_lengths=(1,) * len(scores), wall_s=reply.total_s, audio=audio)
        text = cut_at_stop(reply.transcript, request.stop)
        return Completion(text=text, completion_tokens=len(text.split()), wall_s=reply.total_s, audio=audio)

    def close(self) -> None:
        """Stateless: nothing to release."""


def messages(request: Request) -> list[dict[str, Any]]:
    """The chat messages of a request: its turns, or its prompt as one user message; a user turn's spoken prompt
    markers become `input_audio` parts between its text parts."""
    turns = request.messages or (("user", request.prompt),)
    out: list[dict[str, Any]] = []
    for role, content in turns:
        if role != "user":
            out.append({"role": role, "content": content})
            continue
        parts = [{"type": "text", "text": value.strip()} if kind == "text" else audio_part(load_audio(value))
                 for kind, value in split_marked(content)]
        out.append({"role": "user", "content": parts or [{"type": "text", "text": content}]})
    return out


def chosen(answer: str, continuations: tuple[str, ...]) -> int | None:
    """Which continuation the answer names: a letter (for lettered options) or the one option it says
    (`named_option`); None where it names none, or several."""
    options = [c.strip() for c in continuations]
    if all(len(o) == 1 and o.isalpha() for o in options):
        for pattern in _LETTER:
            found = pattern.search(answer.strip())
            if found and found.group(1).upper() in options:
                return options.index(found.group(1).upper())
        return None
    return named_option(answer, options)


def cut_at_stop(text: str, stop: tuple[str, ...]) -> str:
    """`text` up to the first of the stop strings, as a text model's generation stops there."""
    ends = [text.find(s) for s in stop if s and s in text]
    return text[: min(ends)] if ends else text
