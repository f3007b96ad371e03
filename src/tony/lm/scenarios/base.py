"""The scenario interface: a named, argument-validated source of instances."""

from __future__ import annotations

from typing import TYPE_CHECKING

from tony.core.data import data_root
from tony.core.spec import Spec
from tony.lm.adapters.base import PromptFormat
from tony.lm.types import Instance

if TYPE_CHECKING:
    from tony.core.store import Store
    from tony.lm.record import LMRecord

_LOADED: dict[str, list[Instance]] = {}


class Scenario(Spec):
    """Base of every scenario. Its pydantic fields are the arguments of a run entry
    (`bigbench:task=strategyqa` sets `task`), so a bad argument is a one-line SpecError.
    """

    def instances(self) -> list[Instance]:
        """Every instance, in a stable order; ids unique. Train-split instances are few-shot examples."""
        raise NotImplementedError

    def cached_instances(self) -> list[Instance]:
        """`instances()`, read once per process (planning validates the data; the run reuses it)."""
        # The same spec under another data root reads other files.
        key = f"{self.key()}|{data_root()[0]}"
        if key not in _LOADED:
            _LOADED[key] = self.instances()
        return _LOADED[key]

    def default_method(self) -> str:
        """The adapter used when a run entry names none."""
        return "multiple_choice_separate"

    def grade_records(self, records: list[LMRecord], store: Store) -> list[LMRecord]:
        """A batch of records before it is stored: a scenario whose completions a grader labels adds the labels to
        each record's stats (tony.safety; a model judge caches its answers in the run's `store`); the rest keep
        them as they are."""
        return records

    def prompt_format(self) -> PromptFormat:
        """How this scenario's instances are written into prompts (standard Q:/A: unless the source says)."""
        return PromptFormat()
