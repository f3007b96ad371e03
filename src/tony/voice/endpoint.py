"""End-of-speech detection: decides, frame by frame as audio arrives, that the user has stopped talking.

An energy detector: a 20 ms frame is speech when its level is `margin_db` above the quietest frame heard so far
(the noise floor) and above an absolute floor; speech has ended once at least `min_speech_ms` of it was heard
and `hangover_ms` of non-speech follows. The hangover is the price of not cutting a speaker off at a pause
between words: it is time that must pass after the last word, so it is part of every answer's latency.
espeak-ng pauses about 180 ms at a comma and 340 ms between sentences, so the default 200 ms waits out a comma
but ends a two-sentence question after its first sentence (the latency questions are one sentence each);
`hangover_ms=400` hears both sentences at 0.2 s more latency.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from tony.voice.audio import SAMPLE_RATE

FRAME_MS = 20
"""Frame length the detector decides on."""


def frame_levels(samples: np.ndarray, frame_ms: int = FRAME_MS) -> np.ndarray:
    """Level (dB full scale, mean square) of each whole frame."""
    size = SAMPLE_RATE * frame_ms // 1000
    frames = samples[: len(samples) // size * size].reshape(-1, size).astype(np.float64)
    return 10.0 * np.log10(np.mean(frames**2, axis=1) + 1e-12)


def speech_end(samples: np.ndarray, below_peak_db: float = 35.0) -> float:
    """When speech ends in a clean clip, seconds: the end of the last frame within `below_peak_db` of the loudest
    (the reference that detection latency is measured from)."""
    levels = frame_levels(samples)
    if not len(levels):
        return 0.0
    loud = np.flatnonzero(levels >= levels.max() - below_peak_db)
    return float((loud[-1] + 1) * FRAME_MS / 1000)


@dataclass
class EndOfSpeech:
    """A streaming end-of-speech detector (see the module docstring); `feed` it frames in order."""

    hangover_ms: int = 200
    """Non-speech that must follow speech before it counts as ended."""
    margin_db: float = 12.0
    """How far above the noise floor a frame must be to be speech."""
    min_speech_ms: int = 100
    """Speech that must have been heard before any end is declared (a click is not a question)."""
    absolute_floor_db: float = -55.0
    """Frames quieter than this are never speech."""

    def __post_init__(self) -> None:
        self.floor = np.inf
        self.speech_ms = 0
        self.quiet_ms = 0
        self.frames = 0

    def feed(self, frame: np.ndarray) -> bool:
        """Take one FRAME_MS frame; True once speech has ended (and from then on)."""
        level = float(10.0 * np.log10(np.mean(np.square(frame, dtype=np.float64)) + 1e-12))
        self.frames += 1
        self.floor = min(self.floor, level)
        if level > max(self.floor + self.margin_db, self.absolute_floor_db):
            self.speech_ms += FRAME_MS
            self.quiet_ms = 0
        elif self.speech_ms:
            self.quiet_ms += FRAME_MS
        return self.ended

    @property
    def ended(self) -> bool:
        return self.speech_ms >= self.min_speech_ms and self.quiet_ms >= self.hangover_ms

    @property
    def heard_s(self) -> float:
        """Audio consumed so far, seconds."""
        return self.frames * FRAME_MS / 1000


def detect_end(samples: np.ndarray, detector: EndOfSpeech | None = None) -> float | None:
    """Seconds into `samples` at which the detector declares the end of speech (None if it never does)."""
    detector = detector or EndOfSpeech()
    size = SAMPLE_RATE * FRAME_MS // 1000
    for start in range(0, len(samples) - size + 1, size):
        if detector.feed(samples[start : start + size]):
            return detector.heard_s
    return None
