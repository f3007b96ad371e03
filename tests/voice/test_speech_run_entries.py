"""`channel=speech` in a run entry follows the run's model and adapter: a model that hears (openai_audio) is sent
the audio, and the joint multiple-choice adapter gets the options read out and shows and scores them in the
order they were read. (Needs the lead's wiring in tony.lm.suite.build_spec and JointAdapter.requests.)"""

from __future__ import annotations

import json

import numpy as np
import pytest

from tony.lm import api as lm
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.multiple_choice import JointAdapter
from tony.lm.types import Instance, Reference
from tony.voice.channel import OPTIONS_READ_OUT, SpeechChannel

QUESTION = {"input": "Which planet is closest to the sun?", "choices": ["Mercury", "Jupiter", "Saturn"], "answer": 0}


@pytest.fixture(autouse=True)
def cache(tmp_path, monkeypatch):
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))


@pytest.mark.parametrize("fields, channel", [
    ("method=multiple_choice_joint,model=openai_audio", {"sent_as": "audio", "read_options": True}),
    ("method=generation,model=openai_audio", {"sent_as": "audio"}),
    ("method=multiple_choice_joint,model=smollm2-135m-instruct", {"read_options": True}),
    ("method=multiple_choice_separate,model=smollm2-135m-instruct", {}),
])
def test_the_channel_follows_the_run_s_model_and_adapter(tmp_path, fields, channel):
    data = tmp_path / "q.jsonl"
    data.write_text(json.dumps(QUESTION) + "\n")
    [spec] = lm.plan([f"jsonl:path={data},{fields},channel=speech,voice=en-gb"])
    assert [dict(p) for p in spec.perturbations] == [{"name": "speech", "voice": "en-gb", **channel}]


def test_the_joint_adapter_shows_and_scores_options_in_the_order_they_were_read_out():
    instance = Instance("q", QUESTION["input"], (Reference("Mercury", ("correct",)), Reference("Jupiter"),
                                                 Reference("Saturn")))
    spoken = SpeechChannel(read_options=True, sent_as="audio").apply(instance)
    adapter = JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat())
    [request], context = adapter.requests(spoken, [], np.random.default_rng(0))
    assert context["options"] == spoken.extra[OPTIONS_READ_OUT]
    assert request.prompt == f"Q: {spoken.input}\nAnswer:"  # heard, not listed again
    assert request.continuations == (" A", " B", " C")
