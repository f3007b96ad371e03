"""`tony voice serve`: the cascade behind an OpenAI-compatible endpoint on 127.0.0.1.

POST /v1/chat/completions takes what OpenAI's audio models take: the last user message's content parts,
`input_audio` parts ({"data": base64 WAV, "format": "wav"}) and `text` parts, read in order (each audio part
transcribed in its place); a system message becomes the cascade's system prompt, and `max_tokens` (or
`max_completion_tokens`) caps the answer. With "stream": true the answer comes back as server-sent events, one
`chat.completion.chunk` per spoken clause with `delta.audio` = {"id", "data": base64 16-bit PCM at 24 kHz mono
(OpenAI's pcm16), "transcript": the clause}, then a chunk with finish_reason "stop" (and, beyond OpenAI's
fields, `x_tony`: what was heard and the stage times) and `data: [DONE]`. Without streaming one message comes
back, its `audio.data` a base64 WAV. GET /v1/models lists the one model.

Requests are answered one at a time (the model and recognizer are shared); a bad request is a 400 with an
OpenAI-style {"error": {"message"}} body.
"""

from __future__ import annotations

import base64
import binascii
import json
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import numpy as np

from tony.core.errors import DataError, ReportError, TonyError
from tony.voice.audio import SAMPLE_RATE, pcm16, read_wav, resample, wav_bytes
from tony.voice.cascade import Cascade, Event

PCM16_RATE = 24_000
"""OpenAI's streamed pcm16 audio: 24 kHz, mono, 16-bit little-endian."""
HOST = "127.0.0.1"


class BadRequest(Exception):
    """The request is malformed (a 400)."""


def parse_request(body: dict[str, Any]) -> tuple[list[str | np.ndarray], str | None]:
    """(the last user message's parts in order: text, or audio samples at 16 kHz; the system prompt or None) of a
    chat-completions body."""
    messages = body.get("messages")
    if not isinstance(messages, list) or not messages or not all(isinstance(m, dict) for m in messages):
        raise BadRequest("`messages` must be a non-empty list of message objects")
    system = next((m.get("content") for m in messages if m.get("role") in ("system", "developer")), None)
    users = [m for m in messages if m.get("role") == "user"]
    if not users:
        raise BadRequest("no user message")
    content = users[-1].get("content")
    parts: Any = [{"type": "text", "text": content}] if isinstance(content, str) else content
    if not isinstance(parts, list):
        raise BadRequest("a user message's content must be a string or a list of parts")
    out: list[str | np.ndarray] = []
    for part in parts:
        kind = part.get("type") if isinstance(part, dict) else None
        if kind == "text":
            out.append(str(part.get("text", "")))
        elif kind == "input_audio":
            out.append(_input_audio(part.get("input_audio") or {}))
        else:
            raise BadRequest(f"content part type {kind!r} is not supported (text, input_audio)")
    if not any(isinstance(p, np.ndarray) or p.strip() for p in out):
        raise BadRequest("the user message has neither audio nor text")
    return out, system if isinstance(system, str) else None


def _input_audio(spec: dict[str, Any]) -> np.ndarray:
    if spec.get("format", "wav") != "wav":
        raise BadRequest(f"input_audio format {spec.get('format')!r} is not supported; send wav")
    try:
        data = base64.b64decode(spec.get("data", ""), validate=True)
    except (binascii.Error, ValueError):
        raise BadRequest("input_audio data is not valid base64") from None
    try:
        return read_wav(data, what="input_audio")
    except DataError as err:
        raise BadRequest(str(err)) from None


def max_tokens_of(body: dict[str, Any]) -> int | None:
    """The answer's token limit the request asks for (max_completion_tokens or max_tokens), if any."""
    value = body.get("max_completion_tokens", body.get("max_tokens"))
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise BadRequest(f"max_tokens must be a positive integer, not {value!r}")
    return value


class VoiceServer(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, cascade: Cascade, port: int) -> None:
        self.cascade = cascade
        self.lock = threading.Lock()
        try:
            super().__init__((HOST, port), _Handler)
        except OSError as err:
            raise ReportError(f"cannot listen on {HOST}:{port} ({err.strerror}); pass another --port") from None


class _Handler(BaseHTTPRequestHandler):
    server: VoiceServer
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet: the CLI prints what matters
        pass

    def do_GET(self) -> None:
        if self.path.rstrip("/") != "/v1/models":
            return self._error(404, f"no such path {self.path}; use /v1/chat/completions or /v1/models")
        self._json(200, {"object": "list", "data": [{"id": self.server.cascade.model, "object": "model"}]})

    def do_POST(self) -> None:
        if self.path.rstrip("/") != "/v1/chat/completions":
            return self._error(404, f"no such path {self.path}; use /v1/chat/completions")
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)) or b"null")
            if not isinstance(body, dict):
                raise BadRequest("the body must be a JSON object")
            parts, system = parse_request(body)
            max_tokens = max_tokens_of(body)
        except (BadRequest, json.JSONDecodeError, ValueError) as err:
            return self._error(400, str(err))
        with self.server.lock:
            try:
                events = self.server.cascade.respond_parts(parts, system, max_tokens)
                if body.get("stream"):
                    self._stream(events)
                else:
                    self._whole(events)
            except TonyError as err:
                self._error(500, str(err))

    def _stream(self, events) -> None:
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.send_header("Cache-Control", "no-cache")
        self.send_header("Connection", "close")
        self.end_headers()
        self.close_connection = True
        ident, audio_id = f"chatcmpl-{uuid.uuid4().hex}", f"audio_{uuid.uuid4().hex}"
        start, heard, stages = time.perf_counter(), "", {}
        for event in events:
            if event.kind == "transcript":
                heard = event.text
                stages["transcribe_s"] = event.at - start
            elif event.kind == "audio":
                stages.setdefault("first_audio_s", event.at - start)
                data = base64.b64encode(pcm16(resample(_audio(event), SAMPLE_RATE, PCM16_RATE))).decode()
                self._event(_chunk(ident, self.server.cascade.model,
                                   {"audio": {"id": audio_id, "data": data, "transcript": event.text + " "}}))
        self._event(_chunk(ident, self.server.cascade.model, {}, "stop") | {"x_tony": {"heard": heard, **stages}})
        self.wfile.write(b"data: [DONE]\n\n")
        self.wfile.flush()

    def _whole(self, events) -> None:
        spoken, clauses, heard = [], [], ""
        for event in events:
            if event.kind == "transcript":
                heard = event.text
            elif event.kind == "audio":
                spoken.append(_audio(event))
                clauses.append(event.text)
        audio = {"id": f"audio_{uuid.uuid4().hex}", "transcript": " ".join(clauses),
                 "data": base64.b64encode(wav_bytes(np.concatenate(spoken) if spoken else np.zeros(0))).decode()}
        message = {"role": "assistant", "content": None, "audio": audio}
        self._json(200, {"id": f"chatcmpl-{uuid.uuid4().hex}", "object": "chat.completion",
                         "model": self.server.cascade.model, "x_tony": {"heard": heard},
                         "choices": [{"index": 0, "message": message, "finish_reason": "stop"}]})

    def _event(self, payload: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(payload).encode() + b"\n\n")
        self.wfile.flush()  # each clause leaves as soon as it is spoken

    def _json(self, status: int, payload: dict[str, Any]) -> None:
        data = json.dumps(payload).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def _error(self, status: int, message: str) -> None:
        self._json(status, {"error": {"message": message, "type": "invalid_request_error" if status < 500
                                      else "server_error"}})


def _audio(event: Event) -> np.ndarray:
    assert event.audio is not None
    return event.audio


def _chunk(ident: str, model: str, delta: dict[str, Any], finish: str | None = None) -> dict[str, Any]:
    return {"id": ident, "object": "chat.completion.chunk", "created": int(time.time()), "model": model,
            "choices": [{"index": 0, "delta": delta, "finish_reason": finish}]}


def serve(cascade: Cascade, port: int = 8090) -> VoiceServer:
    """Start serving `cascade` on 127.0.0.1:`port` in a background thread; returns the server (call
    `shutdown()` to stop). Port 0 picks a free port (`server.server_address[1]`)."""
    server = VoiceServer(cascade, port)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server
