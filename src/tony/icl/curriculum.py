"""The training curriculum of Garg et al. (2022): prompts start small and grow on a schedule.

Both the number of active input dimensions and the number of points per prompt start at a
value, grow by an increment every `interval` steps and stop at their end. The schedule is a pure
function of the step, so a resumed training run is exactly where an uninterrupted one would be.
"""

from __future__ import annotations

from pydantic import model_validator

from tony.core.errors import SpecError
from tony.core.spec import Spec


class Curriculum(Spec):
    """How many input dimensions are active and how many points a prompt has, at each step."""

    dims_start: int
    """Active dimensions at step 0 (the rest of the input is zero)."""
    dims_end: int
    """Active dimensions once fully grown (at most the model's d)."""
    dims_increment: int = 1
    dims_interval: int = 2000
    """Steps between increments of the active dimensions."""
    points_start: int
    """Points (x, f(x) pairs) per prompt at step 0."""
    points_end: int
    """Points per prompt once fully grown; the model has 2 * points_end positions."""
    points_increment: int = 2
    points_interval: int = 2000
    """Steps between increments of the points per prompt."""

    @model_validator(mode="after")
    def _check(self) -> Curriculum:
        for what in ("dims", "points"):
            start, end = getattr(self, f"{what}_start"), getattr(self, f"{what}_end")
            increment, interval = getattr(self, f"{what}_increment"), getattr(self, f"{what}_interval")
            if not 1 <= start <= end:
                raise SpecError(f"curriculum needs 1 <= {what}_start <= {what}_end, got {start} and {end}")
            if increment < 0 or interval < 1:
                raise SpecError(f"curriculum needs {what}_increment >= 0 and {what}_interval >= 1, "
                                f"got {increment} and {interval}")
        return self

    def dims_at(self, step: int) -> int:
        """Active input dimensions for the batch of `step` (0-based)."""
        return min(self.dims_start + self.dims_increment * (step // self.dims_interval), self.dims_end)

    def points_at(self, step: int) -> int:
        """Points per prompt for the batch of `step` (0-based)."""
        return min(self.points_start + self.points_increment * (step // self.points_interval), self.points_end)

    @classmethod
    def fixed(cls, dims: int, points: int) -> Curriculum:
        """No curriculum: every batch has `dims` active dimensions and `points` points."""
        return cls(dims_start=dims, dims_end=dims, points_start=points, points_end=points)
