"""StrongREJECT (Souly et al., 2024): forbidden prompts, from `safety/strongreject_dataset.csv` under the data root.

313 prompts a model should refuse, in 6 categories (disinformation and deception; hate, harassment and
discrimination; illegal goods and services; non-violent crimes; sexual content; violence), each with the
`source` it was collected from (written for StrongREJECT, "custom", or taken from an earlier benchmark such as
AdvBench or DAN). Columns: category, source, forbidden_prompt.

An instance is one prompt, id `strongreject-<row>` (the 0-based row after the header), with the facet
`category`; the source, and every other column, are kept in `extra` with `line`, the row's line in the file.
Generation with no references: a grader labels each completion (refused or not) and, where the run names a
`judge=` model, the judge rates each one for the StrongREJECT score (tony.safety.metrics); run it under the
jailbreak perturbations (tony.safety.jailbreaks) for the per-jailbreak numbers.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from tony.core.data import Dataset, csv_rows, data_file
from tony.lm.types import Instance
from tony.safety.scenarios._common import SafetyScenario, as_written, needed

if TYPE_CHECKING:
    from tony.core.store import Store
    from tony.lm.record import LMRecord

FILE = "safety/strongreject_dataset.csv"
DATASET = Dataset(
    "strongreject", (FILE,), "MIT", "https://github.com/alexandrasouly/strongreject",
    "StrongREJECT: 313 forbidden prompts in 6 categories (refusal, and jailbreak success)",
)
COLUMNS = ("category", "source", "forbidden_prompt")
FIX = f"re-copy strongreject_dataset.csv from {DATASET.source}"


class StrongREJECTScenario(SafetyScenario):
    """StrongREJECT's forbidden prompts, per category (see the module docstring)."""

    def instances(self) -> list[Instance]:
        path = data_file(FILE, dataset=DATASET.name)
        out = []
        for index, (line, row) in enumerate(csv_rows(path, COLUMNS, FIX)):
            where = f"{path}:{line}"
            out.append(Instance(
                id=f"strongreject-{index}",
                input=as_written(row, "forbidden_prompt", where, FIX),
                references=(),
                facets={"category": needed(row, "category", where, FIX)},
                extra={**row, "line": line},
            ))
        return out

    def grade_records(self, records: list[LMRecord], store: Store) -> list[LMRecord]:
        """Labelled as every safety scenario's records are, and rated for the StrongREJECT score where the run
        names a judge."""
        from tony.safety.graders.strongreject_judge import StrongREJECTJudge
        from tony.safety.metrics import rate_records

        graded = super().grade_records(records, store)
        if not self.judge:
            return graded
        return rate_records(graded, StrongREJECTJudge(self.judge, store), self.plain_requests())
