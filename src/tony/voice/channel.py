"""The speech channel for any text scenario: the prompt is spoken, heard through a channel, and put to the model
as audio (a native audio model) or as Whisper's transcript of it (a text model); the instructions stay text, as
the GPT-4o card did. On a multiple-choice instance asked with lettered options the options are read out too.

It is a perturbation of family "speech" (registered as `speech`), so a run evaluates every instance as text and
as speech in one go, and the LM stats pipeline reports each metric per voice and condition
(`accuracy@speech:en-gb/10dB-white`) beside the text value on the same instances. A run entry says
`channel=speech` with `voice=` (one or a `+` list), `speed=`, `noise_snr=`, `noise=white|babble` and
`telephone=true`; `channel_perturbations` turns those keys into one `speech` perturbation per voice and
condition (clean, and noisy and/or telephone where asked).

- `sent_as="text"` (a text model): the model hears through Whisper base (the cascade's recognizer): what it is
  asked is the transcript, and the word error rate of that transcript against the spoken text is kept in the
  instance (`extra["speech"]`) and summarized per variant by `speech_stats` (the channel's own stats, which the
  LM stats pipeline asks every perturbation for). Transcripts are cached on disk (keyed by text, voice,
  condition, seed and the recognizer's weights), so a resumed run does not transcribe again.
- `sent_as="audio"` (a model that hears, `model=openai_audio`): the spoken prompt is kept as a content-hashed WAV
  file and the input becomes its marker (tony.voice.spoken), which the `openai_audio` client sends as an
  `input_audio` part. Nothing is transcribed, so these variants have no word error rate.
- `read_options=true`: the options are read out after the question ("..., A: Paris, B: London."), in a seeded
  order kept in `extra["options_read_out"]`, the order the joint adapter then shows and scores them in.
"""

from __future__ import annotations

import dataclasses
import json
import os
import zlib
from collections import defaultdict
from typing import TYPE_CHECKING, Any, ClassVar, Literal

import numpy as np
from pydantic import Field

from tony.core.errors import SpecError
from tony.core.files import cache_dir
from tony.core.spec import content_key
from tony.core.stats import Stat
from tony.lm.perturbations.base import Perturbation
from tony.lm.suite import CHANNEL_KEYS
from tony.lm.types import Instance
from tony.voice.options import is_multiple_choice, read_out
from tony.voice.wer import WordErrors, wer_stat, word_errors

if TYPE_CHECKING:
    from tony.core.store import Store

SPEECH = "speech"
"""The perturbation family (and name) of the speech channel."""
WER_METRIC = "word_error_rate"
OPTIONS_READ_OUT = "options_read_out"
"""The instance's `extra` key holding its options in the order they were read out."""
JOINT_METHOD = "multiple_choice_joint"
"""The adapter that letters the options: only its questions get them read out."""


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
    sent_as: Literal["text", "audio"] = "text"
    """How the model gets the spoken prompt: Whisper's transcript (a text model) or the audio (an audio model)."""
    read_options: bool = False
    """Read a multiple-choice instance's options out after its question, lettered A, B, ... in a seeded order."""

    @property
    def label(self) -> str:
        parts = [self.voice] + ([f"{self.speed}wpm"] if self.speed != 175 else [])
        parts += [f"{self.noise_snr:g}dB-{self.noise}"] if self.noise_snr is not None else []
        parts += ["telephone"] if self.telephone else []
        return "/".join(parts)

    @classmethod
    def own_stats(cls, instances: list[Instance], *, seed: int = 0) -> list[Stat]:
        return speech_stats(instances, seed=seed)

    @classmethod
    def keep_artifacts(cls, records: list[dict[str, Any]], store: Store, run_id: str) -> None:
        from tony.voice.artifacts import keep_spoken_audio

        keep_spoken_audio(store, run_id, records)

    def check_ready(self) -> None:
        from tony.voice.stt import model_dir
        from tony.voice.tts import check_voice

        check_voice(self.voice)
        if self.sent_as == "text":
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
        text, extra = instance.input, dict(instance.extra)
        if self.read_options and is_multiple_choice(instance):
            options = [r.output for r in instance.references]
            order = np.random.default_rng([self.seed, zlib.crc32(f"{instance.id}#options".encode())]).permutation(
                len(options))
            extra[OPTIONS_READ_OUT] = [options[i] for i in order]
            text = read_out(instance.input, extra[OPTIONS_READ_OUT])
        speech: dict[str, Any] = {"label": self.label, "spoken": text}
        if self.sent_as == "audio":
            from tony.voice.spoken import marker, store_audio

            speech["audio"] = store_audio(self.spoken(text, instance.id))
            heard = marker(speech["audio"])
        else:
            heard, audio = self.transcript(text, instance.id)
            errors = word_errors(text, heard)
            speech |= {"heard": heard, "errors": errors.errors, "words": errors.words}
            speech |= {"audio": audio} if audio else {}
        return dataclasses.replace(instance, input=heard, extra={**extra, SPEECH: speech})

    def transcript(self, text: str, instance_id: str) -> tuple[str, str]:
        """(what Whisper heard of `text` spoken, the SHA-256 of the spoken audio kept in tony.voice.spoken; "" in
        a transcript cached before audio was kept)."""
        from tony.voice.spoken import store_audio
        from tony.voice.stt import transcriber

        recognizer = transcriber()
        key = content_key({"text": text, "id": instance_id, "channel": self.model_dump(mode="json", exclude={
            "sent_as", "read_options"}), "recognizer": recognizer.identity})
        path = cache_dir() / "voice-transcripts" / key[:2] / f"{key}.json"
        if path.exists():
            cached = json.loads(path.read_text())
            return str(cached["heard"]), str(cached.get("audio", ""))
        samples = self.spoken(text, instance_id)
        heard, audio = recognizer.transcribe(samples).text, store_audio(samples)
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps({"heard": heard, "audio": audio}))
        tmp.replace(path)
        return heard, audio


def _split(value: Any) -> list[str]:
    return [v for v in (value if isinstance(value, list) else str(value).split("+")) if str(v).strip()]


def channel_perturbations(fields: dict[str, Any], *, hears_audio: bool = False, method: str | None = None,
                          ) -> list[dict[str, Any]]:
    """The `speech` perturbations a run entry's channel keys ask for (removing those keys from `fields`): one per
    voice clean, and one per voice with the noise and/or telephone line where asked. [] without channel=speech.
    `hears_audio`: the run's model takes audio (sent as audio, not transcribed); `method`: the run's adapter (the
    joint multiple-choice adapter gets the options read out)."""
    keys = {k: fields.pop(k) for k in sorted(CHANNEL_KEYS) if k in fields}
    channel = keys.pop("channel", "text")
    if channel == "text":
        if keys:
            raise SpecError(f"{', '.join(keys)} need channel=speech; add it or drop them")
        return []
    if channel != SPEECH:
        raise SpecError(f"channel={channel} is not one of text, speech")
    voices = _split(keys.pop("voice", "en-us"))
    base = {"name": SPEECH, **({"speed": int(keys.pop("speed"))} if "speed" in keys else {}),
            **({"sent_as": "audio"} if hears_audio else {}), **({"read_options": True} if method == JOINT_METHOD
                                                                 else {})}
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
        if isinstance(speech, dict) and "errors" in speech:  # audio sent as audio was not transcribed
            by_label[speech["label"]].append(WordErrors(speech["errors"], speech["words"]))
    out = []
    for label, errors in sorted(by_label.items()):
        stat = wer_stat(WER_METRIC, errors, seed=seed)
        out.append(dataclasses.replace(stat, name=f"{WER_METRIC}@{SPEECH}:{label}", metric=WER_METRIC,
                                       family=SPEECH, variant=label))
    return out
