"""`tony serve`: the built site over HTTP on 127.0.0.1, and nothing but the site.

A request path is decoded once and refused when any segment is "." or ".." or starts with a dot,
when it holds a backslash, a NUL or a "%" left after decoding (double encoding), or when the file
it names lies outside the site's folder once symbolic links are resolved. Only GET and HEAD are
answered, only for the Host names of this machine's loopback address (no DNS rebinding).
"""

from __future__ import annotations

import mimetypes
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import unquote_to_bytes, urlsplit

from tony.report.layout import CONTENT_SECURITY_POLICY

HOST = "127.0.0.1"
TYPES = {".html": "text/html; charset=utf-8", ".css": "text/css; charset=utf-8",
         ".js": "text/javascript; charset=utf-8", ".json": "application/json", ".svg": "image/svg+xml",
         ".png": "image/png"}


class SiteServer(ThreadingHTTPServer):
    """Serves the files under `root` on 127.0.0.1:`port` (0 picks a free port)."""

    daemon_threads = True

    def __init__(self, root: Path, port: int = 0) -> None:
        self.root = Path(root).resolve()
        super().__init__((HOST, port), _Handler)

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.server_address[1]}/"


def resolve(root: Path, request_path: str) -> Path | HTTPStatus:
    """The file a request path names under `root`, or the status refusing it."""
    path = urlsplit(request_path).path
    if not path.startswith("/"):
        return HTTPStatus.BAD_REQUEST
    try:
        decoded = unquote_to_bytes(path).decode("utf-8")
    except UnicodeDecodeError:
        return HTTPStatus.BAD_REQUEST
    segments = decoded.split("/")[1:]
    if any(c in decoded for c in "\\\x00%") or any(s.startswith(".") for s in segments):
        return HTTPStatus.FORBIDDEN
    target = root.joinpath(*(s for s in segments if s))
    if target.is_dir():
        target = target / "index.html"
    real = target.resolve()
    if not real.is_relative_to(root):
        return HTTPStatus.FORBIDDEN
    return real if real.is_file() else HTTPStatus.NOT_FOUND


class _Handler(BaseHTTPRequestHandler):
    server: SiteServer
    server_version = "tony"
    sys_version = ""

    def do_GET(self) -> None:  # noqa: N802 (the http.server convention)
        self._answer(body=True)

    def do_HEAD(self) -> None:  # noqa: N802
        self._answer(body=False)

    def _answer(self, *, body: bool) -> None:
        port = self.server.server_address[1]
        if self.headers.get("Host", "") not in (f"{HOST}:{port}", f"localhost:{port}"):
            self.send_error(HTTPStatus.MISDIRECTED_REQUEST, "use the address `tony serve` printed")
            return
        found = resolve(self.server.root, self.path)
        if isinstance(found, HTTPStatus):
            self.send_error(found)
            return
        data = found.read_bytes()
        self.send_response(HTTPStatus.OK)
        kind = TYPES.get(found.suffix) or mimetypes.guess_type(found.name)[0] or "application/octet-stream"
        self.send_header("Content-Type", kind)
        self.send_header("Content-Length", str(len(data)))
        self.send_header("Content-Security-Policy", f"{CONTENT_SECURITY_POLICY}; frame-ancestors 'none'")
        self.send_header("X-Content-Type-Options", "nosniff")
        self.send_header("Referrer-Policy", "no-referrer")
        self.send_header("Cache-Control", "no-cache")
        self.end_headers()
        if body:
            self.wfile.write(data)

    def handle(self) -> None:
        # A browser that drops the connection mid-response is routine, not an error worth a traceback.
        try:
            super().handle()
        except (ConnectionResetError, BrokenPipeError, TimeoutError):
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base class's name)
        """Quiet: a results site needs no access log."""
