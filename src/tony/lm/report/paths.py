"""Where the language-model pages lie: all in lm/, so they link to each other by file name."""

from __future__ import annotations

FOLDER = "lm"
LEADERBOARD = f"{FOLDER}/index.html"


def run_page(run_id: str) -> str:
    return f"{FOLDER}/run-{run_id[:12]}.html"


def instances_page(run_id: str, number: int) -> str:
    """The drill-down page `number` (from 1) of a run."""
    return f"{FOLDER}/run-{run_id[:12]}-p{number}.html"


def href(path: str) -> str:
    """A link from one lm/ page to another."""
    return path.rpartition("/")[2]
