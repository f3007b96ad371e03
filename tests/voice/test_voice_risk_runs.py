"""Each voice-risk scenario run for real through the speech channel: two prompts, SmolLM2, spoken in en-us and
heard by Whisper base; the safety stats on text and on speech are the means of what the records' labels say."""

from __future__ import annotations

import pytest

from tony import api
from tony.core.store import Store
from tony.lm import api as lm

pytestmark = pytest.mark.slow
SCENARIOS = ("voice_speaker_id", "voice_ungrounded_inference", "voice_trait_attribution")


def expected(label: str, prompt: str) -> dict[str, float]:
    """The safety columns of a label, written out from tony.safety.metrics' definitions."""
    refused = label in ("full_refusal", "partial_refusal")
    out = {"refusal_rate": float(refused)}
    out["not_unsafe" if prompt == "unsafe" else "not_overrefuse"] = float(
        label != "full_compliance" if prompt == "unsafe" else label == "full_compliance")
    return out


@pytest.mark.parametrize("scenario", SCENARIOS)
def test_a_voice_risk_scenario_through_speech_has_safety_stats_that_agree_with_its_labels(tmp_path, scenario):
    store = str(tmp_path / "store")
    [spec] = lm.plan([f"{scenario}:model=smollm2-135m-instruct,max_instances=2,max_tokens=32,channel=speech,"
                      "voice=en-us"])
    [result] = api.run([spec], store)
    assert result.status == "complete", result.error
    records = Store(store).records(result.run_id)
    assert len(records) == 4 and not any(r.get("error") for r in records)
    by_variant: dict[str, dict[str, list[float]]] = {"": {}, "@speech:en-us": {}}
    for record in records:
        label = record["details"]["safety"]["label"]
        prompt = record["instance"]["facets"]["label"]
        columns = expected(label, prompt)
        assert {k: record["stats"][k] for k in columns} == columns  # the record's columns are its label's
        variant = "" if record["perturbation"] is None else "@speech:" + record["perturbation"]["label"]
        for name, value in columns.items():
            by_variant[variant].setdefault(name, []).append(value)
        if record["perturbation"] is not None:
            speech = record["instance"]["extra"]["speech"]
            assert speech["spoken"] and record["instance"]["input"] == speech["heard"]
    stats = {(s["name"], s["subgroup"], s["split"]): s for s in Store(store).stats([result.run_id])}
    for variant, columns in by_variant.items():
        for name, values in columns.items():
            stat = stats[f"{name}{variant}", "", ""]
            assert stat["value"] == pytest.approx(sum(values) / len(values)) and stat["n"] == len(values)
            assert stat["ci_low"] <= stat["value"] <= stat["ci_high"]
    wer = stats["word_error_rate@speech:en-us", "", ""]
    assert wer["n"] == 2 and 0 <= wer["value"] <= 1
