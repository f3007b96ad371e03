"""Toxicity: the offline scorer, the stats from records, and a whole run of the toxicity prompts."""

from __future__ import annotations

from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from tony.core.errors import ModelError
from tony.core.registry import registry
from tony.core.store import Store
from tony.lm.adapters.base import AdapterSpec
from tony.lm.clients.models import ModelSource
from tony.lm.metrics.toxicity import ProfanityCheckScorer, generation_records, toxicity_stats
from tony.lm.record import AppliedPerturbation, Exchange, LMRecord
from tony.lm.run import LMRunSpec
from tony.lm.types import Completion, Instance, Request


class WordScorer:
    """Scores a text by the listed words it contains (a real scorer, not a mock: fixed rules)."""

    name = "words"

    def __init__(self, scores: dict[str, float]) -> None:
        self.scores = scores
        self.calls: list[list[str]] = []

    def score(self, texts: list[str]) -> list[float]:
        self.calls.append(list(texts))
        return [max((v for w, v in self.scores.items() if w in t), default=0.0) for t in texts]


def generation_record(prediction: str, subgroup: str = "") -> LMRecord:
    exchange = Exchange(Request(prompt="p", max_tokens=16), Completion(text=prediction))
    return LMRecord(Instance(prediction, "p", (), subgroup=subgroup), exchanges=(exchange,), prediction=prediction)


def multiple_choice_record(prediction: str) -> LMRecord:
    exchange = Exchange(Request(prompt="p", continuations=(" a", " b")), Completion())
    return replace(generation_record(prediction), exchanges=(exchange,))


def by_name(stats, subgroup: str = ""):
    return {s.name: s for s in stats if s.subgroup == subgroup}


def test_profanity_check_tells_profane_from_neutral():
    pytest.importorskip("profanity_check", reason="pip install alt-profanity-check")
    profane, insult, neutral, empty = ProfanityCheckScorer().score(
        ["You are a fucking idiot and a piece of shit.", "Shut up, you stupid moron.",
         "The weather is lovely today and we walked to the park.", ""]
    )
    assert profane > 0.9 and insult > 0.5
    assert neutral < 0.2 and empty < 0.5
    assert ProfanityCheckScorer().score([]) == []


def test_without_a_perspective_key_the_offline_scorer_is_used(monkeypatch: pytest.MonkeyPatch):
    pytest.importorskip("profanity_check", reason="pip install alt-profanity-check")
    monkeypatch.delenv("PERSPECTIVE_API_KEY", raising=False)
    records = [generation_record("Shut up, you fucking moron."), generation_record("We had tea in the garden.")]
    assert by_name(toxicity_stats(records))["toxic_fraction"].value == 0.5


def test_fraction_and_mean_by_hand():
    scorer = WordScorer({"idiot": 0.9, "darn": 0.5, "meh": 0.3})
    records = [generation_record("you idiot", "insult"), generation_record("oh darn", "insult"),
               generation_record("meh", "reply"), generation_record("lovely day", "reply")]
    stats = toxicity_stats(records, scorer)
    overall = by_name(stats)
    # scores 0.9, 0.5, 0.3, 0.0: two reach 0.5 (the threshold counts as toxic)
    assert overall["toxic_fraction"].value == pytest.approx(0.5) and overall["toxic_fraction"].n == 4
    assert overall["toxicity_mean"].value == pytest.approx(1.7 / 4)
    low, high = overall["toxicity_mean"].ci_low, overall["toxicity_mean"].ci_high
    assert 0.0 <= low <= 1.7 / 4 <= high <= 0.9
    assert by_name(stats, "insult")["toxic_fraction"].value == 1.0
    assert by_name(stats, "reply")["toxic_fraction"].value == 0.0
    assert by_name(stats, "reply")["toxicity_mean"].value == pytest.approx(0.15)
    assert by_name(stats, "reply")["toxicity_mean"].n == 2
    assert scorer.calls == [["you idiot", "oh darn", "meh", "lovely day"]]  # one batch


def test_only_unperturbed_generations_are_scored():
    perturbed = replace(generation_record("idiot"), perturbation=AppliedPerturbation("typos", "typos", "robustness"))
    records = [generation_record("idiot"), multiple_choice_record("idiot"), perturbed]
    assert generation_records(records) == records[:1]
    assert by_name(toxicity_stats(records, WordScorer({"idiot": 1.0})))["toxic_fraction"].n == 1
    assert toxicity_stats([multiple_choice_record("idiot")], WordScorer({})) == []


def test_a_scorer_out_of_range_is_an_error():
    with pytest.raises(ModelError, match="one score in \\[0, 1\\]"):
        toxicity_stats([generation_record("x")], WordScorer({"x": 1.5}))


# ---------------------------------------------------------------- a whole run of the toxicity prompts

CONTINUATIONS = {"insult": " idiot.", "profanity": " hell!", "hostile_reply": " nice person, I think."}


class CannedClient:
    """Continues each prompt with a fixed text per prompt family (recognised by its wording)."""

    identity = "canned-toxicity-test"

    def complete(self, requests: list[Request]) -> list[Completion]:
        return [Completion(text=self._continuation(r.prompt), completion_tokens=2) for r in requests]

    @staticmethod
    def _continuation(prompt: str) -> str:
        from tony.lm.scenarios.toxicity_prompts import filled_prompts

        family = next(f for f in CONTINUATIONS if prompt in filled_prompts(f))
        return CONTINUATIONS[family]

    def close(self) -> None:
        pass


@registry.register("model", "canned-toxicity-test")
class CannedModel(ModelSource):
    def identity(self) -> str:
        return CannedClient.identity

    def load(self) -> CannedClient:
        return CannedClient()


registry.add("scenario", "toxicity_prompts_under_test", "tony.lm.scenarios.toxicity_prompts:ToxicityPromptsScenario")


def test_a_generation_run_without_references_yields_toxicity_stats(tmp_path: Path):
    store = Store(f"sqlite:///{tmp_path / 'tony.sqlite'}")
    spec = LMRunSpec(scenario="toxicity_prompts_under_test", scenario_args={"num_instances": 9},
                     model="canned-toxicity-test", adapter=AdapterSpec(method="generation"))
    task = spec.task(store)
    payloads = [payload for _, payload in task.process(task.items())]
    store.close()
    records = [LMRecord.from_json(p) for p in payloads]
    assert len(records) == 9 and not any(r.instance.references for r in records)
    assert all(r.stats == {} and r.correct is None for r in records)  # no reference: nothing to match
    stats = toxicity_stats(records, WordScorer({"idiot": 0.95, "hell": 0.7}))
    assert by_name(stats)["toxic_fraction"].value == pytest.approx(2 / 3)
    assert by_name(stats)["toxicity_mean"].value == pytest.approx((3 * 0.95 + 3 * 0.7) / 9)
    assert by_name(stats, "hostile_reply")["toxic_fraction"].value == 0.0
    assert np.isfinite([s.ci_low for s in stats]).all()
    assert task.aggregate(payloads)  # the existing aggregation copes with reference-less records
