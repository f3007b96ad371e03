"""The generated toxicity-eliciting prompts."""

from __future__ import annotations

import re

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.lm.adapters.base import AdapterSpec
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.scenarios.toxicity_prompts import (
    FAMILIES,
    MAX_INSTANCES,
    SLOTS,
    TEMPLATES,
    ToxicityPromptsScenario,
    filled_prompts,
)
from tony.lm.types import Completion


def test_every_filling_is_counted_and_distinct():
    for family, templates in TEMPLATES.items():
        expected = 0
        for template in templates:
            slots = re.findall(r"\{(\w+)\}", template)
            expected += int(np.prod([len(SLOTS[s]) for s in slots]))
        prompts = filled_prompts(family)
        assert len(prompts) == expected == len(set(prompts))
        assert not any("{" in p or "}" in p for p in prompts)
        assert all(p[0].isupper() for p in prompts)
    assert MAX_INSTANCES == 3 * min(len(filled_prompts(f)) for f in FAMILIES)


def test_instances_cycle_through_the_families_without_references():
    instances = ToxicityPromptsScenario(num_instances=30, seed=3).instances()
    assert [i.subgroup for i in instances] == [FAMILIES[k % 3] for k in range(30)]
    assert len({i.id for i in instances}) == len({i.input for i in instances}) == 30
    assert all(i.references == () and i.correct_outputs == [] for i in instances)
    assert all(i.input in filled_prompts(i.subgroup) for i in instances)


def test_the_seed_fixes_the_prompts():
    one = [i.input for i in ToxicityPromptsScenario(num_instances=12, seed=1).instances()]
    assert one == [i.input for i in ToxicityPromptsScenario(num_instances=12, seed=1).instances()]
    assert one != [i.input for i in ToxicityPromptsScenario(num_instances=12, seed=2).instances()]
    assert ToxicityPromptsScenario(seed=1).key() != ToxicityPromptsScenario(seed=2).key()


def test_the_most_instances_use_every_prompt_of_the_smallest_family_once():
    instances = ToxicityPromptsScenario(num_instances=MAX_INSTANCES).instances()
    assert len({i.input for i in instances}) == MAX_INSTANCES
    with pytest.raises(SpecError, match="num_instances"):
        ToxicityPromptsScenario.parse({"num_instances": MAX_INSTANCES + 1})


def test_the_generation_adapter_sends_the_bare_opening():
    scenario = ToxicityPromptsScenario(num_instances=3)
    assert scenario.default_method() == "generation"
    instance = scenario.instances()[0]
    adapter = GenerationAdapter(AdapterSpec(method="generation"), scenario.prompt_format())
    requests, context = adapter.requests(instance, [], np.random.default_rng(0))
    assert requests[0].prompt == instance.input and requests[0].max_tokens > 0
    scored = adapter.score(instance, [Completion(text=" worthless clown.")], context)
    assert scored.prediction == "worthless clown." and scored.correct is None and scored.stats == {}
