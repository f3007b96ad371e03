"""The training loop shared by PPO and TRPO: collect an iteration, update, record its diagnostics.

A `Trainer` holds everything a run's future depends on: the two networks, the optimizer(s), the
environments with their filters and episodes in progress, the random generator, and the history of
per-iteration records. `state()` / `load()` move all of it to and from a checkpoint, so a run
trained k iterations, stopped and resumed gives the same records as a straight run.
"""

from __future__ import annotations

import math
import time
from typing import Any

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from tony.rl.networks import GaussianPolicy, ValueNet
from tony.rl.ppo import ppo_update
from tony.rl.rollout import Collector
from tony.rl.spec import RLSpec, check_env
from tony.rl.trpo import trpo_update

RECENT_EPISODES = 10
"""`recent_return` is the mean raw return of this many last finished episodes."""


class Trainer:
    """One run of `spec`, advanced an iteration at a time."""

    def __init__(self, spec: RLSpec) -> None:
        self.spec = spec
        obs_size, act_size = check_env(spec.env)
        tanh, orthogonal = spec.switches.tanh_activations, spec.switches.orthogonal_init
        with torch.random.fork_rng():
            torch.manual_seed(spec.seed)
            self.policy = GaussianPolicy(obs_size, act_size, spec.hidden, tanh=tanh, orthogonal=orthogonal,
                                         init_log_std=spec.init_log_std)
            self.value = ValueNet(obs_size, spec.hidden, tanh=tanh, orthogonal=orthogonal)
        trained = [*self.policy.parameters(), *self.value.parameters()] if spec.algo == "ppo" else \
            list(self.value.parameters())
        self.optimizer = torch.optim.Adam(trained, lr=spec.lr, eps=spec.adam_eps, foreach=True)
        self.generator = torch.Generator().manual_seed(spec.seed)
        self.collector = Collector(spec)
        self.iteration = 0
        self.history: list[dict[str, Any]] = []
        self.recent: list[float] = []

    def step(self) -> dict[str, Any]:
        """Train one iteration; return (and keep) its record."""
        spec = self.spec
        started = time.process_time()
        lr = spec.lr * (1 - self.iteration / spec.iterations) if spec.switches.lr_annealing else spec.lr
        for group in self.optimizer.param_groups:
            group["lr"] = lr
        batch, finished = self.collector.collect(self.policy, self.value, self.generator)
        update = ppo_update if spec.algo == "ppo" else trpo_update
        stats = update(spec, self.policy, self.value, self.optimizer, batch, self.generator)
        self.iteration += 1
        self.recent = (self.recent + finished)[-RECENT_EPISODES:]
        record = {"iteration": self.iteration, "steps": self.iteration * spec.steps_per_iteration, "lr": lr,
                  "episode_returns": [round(r, 3) for r in finished],
                  "mean_return": _mean(finished), "recent_return": _mean(self.recent),
                  **{k: _finite(v) for k, v in stats.items()}, "cpu_s": round(time.process_time() - started, 3)}
        self.history.append(record)
        return record

    def state(self) -> dict[str, Any]:
        return {"iteration": self.iteration, "policy": self.policy.state_dict(), "value": self.value.state_dict(),
                "optimizer": self.optimizer.state_dict(), "generator": self.generator.get_state(),
                "collector": self.collector.state(), "history": self.history, "recent": self.recent}

    def load(self, state: dict[str, Any]) -> None:
        self.iteration = int(state["iteration"])
        self.policy.load_state_dict(state["policy"])
        if self.spec.algo == "trpo" and self.iteration > 0:
            # TRPO's step leaves the policy's parameters as views into one flat vector (`vector_to_parameters`);
            # float32 kernels can round differently on differently aligned memory, so a resumed run lays them out
            # the same way as the straight run it continues.
            flat = parameters_to_vector(self.policy.parameters()).detach()
            vector_to_parameters(flat, self.policy.parameters())
        self.value.load_state_dict(state["value"])
        self.optimizer.load_state_dict(state["optimizer"])
        self.generator.set_state(state["generator"])
        self.collector.load(state["collector"])
        self.history, self.recent = list(state["history"]), list(state["recent"])

    def close(self) -> None:
        self.collector.close()


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None


def _finite(value: float) -> float | None:
    """JSON-safe: a non-finite diagnostic (e.g. an infinite ratio) is stored as None."""
    return float(value) if math.isfinite(value) else None
