"""Spoken prompts and spoken answers kept as store artifacts (keyed by their SHA-256, with the run's id) and played
on the site's drill-down beside their transcripts: the WAV copied next to the page, byte for byte, and only the
audio stored. The last test runs a real speech-channel run (SmolLM2, two instances heard by Whisper base)."""

from __future__ import annotations

import hashlib
import logging
import re
import sys
from pathlib import Path

import numpy as np
import pytest

from tony import api
from tony.core.errors import DataError
from tony.core.store import Store
from tony.lm import api as lm
from tony.lm.report.paths import instances_page
from tony.report import build_site
from tony.voice.artifacts import answer_digests, keep_spoken_answers, keep_spoken_audio, spoken_digests
from tony.voice.audio import wav_bytes
from tony.voice.spoken import store_audio

sys.path.insert(0, str(Path(__file__).parents[1] / "report"))
from lm_runs import add_lm_run, lm_record  # noqa: E402

HOSTILE = '"><script>window.__pwned=1</script>'
SPEECH = {"name": "speech", "label": "en-us", "family": "speech"}


def spoken_record(instance_id: str, digest: str, heard: str) -> dict:
    record = lm_record(instance_id, heard, perturbation=SPEECH)
    record["instance"]["extra"] = {"speech": {"label": "en-us", "spoken": "what was said", "heard": heard,
                                              "audio": digest}}
    return record


def answered_aloud(record: dict, digest: str, transcript: str) -> dict:
    """`record` whose one completion is a spoken answer (a model that speaks: tony.voice.audio_model)."""
    record["exchanges"][0]["completion"] |= {"text": transcript, "audio": digest}
    return record


def tone(frequency: float) -> np.ndarray:
    return (np.sin(np.arange(8000) * 2 * np.pi * frequency / 16000) * 0.5).astype(np.float32)


def test_spoken_prompts_become_artifacts_and_the_drill_down_plays_them(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    kept, unkept = store_audio(tone(440)), store_audio(tone(220))
    records = [("0:a", lm_record("a", "q")), ("0:a#en-us", spoken_record("a", kept, HOSTILE)),
               ("0:b#en-us", spoken_record("b", unkept, "not kept")),
               ("0:c#en-us", spoken_record("c", "../" + kept[3:], "a path, not a hash"))]
    assert spoken_digests(r for _, r in records) == [kept, unkept]
    store = Store(str(tmp_path / "store"))
    run_id = add_lm_run(store, scenario="s", model="m", records=records)
    assert keep_spoken_audio(store, run_id, [records[1][1], records[1][1]]) == [kept]
    [artifact] = store.artifacts(f"spoken/{kept}")
    assert artifact.key == kept and artifact.run_id == run_id
    assert artifact.path.read_bytes() == wav_bytes(tone(440))
    assert hashlib.sha256(artifact.path.read_bytes()).hexdigest() == kept

    site = tmp_path / "site"
    build_site(store, site, workers=1)
    assert [p.name for p in (site / "lm" / "audio").iterdir()] == [f"{kept}.wav"]  # only what the store holds
    assert (site / "lm" / "audio" / f"{kept}.wav").read_bytes() == artifact.path.read_bytes()
    html = (site / instances_page(run_id, 1)).read_text()
    players = re.findall(r'<audio controls preload="none" src="([^"]*)"></audio> <span class="heard">([^<]*)</span>',
                         html)
    assert players == [(f"audio/{kept}.wav", HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace(
        '"', "&quot;"))]
    assert "<script>window.__pwned" not in html


def test_a_spoken_prompt_missing_from_the_cache_is_a_data_error(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    store = Store(str(tmp_path / "store"))
    with pytest.raises(DataError, match="rerun the run"):
        keep_spoken_audio(store, "r" * 64, [spoken_record("a", "0" * 64, "x")])
    assert store.artifacts(f"spoken/{'0' * 64}") == []


def test_spoken_answers_become_artifacts_and_play_beside_their_transcripts(tmp_path, monkeypatch, caplog):
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    prompt, answer, again, gone = (store_audio(tone(f)) for f in (440, 330, 550, 660))
    records = [("0:a", answered_aloud(lm_record("a", "q"), answer, HOSTILE)),
               ("0:a#en-us", answered_aloud(spoken_record("a", prompt, "heard"), answer, HOSTILE)),
               ("0:b", answered_aloud(lm_record("b", "q"), again, "Paris.")),
               ("0:c", answered_aloud(lm_record("c", "q"), gone, "lost")),
               ("0:d", lm_record("d", "q", completion="a text model's answer"))]
    assert answer_digests(r for _, r in records) == [answer, again, gone]
    store = Store(str(tmp_path / "store"))
    run_id = add_lm_run(store, scenario="s", model="m", records=records)
    store.put_artifact("spoken/x", wav_bytes(tone(550)))  # already in the store (an earlier run): not needed again
    (tmp_path / "cache" / "voice-audio" / again[:2] / f"{again}.wav").unlink()
    (tmp_path / "cache" / "voice-audio" / gone[:2] / f"{gone}.wav").unlink()
    with caplog.at_level(logging.WARNING, logger="tony.voice.artifacts"):
        assert keep_spoken_answers(store, run_id, [r for _, r in records]) == [answer, again]
    assert "1 spoken answers of run" in caplog.text  # the cleared one: its transcript stays, its audio is gone
    assert store.artifacts(f"spoken/{gone}") == []
    [artifact] = store.artifacts(f"spoken/{answer}")
    assert artifact.run_id == run_id and artifact.path.read_bytes() == wav_bytes(tone(330))
    keep_spoken_audio(store, run_id, [records[1][1]])

    site = tmp_path / "site"
    build_site(store, site, workers=1)
    assert sorted(p.name for p in (site / "lm" / "audio").iterdir()) == sorted(f"{d}.wav" for d in (prompt, answer,
                                                                                                    again))
    html = (site / instances_page(run_id, 1)).read_text()
    said = re.findall(r'spoken answer <audio controls preload="none" src="audio/([0-9a-f]+)\.wav"></audio> '
                      r'<span class="said">([^<]*)</span>', html)
    escaped = HOSTILE.replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")
    assert said == [(answer, escaped), (answer, escaped), (again, "Paris.")]  # the original, its variant, b
    assert f'src="audio/{prompt}.wav"></audio> <span class="heard">heard</span>' in html
    assert gone not in html.split("<script")[0] and "<script>window.__pwned" not in html


@pytest.mark.slow
def test_a_real_speech_run_s_site_plays_each_spoken_prompt_from_its_artifact(tmp_path):
    store_dir = str(tmp_path / "store")
    [spec] = lm.plan(["synthetic_induction:model=smollm2-135m-instruct,max_instances=2,max_tokens=8,"
                      "channel=speech,voice=en-us"])
    [result] = api.run([spec], store_dir)
    assert result.status == "complete", result.error
    store = Store(store_dir)
    records = store.records(result.run_id)
    digests = spoken_digests(records)
    assert len(digests) == 2
    # The run kept each spoken prompt as an artifact as it stored the batch (Perturbation.keep_artifacts): checked
    # per record below, before the site is built from the store alone.
    build_site(store, tmp_path / "site", workers=1)
    html = (tmp_path / "site" / instances_page(result.run_id, 1)).read_text()
    for record in records:
        speech = record["instance"]["extra"].get("speech")
        if speech is None:
            continue
        [artifact] = store.artifacts(f"spoken/{speech['audio']}")
        assert artifact.run_id == result.run_id
        copied = tmp_path / "site" / "lm" / "audio" / f"{speech['audio']}.wav"
        assert copied.read_bytes() == artifact.path.read_bytes()
        heard = speech["heard"].replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace(
            '"', "&quot;").replace("'", "&#x27;")
        assert (f'<audio controls preload="none" src="audio/{speech["audio"]}.wav"></audio> '
                f'<span class="heard">{heard}</span>') in html
