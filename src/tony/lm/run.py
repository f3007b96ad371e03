"""A language-model run: scenario x adapter x model, executed through the kernel's runner.

An instance whose request cannot be answered (too long for the context, refused by a server as a bad
request: the client raises ``RequestError``) becomes a record with ``error`` set to the reason, no
stats and no prediction; the run goes on and counts it (``n_errors``). Any other model fault fails the
run. A failure is never cached, and its record is stored like any other, so a resumed run does not ask
again.
"""

from __future__ import annotations

from typing import Any

import numpy as np
from pydantic import Field

from tony.core.cache import RequestCache
from tony.core.errors import DataError, ModelError, RequestError, SpecError
from tony.core.registry import registry
from tony.core.spec import RunnableSpec
from tony.core.stats import Stat
from tony.core.store import Store
from tony.lm.adapters.base import Adapter, AdapterSpec
from tony.lm.clients.models import ModelSource
from tony.lm.metrics.aggregate import lm_stats
from tony.lm.perturbations.base import Perturbation
from tony.lm.record import AppliedPerturbation, Exchange, LMRecord
from tony.lm.scenarios.base import Scenario
from tony.lm.types import Client, Completion, Instance, Request

# Few-shot examples come from the scenario's train split, or, where it has none, from a
# fixed pool set aside from the test instances (never shown as test items).
TRAIN_POOL_SEED = 1234


class LMRunSpec(RunnableSpec):
    """Everything that determines a language-model run (HELM's RunSpec); its key names the run."""

    scenario: str
    """Registered scenario name, e.g. bigbench."""
    scenario_args: dict[str, Any] = {}
    """The scenario's arguments, e.g. {"task": "strategyqa"}."""
    model: str = "gemma-3-270m"
    """Registered model name."""
    model_args: dict[str, Any] = {}
    """The model source's arguments (model.path=... in a run entry)."""
    adapter: AdapterSpec = AdapterSpec()
    """How instances become requests."""
    max_instances: int | None = Field(None, ge=1)
    """Evaluate a seeded sample of this many test instances (all when None)."""
    seed: int = Field(0, ge=0)
    """Seeds the instance sample, few-shot draws and option order (0 or more)."""
    perturbations: tuple[dict[str, Any], ...] = ()
    """Robustness and fairness perturbations, each {"name": registered name, **arguments}; every
    test instance (or the first ``max_perturbed`` of them) is also evaluated once per perturbation."""
    max_perturbed: int | None = Field(None, ge=1)
    """Perturb a seeded subset of this many test instances (all when None)."""

    def build_scenario(self) -> Scenario:
        return registry.get("scenario", self.scenario).parse(self.scenario_args)

    def build_perturbations(self) -> list[Perturbation]:
        built = []
        for entry in self.perturbations:
            args = dict(entry)
            name = args.pop("name", None)
            if not name:
                raise SpecError(f"perturbation {entry} has no name; see `tony ls perturbation`")
            built.append(registry.get("perturbation", str(name)).parse(args))
        labels = [p.label for p in built]
        if len(set(labels)) != len(labels):
            raise SpecError(f"perturbations {labels} repeat a variant; give each one a different name or target")
        return built

    def build_model(self) -> ModelSource:
        return registry.get("model", self.model).parse(self.model_args)

    def task(self, store: Store) -> LMTask:
        return LMTask(self, store)


class LMTask:
    kind = "lm"

    def __init__(self, spec: LMRunSpec, store: Store) -> None:
        self.spec = spec
        self.scenario = spec.build_scenario()
        self.source = spec.build_model()
        fmt = self.scenario.prompt_format()
        if spec.adapter.instructions is not None:
            fmt = fmt.model_copy(update={"instructions": spec.adapter.instructions})
        adapter_cls = registry.get("adapter", spec.adapter.method)
        if spec.adapter.chat:  # only generation takes chat=true (AdapterSpec checks)
            self.adapter: Adapter = adapter_cls(spec.adapter, fmt, chat_template=self.source.chat_template(),
                                                sends_messages=self.source.takes_messages())
        else:
            self.adapter = adapter_cls(spec.adapter, fmt)
        self.perturbations = spec.build_perturbations()
        self.store = store
        self.cache = RequestCache(store, self.source.identity())
        self._items: dict[str, tuple[int, Instance, Perturbation | None]] = {}
        self._draws: list[list[Instance]] = []
        self._answered = False
        """Whether some request of this run has been answered here (see _check_refusals)."""

    def labels(self) -> dict[str, Any]:
        adapter = self.spec.adapter
        shots = f",{adapter.num_train}-shot" if adapter.num_train else ""
        args = ",".join(f"{k}={v}" for k, v in self.spec.scenario_args.items())
        scenario = f"{self.spec.scenario}:{args}" if args else self.spec.scenario
        # Prompting a model the way it is meant to be (chat for an instruction-tuned one on generation) keeps
        # its plain name, so its runs share the leaderboard's columns with other models; only the exception
        # is named, so a chat and a raw run of one model never fall into the same cell.
        model = self.spec.model
        if adapter.method == "generation" and adapter.chat != self.source.chat_default:
            model += " (chat)" if adapter.chat else " (no chat)"
        return {"scenario": scenario, "model": model, "method": f"{adapter.method}{shots}"}

    def items(self) -> list[str]:
        test, pool = split_instances(self.scenario.cached_instances(), self.spec.adapter.num_train)
        rng = np.random.default_rng(self.spec.seed)
        if self.spec.max_instances is not None and self.spec.max_instances < len(test):
            test = [test[i] for i in sorted(rng.choice(len(test), self.spec.max_instances, replace=False))]
        perturbed = test
        if self.spec.max_perturbed is not None and self.spec.max_perturbed < len(test):
            perturbed = [test[i] for i in sorted(rng.choice(len(test), self.spec.max_perturbed, replace=False))]
        k = self.spec.adapter.num_train
        self._draws = [
            [pool[j] for j in np.random.default_rng([self.spec.seed, d]).choice(len(pool), k, replace=False)]
            for d in range(self.spec.adapter.num_draws)
        ]
        self._items = {}
        for d in range(len(self._draws)):
            self._items.update({f"{d}:{i.id}": (d, i, None) for i in test})
            # Only the evaluated instance is perturbed, never its few-shot examples (as in HELM).
            for p in self.perturbations:
                self._items.update({f"{d}:{i.id}#{p.label}": (d, p.apply(i), p) for i in perturbed})
        return list(self._items)

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        planned = []
        for item in item_ids:
            draw, instance, perturbation = self._items[item]
            # Seeded by the original instance, so a variant's options are shuffled as the original's are.
            rng = np.random.default_rng([self.spec.seed, draw, _stable_int(instance.id)])
            requests, context = self.adapter.requests(instance, self._draws[draw], rng)
            planned.append((item, draw, instance, perturbation, requests, context))
        outcomes = self._answer([r for p in planned for r in p[4]])
        records: list[LMRecord] = []
        for _, draw, instance, perturbation, requests, context in planned:
            answers, outcomes = outcomes[: len(requests)], outcomes[len(requests) :]
            refused = [a for a in answers if isinstance(a, RequestError)]
            if refused:  # this instance cannot be evaluated; the run goes on and counts it
                verdict: dict[str, Any] = {"details": {}, "error": str(refused[0])}
            else:
                # The ignore: `refused` is empty, so every answer is a Completion (mypy does not narrow a list).
                scored = self.adapter.score(instance, answers, context)  # type: ignore[arg-type]
                verdict = {"prediction": scored.prediction, "confidence": scored.confidence,
                           "correct": scored.correct, "stats": scored.stats, "details": scored.details}
            applied = None if perturbation is None else AppliedPerturbation(
                perturbation.name, perturbation.label, perturbation.family)
            exchanges = tuple(_exchange(r, a) for r, a in zip(requests, answers, strict=True))
            records.append(LMRecord(instance, draw, applied, tuple(e.id for e in self._draws[draw]), exchanges,
                                    **verdict))
        records = self.scenario.grade_records(records, self.store)  # tony.safety's scenarios add their labels
        payloads = [(item, record.to_json()) for (item, *_), record in zip(planned, records, strict=True)]
        # Files the records name (spoken answers, spoken prompts) go into the store before the records do.
        batch, run_id = [payload for _, payload in payloads], self.spec.key()
        type(self.source).keep_artifacts(batch, self.store, run_id)
        for kind in {type(p) for p in self.perturbations}:
            kind.keep_artifacts(batch, self.store, run_id)
        return payloads

    def _answer(self, requests: list[Request]) -> list[Completion | RequestError]:
        """Answers from the cache where stored; the model (loaded on first need) for the rest. A request
        the model cannot answer gives its RequestError in its place, and is not cached."""
        keys = [self.cache.key(r.cache_form(), r.cache_seed()) for r in requests]
        found = self.cache.get_many(list(dict.fromkeys(keys)))
        hits = set(found)
        missing = list(dict.fromkeys(k for k in keys if k not in hits))
        refused: dict[str, RequestError] = {}
        if missing:
            by_key = dict(zip(keys, requests, strict=True))
            fresh = answer_each(self.source.client(), [by_key[k] for k in missing])
            new = {k: c.to_json() for k, c in zip(missing, fresh, strict=True) if not isinstance(c, RequestError)}
            refused = {k: c for k, c in zip(missing, fresh, strict=True) if isinstance(c, RequestError)}
            self.cache.put_many(new)
            found.update(new)
        self._check_refusals(refused, answered=bool(found))
        return [refused[k] if k in refused else Completion.from_json(dict(found[k], cached=k in hits)) for k in keys]

    def _check_refusals(self, refused: dict[str, RequestError], *, answered: bool) -> None:
        """Fail the run (ModelError) when a batch's distinct requests (two or more) are all refused for one
        same reason and no request of the run has been answered yet: that is the model or server refusing
        this kind of request (a field it does not support), not some instances, and recording every
        instance as an error would store a useless run as complete, never to be asked again."""
        reasons = {str(err) for err in refused.values()}
        if not self._answered and not answered and len(refused) >= 2 and len(reasons) == 1:
            raise ModelError(f"every request sent so far was refused the same way (the model or server is at "
                             f"fault, not the instances): {reasons.pop()}")
        self._answered = self._answered or answered

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        typed = [LMRecord.from_json(r) for r in records]
        return lm_stats(typed, seed=self.spec.seed, multiple_choice=self.adapter.multiple_choice)

    def close(self) -> None:
        """Models stay loaded for the next run in this process (see clients.models)."""


def split_instances(instances: list[Instance], num_train: int) -> tuple[list[Instance], list[Instance]]:
    """(test instances, few-shot pool). Raises DataError when there are too few for the shots asked."""
    ids = [i.id for i in instances]
    if len(set(ids)) != len(ids):
        raise DataError("the scenario yields duplicate instance ids; give every instance a unique id")
    test = [i for i in instances if i.split != "train"]
    pool = [i for i in instances if i.split == "train"]
    if num_train and not pool:
        # Set aside a fixed pool (independent of the run's seed) so test items never change with the draw.
        order = np.random.default_rng(TRAIN_POOL_SEED).permutation(len(test))
        size = min(max(4 * num_train, 16), len(test) // 3)
        pool = [test[i] for i in order[:size]]
        taken = {i.id for i in pool}
        test = [i for i in test if i.id not in taken]
    if num_train > len(pool):
        raise DataError(f"{num_train} few-shot examples asked for, but only {len(pool)} are available")
    if not test:
        raise DataError("the scenario has no test instances")
    return test, pool


def answer_each(client: Client, requests: list[Request]) -> list[Completion | RequestError]:
    """The client's answer to each request, or the RequestError of a request it cannot answer.

    Through the client's ``complete_each`` where it has one (it keeps the answers of the other requests);
    otherwise through ``complete``, and when that refuses, one request at a time to find which ones.
    Any other error (the model or server is at fault) propagates and fails the run."""
    each = getattr(client, "complete_each", None)
    if each is not None:
        return list(each(requests))
    try:
        return list(client.complete(requests))
    except RequestError as refused:
        if len(requests) == 1:
            return [refused]
    return [_one(client, request) for request in requests]


def _one(client: Client, request: Request) -> Completion | RequestError:
    try:
        return client.complete([request])[0]
    except RequestError as refused:
        return refused


def _exchange(request: Request, answer: Completion | RequestError) -> Exchange:
    """A request as sent and what came back: its completion, or None and the reason it was refused."""
    if isinstance(answer, RequestError):
        return Exchange(request, None, str(answer))
    return Exchange(request, answer)


def _stable_int(text: str) -> int:
    import zlib

    return zlib.crc32(text.encode("utf-8"))
