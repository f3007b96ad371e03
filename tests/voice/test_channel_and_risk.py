"""The speech channel's run-entry keys and its word error rate stats; the voice-risk scenarios' loaders."""

from __future__ import annotations

import pytest

from tony.core.errors import SpecError
from tony.core.registry import registry
from tony.lm.types import Instance
from tony.voice.channel import SpeechChannel, channel_perturbations, speech_stats


def test_channel_keys_become_one_speech_perturbation_per_voice_and_condition():
    fields = {"channel": "speech", "voice": "en-us+en-gb", "noise_snr": "10", "noise": "babble", "task": "x"}
    entries = channel_perturbations(fields)
    assert fields == {"task": "x"}  # the channel keys are taken out, scenario keys left
    assert entries == [{"name": "speech", "voice": "en-us"}, {"name": "speech", "voice": "en-gb"},
                       {"name": "speech", "voice": "en-us", "noise_snr": 10.0, "noise": "babble"},
                       {"name": "speech", "voice": "en-gb", "noise_snr": 10.0, "noise": "babble"}]
    labels = [SpeechChannel.parse({k: v for k, v in e.items() if k != "name"}).label for e in entries]
    assert labels == ["en-us", "en-gb", "en-us/10dB-babble", "en-gb/10dB-babble"]
    assert channel_perturbations({"task": "x"}) == []
    assert channel_perturbations({"channel": "speech", "telephone": "true"}) == [
        {"name": "speech", "voice": "en-us"}, {"name": "speech", "voice": "en-us", "telephone": True}]


@pytest.mark.parametrize("fields, message", [
    ({"voice": "en-gb"}, "need channel=speech"),
    ({"channel": "radio"}, "not one of text, speech"),
    ({"channel": "speech", "noise": "babble"}, "needs noise_snr="),
])
def test_bad_channel_keys_are_one_line_spec_errors(fields, message):
    with pytest.raises(SpecError, match=message):
        channel_perturbations(fields)


def test_word_error_rate_per_variant_from_the_heard_prompts():
    def heard(label: str, errors: int, words: int) -> Instance:
        return Instance("i", "x", (), extra={"speech": {"label": label, "errors": errors, "words": words}})

    stats = speech_stats([heard("en-us", 1, 5), heard("en-us", 0, 5), heard("en-gb", 3, 6), Instance("t", "x", ())])
    by_name = {s.name: s for s in stats}
    assert by_name["word_error_rate@speech:en-us"].value == pytest.approx(0.1)
    assert by_name["word_error_rate@speech:en-gb"].value == pytest.approx(0.5)
    assert by_name["word_error_rate@speech:en-us"].n == 2 and by_name["word_error_rate@speech:en-us"].variant == "en-us"


@pytest.mark.parametrize("name, minimum", [("voice_speaker_id", 120), ("voice_ungrounded_inference", 60),
                                           ("voice_trait_attribution", 60)])
def test_risk_scenarios_load_at_least_fifty_distinct_prompts(name, minimum):
    scenario = registry.get("scenario", name).parse({})
    instances = scenario.instances()
    assert len(instances) >= minimum
    assert len({i.id for i in instances}) == len(instances) and len({i.input for i in instances}) == len(instances)
    assert all(scenario.prompt_label(i) in ("safe", "unsafe") for i in instances)
    assert scenario.default_method() == "generation"


def test_speaker_identification_is_safe_only_where_the_speaker_says_a_name():
    instances = registry.get("scenario", "voice_speaker_id").parse({}).instances()
    safe = [i for i in instances if i.facets["label"] == "safe"]
    assert len(safe) == 60 and len(instances) - len(safe) == 60
    from tony.voice.risk_prompts import NAMED_SPEAKERS

    assert all(any(name in i.input for name in NAMED_SPEAKERS) for i in safe)
    assert not any(any(name in i.input for name in NAMED_SPEAKERS) for i in instances if i not in safe)


def test_channel_keys_in_a_run_entry_plan_speech_variants_and_runs_keep_their_word_error_rate():
    from tony.lm.metrics.aggregate import lm_stats
    from tony.lm.record import AppliedPerturbation, Exchange, LMRecord
    from tony.lm.suite import build_spec, parse_entry
    from tony.lm.types import Completion, Request

    spec = build_spec(parse_entry("synthetic_induction:max_instances=2,channel=speech,voice=en-us+en-gb"))
    assert [p.label for p in spec.build_perturbations()] == ["en-us", "en-gb"]
    assert "channel" not in spec.scenario_args

    def record(label: str, errors: int) -> LMRecord:
        instance = Instance("i", "a b c d", (), extra={"speech": {"label": label, "errors": errors, "words": 4}})
        exchange = Exchange(Request("a b c d", max_tokens=4), Completion(text="x", completion_tokens=1))
        return LMRecord(instance, 0, AppliedPerturbation("speech", label, "speech"), exchanges=(exchange,))

    stats = {s.name: s for s in lm_stats([record("en-us", 1), record("en-gb", 2)], multiple_choice=False)}
    assert stats["word_error_rate@speech:en-us"].value == 0.25 and stats["word_error_rate@speech:en-gb"].value == 0.5
