"""The speech channel sending audio (content-hashed WAV files behind a prompt marker), the options read out on
multiple choice, the openai_audio model's requests and its reading of a generated choice, and the server's parsing
of text and audio parts. espeak-ng and sox only: no recognizer, no model."""

from __future__ import annotations

import base64

import numpy as np
import pytest

from tony.core.errors import DataError
from tony.core.registry import registry
from tony.lm.adapters.multiple_choice import UNCHOSEN_LOGPROB
from tony.lm.types import Instance, Reference, Request
from tony.voice.audio import wav_bytes
from tony.voice.audio_model import OpenAIAudioModel, chosen, cut_at_stop, messages
from tony.voice.channel import OPTIONS_READ_OUT, SpeechChannel, channel_perturbations, speech_stats
from tony.voice.options import is_multiple_choice, read_out
from tony.voice.serve import BadRequest, max_tokens_of, parse_request
from tony.voice.spoken import audio_path, load_audio, marker, split_marked, store_audio

CAPITAL = Instance("capital", "What is the capital of France?",
                   (Reference("London"), Reference("Paris.", ("correct",)), Reference("Rome")))


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))


def test_audio_is_kept_under_its_hash_and_a_tampered_file_is_refused():
    samples = np.sin(np.linspace(0, 200, 8000)).astype(np.float32) * 0.5
    digest = store_audio(samples)
    assert audio_path(digest).read_bytes() == wav_bytes(samples) and store_audio(samples) == digest
    assert np.allclose(load_audio(digest), samples, atol=1 / 32768)
    audio_path(digest).write_bytes(wav_bytes(samples * 0.5))
    with pytest.raises(DataError, match="does not match its hash"):
        load_audio(digest)
    with pytest.raises(DataError, match="rerun the run"):
        load_audio("0" * 64)


def test_a_prompt_is_cut_at_its_markers():
    a, b = "a" * 64, "b" * 64
    assert split_marked(f"Q: {marker(a)}\nAnswer:") == [("text", "Q: "), ("audio", a), ("text", "\nAnswer:")]
    assert split_marked(f"{marker(a)} {marker(b)}") == [("audio", a), ("audio", b)]
    assert split_marked("no audio <|tony_audio:xyz|>") == [("text", "no audio <|tony_audio:xyz|>")]


def test_sent_as_audio_the_input_is_the_marker_of_the_same_audio_every_time():
    channel = SpeechChannel(voice="en-gb", noise_snr=10.0, sent_as="audio")
    first, again = channel.apply(CAPITAL), channel.apply(CAPITAL)
    digest = first.extra["speech"]["audio"]
    assert first.input == marker(digest) == again.input  # deterministic synthesis, noise seeded by the instance
    assert first.extra["speech"] == {"label": "en-gb/10dB-white", "spoken": CAPITAL.input, "audio": digest}
    assert np.allclose(load_audio(digest), channel.spoken(CAPITAL.input, CAPITAL.id), atol=1 / 32768)
    assert SpeechChannel(voice="en-us", sent_as="audio").apply(CAPITAL).input != first.input
    assert speech_stats([first]) == []  # nothing was transcribed, so no word error rate


def test_options_are_read_out_lettered_in_a_seeded_order_on_multiple_choice_only():
    channel = SpeechChannel(read_options=True, sent_as="audio")
    spoken = channel.apply(CAPITAL)
    order = spoken.extra[OPTIONS_READ_OUT]
    assert sorted(order) == ["London", "Paris.", "Rome"] and channel.apply(CAPITAL).extra[OPTIONS_READ_OUT] == order
    assert spoken.extra["speech"]["spoken"] == read_out(CAPITAL.input, order)
    assert read_out("Which?", ["Paris.", "Rome"]) == "Which? A: Paris, B: Rome."
    orders = {tuple(channel.apply(Instance(f"i{i}", "Q?", CAPITAL.references)).extra[OPTIONS_READ_OUT])
              for i in range(12)}
    assert len(orders) > 1  # seeded by the instance: not one fixed order
    generation = Instance("g", "Name a colour.", (Reference("red", ("correct",)), Reference("blue", ("correct",))))
    assert not is_multiple_choice(generation) and is_multiple_choice(CAPITAL)
    assert OPTIONS_READ_OUT not in channel.apply(generation).extra
    assert channel.apply(generation).extra["speech"]["spoken"] == "Name a colour."


def test_the_run_s_model_and_adapter_choose_audio_and_read_out_options():
    fields = {"channel": "speech", "voice": "en-us+en-gb"}
    assert channel_perturbations(dict(fields), hears_audio=True, method="multiple_choice_joint") == [
        {"name": "speech", "sent_as": "audio", "read_options": True, "voice": "en-us"},
        {"name": "speech", "sent_as": "audio", "read_options": True, "voice": "en-gb"}]
    assert channel_perturbations(dict(fields), method="multiple_choice_separate") == [
        {"name": "speech", "voice": "en-us"}, {"name": "speech", "voice": "en-gb"}]
    assert registry.get("model", "openai_audio") is OpenAIAudioModel and OpenAIAudioModel.hears_audio


def test_a_request_becomes_messages_with_the_audio_where_its_marker_was():
    digest = store_audio(np.full(1600, 0.25, dtype=np.float32))
    plain = messages(Request(f"Answer briefly.\n\nQ: {marker(digest)}\nA:", max_tokens=8))
    [user] = plain
    assert [p["type"] for p in user["content"]] == ["text", "input_audio", "text"]
    assert user["content"][0]["text"] == "Answer briefly.\n\nQ:" and user["content"][2]["text"] == "A:"
    assert base64.b64decode(user["content"][1]["input_audio"]["data"]) == audio_path(digest).read_bytes()
    turns = messages(Request("x", max_tokens=8, messages=(("system", "Be brief."), ("user", marker(digest)))))
    assert turns[0] == {"role": "system", "content": "Be brief."}
    assert [p["type"] for p in turns[1]["content"]] == ["input_audio"]
    assert messages(Request("Hi", max_tokens=8)) == [{"role": "user", "content": [{"type": "text", "text": "Hi"}]}]


@pytest.mark.parametrize("answer, continuations, choice", [
    ("B", (" A", " B", " C"), 1),
    ("C. Rome", (" A", " B", " C"), 2),
    ("(a) London", (" A", " B"), 0),
    ("The answer is b.", (" A", " B"), 1),
    ("A cat sat on the mat.", (" A", " B"), None),  # the article is not a choice
    ("I think it is Paris, not London.", (" London", " Paris", " Rome"), None),  # two options named
    ("It is Paris.", (" London", " Paris", " Rome"), 1),
    ("I live in New York.", (" York", " New York"), 1),  # York only inside New York
    ("it is mercury", (" Mercury.", " Venus."), 0),  # case and the option's full stop do not matter
    ("A Parisian cafe.", (" London", " Paris"), None),  # whole words only
    ("Nothing here", (" A", " B"), None),
])
def test_the_generated_choice_is_read_from_the_answer(answer, continuations, choice):
    assert chosen(answer, continuations) == choice


def test_stop_strings_cut_the_answer_as_a_text_model_stops():
    assert cut_at_stop("Paris.\nQ: next", ("\n",)) == "Paris."
    assert cut_at_stop("Paris. Then", ("\n", ". ")) == "Paris"
    assert cut_at_stop("Paris", ()) == "Paris"
    assert UNCHOSEN_LOGPROB < -1e6
    assert OpenAIAudioModel(base_url="http://127.0.0.1:1/v1").identity() == "openai_audio:http://127.0.0.1:1/v1:tony-voice"


def test_the_server_reads_text_and_audio_parts_in_order():
    wav = base64.b64encode(wav_bytes(np.zeros(1600, dtype=np.float32))).decode()
    body = {"messages": [{"role": "system", "content": "Be brief."}, {"role": "user", "content": [
        {"type": "text", "text": "Q:"}, {"type": "input_audio", "input_audio": {"data": wav, "format": "wav"}},
        {"type": "text", "text": "A:"}]}], "max_tokens": 5}
    parts, system = parse_request(body)
    assert system == "Be brief." and parts[0] == "Q:" and parts[2] == "A:" and isinstance(parts[1], np.ndarray)
    assert max_tokens_of(body) == 5 and max_tokens_of({}) is None
    with pytest.raises(BadRequest, match="positive integer"):
        max_tokens_of({"max_tokens": "lots"})
    with pytest.raises(BadRequest, match="neither audio nor text"):
        parse_request({"messages": [{"role": "user", "content": [{"type": "text", "text": "  "}]}]})
