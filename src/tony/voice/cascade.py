"""The cascade: speech to text (Whisper base), any tony text model, text to speech (espeak-ng), streamed.

`Cascade.respond(samples)` yields events as they happen: the transcript, each piece of the model's answer, and
an audio chunk for each clause of the answer as soon as the clause is complete, so the first chunk leaves
while the model is still writing the rest. The question is put to the model as tony's generation adapter puts
any question (its chat template for a chat model, with the system prompt as the system turn; `Q: ... A:` for a
base model), so a cascade answer and a text run of the same model see the same prompt.
"""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from typing import Any, Literal

import numpy as np

from tony.core.registry import registry
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.clients.models import ModelSource
from tony.lm.types import Instance, Request
from tony.voice.stt import Transcriber, transcriber
from tony.voice.tts import DEFAULT_SPEED, DEFAULT_VOICE, check_speed, check_voice, synthesize

DEFAULT_MODEL = "smollm2-135m-instruct"
SYSTEM_PROMPT = "You are a voice assistant. Answer in one or two short spoken sentences, without lists or markup."
"""Spoken answers should be short and plain: markup cannot be spoken and every word costs listening time."""
MAX_TOKENS = 64
"""Answer length cap, tokens (about two spoken sentences)."""
MAX_CLAUSE_WORDS = 12
"""A clause with no punctuation is cut here, so a model that never writes a comma still gets spoken early."""
_CLAUSE_END = re.compile(r"[.!?;:,](?:[\"')\]]*)\s")
"""Punctuation that ends a clause, once followed by white space (so "3.14" or "e.g." mid-token stays whole)."""

EventKind = Literal["transcript", "text", "audio", "done"]


@dataclass(frozen=True)
class Event:
    """Something the cascade produced, stamped with time.perf_counter() when it was ready."""

    kind: EventKind
    """transcript: what the user said; text: a piece of the answer; audio: a clause spoken; done: the end."""
    at: float
    """When it was ready (time.perf_counter())."""
    text: str = ""
    """The transcript, the answer's piece, the clause spoken, or at `done` the whole answer."""
    audio: np.ndarray | None = field(default=None, compare=False)
    """An audio event's samples (16 kHz)."""
    began: float = 0.0
    """An audio event's start of synthesis (the clause was complete then)."""


class ClauseSplitter:
    """Cuts a stream of text pieces into clauses to speak (see _CLAUSE_END and MAX_CLAUSE_WORDS)."""

    def __init__(self, max_words: int = MAX_CLAUSE_WORDS) -> None:
        self.max_words = max_words
        self.buffer = ""

    def feed(self, piece: str) -> list[str]:
        """The clauses `piece` completes, in order."""
        self.buffer += piece
        done: list[str] = []
        while True:
            match = _CLAUSE_END.search(self.buffer)
            words = list(re.finditer(r"\S+", self.buffer))
            if match is not None:
                cut = match.end()
            elif len(words) > self.max_words:  # cut before the next word (the last one may be incomplete)
                cut = words[self.max_words].start()
            else:
                return done
            clause, self.buffer = self.buffer[:cut].strip(), self.buffer[cut:]
            if clause:
                done.append(clause)

    def flush(self) -> str:
        """What is left at the end of the answer."""
        rest, self.buffer = self.buffer.strip(), ""
        return rest


class Cascade:
    """Speech to text, a text model, text to speech (see the module docstring)."""

    def __init__(self, model: str = DEFAULT_MODEL, model_args: dict[str, Any] | None = None, *,
                 voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED, max_tokens: int = MAX_TOKENS,
                 system_prompt: str = SYSTEM_PROMPT, recognizer: Transcriber | None = None) -> None:
        self.voice = check_voice(voice)
        self.speed = check_speed(speed)
        self.model = model
        self.source: ModelSource = registry.get("model", model).parse(model_args or {})
        self.max_tokens = max_tokens
        self.system_prompt = system_prompt
        self._recognizer = recognizer

    @property
    def recognizer(self) -> Transcriber:
        if self._recognizer is None:
            self._recognizer = transcriber()
        return self._recognizer

    def warm_up(self) -> None:
        """Load the recognizer and the model now, so that the first question does not pay for loading them."""
        self.recognizer.transcribe(np.zeros(8000, dtype=np.float32))
        self.source.client()

    def request(self, question: str, system_prompt: str | None = None, max_tokens: int | None = None) -> Request:
        """The model request for `question`, made by tony's generation adapter (chat template where the model
        has one and chats by default)."""
        template = self.source.chat_template() if self.source.chat_default else None
        messages = self.source.takes_messages()
        chat = template is not None or messages
        spec = AdapterSpec(method="generation", max_tokens=max_tokens or self.max_tokens, stop=() if chat else ("\n",),
                           chat=chat)
        system = self.system_prompt if system_prompt is None else system_prompt
        fmt = PromptFormat(instructions=system, input_prefix="" if chat else "Q: ")
        adapter = GenerationAdapter(spec, fmt, chat_template=template, sends_messages=messages)
        requests, _ = adapter.requests(Instance("question", question, ()), [], np.random.default_rng(0))
        return requests[0]

    def respond(self, samples: np.ndarray, system_prompt: str | None = None) -> Iterator[Event]:
        """Transcribe `samples` (the user's question, ended), answer it, speak the answer clause by clause."""
        return self.respond_parts([samples], system_prompt)

    def respond_parts(self, parts: list[str | np.ndarray], system_prompt: str | None = None,
                      max_tokens: int | None = None) -> Iterator[Event]:
        """Answer a message of text and audio parts (as an audio model reads one): each audio part is transcribed
        (the transcript event holds what was heard), the question is the parts' texts in order."""
        heard = [self.recognizer.transcribe(p).text if isinstance(p, np.ndarray) else None for p in parts]
        yield Event("transcript", time.perf_counter(), " ".join(h for h in heard if h))
        question = " ".join(t.strip() for t in (h if h is not None else p for h, p in zip(heard, parts, strict=True))
                            if isinstance(t, str) and t.strip())
        if question:
            yield from self.answer(question, system_prompt, max_tokens)
        else:
            yield Event("done", time.perf_counter())

    def answer(self, question: str, system_prompt: str | None = None, max_tokens: int | None = None,
               ) -> Iterator[Event]:
        """Answer a question given as text, speaking the answer clause by clause."""
        from tony.voice.streaming import text_stream

        splitter = ClauseSplitter()
        answer = []
        for piece in text_stream(self.source.client(), self.request(question, system_prompt, max_tokens)):
            answer.append(piece)
            yield Event("text", time.perf_counter(), piece)
            for clause in splitter.feed(piece):
                yield self._spoken(clause)
        rest = splitter.flush()
        if rest:
            yield self._spoken(rest)
        yield Event("done", time.perf_counter(), "".join(answer).strip())

    def _spoken(self, clause: str) -> Event:
        began = time.perf_counter()
        audio = synthesize(clause, self.voice, self.speed)
        return Event("audio", time.perf_counter(), clause, audio, began)
