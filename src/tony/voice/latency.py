"""Response latency: from the end of the user's speech to the first byte of the spoken answer, and where it goes.

Each of N spoken questions (espeak-ng, followed by a second of silence) is heard by the end-of-speech detector
frame by frame; the time it waits after the speech really ended (`endpoint`: audio time, the hangover) starts
the clock. Then, for the `cascade` pipeline, each stage is the time between two events of `Cascade.respond`:
`transcribe` (Whisper), `first_token` (the text model's first piece), `first_clause` (the rest of the first
clause), `synthesis` (espeak-ng speaking that clause). They add up to the total by construction, and the total
is measured on its own (from the detector's decision to the first audio chunk) to check it. For an endpoint
(`URL`), the stages are `endpoint` and `first_audio`: from sending the request to the first audio delta.

Every figure is given as min / mean / p50 / p95 over the questions with a bootstrap interval (resampling
questions). The GPT-4o system card's figures are quoted beside them as reference rows, not measured here.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any

import numpy as np

from tony.core.errors import ModelError, SpecError
from tony.core.progress import progress_bar
from tony.core.stats import bootstrap
from tony.voice.audio import SAMPLE_RATE
from tony.voice.endpoint import EndOfSpeech, detect_end, speech_end
from tony.voice.tts import DEFAULT_SPEED, DEFAULT_VOICE, synthesize

if TYPE_CHECKING:
    from tony.voice.cascade import Cascade
    from tony.voice.client import OpenAIAudioClient

CASCADE_STAGES = ("endpoint", "transcribe", "first_token", "first_clause", "synthesis")
URL_STAGES = ("endpoint", "first_audio")
SUMMARIES = ("min", "mean", "p50", "p95")
TRAILING_SILENCE_S = 1.0
"""Silence after each question, in which the detector must find the end."""

CARD_REFERENCE: tuple[tuple[str, float], ...] = (
    ("GPT-4o, audio in and out: mean", 0.320),
    ("GPT-4o, audio in and out: fastest", 0.232),
    ("Voice Mode, GPT-3.5 pipeline: mean", 2.8),
    ("Voice Mode, GPT-4 pipeline: mean", 5.4),
)
"""Quoted from the GPT-4o system card (OpenAI, 2024), seconds; not measured by tony."""

QUESTIONS = (
    "What is the capital of France?",
    "How many legs does a spider have?",
    "Why is the sky blue?",
    "Which planet is closest to the sun?",
    "Who wrote Romeo and Juliet?",
    "What is the boiling point of water?",
    "How do I say thank you in Spanish?",
    "What is the largest ocean on Earth?",
    "How many days are there in a leap year?",
    "What do bees make?",
    "Can you name a primary color?",
    "What is two plus two?",
    "Where do penguins live?",
    "What is the opposite of hot?",
    "How many minutes are in an hour?",
    "What gas do plants take in?",
    "Which animal is known as the king of the jungle?",
    "What is the tallest mountain in the world?",
    "What language is spoken in Brazil?",
    "How many continents are there?",
    "What color is a ripe banana?",
    "What do you call a baby cat?",
    "What is the freezing point of water?",
    "Who painted the Mona Lisa?",
    "What is the main ingredient of guacamole?",
    "How many sides does a triangle have?",
    "What is the fastest land animal?",
    "Which month comes after June?",
    "What is the chemical symbol for gold?",
    "What instrument has eighty eight keys?",
)
"""Short spoken questions, written for tony (one sentence each, so no pause inside is taken for the end)."""


@dataclass(frozen=True)
class Measurement:
    """One question's way through a pipeline."""

    question: str
    """What was spoken."""
    transcript: str
    """What the pipeline heard ("" where an endpoint does not say)."""
    answer: str
    """The first clause spoken (cascade) or the answer's transcript (endpoint)."""
    stages: dict[str, float]
    """Seconds per stage, in pipeline order."""
    total_s: float
    """End of speech to the first audio byte, measured on its own clock (stages add up to it)."""


def heard_clip(question: str, voice: str, speed: int) -> tuple[np.ndarray, float]:
    """(the audio up to the moment the detector declares the end, seconds it waited after the speech ended)."""
    speech = synthesize(question, voice, speed)
    clip = np.concatenate([speech, np.zeros(int(TRAILING_SILENCE_S * SAMPLE_RATE), dtype=np.float32)])
    detected = detect_end(clip, EndOfSpeech())
    if detected is None:
        raise ModelError(f"the end-of-speech detector never fired on {question!r}; check the audio level")
    return clip[: int(detected * SAMPLE_RATE)], max(detected - speech_end(clip), 0.0)


def measure_cascade(cascade: Cascade, question: str) -> Measurement:
    heard, waited = heard_clip(question, cascade.voice, cascade.speed)
    start = time.perf_counter()
    transcript = first_text = first_audio = None
    answer = []
    for event in cascade.respond(heard):
        if event.kind == "transcript":
            transcript = event
        elif event.kind == "text" and first_text is None:
            first_text = event
        elif event.kind == "audio":
            first_audio = first_audio or event
            answer.append(event.text)
    if transcript is None or first_text is None or first_audio is None:
        raise ModelError(f"the cascade gave no spoken answer to {question!r} (heard: "
                         f"{transcript.text if transcript else ''!r}); try another model or question")
    stages = {
        "endpoint": waited,
        "transcribe": transcript.at - start,
        "first_token": first_text.at - transcript.at,
        "first_clause": first_audio.began - first_text.at,
        "synthesis": first_audio.at - first_audio.began,
    }
    return Measurement(question, transcript.text, " ".join(answer), stages, waited + first_audio.at - start)


def measure_url(client: OpenAIAudioClient, question: str, voice: str, speed: int) -> Measurement:
    heard, waited = heard_clip(question, voice, speed)
    reply = client.respond(heard)
    first = reply.first_audio_s
    if first is None:
        raise ModelError(f"{client.base_url} sent no audio for {question!r}; is it an audio model?")
    return Measurement(question, "", reply.transcript, {"endpoint": waited, "first_audio": first}, waited + first)


@dataclass(frozen=True)
class Summary:
    """One statistic of one stage over the questions, with its bootstrap interval."""

    stage: str
    statistic: str
    value: float
    ci_low: float
    ci_high: float
    n: int


_STATISTICS = {
    "min": lambda s: s.min(axis=-1),
    "mean": lambda s: s.mean(axis=-1),
    "p50": lambda s: np.quantile(s, 0.5, axis=-1),
    "p95": lambda s: np.quantile(s, 0.95, axis=-1),
}


def summaries(measurements: Sequence[Measurement], seed: int = 0) -> list[Summary]:
    """min / mean / p50 / p95 of the total and of each stage, each with a 95% bootstrap interval."""
    if not measurements:
        raise SpecError("no measurements to summarize; ask for --n 1 or more")
    columns = {"total": [m.total_s for m in measurements]}
    for stage in measurements[0].stages:
        columns[stage] = [m.stages[stage] for m in measurements]
    out = []
    for stage, values in columns.items():
        data = np.asarray(values, dtype=float)
        for name, statistic in _STATISTICS.items():
            interval = bootstrap(data, statistic, seed=seed)
            out.append(Summary(stage, name, float(statistic(data)), float(interval.low), float(interval.high),
                               len(data)))
    return out


@dataclass(frozen=True)
class LatencyReport:
    pipeline: str
    model: str
    voice: str
    measurements: list[Measurement]
    summaries: list[Summary]

    def to_json(self) -> dict[str, Any]:
        return {"pipeline": self.pipeline, "model": self.model, "voice": self.voice,
                "summaries": [asdict(s) for s in self.summaries],
                "card_reference": [{"label": label, "seconds": seconds, "source": "quoted from the GPT-4o system card"}
                                   for label, seconds in CARD_REFERENCE],
                "measurements": [asdict(m) for m in self.measurements]}


def measurer(pipeline: str, *, model: str, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED,
             model_args: dict[str, Any] | None = None) -> Callable[[str], Measurement]:
    """A function timing one question through `pipeline` ("cascade" with the text model `model`, or an endpoint's
    base URL serving `model`), everything loaded and one unmeasured question asked first."""
    if pipeline == "cascade":
        from tony.voice.cascade import Cascade

        cascade = Cascade(model, model_args, voice=voice, speed=speed)
        cascade.warm_up()
        measure_cascade(cascade, QUESTIONS[-1])
        return lambda question: measure_cascade(cascade, question)
    if pipeline.startswith(("http://", "https://")):
        from tony.voice.client import OpenAIAudioClient

        client = OpenAIAudioClient(pipeline, model)
        measure_url(client, QUESTIONS[-1], voice, speed)
        return lambda question: measure_url(client, question, voice, speed)
    raise SpecError(f"unknown pipeline {pipeline!r}: give cascade or an endpoint's base URL (http://.../v1)")


def measure(pipeline: str, *, model: str, n: int, voice: str = DEFAULT_VOICE, speed: int = DEFAULT_SPEED,
            model_args: dict[str, Any] | None = None, seed: int = 0) -> LatencyReport:
    """Latency of `pipeline` (see `measurer`) over the first `n` questions (cycled)."""
    if n < 1:
        raise SpecError(f"--n must be at least 1, not {n}")
    one = measurer(pipeline, model=model, voice=voice, speed=speed, model_args=model_args)
    results = []
    with progress_bar(n, f"latency {pipeline} {model}", unit="question") as bar:
        for question in questions(n):
            results.append(one(question))
            bar.update(1)
    return LatencyReport(pipeline, model, voice, results, summaries(results, seed))


def questions(n: int) -> list[str]:
    """The first `n` questions, cycled."""
    return [QUESTIONS[i % len(QUESTIONS)] for i in range(n)]


def format_table(report: LatencyReport) -> str:
    """The summaries as a text table, then the card's reference rows."""
    lines = [f"latency of {report.pipeline} ({report.model}, voice {report.voice}), seconds, "
             f"n={report.summaries[0].n}, 95% bootstrap intervals",
             f"{'stage':<14}" + "".join(f"{s:>22}" for s in SUMMARIES)]
    by_stage: dict[str, dict[str, Summary]] = {}
    for s in report.summaries:
        by_stage.setdefault(s.stage, {})[s.statistic] = s
    for stage, row in by_stage.items():
        cells = "".join(f"{f'{row[k].value:.3f} [{row[k].ci_low:.3f}, {row[k].ci_high:.3f}]':>22}" for k in SUMMARIES)
        lines.append(f"{stage:<14}{cells}")
    lines.append("reference, quoted from the GPT-4o system card (not measured here):")
    lines += [f"  {label:<40}{seconds:.3f}" for label, seconds in CARD_REFERENCE]
    return "\n".join(lines)
