"""The speech channel for any text scenario: the prompt is spoken, heard through a channel, transcribed, and the
model answers what was heard; everything else (instructions, answer options) stays text, as the GPT-4o card did.

It is a perturbation of family "speech" (registered as `speech`), so a run evaluates every instance as text and
as speech in one go, and the LM stats pipeline reports each metric per voice and condition
(`accuracy@speech:en-gb/10dB-white`) beside the text value on the same instances. A run entry says
`channel=speech` with `voice=` (one or a `+` list), `speed=`, `noise_snr=`, `noise=white|babble` and
`telephone=true`; `channel_perturbations` turns those keys into one `speech` perturbation per voice and
condition (clean, and noisy and/or telephone where asked).

The model behind a text run is a text model, so it hears through Whisper base (the cascade's recognizer): what
it is asked is the transcript, and the word error rate of that transcript against the written prompt is kept in
the instance (`extra["speech"]`) and summarized per variant by `speech_stats` (the channel's own stats, which the
LM stats pipeline asks every perturbation for). Transcripts are cached on disk (keyed by text, voice, condition,
seed and the recognizer's weights), so a resumed run does not transcribe again.
"""

from __future__ import annotations

import dataclasses
import json
import os
from collections import defaultdict
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from tony.core.errors import SpecError
from tony.core.files import cache_dir
from tony.core.spec import content_key
from tony.core.stats import Stat
from tony.lm.perturbations.base import Perturbation
from tony.lm.suite import CHANNEL_KEYS
from tony.lm.types import Instance
from tony.voice.wer import WordErrors, wer_stat, word_errors

SPEECH = "speech"
"""The perturbation family (and name) of the speech channel."""
WER_METRIC = "word_error_rate"


class SpeechChannel(Perturbation):
    """The instance's input spoken by `voice`, through the channel, transcribed by Whisper base."""

    name: ClassVar[str] = SPEECH
    family: ClassVar[str] = SPEECH

    voice: str = "en-us"
    """The espeak-ng voice speaking the prompt."""
    speed: int = Field(175, ge=80, le=450)
    """Words per minute."""
    noise_snr: float | None = None
    """Noise added at this signal-to-noise ratio, dB (None: clean)."""
    noise: Literal["white", "babble"] = "white"
    """The kind of noise."""
    telephone: bool = False
    """Band-pass 300-3400 Hz and 8 kHz sampling, as a phone line carries speech."""

    @property
    def label(self) -> str:
        parts = [self.voice] + ([f"{self.speed}wpm"] if self.speed != 175 else [])
        parts += [f"{self.noise_snr:g}dB-{self.noise}"] if self.noise_snr is not None else []
        parts += ["telephone"] if self.telephone else []
        return "/".join(parts)

    @classmethod
    def own_stats(cls, instances: list[Instance], *, seed: int = 0) -> list[Stat]:
        return speech_stats(instances, seed=seed)

    def check_ready(self) -> None:
        from tony.voice.stt import model_dir
        from tony.voice.tts import check_voice

        check_voice(self.voice)
        model_dir()

    def spoken(self, text: str, instance_id: str) -> np.ndarray:
        """The prompt as the model's microphone hears it."""
        from tony.voice.audio import add_noise, telephone
        from tony.voice.tts import synthesize

        samples = synthesize(text, self.voice, self.speed)
        if self.noise_snr is not None:
            samples = add_noise(samples, self.noise_snr, self.noise, seed=int(self.rng(instance_id).integers(2**31)))
        return telephone(samples) if self.telephone else samples

    def apply(self, instance: Instance) -> Instance:
        heard = self.transcript(instance.input, instance.id)
        errors = word_errors(instance.input, heard)
        speech = {"label": self.label, "spoken": instance.input, "heard": heard, "errors": errors.errors,
                  "words": errors.words}
        return dataclasses.replace(instance, input=heard, extra={**instance.extra, SPEECH: speech})

    def transcript(self, text: str, instance_id: str) -> str:
        from tony.voice.stt import transcriber

        recognizer = transcriber()
        key = content_key({"text": text, "id": instance_id, "channel": self.model_dump(mode="json"),
                           "recognizer": recognizer.identity})
        path = cache_dir() / "voice-transcripts" / key[:2] / f"{key}.json"
        if path.exists():
            return str(json.loads(path.read_text())["heard"])
        heard = recognizer.transcribe(self.spoken(text, instance_id)).text
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"heard": heard}))
        tmp.replace(path)
        return heard


def _split(value: Any) -> list[str]:
    return [v for v in (value if isinstance(value, list) else str(value).split("+")) if str(v).strip()]


def channel_perturbations(fields: dict[str, Any]) -> list[dict[str, Any]]:
    """The `speech` perturbations a run entry's channel keys ask for (removing those keys from `fields`): one per
    voice clean, and one per voice with the noise and/or telephone line where asked. [] without channel=speech."""
    keys = {k: fields.pop(k) for k in sorted(CHANNEL_KEYS) if k in fields}
    channel = keys.pop("channel", "text")
    if channel == "text":
        if keys:
            raise SpecError(f"{', '.join(keys)} need channel=speech; add it or drop them")
        return []
    if channel != SPEECH:
        raise SpecError(f"channel={channel} is not one of text, speech")
    voices = _split(keys.pop("voice", "en-us"))
    base = {"name": SPEECH, **({"speed": int(keys.pop("speed"))} if "speed" in keys else {})}
    condition: dict[str, Any] = {}
    if "noise_snr" in keys:
        condition["noise_snr"] = float(keys.pop("noise_snr"))
        condition["noise"] = keys.pop("noise", "white")
    if str(keys.pop("telephone", "false")).lower() in ("true", "1", "yes"):
        condition["telephone"] = True
    if keys:
        raise SpecError(f"{', '.join(keys)} needs noise_snr=; add it or drop it")
    entries = [{**base, "voice": v} for v in voices]
    return entries + ([{**base, "voice": v, **condition} for v in voices] if condition else [])


def speech_stats(instances: list[Instance], *, seed: int = 0) -> list[Stat]:
    """The word error rate of the heard prompts per speech variant (`word_error_rate@speech:LABEL`), from the
    perturbed instances' `extra["speech"]`."""
    by_label: dict[str, list[WordErrors]] = defaultdict(list)
    for instance in instances:
        speech = instance.extra.get(SPEECH)
        if isinstance(speech, dict):
            by_label[speech["label"]].append(WordErrors(speech["errors"], speech["words"]))
    out = []
    for label, errors in sorted(by_label.items()):
        stat = wer_stat(WER_METRIC, errors, seed=seed)
        out.append(dataclasses.replace(stat, name=f"{WER_METRIC}@{SPEECH}:{label}", metric=WER_METRIC,
                                       family=SPEECH, variant=label))
    return out
