"""`tony voice latency --store`: a latency measurement kept in the results store as a run (kind "voice_latency"),
so the site's voice page can show it.

Its items are the questions ("q000", ...), each record one `Measurement`; its stats are `latency_min_s`,
`latency_mean_s`, `latency_p50_s` and `latency_p95_s` of the total (no subgroup) and of each stage (subgroup
"stage=NAME"), with the bootstrap intervals of `tony.voice.latency.summaries`. A latency depends on the machine
and its load, which the spec does not hold: `label` tells two measurements of the same pipeline apart (a run
already complete in the store is not measured again).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import asdict, fields
from typing import Any

from pydantic import Field, field_validator

from tony.core.spec import RunnableSpec
from tony.core.stats import Stat
from tony.core.store import Store
from tony.voice.latency import Measurement, measurer, questions, summaries
from tony.voice.tts import DEFAULT_SPEED, DEFAULT_VOICE

KIND = "voice_latency"
TOTAL = "total"
STAGE = "stage="
"""The subgroup prefix of a stage's stats (the total has none)."""


def metric_name(statistic: str) -> str:
    """The registered metric of one summary statistic (min, mean, p50, p95)."""
    return f"latency_{statistic}_s"


class VoiceLatencySpec(RunnableSpec):
    """End of speech to first audio byte over `n` spoken questions, through a pipeline."""

    pipeline: str = "cascade"
    """cascade, or an OpenAI-compatible audio endpoint's base URL."""
    model: str = "smollm2-135m-instruct"
    """The cascade's text model, or the model name an endpoint serves."""
    model_args: dict[str, Any] = {}
    """The cascade's text model arguments."""
    n: int = Field(10, ge=1)
    """Spoken questions timed."""
    voice: str = DEFAULT_VOICE
    """The espeak-ng voice asking."""
    speed: int = DEFAULT_SPEED
    """Words per minute of the question."""
    seed: int = Field(0, ge=0)
    """Seeds the bootstrap intervals."""
    label: str = ""
    """Tells measurements apart that the spec would otherwise share (another machine, another load)."""

    @field_validator("pipeline")
    @classmethod
    def _known_pipeline(cls, pipeline: str) -> str:
        if pipeline != "cascade" and not pipeline.startswith(("http://", "https://")):
            raise ValueError(f"{pipeline!r} is not cascade or an endpoint's base URL (http://.../v1)")
        return pipeline

    def task(self, store: Store) -> LatencyTask:
        return LatencyTask(self)


class LatencyTask:
    """The runner's view of a `VoiceLatencySpec`: the pipeline is loaded (and warmed) on the first batch."""

    kind = KIND

    def __init__(self, spec: VoiceLatencySpec) -> None:
        self.spec = spec
        self._one: Callable[[str], Measurement] | None = None

    def labels(self) -> dict[str, Any]:
        return {"scenario": "voice latency", "model": self.spec.model, "method": self.spec.pipeline,
                "voice": self.spec.voice, **({"label": self.spec.label} if self.spec.label else {})}

    def items(self) -> list[str]:
        return [f"q{i:03d}" for i in range(self.spec.n)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        if self._one is None:
            self._one = measurer(self.spec.pipeline, model=self.spec.model, voice=self.spec.voice,
                                 speed=self.spec.speed, model_args=self.spec.model_args)
        asked = questions(self.spec.n)
        return [(item, asdict(self._one(asked[int(item[1:])]))) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return latency_stats(measurements(records), seed=self.spec.seed)

    def close(self) -> None:
        """The pipeline's models stay in the process's pool."""


def measurements(records: list[dict[str, Any]]) -> list[Measurement]:
    """The measurements of a latency run's records (in question order; the store's own keys left aside)."""
    names = [f.name for f in fields(Measurement)]
    return [Measurement(**{k: r[k] for k in names}) for r in sorted(records, key=lambda r: r.get("item_id", ""))]


def latency_stats(measurements: list[Measurement], *, seed: int = 0) -> list[Stat]:
    """The summaries as stats: `latency_<statistic>_s`, subgroup "stage=NAME" for a stage, none for the total."""
    return [Stat(metric_name(s.statistic), s.value, s.ci_low, s.ci_high, s.n,
                 subgroup="" if s.stage == TOTAL else f"{STAGE}{s.stage}") for s in summaries(measurements, seed)]
