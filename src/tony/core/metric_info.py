"""What a metric declares where it is registered: its family and which of its values are better.

Named tuples only, no dataclasses, so that the catalog can build one per metric while `tony --help` starts.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NamedTuple


class Direction(NamedTuple):
    """Which values of a metric are better (a named tuple: the catalog builds one per metric as `tony` starts)."""

    higher_is_better: bool | None = True
    """True: larger is better; False: smaller is better; None: the value closest to `target` is best, or,
    without a target, no value is better than another (a count, a training diagnostic)."""
    target: float | None = None
    """The best value, for a metric whose best is neither end (BBQ's bias score: 0)."""

    @property
    def ordered(self) -> bool:
        """Whether some values are better than others (so models can be ranked on it)."""
        return self.higher_is_better is not None or self.target is not None

    def rank(self, value: float) -> float:
        """The value to rank by, larger meaning better (the value itself for a metric without an order)."""
        if self.target is not None:
            return -abs(value - self.target)
        return -value if self.higher_is_better is False else value

    @classmethod
    def of_row(cls, row: Mapping[str, Any]) -> Direction:
        """The direction stored with a stat row (unordered for a metric that was not registered)."""
        return cls(row["higher_is_better"], row["target"])


HIGHER = Direction(True)
LOWER = Direction(False)
UNORDERED = Direction(None)


def best_at(target: float) -> Direction:
    """The direction of a metric whose best value is `target`."""
    return Direction(None, target)


class MetricInfo(NamedTuple):
    """What a metric declares where it is registered (registry kind "metric")."""

    family: str
    """The family its stats are reported under when they are on unperturbed instances."""
    direction: Direction
    """Which of its values are better."""
