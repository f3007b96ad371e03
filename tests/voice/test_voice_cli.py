"""`tony voice`: a spoken file written whole, and one-line errors with exit status 2 (no model is loaded)."""

from __future__ import annotations

from tony.cli import main
from tony.voice.audio import read_wav


def test_say_writes_a_16_khz_wav_with_the_channel_asked(tmp_path, capsys):
    out = tmp_path / "q.wav"
    assert main(["voice", "say", "Where do penguins live?", "--voice", "en-gb", "--noise-snr", "10",
                 "--telephone", "--out", str(out)]) == 0
    assert 1.0 < len(read_wav(out)) / 16000 < 4.0
    assert not (tmp_path / "q.wav.tmp").exists()
    assert "voice en-gb" in capsys.readouterr().out


def test_user_errors_are_one_line_and_exit_2(tmp_path, capsys):
    bad = tmp_path / "bad.wav"
    bad.write_text("not audio")
    cases = [
        ["voice", "say", "hi", "--voice", "xx-nowhere", "--out", str(tmp_path / "a.wav")],
        ["voice", "say", "hi", "--out", str(tmp_path / "a.mp3")],
        ["voice", "transcribe", str(bad)],
        ["voice", "latency", "--pipeline", "ftp://somewhere", "--n", "1"],
        ["voice", "latency", "--n", "0"],
    ]
    for argv in cases:
        assert main(argv) == 2, argv
        err = capsys.readouterr().err.strip()
        assert err.startswith("tony: error: ") and "\n" not in err, argv
    assert not (tmp_path / "a.wav").exists()


def test_a_latency_run_the_store_refuses_stores_nothing(tmp_path, capsys):
    from tony.core.store import Store

    store = str(tmp_path / "store")
    for argv in (["--pipeline", "ftp://somewhere"], ["--n", "0"]):
        assert main(["voice", "latency", "--store", store, *argv]) == 2
        err = capsys.readouterr().err.strip()
        assert err.startswith("tony: error: ") and "\n" not in err, argv
    assert not (tmp_path / "store").exists() or Store(store).runs() == []
