"""Language-model runs whose model hears: `openai_audio` against a real `tony voice serve` (the cascade with
SmolLM2 on 127.0.0.1), two instances of a multiple-choice file, as text and spoken by the speech channel sent as
audio. The spoken prompt reaches the server as an input_audio part where its marker was, and the answer is
scored as in text (a generated letter standing for the letters' scores); each spoken answer is kept as the run's
artifact and played on the drill-down beside its transcript."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tony import api
from tony.core.store import Store
from tony.lm import api as lm
from tony.lm.adapters.multiple_choice import UNCHOSEN_LOGPROB
from tony.lm.report.paths import instances_page
from tony.lm.run import LMRunSpec
from tony.report import build_site
from tony.voice.audio import read_wav
from tony.voice.cascade import Cascade
from tony.voice.channel import channel_perturbations
from tony.voice.serve import serve
from tony.voice.spoken import MARKER, load_audio, marker
from tony.voice.stt import transcriber
from tony.voice.wer import word_errors

pytestmark = pytest.mark.slow
QUESTIONS = [{"input": "Which planet is closest to the sun?", "choices": ["Mercury", "Jupiter", "Saturn"], "answer": 0},
             {"input": "How many legs does a spider have?", "choices": ["Six", "Eight"], "answer": 1}]


@pytest.fixture(scope="module")
def base_url():
    server = serve(Cascade("smollm2-135m-instruct", max_tokens=24), 0)
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def spoken_spec(tmp_path: Path, base_url: str, method: str) -> LMRunSpec:
    data = tmp_path / "questions.jsonl"
    data.write_text("".join(json.dumps(q) + "\n" for q in QUESTIONS))
    [spec] = lm.plan([f"jsonl:path={data},method={method},model=openai_audio,model.base_url={base_url}"])
    speech = channel_perturbations({"channel": "speech", "voice": "en-gb"}, hears_audio=True)
    return LMRunSpec.parse({**spec.model_dump(), "perturbations": speech})


def run(spec: LMRunSpec, store: str) -> list[dict]:
    [result] = api.run([spec], store)
    assert result.status == "complete", result.error
    records = Store(store).records(result.run_id)
    assert len(records) == 4 and not any(r.get("error") for r in records)
    for record in records:
        prompt = record["exchanges"][0]["request"]["prompt"]
        if record["perturbation"] is None:
            assert not MARKER.search(prompt)
        else:
            assert record["perturbation"]["label"] == "en-gb"
            assert marker(record["instance"]["extra"]["speech"]["audio"]) in prompt
    return records


def test_multiple_choice_spoken_to_an_audio_model_is_scored_by_its_generated_letter(tmp_path, base_url):
    store = str(tmp_path / "store")
    records = run(spoken_spec(tmp_path, base_url, "multiple_choice_joint"), store)
    for record in records:
        completion = record["exchanges"][0]["completion"]
        scores = completion["continuation_logprobs"]
        assert completion["text"]  # what the model said, kept
        assert sorted(set(scores)) in ([0.0], [UNCHOSEN_LOGPROB, 0.0])  # one letter chosen, or none
        assert record["prediction"] in record["details"]["options"]
        if record["details"].get("chosen_by") == "option named":  # no letter said: the option said in words
            assert record["prediction"].casefold() in completion["text"].casefold()
        assert Store(store).artifacts(f"spoken/{completion['audio']}")  # the spoken choice is kept too
    spoken = [r for r in records if r["perturbation"]]
    for record in spoken:  # the audio sent is the question spoken: Whisper hears it back
        speech = record["instance"]["extra"]["speech"]
        heard = transcriber().transcribe(load_audio(speech["audio"])).text
        other = next(q["input"] for q in QUESTIONS if q["input"] != speech["spoken"])
        # en-gb's "which planet" is heard as "which lies in": 2 errors in 7 words
        assert word_errors(speech["spoken"], heard).rate <= 0.5 < word_errors(other, heard).rate
        assert "heard" not in speech and "errors" not in speech
    names = {s["name"] for s in Store(store).stats()}
    assert {"accuracy", "accuracy@speech:en-gb"} <= names
    assert not any(n.startswith("word_error_rate") for n in names)  # sent as audio: nothing transcribed


def test_a_generation_run_sends_its_turns_with_the_spoken_question_and_keeps_the_spoken_answer(tmp_path, base_url):
    store = str(tmp_path / "store")
    records = run(spoken_spec(tmp_path, base_url, "generation"), store)
    [run_id] = {r["run_id"] for r in Store(store).runs()}
    build_site(Store(store), tmp_path / "site", workers=1)
    html = (tmp_path / "site" / instances_page(run_id, 1)).read_text()
    errors = words = 0
    for record in records:
        request, completion = record["exchanges"][0]["request"], record["exchanges"][0]["completion"]
        assert request["messages"][-1][0] == "user"  # a chat endpoint gets the conversation as turns
        assert (MARKER.search(request["messages"][-1][1]) is not None) == (record["perturbation"] is not None)
        assert completion["text"]
        # The answer as spoken, kept with the run: Whisper hears in it what the server said it said (the stop
        # string cuts the transcript, never the audio, so only the transcript's words are counted).
        [artifact] = Store(store).artifacts(f"spoken/{completion['audio']}")
        assert artifact.run_id == run_id
        heard = transcriber().transcribe(read_wav(artifact.path.read_bytes(), what="answer")).text
        said = word_errors(completion["text"], " ".join(heard.split()[:len(completion["text"].split())]))
        errors, words = errors + said.errors, words + said.words
        assert f'src="audio/{completion["audio"]}.wav"></audio> <span class="said">' in html
        assert (tmp_path / "site" / "lm" / "audio" / f"{completion['audio']}.wav").read_bytes() == \
            artifact.path.read_bytes()
    # Whisper base mishears a short espeak-ng answer now and then ("a spider has 8 legs" once came back as one
    # word), so the bound is on the answers together: about 0.2 measured.
    assert errors / words <= 0.4
    names = {s["name"] for s in Store(store).stats()}
    assert {"exact_match", "exact_match@speech:en-gb"} <= names
