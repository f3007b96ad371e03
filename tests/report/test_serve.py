"""`tony serve`'s server: the site's files and nothing else, on 127.0.0.1 only."""

from __future__ import annotations

import http.client
import threading
from collections.abc import Iterator
from http import HTTPStatus
from pathlib import Path

import pytest

from tony.report.serve import SiteServer, resolve

TRAVERSALS = [
    "/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt", "/%2E%2E%2Fsecret.txt", "/lm/../../secret.txt",
    "/lm/%2e%2e/%2e%2e/secret.txt", "/%252e%252e/secret.txt", "/..%5csecret.txt", "/lm\\..\\..\\secret.txt",
    "/.%2e/secret.txt", "/%2e./secret.txt", "/lm/%00../secret.txt", "/%c0%ae%c0%ae/secret.txt",
    "/link/secret.txt", "/.tony-site", "/lm/.hidden.html",
]


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp_path = tmp_path_factory.mktemp("serve")
    (tmp_path / "secret.txt").write_text("SECRET")
    root = tmp_path / "site"
    (root / "lm").mkdir(parents=True)
    (root / "index.html").write_text("<p>index</p>")
    (root / "lm" / "index.html").write_text("<p>lm</p>")
    (root / "lm" / "a b.html").write_text("<p>spaced</p>")
    (root / "lm" / ".hidden.html").write_text("hidden")
    (root / ".tony-site").write_text("marker")
    (root / "link").symlink_to(tmp_path)  # a symbolic link out of the site
    return root


@pytest.fixture(scope="module")
def server(site: Path) -> Iterator[SiteServer]:
    running = SiteServer(site, 0)
    thread = threading.Thread(target=running.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield running
    running.shutdown()
    running.server_close()


def get(server: SiteServer, path: str, method: str = "GET", host: str | None = None) -> tuple[int, bytes, dict]:
    connection = http.client.HTTPConnection("127.0.0.1", server.server_address[1], timeout=10)
    connection.putrequest(method, path, skip_host=True)
    connection.putheader("Host", host or f"127.0.0.1:{server.server_address[1]}")
    connection.endheaders()
    response = connection.getresponse()
    body = response.read()
    connection.close()
    return response.status, body, dict(response.getheaders())


@pytest.mark.parametrize("path", TRAVERSALS)
def test_resolve_refuses_everything_outside_the_site(site: Path, path: str):
    found = resolve(site.resolve(), path)
    assert isinstance(found, HTTPStatus) and found != HTTPStatus.OK


def test_resolve_finds_files_and_folder_indexes(site: Path):
    root = site.resolve()
    assert resolve(root, "/") == root / "index.html"
    assert resolve(root, "/lm/") == root / "lm" / "index.html"
    assert resolve(root, "/lm/a%20b.html?x=1#top") == root / "lm" / "a b.html"
    assert resolve(root, "/missing.html") == HTTPStatus.NOT_FOUND


def test_server_listens_on_loopback_only(server: SiteServer):
    assert server.server_address[0] == "127.0.0.1"
    assert server.url.startswith("http://127.0.0.1:")


def test_server_serves_pages_with_a_strict_policy(server: SiteServer):
    status, body, headers = get(server, "/lm/")
    assert status == 200 and body == b"<p>lm</p>"
    assert headers["Content-Type"] == "text/html; charset=utf-8"
    assert "script-src 'self'" in headers["Content-Security-Policy"]
    assert headers["X-Content-Type-Options"] == "nosniff"
    status, body, _ = get(server, "/index.html", method="HEAD")
    assert status == 200 and body == b""


@pytest.mark.parametrize("path", TRAVERSALS)
def test_server_never_serves_a_file_outside_the_site(server: SiteServer, path: str):
    status, body, _ = get(server, path)
    assert status in (400, 403, 404) and b"SECRET" not in body


def test_server_refuses_other_host_names(server: SiteServer):
    status, _, _ = get(server, "/", host="attacker.example")
    assert status == HTTPStatus.MISDIRECTED_REQUEST
    assert get(server, "/", host=f"localhost:{server.server_address[1]}")[0] == 200


def test_server_answers_only_get_and_head(server: SiteServer):
    assert get(server, "/", method="POST")[0] == HTTPStatus.NOT_IMPLEMENTED
