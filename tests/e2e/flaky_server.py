"""A small OpenAI-compatible completions server that misbehaves on purpose.

It answers every generation with the text "Paris" (so runs can complete), and is told how to fail:
after `healthy_requests` good answers it answers `failure` forever: "500", "429", "garbage" (not JSON),
"hang" (answers after 5 s), "reset" (drops the connection with a TCP reset) or "truncated" (half the body, then
closes); or, "slow", answers every request right after a 0.2 s pause.
"""

from __future__ import annotations

import json
import socket
import struct
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer


class FlakyServer:
    def __init__(self, healthy_requests: int, failure: str, port: int = 0) -> None:
        self.healthy_requests = healthy_requests
        self.failure = failure
        self.requests = 0
        self.authorization: list[str] = []
        self._lock = threading.Lock()
        self._server = ThreadingHTTPServer(("127.0.0.1", port), self._handler())
        self.port = self._server.server_address[1]
        self.base_url = f"http://127.0.0.1:{self.port}/v1"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def stop(self) -> None:
        self._server.shutdown()
        self._server.server_close()

    def _handler(self):
        server = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *args):  # keep test output clean
                pass

            def do_POST(self):
                self.rfile.read(int(self.headers.get("Content-Length", 0)))
                with server._lock:
                    server.requests += 1
                    healthy = server.requests <= server.healthy_requests
                    server.authorization.append(self.headers.get("Authorization", ""))
                if server.failure == "slow":  # every answer right, each after a pause well within the timeout
                    time.sleep(0.2)
                if healthy or server.failure == "slow":
                    body = {"choices": [{"text": " Paris", "index": 0, "finish_reason": "stop"}],
                            "usage": {"prompt_tokens": 9, "completion_tokens": 1, "total_tokens": 10}}
                    return self._send(200, json.dumps(body).encode())
                if server.failure == "hang":
                    time.sleep(5)
                    return self._send(200, b"{}")
                if server.failure == "garbage":
                    return self._send(200, b"{not json")
                if server.failure == "reset":  # the connection dropped before any answer
                    self.connection.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    self.close_connection = True
                    return None
                if server.failure == "truncated":  # half an answer, then the connection closes
                    body = json.dumps({"choices": [{"text": " Paris", "index": 0}]}).encode()
                    self.send_response(200)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(body)))
                    self.end_headers()
                    self.wfile.write(body[: len(body) // 2])
                    self.close_connection = True
                    return None
                code = 429 if server.failure == "429" else 500
                return self._send(code, b'{"error": {"message": "overloaded"}}')

            def _send(self, code: int, body: bytes) -> None:
                self.send_response(code)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

        return Handler
