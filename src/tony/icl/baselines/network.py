"""A two-layer ReLU network fitted to the in-context examples by gradient descent (Adam), in torch.

Every (prompt, position) gets its own network, trained full-batch on the pairs before that
position. The networks are independent but trained together as one batched model: the loss is
a sum of per-network losses and Adam acts per parameter, so this is exactly separate training,
`chunk` networks at a time. Cost: about 6 * steps * n_points * hidden * d flops per network, so
256 prompts x 41 points x 1000 steps at d=20 is a few teraflops (minutes on two CPU cores).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tony.core.errors import SpecError
from tony.icl.baselines.base import PrefixEstimator, require_module


def _train_networks(
    xs: np.ndarray, ys: np.ndarray, mask: np.ndarray, queries: np.ndarray,
    *, hidden: int, steps: int, lr: float, seed: int, device: str = "cpu",
) -> np.ndarray:
    """Train one network per row on the pairs of ``xs [B, m, d]``, ``ys [B, m]`` where ``mask [B, m]``.

    Returns each network's predictions at its ``queries [B, q, d]``, ``[B, q]``.
    """
    import torch

    gen = torch.Generator().manual_seed(seed)
    b, _, d = xs.shape
    x = torch.as_tensor(xs, dtype=torch.float32, device=device)
    y = torch.as_tensor(ys, dtype=torch.float32, device=device)
    weight = torch.as_tensor(mask, dtype=torch.float32, device=device)
    weight = weight / weight.sum(dim=1, keepdim=True).clamp(min=1.0)

    def uniform(shape: tuple[int, ...], bound: float) -> torch.Tensor:  # nn.Linear's default initialization
        return ((torch.rand(shape, generator=gen) * 2 - 1) * bound).to(device).requires_grad_()

    w1, b1 = uniform((b, hidden, d), 1 / math.sqrt(d)), uniform((b, hidden), 1 / math.sqrt(d))
    w2, b2 = uniform((b, hidden), 1 / math.sqrt(hidden)), uniform((b,), 1 / math.sqrt(hidden))
    params = [w1, b1, w2, b2]

    def forward(inputs: torch.Tensor) -> torch.Tensor:
        h = torch.relu(torch.einsum("bmd,bhd->bmh", inputs, w1) + b1[:, None, :])
        return torch.einsum("bmh,bh->bm", h, w2) + b2[:, None]

    optimizer = torch.optim.Adam(params, lr=lr)
    for _ in range(steps):
        optimizer.zero_grad(set_to_none=True)
        loss = ((forward(x) - y) ** 2 * weight).sum()
        loss.backward()
        optimizer.step()
    with torch.no_grad():
        return forward(torch.as_tensor(queries, dtype=torch.float32, device=device)).double().cpu().numpy()


@dataclass
class GDNetwork(PrefixEstimator):
    """Two-layer ReLU network (`hidden` units, biases) trained by full-batch Adam for `steps` steps."""

    hidden: int = 100
    """Hidden units of each network."""
    steps: int = 1000
    """Full-batch Adam steps per network."""
    lr: float = 5e-3
    """Adam's learning rate."""
    seed: int = 0
    """Seed of the initialization."""
    chunk: int = 2048
    """How many networks train at once (memory ~ chunk * n_points * hidden floats, times a few).
    Each chunk is initialized from seed + its first index, so results depend on it as on `seed`."""
    device: str = "cpu"
    """Torch device to train on, e.g. "cuda" (the results differ from the CPU's by rounding only)."""
    name: ClassVar[str] = "gd_network"

    def __post_init__(self) -> None:
        if self.hidden < 1 or self.steps < 0 or not self.lr > 0 or self.chunk < 1:
            raise SpecError(f"GDNetwork needs hidden >= 1, steps >= 0, lr > 0, chunk >= 1; got {self}")
        require_module("torch", "pip install 'tony[hf]' (or torch)")

    def _train(self, xs: np.ndarray, ys: np.ndarray, mask: np.ndarray, queries: np.ndarray, seed: int) -> np.ndarray:
        return _train_networks(xs, ys, mask, queries, hidden=self.hidden, steps=self.steps, lr=self.lr, seed=seed,
                               device=self.device)

    def _predict_one(self, X: np.ndarray, y: np.ndarray, queries: np.ndarray) -> np.ndarray:
        return self._train(X[None], y[None], np.ones((1, len(y))), queries[None], self.seed)[0]

    def _predict_prefixes(self, xs: np.ndarray, ys: np.ndarray, queries: np.ndarray) -> np.ndarray:
        n, p, _ = xs.shape
        # Position-major order: a chunk holds similar prefix lengths, so it trains on few padded rows.
        position, prompt = (a.ravel() for a in np.meshgrid(np.arange(1, p), np.arange(n), indexing="ij"))
        preds = np.zeros((n, p))
        for start in range(0, len(prompt), self.chunk):
            i, k = prompt[start : start + self.chunk], position[start : start + self.chunk]
            m = int(k.max())
            mask = np.arange(m)[None, :] < k[:, None]
            out = self._train(xs[i, :m], ys[i, :m], mask, queries[i, k][:, None, :], self.seed + start)
            preds[i, k] = out[:, 0]
        return preds
