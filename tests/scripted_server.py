"""An OpenAI-compatible HTTP server on 127.0.0.1 that answers from a script: for the client's retry, timeout and
error paths, and for judges whose answers a test must know (`tests/lm/test_openai_http.py`,
`tests/lm/test_request_errors.py`, `tests/safety/`)."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass(frozen=True)
class Reply:
    """One scripted answer; ``body`` is JSON unless it is bytes."""

    status: int = 200
    body: Any = None
    headers: dict[str, str] = field(default_factory=dict)
    delay_s: float = 0.0


def completion_body(text: str = "ok", prompt_tokens: int = 3, **choice: Any) -> dict[str, Any]:
    return {
        "choices": [{"index": 0, "text": text, "finish_reason": "stop", **choice}],
        "usage": {"prompt_tokens": prompt_tokens, "completion_tokens": 1, "total_tokens": prompt_tokens + 1},
    }


Script = list[Reply] | Callable[[dict[str, Any]], Reply]


class ScriptedServer:
    """An HTTP server on 127.0.0.1 answering try n with the n-th scripted reply (the last one repeats).

    A script can also be a function of the request's JSON. Every request is kept in ``seen``.
    """

    def __init__(self, script: Script) -> None:
        self.script = script
        self.seen: list[dict[str, Any]] = []
        self.in_flight = 0
        self.max_in_flight = 0
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1"

    def stop(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def _reply_for(self, request: dict[str, Any]) -> Reply:
        with self._lock:
            self.seen.append(request)
            self.in_flight += 1
            self.max_in_flight = max(self.max_in_flight, self.in_flight)
            if callable(self.script):
                return self.script(request["json"])
            return self.script[min(len(self.seen), len(self.script)) - 1]

    def _done(self) -> None:
        with self._lock:
            self.in_flight -= 1

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                raw = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                reply = server._reply_for({"path": self.path, "headers": dict(self.headers), "json": json.loads(raw)})
                time.sleep(reply.delay_s)
                server._done()
                body = reply.body if isinstance(reply.body, bytes) else json.dumps(reply.body).encode()
                try:
                    self.send_response(reply.status)
                    for name, value in {"Content-Type": "application/json", **reply.headers}.items():
                        self.send_header(name, value)
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body)
                except (BrokenPipeError, ConnectionResetError):
                    pass  # the client gave up waiting

            def log_message(self, *args: Any) -> None:
                pass

        return Handler
