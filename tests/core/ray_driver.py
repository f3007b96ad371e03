"""A driver process for the Ray executor's restart test: runs counting specs on a Ray cluster joined by address.

    python ray_driver.py STORE_URL RAY_ADDRESS LOG_DIR

Three specs of 8 items, batches of 2, each batch sleeping 0.3 s, so the test can kill the driver mid-suite.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ray_count import RayCountSpec

from tony.core.executors import run_specs


def specs(log_dir: Path) -> list[RayCountSpec]:
    return [RayCountSpec(n=8, log=str(log_dir / f"run{i}.log"), delay_s=0.3) for i in range(3)]


def main() -> None:
    store, address, log_dir = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    results = list(run_specs(specs(log_dir), store, executor="ray", ray_address=address, batch_size=2))
    raise SystemExit(0 if all(r.status == "complete" for r in results) else 1)


if __name__ == "__main__":
    main()
