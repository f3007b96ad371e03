"""The runner's view of one RL run: its items are iterations, its records their diagnostics, its stats the run's.

An `RLSpec`'s task has items "iter-00001", ...; processing a batch of them trains up to the last one,
checkpoints the whole trainer (`tony.core.checkpoints`) and returns their records (the iteration's
diagnostics and finished episodes). A killed run resumes from its checkpoint; the checkpoint holds
every record it trained, so iterations trained but not yet committed to the store are returned from
it rather than trained twice. Per-run stats:

- ``final_return``: mean raw return of the episodes that ended in the last `FINAL_ITERATIONS`
  iterations, with a bootstrap interval over those episodes;
- each of `tony.rl.diagnostics.DIAGNOSTICS` (``kl``, ``max_ratio``, ``clip_fraction``, ``entropy``,
  ``value_loss``): its mean over iterations with a bootstrap interval (n = iterations).
"""

from __future__ import annotations

from typing import Any

from tony.core.stats import Stat, mean_stat
from tony.core.store import Store
from tony.rl.diagnostics import DIAGNOSTICS
from tony.rl.spec import RLSpec

KIND = "rl"
"""The runs' kind in the store."""
FINAL_ITERATIONS = 10
"""A run's final return is over the episodes that ended in this many last iterations."""


def item_id(iteration: int) -> str:
    return f"iter-{iteration:05d}"


class RLTask:
    """The runner's view of an `RLSpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: RLSpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._trainer: Any = None
        self._threads_before: int | None = None

    def labels(self) -> dict[str, Any]:
        return {"scenario": self.spec.env, "method": self.spec.label(), "seed": self.spec.seed,
                "steps": self.spec.total_steps}

    def items(self) -> list[str]:
        return [item_id(i) for i in range(1, self.spec.iterations + 1)]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        from tony.core.checkpoints import save_checkpoint

        trainer = self._load()
        target = max(int(i.removeprefix("iter-")) for i in item_ids)
        if trainer.iteration < target:
            while trainer.iteration < target:
                trainer.step()
            save_checkpoint(self.store, self.spec, trainer.state())
        return [(i, trainer.history[int(i.removeprefix("iter-")) - 1]) for i in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        rows = sorted(records, key=lambda r: r["iteration"])
        final = [x for r in rows[-FINAL_ITERATIONS:] for x in r["episode_returns"]]
        stats = [mean_stat("final_return", final, seed=self.spec.seed)]
        for name in DIAGNOSTICS:
            values = [r[name] for r in rows if r.get(name) is not None]
            stats.append(mean_stat(name, values, seed=self.spec.seed))
        return stats

    def close(self) -> None:
        if self._trainer is not None:
            self._trainer.close()
            self._trainer = None
        if self._threads_before is not None:  # torch's thread count is process-wide: give it back
            import torch

            torch.set_num_threads(self._threads_before)
            self._threads_before = None

    def _load(self):
        """The trainer, restored from the newest checkpoint when there is one."""
        if self._trainer is None:
            import torch

            from tony.core.checkpoints import load_checkpoint
            from tony.rl.train import Trainer

            # Small networks: one thread is fastest, and parallel runs do not fight over cores.
            self._threads_before = torch.get_num_threads()
            torch.set_num_threads(1)
            self._trainer = Trainer(self.spec)
            state = load_checkpoint(self.store, self.spec)
            if state is not None:
                self._trainer.load(state)
        return self._trainer
