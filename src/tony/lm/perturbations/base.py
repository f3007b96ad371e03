"""What every perturbation is: a seeded, registered rewrite of an instance's text.

A perturbation belongs to a family: "robustness" (meaning-preserving noise such as typos) or
"fairness" (a demographic attribute changed, meaning otherwise kept). Applied to an instance it
rewrites the input, and the references too where the perturbation maps words consistently
(``perturbs_references``), so a gender-swapped question keeps a gender-swapped answer.

Randomness is drawn from a generator seeded by (perturbation seed, instance id), so a variant is
the same in every run and on every machine.
"""

from __future__ import annotations

import dataclasses
import zlib
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from tony.core.spec import Spec
from tony.core.stats import Stat
from tony.lm.types import Instance

if TYPE_CHECKING:
    from tony.core.store import Store

ROBUSTNESS = "robustness"
FAIRNESS = "fairness"


class Perturbation(Spec):
    """Base of every perturbation; subclasses implement ``perturb_text``."""

    name: ClassVar[str] = ""
    """The registered name, e.g. "typos"."""
    family: ClassVar[str] = ROBUSTNESS
    """"robustness" or "fairness"."""
    perturbs_references: ClassVar[bool] = False
    """Whether references get the same rewrite as the input."""

    seed: int = 0
    """Seeds every random choice (with the instance id)."""

    @property
    def label(self) -> str:
        """How stats and pages name this variant: the name, plus the target group where there is one
        (e.g. "gender=female")."""
        target = getattr(self, "target", None)
        return f"{self.name}={target}" if target else self.name

    def check_ready(self) -> None:
        """Raise a DataError now (at planning, before any run starts) if data the perturbation needs is
        missing."""

    @classmethod
    def own_stats(cls, instances: list[Instance], *, seed: int = 0) -> list[Stat]:
        """Stats of the perturbation itself, from the instances it made (all its variants in a run), beside the
        metrics' stats on them: the speech channel's word error rate per voice, say. None by default."""
        return []

    @classmethod
    def keep_artifacts(cls, records: list[dict[str, Any]], store: Store, run_id: str) -> None:
        """Put the files a batch of records (as stored: JSON) names into the run's store, before the batch is
        stored: the speech channel's spoken prompts, say. Nothing by default."""

    def perturb_text(self, text: str, rng: np.random.Generator) -> str:
        raise NotImplementedError

    def rng(self, instance_id: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(instance_id.encode("utf-8"))])

    def apply(self, instance: Instance) -> Instance:
        """The perturbed instance; its id and everything but the text are kept.

        The references are rewritten with a generator seeded as the input's was, so a word the
        perturbation maps deterministically maps the same way in both.
        """
        text = self.perturb_text(instance.input, self.rng(instance.id))
        references = instance.references
        if self.perturbs_references:
            references = tuple(
                dataclasses.replace(r, output=self.perturb_text(r.output, self.rng(instance.id)))
                for r in references
            )
        return dataclasses.replace(instance, input=text, references=references)
