"""The record a language-model run stores for each item: one instance (or a perturbed variant of it), what
was sent for it, what came back and the adapter's verdict.

`tony.lm.run` builds it, the store keeps ``to_json()`` as the record's payload, and every reader (metrics,
export, compare, report) goes through ``LMRecord.from_json`` rather than the payload's keys. The payload is
the one tony has always written, key for key, so stores written before this type existed read back, and
code that reads the payload's keys reads stores written with it. A key that an older record lacks takes its
field's default; keys ``from_json`` does not know (the store's ``item_id``) are left aside.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from tony.core.store import Store
from tony.lm.types import Completion, Instance, Request

__all__ = ["AppliedPerturbation", "Exchange", "LMRecord", "run_records"]


@dataclass(frozen=True)
class AppliedPerturbation:
    """Which perturbation turned an instance into the variant a record holds."""

    name: str
    """The registered perturbation name, e.g. "gender"."""
    label: str
    """The variant's name in stats and pages: the name plus its target where it has one, e.g. "gender=female"."""
    family: str
    """"robustness" or "fairness"."""

    def to_json(self) -> dict[str, str]:
        return {"name": self.name, "label": self.label, "family": self.family}


@dataclass(frozen=True)
class Exchange:
    """One request as sent, and its completion or the reason it was not answered."""

    request: Request
    """The request exactly as sent (few-shot examples and instructions in its prompt)."""
    completion: Completion | None
    """What came back; None when the request was refused."""
    error: str | None = None
    """Why the request was refused (too long for the context, a bad request to the server); None if answered."""

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"request": self.request.to_json(),
                               "completion": None if self.completion is None else self.completion.to_json()}
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Exchange:
        completion = data.get("completion")
        return cls(Request.from_json(data["request"]), None if completion is None else Completion.from_json(completion),
                   data.get("error"))


@dataclass(frozen=True)
class LMRecord:
    """One evaluated item of a language-model run: an instance of one few-shot draw, or a perturbed variant."""

    instance: Instance
    """The instance as put to the model (a variant's perturbed text, its original id)."""
    draw: int = 0
    """Which seeded draw of few-shot examples its prompt holds."""
    perturbation: AppliedPerturbation | None = None
    """The perturbation that made this variant; None for the original instance."""
    examples: tuple[str, ...] = ()
    """Ids of the few-shot examples in its prompt, in order."""
    exchanges: tuple[Exchange, ...] = ()
    """Every request sent for it (calibrated multiple choice sends two) with what came back."""
    prediction: str | None = None
    """The chosen option (multiple choice) or the answer read from the completion (generation); None for an
    error."""
    confidence: float | None = None
    """The model's probability for its prediction, where the adapter has one (multiple choice)."""
    correct: bool | None = None
    """Whether the prediction is right; None where there is no right answer to compare with, and for an error."""
    stats: dict[str, float] = field(default_factory=dict)
    """Per-instance metric values, e.g. {"accuracy": 1.0, "correct_mass": 0.8}; empty for an error."""
    details: dict[str, Any] | None = None
    """What else the adapter kept (the options in the order shown and their scores, a raw completion)."""
    error: str | None = None
    """Why its requests could not be answered (then it counts only in n_errors); None when answered."""

    @property
    def answered(self) -> bool:
        """Whether its requests were answered (no error), so that metrics can read it."""
        return not self.error

    @property
    def is_original(self) -> bool:
        """Whether it holds the instance itself, not a perturbed variant."""
        return self.perturbation is None

    @property
    def key(self) -> tuple[int, str]:
        """(draw, instance id): the same for an original and each of its variants."""
        return self.draw, self.instance.id

    @property
    def completions(self) -> tuple[Completion, ...]:
        """What came back for each answered request, in order (all of them where the record is answered)."""
        return tuple(e.completion for e in self.exchanges if e.completion is not None)

    @property
    def generates(self) -> bool:
        """Whether the model generated text for it (a generation request, not the scoring of options)."""
        return any(e.request.is_generation for e in self.exchanges)

    def to_json(self) -> dict[str, Any]:
        """The stored payload; ``error`` is written only where there is one."""
        out = {
            "instance": self.instance.to_json(),
            "draw": self.draw,
            "perturbation": None if self.perturbation is None else self.perturbation.to_json(),
            "examples": list(self.examples),
            "exchanges": [e.to_json() for e in self.exchanges],
            "prediction": self.prediction,
            "confidence": self.confidence,
            "correct": self.correct,
            "stats": self.stats,
            "details": self.details,
        }
        if self.error is not None:
            out["error"] = self.error
        return out

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> LMRecord:
        """The record of a stored payload (as `Store.records` gives it, ``item_id`` and all)."""
        perturbation = data.get("perturbation")
        return cls(
            Instance.from_json(data["instance"]),
            data.get("draw", 0),
            AppliedPerturbation(**perturbation) if perturbation else None,
            tuple(data.get("examples", ())),
            tuple(Exchange.from_json(e) for e in data.get("exchanges", ())),
            data.get("prediction"),
            data.get("confidence"),
            data.get("correct"),
            data.get("stats") or {},
            data.get("details"),
            data.get("error"),
        )


def run_records(store: Store, run_id: str) -> list[LMRecord]:
    """Every record of a stored language-model run, in the order stored."""
    return [LMRecord.from_json(payload) for payload in store.records(run_id)]
