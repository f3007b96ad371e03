"""How far a grader's labels agree with reference labels: raw agreement, the confusion matrix, Cohen's kappa."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from tony.safety.graders.labels import LABELS


@dataclass(frozen=True)
class Agreement:
    """A grader's labels against reference labels, over the rows where the grader gave one of LABELS."""

    n: int
    """Rows compared."""
    agreement: float | None
    """The fraction of compared rows where the labels are equal (None without rows)."""
    kappa: float | None
    """Cohen's kappa; None where it is undefined (no rows, or chance agreement is 1)."""
    confusion: list[list[int]]
    """confusion[i][j]: rows whose reference is LABELS[i] and whose grader label is LABELS[j]."""
    not_compared: int
    """Rows left out because the grader's label is not one of LABELS (a judge's "unparseable")."""


def confusion_matrix(reference: Sequence[str], predicted: Sequence[str]) -> list[list[int]]:
    """The 3x3 matrix over LABELS (rows: reference, columns: predicted) of the pairs where both are labels."""
    index = {label: i for i, label in enumerate(LABELS)}
    matrix = [[0] * len(LABELS) for _ in LABELS]
    for ref, pred in zip(reference, predicted, strict=True):
        if ref in index and pred in index:
            matrix[index[ref]][index[pred]] += 1
    return matrix


def cohens_kappa(matrix: Sequence[Sequence[int]]) -> float | None:
    """(p_o - p_e) / (1 - p_e) for a square confusion matrix: p_o the observed agreement, p_e the agreement
    expected from the two raters' label frequencies alone; None where there are no rows or p_e is 1."""
    total = sum(sum(row) for row in matrix)
    if total == 0:
        return None
    observed = sum(matrix[i][i] for i in range(len(matrix))) / total
    rows = [sum(row) / total for row in matrix]
    columns = [sum(row[j] for row in matrix) / total for j in range(len(matrix))]
    expected = sum(r * c for r, c in zip(rows, columns, strict=True))
    if expected >= 1.0:
        return None
    return (observed - expected) / (1.0 - expected)


def agreement(reference: Sequence[str], predicted: Sequence[str]) -> Agreement:
    """Agreement, kappa and confusion of `predicted` against `reference` (equal lengths; references in LABELS)."""
    matrix = confusion_matrix(reference, predicted)
    n = sum(sum(row) for row in matrix)
    equal = sum(matrix[i][i] for i in range(len(LABELS)))
    return Agreement(n, equal / n if n else None, cohens_kappa(matrix), matrix, len(predicted) - n)
