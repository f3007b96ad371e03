"""Speech synthesis, channel conditions, WAV reading, word error rate, clauses and the end-of-speech detector:
no recognizer or language model is loaded here."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import DataError, UnknownComponentError
from tony.voice.audio import SAMPLE_RATE, add_noise, from_pcm16, pcm16, read_wav, snr_db, telephone, wav_bytes
from tony.voice.cascade import ClauseSplitter
from tony.voice.endpoint import FRAME_MS, EndOfSpeech, detect_end, speech_end
from tony.voice.tts import STANDARD_VOICES, check_voice, synthesize
from tony.voice.wer import WordErrors, wer_stat, word_errors

SENTENCE = "The quick brown fox jumps over the lazy dog."


def test_every_standard_voice_speaks_at_16_khz():
    for voice in STANDARD_VOICES:
        samples = synthesize(SENTENCE, voice)
        assert samples.dtype == np.float32 and 1.5 < len(samples) / SAMPLE_RATE < 5.0
        assert 0.05 < np.abs(samples).max() <= 1.0


def test_slower_speech_is_longer_in_proportion():
    fast, slow = synthesize(SENTENCE, speed=300), synthesize(SENTENCE, speed=150)
    assert 1.5 < len(slow) / len(fast) < 2.5  # half the words per minute: about twice as long


def test_unknown_voice_and_variant_are_one_line_errors():
    with pytest.raises(UnknownComponentError, match="unknown voice 'xx-nowhere'"):
        synthesize("hello", "xx-nowhere")
    with pytest.raises(UnknownComponentError, match="variant 'nosuch'"):
        check_voice("en-us+nosuch")
    assert check_voice("en-us+f3") == "en-us+f3"


@pytest.mark.parametrize("kind", ["white", "babble"])
@pytest.mark.parametrize("snr", [0.0, 10.0, 20.0])
def test_noise_is_added_at_the_snr_asked_measured_back_after_16_bit_storage(kind, snr):
    clean = synthesize(SENTENCE)
    noisy = from_pcm16(pcm16(add_noise(clean, snr, kind, seed=3)))
    assert snr_db(clean, noisy - clean) == pytest.approx(snr, abs=0.1)
    assert np.array_equal(add_noise(clean, snr, kind, seed=3), add_noise(clean, snr, kind, seed=3))


def test_noise_on_silence_is_refused():
    with pytest.raises(DataError, match="silent clip"):
        add_noise(np.zeros(1600, dtype=np.float32), 10.0)


def test_telephone_keeps_the_length_and_removes_what_is_above_the_band():
    rng = np.random.default_rng(0)
    wide = (0.3 * rng.standard_normal(SAMPLE_RATE)).astype(np.float32)
    narrow = telephone(wide)
    assert abs(len(narrow) - len(wide)) <= 2
    spectrum = np.abs(np.fft.rfft(narrow[: SAMPLE_RATE])) ** 2
    freqs = np.fft.rfftfreq(SAMPLE_RATE, 1 / SAMPLE_RATE)
    in_band = spectrum[(freqs > 500) & (freqs < 3000)].mean()
    assert spectrum[freqs > 4500].mean() < 1e-3 * in_band  # nothing above 4 kHz survives 8 kHz sampling
    assert spectrum[freqs < 100].mean() < 0.1 * in_band  # the low end is cut by the band-pass


def test_wav_round_trip_and_conversion_of_other_rates():
    clean = synthesize("hello there")
    assert np.abs(read_wav(wav_bytes(clean)) - clean).max() < 1 / 16000
    at_22k = wav_bytes(clean[::2], rate=8000)  # 8 kHz in: converted to 16 kHz by sox
    assert abs(len(read_wav(at_22k)) - 2 * len(clean[::2])) <= 4


def test_unreadable_wav_is_a_one_line_data_error(tmp_path):
    bad = tmp_path / "bad.wav"
    bad.write_bytes(b"RIFF not really")
    with pytest.raises(DataError, match="cannot read .*bad.wav as a WAV file"):
        read_wav(bad)
    with pytest.raises(DataError, match="cannot read"):
        read_wav(tmp_path / "missing.wav")


def test_word_errors_hand_counted():
    assert word_errors("the cat sat on the mat", "the cat sat on the mat") == WordErrors(0, 6)
    assert word_errors("the cat sat on the mat", "a cat sat on mat") == WordErrors(2, 6)  # 1 sub, 1 del
    assert word_errors("It's well-known.", "it is well known") == WordErrors(0, 4)  # normalized alike
    assert word_errors("one two", "") == WordErrors(2, 2)
    stat = wer_stat("word_error_rate", [WordErrors(1, 4), WordErrors(3, 6)])
    assert stat.value == pytest.approx(0.4) and stat.n == 2 and stat.ci_low <= 0.4 <= stat.ci_high


def test_clauses_split_at_punctuation_followed_by_space_and_at_the_word_cap():
    splitter = ClauseSplitter(max_words=4)
    out = []
    for piece in ["Pi", " is", " 3.14", ",", " roughly", ".", " One two three four five six"]:
        out += splitter.feed(piece)
    assert out == ["Pi is 3.14,", "roughly.", "One two three four"]
    assert splitter.flush() == "five six"


def tone(seconds: float, level: float = 0.3) -> np.ndarray:
    t = np.arange(int(seconds * SAMPLE_RATE)) / SAMPLE_RATE
    return (level * np.sin(2 * np.pi * 220 * t)).astype(np.float32)


def test_end_of_speech_is_declared_one_hangover_after_the_speech():
    silence = np.zeros(int(0.5 * SAMPLE_RATE), dtype=np.float32)
    clip = np.concatenate([silence, tone(1.0), silence, silence])
    assert speech_end(clip) == pytest.approx(1.5)
    # 1.5 s of speech and silence heard, then 200 ms of quiet frames
    assert detect_end(clip, EndOfSpeech(hangover_ms=200)) == pytest.approx(1.5 + 0.2)
    # a pause shorter than the hangover is not the end
    paused = np.concatenate([silence, tone(0.5), silence[: SAMPLE_RATE // 10], tone(0.5), silence, silence])
    assert detect_end(paused, EndOfSpeech(hangover_ms=200)) == pytest.approx(0.5 + 0.5 + 0.1 + 0.5 + 0.2)
    assert detect_end(np.concatenate([silence, tone(FRAME_MS / 1000), silence])) is None  # a click is not speech
