"""The Perspective API scorer against a local HTTP server that speaks the comments:analyze protocol."""

from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tony.core.errors import ModelServerError, SpecError
from tony.lm.metrics import perspective
from tony.lm.metrics.perspective import PERSPECTIVE_KEY_ENV, PerspectiveScorer
from tony.lm.metrics.toxicity import ProfanityCheckScorer, choose_scorer

KEY = "test-key-5f2c9a"
SCORES = {"you are an idiot": 0.93, "have a nice day": 0.02}


class FakePerspective:
    """``POST /v1alpha1/comments:analyze?key=...`` as documented: a JSON body with comment.text and
    requestedAttributes; answers ``attributeScores.TOXICITY.summaryScore.value`` (from SCORES), or a
    Google-style ``{"error": {...}}``. ``failures`` leading requests get ``failure_status`` first."""

    def __init__(self, failures: int = 0, failure_status: int = 429, retry_after: str | None = None) -> None:
        self.failures = failures
        self.failure_status = failure_status
        self.retry_after = retry_after
        self.seen: list[dict[str, Any]] = []
        self._lock = threading.Lock()
        self._http = ThreadingHTTPServer(("127.0.0.1", 0), self._handler())
        self._http.daemon_threads = True
        threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self._http.server_address[1]}/v1alpha1"

    def close(self) -> None:
        self._http.shutdown()
        self._http.server_close()

    def answer(self, path: str, body: bytes) -> tuple[int, dict[str, Any], dict[str, str]]:
        parts = urlsplit(path)
        query = parse_qs(parts.query)
        with self._lock:
            self.seen.append({"path": parts.path, "query": query, "body": json.loads(body)})
            failing = self.failures > 0
            self.failures -= 1
        if parts.path != "/v1alpha1/comments:analyze":
            return 404, {"error": {"code": 404, "message": "Not Found", "status": "NOT_FOUND"}}, {}
        if query.get("key") != [KEY]:
            # Google echoes what it got; the scorer must mask the key if it ever comes back.
            message = f"API key not valid: {query.get('key')}. Please pass a valid API key."
            return 400, {"error": {"code": 400, "message": message, "status": "INVALID_ARGUMENT"}}, {}
        if failing:
            headers = {"Retry-After": self.retry_after} if self.retry_after else {}
            message = f"Quota exceeded for key {KEY}"
            return self.failure_status, {"error": {"code": self.failure_status, "message": message}}, headers
        request = json.loads(body)
        text = request["comment"]["text"]
        if request.get("requestedAttributes") != {"TOXICITY": {}} or text not in SCORES:
            error = {"code": 400, "message": "Comment must be non-empty.", "status": "INVALID_ARGUMENT"}
            return 400, {"error": error}, {}
        score = {"value": SCORES[text], "type": "PROBABILITY"}
        return 200, {
            "attributeScores": {"TOXICITY": {"spanScores": [{"begin": 0, "end": len(text), "score": score}],
                                             "summaryScore": score}},
            "languages": ["en"],
            "detectedLanguages": ["en"],
        }, {}

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        server = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                status, payload, headers = server.answer(self.path, body)
                data = json.dumps(payload).encode("utf-8")
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=UTF-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value)
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        return Handler


@pytest.fixture
def waits(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """Every wait of the scorer (pacing and backoff), recorded instead of slept."""
    recorded: list[float] = []
    monkeypatch.setattr(perspective, "_sleep", recorded.append)
    return recorded


@pytest.fixture
def keyed(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv(PERSPECTIVE_KEY_ENV, KEY)


@pytest.fixture
def server() -> Iterator[FakePerspective]:
    running = FakePerspective()
    yield running
    running.close()


def scorer_for(server: FakePerspective, **kwargs: Any) -> PerspectiveScorer:
    return PerspectiveScorer(base_url=server.url, queries_per_second=1000.0, backoff_s=0.5, **kwargs)


def test_scores_come_from_the_summary_score(server, keyed, waits):
    scorer = scorer_for(server)
    assert scorer.score(["you are an idiot", "have a nice day"]) == [0.93, 0.02]
    first = server.seen[0]
    assert first["path"] == "/v1alpha1/comments:analyze" and first["query"]["key"] == [KEY]
    assert first["body"] == {"comment": {"text": "you are an idiot"}, "requestedAttributes": {"TOXICITY": {}},
                             "languages": ["en"], "doNotStore": True}
    assert KEY not in repr(scorer) and KEY not in repr(vars(scorer))


def test_empty_text_scores_zero_without_a_call(server, keyed, waits):
    assert scorer_for(server).score(["", "  \n"]) == [0.0, 0.0]
    assert server.seen == []


def test_429_is_retried_with_backoff_then_answers(keyed, waits):
    flaky = FakePerspective(failures=2)
    try:
        assert scorer_for(flaky).score(["have a nice day"]) == [0.02]
    finally:
        flaky.close()
    assert len(flaky.seen) == 3
    backoffs = [w for w in waits if w >= 0.1]  # pacing waits at 1000 qps are ~1 ms
    assert backoffs == [0.5, 1.0]


def test_retry_after_is_honoured(keyed, waits):
    flaky = FakePerspective(failures=1, retry_after="7")
    try:
        assert scorer_for(flaky).score(["have a nice day"]) == [0.02]
    finally:
        flaky.close()
    assert 7.0 in waits


def test_429_forever_is_a_one_line_server_error_without_the_key(keyed, waits):
    flaky = FakePerspective(failures=100)
    try:
        with pytest.raises(ModelServerError) as caught:
            scorer_for(flaky, max_retries=3).score(["have a nice day"])
    finally:
        flaky.close()
    message = str(caught.value)
    assert len(flaky.seen) == 4 and "after 4 tries" in message and "HTTP 429" in message
    assert "\n" not in message and KEY not in message and "***" in message


def test_5xx_is_retried_too(keyed, waits):
    flaky = FakePerspective(failures=1, failure_status=503)
    try:
        assert scorer_for(flaky).score(["you are an idiot"]) == [0.93]
    finally:
        flaky.close()
    assert len(flaky.seen) == 2


def test_a_refused_key_fails_at_once_and_is_masked(server, monkeypatch, waits):
    monkeypatch.setenv(PERSPECTIVE_KEY_ENV, "wrong-key-0000")
    with pytest.raises(ModelServerError) as caught:
        scorer_for(server).score(["have a nice day"])
    message = str(caught.value)
    assert len(server.seen) == 1 and "HTTP 400" in message and "API key not valid" in message
    assert "wrong-key-0000" not in message and "\n" not in message


def test_a_bad_request_is_not_retried(server, keyed, waits):
    with pytest.raises(ModelServerError, match="refused the request: HTTP 400: Comment must be non-empty"):
        scorer_for(server).score(["a text the server does not know"])
    assert len(server.seen) == 1


def test_no_key_is_a_spec_error(server, monkeypatch):
    monkeypatch.delenv(PERSPECTIVE_KEY_ENV, raising=False)
    with pytest.raises(SpecError, match=PERSPECTIVE_KEY_ENV):
        scorer_for(server).score(["have a nice day"])
    assert server.seen == []


def test_a_server_that_is_down_is_a_server_error(keyed, waits):
    down = FakePerspective()
    url = down.url
    down.close()
    scorer = PerspectiveScorer(base_url=url, queries_per_second=1000.0, max_retries=1, backoff_s=0.0)
    with pytest.raises(ModelServerError, match="failed after 2 tries: ConnectError"):
        scorer.score(["have a nice day"])


def test_calls_are_paced(server, keyed, waits):
    scorer = PerspectiveScorer(base_url=server.url, queries_per_second=2.0)
    scorer.score(["have a nice day", "have a nice day"])
    assert len(waits) == 1 and 0.0 < waits[0] <= 0.5  # 0.5 s between calls, less the first call's time


def test_the_key_in_the_environment_chooses_perspective():
    assert isinstance(choose_scorer({PERSPECTIVE_KEY_ENV: "k"}), PerspectiveScorer)
    assert isinstance(choose_scorer({}), ProfanityCheckScorer)
    assert isinstance(choose_scorer({PERSPECTIVE_KEY_ENV: ""}), ProfanityCheckScorer)
