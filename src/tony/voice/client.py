"""`openai_audio`: a client for OpenAI-compatible audio chat endpoints (a native audio model, or `tony voice
serve`): sends a spoken question as an `input_audio` part, reads the streamed `audio` deltas as they come.

The API key, where one is needed, is read from the environment variable named (never stored or shown).
A stream that ends before its finish_reason (the server closed it mid-answer) is a ModelServerError:
nothing of a half answer is returned as if it were whole.
"""

from __future__ import annotations

import base64
import binascii
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tony.core.errors import ModelServerError, RequestError, SpecError
from tony.voice.audio import SAMPLE_RATE, from_pcm16, resample, wav_bytes
from tony.voice.serve import PCM16_RATE


@dataclass(frozen=True)
class Reply:
    """A streamed spoken answer."""

    transcript: str
    """The answer's text as the server transcribed its own audio."""
    audio: np.ndarray
    """The answer's audio, 16 kHz."""
    chunk_times: list[float] = field(default_factory=list)
    """Seconds from sending the request to each audio delta's arrival."""
    total_s: float = 0.0
    """Seconds from sending the request to the end of the stream."""
    heard: str = ""
    """What the server says it heard (tony's `x_tony.heard`; "" from other servers)."""

    @property
    def first_audio_s(self) -> float | None:
        return self.chunk_times[0] if self.chunk_times else None


class OpenAIAudioClient:
    """Speech in, speech out through POST {base_url}/chat/completions with "stream": true."""

    def __init__(self, base_url: str, model: str, *, voice: str = "alloy", api_key_env: str | None = None,
                 timeout_s: float = 120.0) -> None:
        if not base_url.startswith(("http://", "https://")):
            raise SpecError(f"base URL {base_url!r} is not http(s)://...; give e.g. http://127.0.0.1:8090/v1")
        self.base_url = base_url.rstrip("/")
        self.model = model
        self.voice = voice
        self.api_key_env = api_key_env
        self.timeout_s = timeout_s
        self.identity = f"openai_audio:{self.base_url}:{model}"

    def _headers(self) -> dict[str, str]:
        key = os.environ.get(self.api_key_env) if self.api_key_env else None
        return {"Authorization": f"Bearer {key}"} if key else {}

    def payload(self, messages: list[dict[str, Any]], max_tokens: int | None = None) -> dict[str, Any]:
        """The request body: `messages` as chat messages, the answer asked for as text and streamed audio."""
        body = {"model": self.model, "modalities": ["text", "audio"], "stream": True,
                "audio": {"voice": self.voice, "format": "pcm16"}, "messages": messages}
        return body | ({"max_tokens": max_tokens} if max_tokens else {})

    def respond(self, samples: np.ndarray, system_prompt: str | None = None) -> Reply:
        """The spoken answer to `samples` (16 kHz), with when each audio delta arrived."""
        messages: list[dict[str, Any]] = [{"role": "system", "content": system_prompt}] if system_prompt else []
        return self.ask([*messages, {"role": "user", "content": [audio_part(samples)]}])

    def ask(self, messages: list[dict[str, Any]], max_tokens: int | None = None) -> Reply:
        """The spoken answer to a conversation (its content parts `text` and `input_audio`), with when each audio
        delta arrived."""
        import httpx

        start = time.perf_counter()
        times, pieces, words, heard, finished = [], [], [], "", False
        try:
            with httpx.stream("POST", f"{self.base_url}/chat/completions", json=self.payload(messages, max_tokens),
                              headers=self._headers(), timeout=self.timeout_s) as response:
                if response.status_code >= 400:
                    response.read()
                    raise _refusal(self.base_url, response.status_code, response.text)
                for line in response.iter_lines():
                    if not line.startswith("data: ") or line == "data: [DONE]":
                        continue
                    chunk = json.loads(line[6:])
                    choice = (chunk.get("choices") or [{}])[0]
                    delta = choice.get("delta") or {}
                    audio = delta.get("audio") or {}
                    if audio.get("data"):
                        times.append(time.perf_counter() - start)
                        pieces.append(from_pcm16(base64.b64decode(audio["data"])))
                    words.append(audio.get("transcript") or delta.get("content") or "")
                    heard = (chunk.get("x_tony") or {}).get("heard", heard)
                    finished = finished or choice.get("finish_reason") is not None
        except httpx.HTTPError as err:
            raise ModelServerError(f"audio endpoint {self.base_url} failed ({type(err).__name__}: {err}); is it "
                                   "running? (`tony voice serve`)") from None
        except (json.JSONDecodeError, binascii.Error, ValueError) as err:
            raise ModelServerError(f"audio endpoint {self.base_url} sent a malformed chunk ({err})") from None
        if not finished:
            raise ModelServerError(f"audio endpoint {self.base_url} closed the stream before the answer was complete; "
                                   "nothing of it was kept: retry, or check the server's log")
        audio_24k = np.concatenate(pieces) if pieces else np.zeros(0, dtype=np.float32)
        return Reply("".join(words).strip(), resample(audio_24k, PCM16_RATE, SAMPLE_RATE), times,
                     time.perf_counter() - start, heard)


def audio_part(samples: np.ndarray) -> dict[str, Any]:
    """An `input_audio` content part: `samples` (16 kHz) as a base64 WAV file."""
    return {"type": "input_audio", "input_audio": {"data": base64.b64encode(wav_bytes(samples)).decode(),
                                                   "format": "wav"}}


def _refusal(base_url: str, status: int, text: str) -> Exception:
    try:
        message = json.loads(text)["error"]["message"]
    except (ValueError, KeyError, TypeError):
        message = text[:200]
    if status in (400, 413, 422):
        return RequestError(f"audio endpoint {base_url} refused the request ({status}): {message}")
    return ModelServerError(f"audio endpoint {base_url} answered {status}: {message}")
