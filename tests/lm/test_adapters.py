"""Adapters build the prompts HELM describes and score answers from the model's numbers."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.lm.adapters.base import AdapterSpec, PromptFormat
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.adapters.multiple_choice import CalibratedSeparateAdapter, JointAdapter, SeparateAdapter
from tony.lm.types import CORRECT_TAG, Completion, Instance, Reference


def mc(id_: str, question: str, options: list[str], right: int) -> Instance:
    refs = tuple(Reference(o, (CORRECT_TAG,) if i == right else ()) for i, o in enumerate(options))
    return Instance(id_, question, refs)


QUESTION = mc("q", "Capital of France?", ["Paris", "Lyon", "Nice"], 0)
SHOT = mc("s", "Capital of Italy?", ["Milan", "Rome"], 1)


def test_separate_prompt_and_continuations():
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat(instructions="Answer."))
    requests, context = adapter.requests(QUESTION, [SHOT], np.random.default_rng(0))
    assert requests[0].prompt == "Answer.\n\nQ: Capital of Italy?\nA: Rome\n\nQ: Capital of France?\nA:"
    assert requests[0].continuations == (" Paris", " Lyon", " Nice")
    scored = adapter.score(QUESTION, [Completion(continuation_logprobs=(-1.0, -2.0, -3.0))], context)
    assert scored.prediction == "Paris" and scored.stats["accuracy"] == 1.0
    probabilities = np.exp([-1.0, -2.0, -3.0]) / np.exp([-1.0, -2.0, -3.0]).sum()
    assert scored.confidence == pytest.approx(probabilities[0])


def test_calibrated_subtracts_the_neutral_prompt_score():
    adapter = CalibratedSeparateAdapter(AdapterSpec(), PromptFormat())
    requests, context = adapter.requests(QUESTION, [], np.random.default_rng(0))
    assert requests[1].prompt == "A:" and requests[1].continuations == requests[0].continuations
    conditional = Completion(continuation_logprobs=(-5.0, -4.0, -6.0))
    neutral = Completion(continuation_logprobs=(-9.0, -3.0, -6.0))
    scored = adapter.score(QUESTION, [conditional, neutral], context)
    assert scored.details["scores"] == [4.0, -1.0, 0.0] and scored.prediction == "Paris"


def test_joint_shuffles_with_the_seed_and_records_the_order():
    adapter = JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat())
    orders = {tuple(adapter.requests(QUESTION, [], np.random.default_rng(s))[1]["options"]) for s in range(12)}
    assert len(orders) > 1  # the order depends on the seed
    requests, context = adapter.requests(QUESTION, [], np.random.default_rng(3))
    again, _ = adapter.requests(QUESTION, [], np.random.default_rng(3))
    assert requests == again
    shown = context["options"]
    assert requests[0].continuations == (" A", " B", " C")
    for letter, option in zip("ABC", shown, strict=False):
        assert f"\n{letter}. {option}" in requests[0].prompt
    # The model prefers the letter of "Paris", wherever it was shown.
    scores = tuple(0.0 if o == "Paris" else -3.0 for o in shown)
    assert adapter.score(QUESTION, [Completion(continuation_logprobs=scores)], context).stats["accuracy"] == 1.0


def test_generation_scores_exact_and_quasi_exact_match():
    adapter = GenerationAdapter(AdapterSpec(method="generation", max_tokens=5), PromptFormat())
    item = Instance("a", "What is 2 plus 2?", (Reference("4", (CORRECT_TAG,)),))
    requests, _ = adapter.requests(item, [], np.random.default_rng(0))
    assert requests[0].max_tokens == 5 and requests[0].stop == ("\n",)
    scored = adapter.score(item, [Completion(text=" 4")], {})
    assert scored.stats == {"exact_match": 1.0, "quasi_exact_match": 1.0, "f1": 1.0}


def test_multiple_choice_needs_options():
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat())
    with pytest.raises(SpecError, match="method=generation"):
        adapter.requests(Instance("g", "2+2?", (Reference("4", (CORRECT_TAG,)),)), [], np.random.default_rng(0))


def test_prompts_of_one_draw_share_their_prefix():
    other = mc("r", "Capital of Spain?", ["Madrid", "Porto"], 0)
    for adapter in (SeparateAdapter(AdapterSpec(), PromptFormat(instructions="Answer.")),
                    JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat(instructions="Answer."))):
        first, _ = adapter.requests(QUESTION, [SHOT], np.random.default_rng(1))
        second, _ = adapter.requests(other, [SHOT], np.random.default_rng(2))
        assert first[0].shared_prefix == second[0].shared_prefix != ""
        assert first[0].prompt.startswith(first[0].shared_prefix)
        assert "Capital of Italy?" in first[0].shared_prefix and "France" not in first[0].shared_prefix
