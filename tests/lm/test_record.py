"""The typed LM record: payloads written before it existed read back and write the same bytes; real runs' records
(errors, perturbed variants, few-shot draws, two requests per instance) round-trip; the stats come from it; and
the adapter, not its name, says whether a run is multiple choice."""

from __future__ import annotations

import json
import sqlite3
import zlib

import pytest

from tony import api
from tony.core.errors import RequestError
from tony.core.registry import registry
from tony.core.runner import RunResult
from tony.core.store import Store, json_text
from tony.lm.adapters.base import AdapterSpec
from tony.lm.adapters.generation import GenerationAdapter
from tony.lm.adapters.multiple_choice import CalibratedSeparateAdapter, JointAdapter, SeparateAdapter
from tony.lm.clients.models import ModelSource
from tony.lm.metrics.aggregate import lm_stats
from tony.lm.record import AppliedPerturbation, Exchange, LMRecord, run_records
from tony.lm.run import LMRunSpec
from tony.lm.types import Completion, Request

# Two payloads exactly as tony wrote them before the typed record (commit bdc4737, the runs of `runs` below):
# a perturbed variant of the second draw whose question was refused while its neutral prompt was answered
# (from the cache), and an answered generation variant whose adapter kept no details.
REFUSED_VARIANT = (
    '{"instance": {"id": "q3", "input": "REFUSE ME: which is her mother?", "references": [{"output": "mother", '
    '"tags": ["correct"]}, {"output": "mother", "tags": []}], "split": "test", "subgroup": "", "facets": {}, '
    '"extra": {}}, "draw": 1, "perturbation": {"name": "gender", "label": "gender=female", "family": "fairness"}, '
    '"examples": ["t2"], "exchanges": [{"request": {"prompt": "Q: Which is a colour?\\nA: red\\n\\nQ: REFUSE ME: '
    'which is her mother?\\nA:", "max_tokens": 0, "temperature": 0.0, "stop": [], "continuations": [" mother", '
    '" mother"], "shared_prefix": "Q: Which is a colour?\\nA: red\\n\\n"}, "completion": null, "error": "the '
    "request exceeds the available context size ('REFUSE ME' is too much)\"}, {\"request\": {\"prompt\": \"A:\", "
    '"max_tokens": 0, "temperature": 0.0, "stop": [], "continuations": [" mother", " mother"], "shared_prefix": ""}, '
    '"completion": {"text": "", "tokens": [], "logprobs": [], "continuation_logprobs": [-1.72, -1.72], '
    '"continuation_lengths": [1, 1], "prompt_tokens": 1, "completion_tokens": 2, "processed_tokens": 3, '
    '"wall_s": 0.25, "cached": true}}], "prediction": null, "confidence": null, "correct": null, "stats": {}, '
    '"details": {}, "error": "the request exceeds the available context size (\'REFUSE ME\' is too much)"}'
)
TYPOS_VARIANT = (
    '{"instance": {"id": "induction-0", "input": "Each line applies the sae hidden rle ot w sequence of words.\\n'
    'pea olive date -> date olive pra\\nlemon pecah nut -> nut peacb emon\\npear pea beet -> bete pes pera\\npeach '
    'apple nut ->", "references": [{"output": "nut apple peach", "tags": ["correct"]}], "split": "test", '
    '"subgroup": "reverse", "facets": {}, "extra": {"rule": "reverse", "query": ["peach", "apple", "nut"], '
    '"fixed_symbol": "guava"}}, "draw": 0, "perturbation": {"name": "typos", "label": "typos", "family": '
    '"robustness"}, "examples": [], "exchanges": [{"request": {"prompt": "Each line applies the sae hidden rle ot '
    'w sequence of words.\\npea olive date -> date olive pra\\nlemon pecah nut -> nut peacb emon\\npear pea beet -> '
    'bete pes pera\\npeach apple nut ->", "max_tokens": 8, "temperature": 0.0, "stop": ["\\n"], "continuations": '
    '[], "shared_prefix": ""}, "completion": {"text": " nut apple peach", "tokens": ["nut", "apple", "peach"], '
    '"logprobs": [-0.5, -0.5, -0.5], "continuation_logprobs": [], "continuation_lengths": [], "prompt_tokens": 37, '
    '"completion_tokens": 3, "processed_tokens": 40, "wall_s": 0.125, "cached": false}}], "prediction": "nut apple '
    'peach", "confidence": null, "correct": true, "stats": {"exact_match": 1.0, "quasi_exact_match": 1.0, "f1": '
    '1.0}, "details": null}'
)


def rewritten(text: str) -> str:
    """A stored payload read as an LMRecord and written again, as the store writes it."""
    return json_text(LMRecord.from_json(json.loads(text)).to_json())


def test_payloads_written_before_the_typed_record_read_back_and_write_the_same_bytes() -> None:
    refused = LMRecord.from_json(json.loads(REFUSED_VARIANT))
    assert (refused.key, refused.examples, refused.error) == (
        (1, "q3"), ("t2",), "the request exceeds the available context size ('REFUSE ME' is too much)")
    assert refused.perturbation == AppliedPerturbation("gender", "gender=female", "fairness")
    assert not refused.answered and not refused.is_original and not refused.generates
    question, neutral = refused.exchanges
    assert question.completion is None and question.error == refused.error
    assert question.request.continuations == (" mother", " mother") and neutral.request.prompt == "A:"
    assert refused.completions == (neutral.completion,) and neutral.completion.cached
    assert (refused.prediction, refused.stats, refused.details) == (None, {}, {})

    typos = LMRecord.from_json(json.loads(TYPOS_VARIANT))
    assert typos.answered and typos.generates and typos.details is None and typos.correct is True
    assert typos.instance.references[0].is_correct and typos.instance.extra["query"] == ["peach", "apple", "nut"]
    assert typos.completions[0].text == " nut apple peach" and typos.exchanges[0].request.stop == ("\n",)

    assert rewritten(REFUSED_VARIANT) == REFUSED_VARIANT
    assert rewritten(TYPOS_VARIANT) == TYPOS_VARIANT


def test_an_older_payload_without_the_later_keys_reads_with_their_defaults() -> None:
    """Facets, shared prefixes and processed tokens came later; a record of the first shape still reads."""
    old = {"instance": {"id": "q", "input": "2 + 2?", "references": [{"output": "4", "tags": ["correct"]}],
                        "split": "test", "subgroup": ""},
           "draw": 0, "perturbation": None, "examples": [],
           "exchanges": [{"request": {"prompt": "Q: 2 + 2?\nA:", "max_tokens": 4, "temperature": 0.0, "stop": ["\n"],
                                      "continuations": []},
                          "completion": {"text": " 4", "prompt_tokens": 6, "completion_tokens": 1, "wall_s": 0.5}}],
           "prediction": "4", "confidence": None, "correct": True, "stats": {"exact_match": 1.0}, "details": None,
           "item_id": "0:q"}
    record = LMRecord.from_json(old)
    assert record.instance.facets == {} and record.instance.extra == {}
    assert record.exchanges[0].request.shared_prefix == "" and record.completions[0].processed_tokens == 0
    assert record.stats == {"exact_match": 1.0} and record.answered and record.generates
    assert "item_id" not in record.to_json()


def test_a_sampled_request_keeps_its_seed_in_the_record() -> None:
    """A greedy request is recorded as its cache form (no seed); a sampled one with its seed, so it reads back."""
    greedy = Exchange(Request("Once", max_tokens=4), Completion(text=" upon"))
    assert greedy.to_json()["request"] == Request("Once", max_tokens=4).cache_form()
    sampled = Exchange(Request("Once", max_tokens=4, temperature=0.7, seed=11), Completion(text=" more"))
    assert sampled.to_json()["request"]["seed"] == 11
    assert Exchange.from_json(json.loads(json_text(sampled.to_json()))) == sampled
    refused = Exchange(Request("Once", max_tokens=4), None, "too long")
    assert refused.to_json() == {"request": greedy.to_json()["request"], "completion": None, "error": "too long"}


def test_the_adapter_says_whether_it_is_multiple_choice() -> None:
    assert not GenerationAdapter.multiple_choice
    assert all(a.multiple_choice for a in (JointAdapter, SeparateAdapter, CalibratedSeparateAdapter))
    # Every registered adapter agrees with the rule its name gave before (method.startswith("multiple_choice")).
    for entry in registry.entries("adapter"):
        assert entry.load().multiple_choice == entry.name.startswith("multiple_choice"), entry.name


# ---------------------------------------------------------------- real runs through a fixed-rule model

REFUSED_QUERY = "mango lime sage ->"
"""induction-3's query line (the scenario's seed 3): the model refuses the prompts that end with it."""


class RulesClient:
    """Scores an option by its length and a checksum, generates the query line's words reversed (right on the
    "reverse" rule), and refuses (RequestError) every prompt that contains `refuse`."""

    def __init__(self, refuse: str) -> None:
        self.refuse = refuse
        self.identity = f"record-rules:{refuse}"

    def complete(self, requests: list[Request]) -> list[Completion]:
        if any(self.refuse and self.refuse in r.prompt for r in requests):
            raise RequestError(f"the request exceeds the available context size ({self.refuse!r} is too much)")
        return [self._answer(r) for r in requests]

    @staticmethod
    def _answer(request: Request) -> Completion:
        words = len(request.prompt.split())
        if request.continuations:
            scores = tuple(-len(c.strip()) / 4 - zlib.crc32((request.prompt + c).encode()) % 100 / 100
                           for c in request.continuations)
            lengths = tuple(len(c.split()) for c in request.continuations)
            return Completion(continuation_logprobs=scores, continuation_lengths=lengths, prompt_tokens=words,
                              completion_tokens=sum(lengths), processed_tokens=words + sum(lengths), wall_s=0.25)
        query = request.prompt.rstrip().removesuffix("->").split("\n")[-1].split()
        text = " " + " ".join(reversed(query))
        return Completion(text=text, tokens=tuple(text.split()), logprobs=tuple(-0.5 for _ in query),
                          prompt_tokens=words, completion_tokens=len(query), processed_tokens=words + len(query),
                          wall_s=0.125)

    def close(self) -> None:
        pass


@registry.register("model", "record-rules")
class RulesModel(ModelSource):
    refuse: str = ""
    """Refuse every prompt that contains this text."""

    def identity(self) -> str:
        return f"record-rules:{self.refuse}"

    def load(self) -> RulesClient:
        return RulesClient(self.refuse)


CHOICES = [
    {"id": "t1", "split": "train", "input": "Which word names a girl?", "choices": ["boy", "girl"], "answer": 1},
    {"id": "t2", "split": "train", "input": "Which is a colour?", "choices": ["red", "chair"], "answer": 0},
    {"id": "q1", "input": "Which word names her brother?", "choices": ["sister", "brother", "aunt"], "answer": 1},
    {"id": "q2", "input": "Which is a fruit?", "choices": ["kale", "pear"], "answer": 1, "subgroup": "food"},
    {"id": "q3", "input": "REFUSE ME: which is his father?", "choices": ["father", "mother"], "answer": 0},
    {"id": "q4", "input": "Which is a number?", "choices": ["tree", "seven"], "answer": 1, "subgroup": "food"},
]


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, RunResult, RunResult]:
    """(store URL, generation run, multiple-choice run): the synthetic scenario with typo variants, and a
    calibrated multiple-choice file with one-shot prompts in two draws and two gender variants."""
    folder = tmp_path_factory.mktemp("records")
    data = folder / "choices.jsonl"
    data.write_text("".join(json.dumps(row) + "\n" for row in CHOICES), encoding="utf-8")
    generation = LMRunSpec(
        scenario="synthetic_induction", scenario_args={"num_instances": 12, "seed": 3}, model="record-rules",
        model_args={"refuse": REFUSED_QUERY}, adapter=AdapterSpec(method="generation", max_tokens=8),
        perturbations=({"name": "typos", "rate": 0.3},))
    choice = LMRunSpec(
        scenario="jsonl", scenario_args={"path": str(data)}, model="record-rules", model_args={"refuse": "REFUSE ME"},
        adapter=AdapterSpec(method="multiple_choice_separate_calibrated", num_train=1, num_draws=2),
        perturbations=({"name": "gender", "target": "female"}, {"name": "gender", "target": "male"}))
    store_url = f"sqlite:///{folder / 'tony.sqlite'}"
    gen_result, choice_result = api.run([generation, choice], store_url)
    assert gen_result.status == choice_result.status == "complete", (gen_result.error, choice_result.error)
    return store_url, gen_result, choice_result


def stored_texts(store_url: str, run_id: str) -> list[str]:
    """The run's payloads as the store holds them: the JSON text it wrote."""
    with sqlite3.connect(store_url.removeprefix("sqlite:///")) as conn:
        return [text for (text,) in conn.execute("select payload from records where run_id = ? order by seq",
                                                 (run_id,))]


def test_every_record_of_real_runs_round_trips(runs) -> None:
    store_url, generation, choice = runs
    for result, errors, variants in ((generation, 2, 12), (choice, 6, 16)):
        texts = stored_texts(store_url, result.run_id)
        assert [rewritten(text) for text in texts] == texts
        records = [LMRecord.from_json(json.loads(text)) for text in texts]
        assert (len(records), sum(not r.answered for r in records)) == (24, errors)
        assert sum(not r.is_original for r in records) == variants
    # The refused generation is induction-3, and its typo variant, whose query line the typos left alone.
    store = Store(store_url)
    try:
        typed = run_records(store, generation.run_id)
        mc = run_records(store, choice.run_id)
    finally:
        store.close()
    assert {(r.instance.id, r.is_original) for r in typed if not r.answered} == {("induction-3", True),
                                                                                   ("induction-3", False)}
    # Calibrated multiple choice: q3's question is refused, its neutral prompt answered, in both draws.
    refused = [r for r in mc if not r.answered]
    assert {r.key for r in refused} == {(0, "q3"), (1, "q3")}
    assert all([e.completion is None for e in r.exchanges] == [True, False] for r in refused)
    assert {r.examples for r in mc} <= {("t1",), ("t2",)} and {r.draw for r in mc} == {0, 1}  # one-shot draws


def test_the_stats_come_from_the_typed_records(runs) -> None:
    store_url, generation, choice = runs
    store = Store(store_url)
    try:
        assert lm_stats(run_records(store, generation.run_id), multiple_choice=False) == generation.stats
        assert lm_stats(run_records(store, choice.run_id), multiple_choice=True) == choice.stats
    finally:
        store.close()
    gen = {(s.name, s.split, s.subgroup): s for s in generation.stats}
    assert (gen["n_errors", "", ""].value, gen["n_errors", "", ""].n) == (2.0, 24)
    # The model reverses the query. Of the 11 answered originals that is right on the "reverse" ones (0, 6), the
    # "swap_first_last" ones (4, 10: three words swapped end for end are reversed) and on induction-2, whose query
    # "tea pea bean" reversed is sorted.
    assert (gen["exact_match", "", ""].value, gen["exact_match", "", ""].n) == (pytest.approx(5 / 11), 11)
    # The generation adapter is not multiple choice: a majority baseline by exact match, no chance baseline.
    assert {split for _, split, _ in gen if split.startswith("baseline")} == {"baseline:majority"}
    mc = {(s.name, s.split, s.subgroup): s for s in choice.stats}
    assert (mc["n_errors", "", ""].value, mc["n_errors", "", ""].n) == (6.0, 24)
    assert mc["accuracy", "baseline:chance", ""].value == pytest.approx((1 / 3 + 1 / 2 + 1 / 2) / 3)
