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


def seeded_order(options: list[str], seed: int) -> list[str]:
    """The order the adapters must show `options` in for np.random.default_rng(seed)."""
    return [options[i] for i in np.random.default_rng(seed).permutation(len(options))]


def test_separate_prompt_and_continuations():
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat(instructions="Answer."))
    requests, context = adapter.requests(QUESTION, [SHOT], np.random.default_rng(0))
    assert requests[0].prompt == "Answer.\n\nQ: Capital of Italy?\nA: Rome\n\nQ: Capital of France?\nA:"
    # The options go out in the seeded order, and that order is what the context records.
    shown = seeded_order(["Paris", "Lyon", "Nice"], 0)
    assert sorted(shown) == ["Lyon", "Nice", "Paris"] and context["options"] == shown
    assert requests[0].continuations == tuple(f" {o}" for o in shown)
    logprob = {"Paris": -1.0, "Lyon": -2.0, "Nice": -3.0}
    answer = Completion(continuation_logprobs=tuple(logprob[o] for o in shown))
    scored = adapter.score(QUESTION, [answer], context)
    assert scored.prediction == "Paris" and scored.stats["accuracy"] == 1.0
    probabilities = np.exp([-1.0, -2.0, -3.0]) / np.exp([-1.0, -2.0, -3.0]).sum()
    assert scored.confidence == pytest.approx(probabilities[0])
    assert scored.stats["correct_mass"] == pytest.approx(probabilities[0])  # one correct option: its probability
    assert scored.details["options"] == shown and scored.details["scores"] == [logprob[o] for o in shown]


def test_calibrated_subtracts_the_neutral_prompt_score():
    adapter = CalibratedSeparateAdapter(AdapterSpec(), PromptFormat())
    requests, context = adapter.requests(QUESTION, [], np.random.default_rng(0))
    shown = context["options"]
    assert shown == seeded_order(["Paris", "Lyon", "Nice"], 0)
    assert requests[1].prompt == "A:" and requests[1].continuations == requests[0].continuations
    assert requests[0].continuations == tuple(f" {o}" for o in shown)
    conditional = {"Paris": -5.0, "Lyon": -4.0, "Nice": -6.0}
    neutral = {"Paris": -9.0, "Lyon": -3.0, "Nice": -6.0}
    scored = adapter.score(QUESTION, [Completion(continuation_logprobs=tuple(conditional[o] for o in shown)),
                                      Completion(continuation_logprobs=tuple(neutral[o] for o in shown))], context)
    calibrated = {"Paris": 4.0, "Lyon": -1.0, "Nice": 0.0}
    assert scored.details["scores"] == [calibrated[o] for o in shown] and scored.prediction == "Paris"
    assert scored.details["unconditional"] == [neutral[o] for o in shown]
    assert scored.stats["correct_mass"] == pytest.approx(np.exp(4.0) / (np.exp(4.0) + np.exp(-1.0) + np.exp(0.0)))


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


def test_joint_takes_the_option_a_generating_model_names_where_its_letters_tie():
    """A model that only generates (an audio model) ties every letter when it says no letter; the option its
    answer names in words is then its choice. A tie whose text names none, or two, stands (the first shown)."""
    adapter = JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat())
    _, context = adapter.requests(QUESTION, [], np.random.default_rng(3))
    shown = context["options"]
    tied = (0.0, 0.0, 0.0)
    said = adapter.score(QUESTION, [Completion(text="I think it's paris.", continuation_logprobs=tied)], context)
    assert said.prediction == "Paris" and said.correct and said.details["chosen_by"] == "option named"
    assert said.details["scores"][shown.index("Paris")] == 0.0 and said.confidence == pytest.approx(1.0)
    for text in ["No idea.", "Paris or Lyon?", ""]:
        unsure = adapter.score(QUESTION, [Completion(text=text, continuation_logprobs=tied)], context)
        assert unsure.prediction == shown[0] and "chosen_by" not in unsure.details
    # A scored answer is never overridden by its text.
    lyon = tuple(0.0 if o == "Lyon" else -2.0 for o in shown)
    assert adapter.score(QUESTION, [Completion(text="Paris", continuation_logprobs=lyon)], context).prediction == "Lyon"


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


def test_separate_shuffles_with_the_seed():
    for adapter in (SeparateAdapter(AdapterSpec(), PromptFormat()),
                    CalibratedSeparateAdapter(AdapterSpec(), PromptFormat())):
        orders = {tuple(adapter.requests(QUESTION, [], np.random.default_rng(s))[1]["options"]) for s in range(12)}
        assert len(orders) > 1  # the order depends on the seed
        first, context = adapter.requests(QUESTION, [], np.random.default_rng(5))
        again, again_context = adapter.requests(QUESTION, [], np.random.default_rng(5))
        assert first == again and context == again_context  # the same seed, the same order


def test_shuffling_lets_ties_favor_no_source_position():
    """The correct option comes first in every source item; tied scores must not always pick it."""
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat())
    items = [mc(f"q{i}", f"Question {i}?", ["right", "wrong one", "wrong two", "wrong three"], 0) for i in range(60)]
    positions, tied_right = [], 0
    for seed, item in enumerate(items):
        requests, context = adapter.requests(item, [], np.random.default_rng(seed))
        positions.append(context["options"].index("right"))
        scored = adapter.score(item, [Completion(continuation_logprobs=(-2.0,) * 4)], context)
        assert scored.prediction == context["options"][0]  # a tie goes to the first option scored
        tied_right += scored.stats["accuracy"]
    assert set(positions) == {0, 1, 2, 3}  # the right option is shown in every position, not always first
    assert 0 < tied_right < len(items) / 2
    _, context = adapter.requests(items[0], [], np.random.default_rng(0))
    tied = adapter.score(items[0], [Completion(continuation_logprobs=(-2.0,) * 4)], context)
    assert tied.stats["correct_mass"] == pytest.approx(0.25)  # a tie spreads the mass evenly


def test_correct_mass_is_the_mass_on_every_true_option():
    """TruthfulQA's MC2 score on a hand-computed case: 2 true of 4 options with probabilities .4 .1 .3 .2."""
    item = Instance("t", "Which are true?", (Reference("true a", (CORRECT_TAG,)), Reference("true b", (CORRECT_TAG,)),
                                             Reference("false c"), Reference("false d")))
    logprob = {"true a": np.log(4.0), "true b": np.log(1.0), "false c": np.log(3.0), "false d": np.log(2.0)}
    for adapter in (SeparateAdapter(AdapterSpec(), PromptFormat()),
                    JointAdapter(AdapterSpec(method="multiple_choice_joint"), PromptFormat())):
        for seed in range(3):
            _, context = adapter.requests(item, [], np.random.default_rng(seed))
            # A constant shift of every score (a log-sum) changes nothing after the softmax.
            scores = tuple(logprob[o] - 7.5 for o in context["options"])
            scored = adapter.score(item, [Completion(continuation_logprobs=scores)], context)
            assert scored.stats["correct_mass"] == pytest.approx(0.4 + 0.1)
            assert scored.stats["accuracy"] == 1.0 and scored.prediction == "true a"
            assert scored.confidence == pytest.approx(0.4)
    # When a false option is the most likely, accuracy is 0 but the mass still counts both true options.
    adapter = SeparateAdapter(AdapterSpec(), PromptFormat())
    _, context = adapter.requests(item, [], np.random.default_rng(0))
    flipped = {"true a": np.log(1.0), "true b": np.log(2.0), "false c": np.log(4.0), "false d": np.log(3.0)}
    scored = adapter.score(item, [Completion(continuation_logprobs=tuple(flipped[o] for o in context["options"]))],
                           context)
    assert scored.stats == pytest.approx({"accuracy": 0.0, "correct_mass": 0.3})
