"""Whisper base, the cascade with SmolLM2, `tony voice serve` and the openai_audio client: real models, a real
server on 127.0.0.1. Loaded once for the module."""

from __future__ import annotations

import hashlib
import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tony.core.errors import ModelServerError, RequestError
from tony.voice.cascade import Cascade
from tony.voice.client import OpenAIAudioClient
from tony.voice.latency import CASCADE_STAGES, measure_cascade, summaries
from tony.voice.serve import serve
from tony.voice.stt import Transcriber, model_dir, transcriber
from tony.voice.tts import synthesize
from tony.voice.wer import word_errors

pytestmark = pytest.mark.slow

SENTENCES = (
    "Which planet is closest to the sun?",
    "Please tell me a short joke about cats.",
    "What is the boiling point of water?",
    "How many days are there in a leap year?",
)
WER_BOUND = 0.25
"""Measured 0.03 on these four sentences (en-us, 10 s window); the bound leaves room for other CPUs' rounding."""


@pytest.fixture(scope="module")
def cascade() -> Cascade:
    cascade = Cascade("smollm2-135m-instruct", max_tokens=24)
    cascade.warm_up()
    return cascade


def test_the_assembled_model_folder_is_named_by_the_hash_of_model_bin():
    folder = model_dir()
    digest = hashlib.sha256((folder / "model.bin").read_bytes()).hexdigest()
    assert folder.name == f"whisper-base-{digest}"
    assert {p.name for p in folder.iterdir()} == {"model.bin", "config.json", "tokenizer.json", "vocabulary.txt"}
    assert model_dir() == folder  # found again, not assembled twice


def test_speech_round_trip_word_error_rate_is_below_the_measured_bound():
    recognizer = transcriber()
    errors = [word_errors(s, recognizer.transcribe(synthesize(s, "en-us")).text) for s in SENTENCES]
    rate = sum(e.errors for e in errors) / sum(e.words for e in errors)
    assert rate <= WER_BOUND


def test_the_short_window_and_whisper_s_30_s_path_hear_the_same_words():
    full = Transcriber(model_dir(), window_s=None)
    speech = synthesize(SENTENCES[0])
    assert word_errors(full.transcribe(speech).text, transcriber().transcribe(speech).text).errors <= 1


def test_cascade_latency_stages_add_up_to_the_measured_total(cascade):
    measurements = [measure_cascade(cascade, question) for question in SENTENCES[:2]]
    for m in measurements:
        assert list(m.stages) == list(CASCADE_STAGES)
        assert all(value >= 0 for value in m.stages.values())
        assert sum(m.stages.values()) == pytest.approx(m.total_s, abs=1e-9)
        assert 0.1 <= m.stages["endpoint"] <= 0.5  # the detector's hangover, give or take a frame
        assert m.answer
    rows = {(s.stage, s.statistic): s for s in summaries(measurements)}
    assert rows["total", "min"].value == pytest.approx(min(m.total_s for m in measurements))
    assert rows["total", "mean"].ci_low <= rows["total", "mean"].value <= rows["total", "mean"].ci_high


def test_the_streamed_server_sends_audio_before_the_answer_is_complete(cascade):
    server = serve(cascade, 0)
    try:
        client = OpenAIAudioClient(f"http://127.0.0.1:{server.server_address[1]}/v1", cascade.model)
        reply = client.respond(synthesize("Tell me about the moon and the stars."))
        assert reply.heard and reply.transcript
        assert len(reply.chunk_times) >= 2  # one chunk per clause
        assert reply.chunk_times[0] < reply.chunk_times[-1] <= reply.total_s
        assert len(reply.audio) > 0.5 * 16000
        with pytest.raises(RequestError, match="neither audio nor text"):
            _post_empty(client)
    finally:
        server.shutdown()


def _post_empty(client: OpenAIAudioClient) -> None:
    """A request whose user message is empty: the server's 400 comes back as a RequestError."""
    import httpx

    from tony.voice.client import _refusal

    answer = httpx.post(f"{client.base_url}/chat/completions", json={"messages": [{"role": "user", "content": []}]})
    raise _refusal(client.base_url, answer.status_code, answer.text)


class _HalfAnswer(BaseHTTPRequestHandler):
    """A server that sends one audio chunk, then closes the stream without finishing the answer."""

    def log_message(self, *args) -> None:
        pass

    def do_POST(self) -> None:
        self.rfile.read(int(self.headers["Content-Length"]))
        self.send_response(200)
        self.send_header("Content-Type", "text/event-stream")
        self.end_headers()
        chunk = {"choices": [{"index": 0, "delta": {"audio": {"data": "AAAAAA==", "transcript": "Half"}},
                              "finish_reason": None}]}
        self.wfile.write(b"data: " + json.dumps(chunk).encode() + b"\n\n")
        self.wfile.flush()
        self.close_connection = True


def test_a_stream_closed_mid_answer_is_a_one_line_server_error():
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HalfAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        client = OpenAIAudioClient(f"http://127.0.0.1:{server.server_address[1]}/v1", "any")
        with pytest.raises(ModelServerError, match="closed the stream before the answer was complete") as err:
            client.respond(synthesize("hello"))
        assert "\n" not in str(err.value)
    finally:
        server.shutdown()


def test_a_run_whose_audio_model_stops_mid_answer_exits_non_zero_and_keeps_nothing_half(tmp_path, monkeypatch,
                                                                                          capsys):
    """`tony run` with model=openai_audio against the half-answering server: one line, exit 1, no record, no spoken
    answer in the store or in the cache folder."""
    from tony.cli import main
    from tony.core.store import Store

    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps({"input": "Say hi.", "target": "hi"}) + "\n")
    server = ThreadingHTTPServer(("127.0.0.1", 0), _HalfAnswer)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/v1"
        store = str(tmp_path / "store")
        code = main(["run", f"jsonl:path={data},model=openai_audio,model.base_url={url}", "--store", store])
    finally:
        server.shutdown()
    err = capsys.readouterr().err
    assert code == 1 and "closed the stream before the answer was complete" in err
    [run] = Store(store).runs()
    assert run["status"] == "failed" and Store(store).records(run["run_id"]) == []
    assert not [f for f in Store(store).artifact_dir.rglob("*") if f.is_file()]
    assert not (tmp_path / "cache" / "voice-audio").exists()
