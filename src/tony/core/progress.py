"""Progress bars for every long loop: done / total, rate and time left (tqdm on stderr)."""

from __future__ import annotations

import os
import sys


def progress_bar(total: int, description: str, *, initial: int = 0, unit: str = "it"):
    """A tqdm bar; silent when TONY_PROGRESS=0 or stderr is not a terminal and TONY_PROGRESS is unset."""
    from tqdm import tqdm

    setting = os.environ.get("TONY_PROGRESS")
    disable = setting == "0" or (setting is None and not sys.stderr.isatty())
    return tqdm(
        total=total,
        initial=initial,
        desc=description,
        unit=unit,
        disable=disable,
        dynamic_ncols=True,
        bar_format="{desc}: {n_fmt}/{total_fmt} [{elapsed}<{remaining}, {rate_fmt}]",
    )
