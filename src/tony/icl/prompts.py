"""Prompt distributions, in and out of distribution, and the interleaving the transformer reads.

A prompt is (x_0, y_0, ..., x_{n-1}, y_{n-1}) with y_i = f(x_i) for one sampled f.
Position k is scored as a query: predict y at x_k from the k earlier pairs.
Some distributions of the paper change only the query (`QUERY_SHIFTS`): then the
query at position k is `query_xs[:, k]` (target `query_ys[:, k]`) while the
in-context pairs stay `xs`, `ys`; `sample_eval_prompts` returns both.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.icl.functions import FunctionClass, get_function_class

IN_SEQUENCE = ("standard", "skewed_covariance", "half_subspace", "scaled_inputs", "scaled_outputs", "noisy_outputs")
"""Distributions where every x (context or query) comes from the same law."""
QUERY_SHIFTS = ("random_orthant", "orthogonal_query", "query_matches_example")
"""Distributions where the query differs from the in-context examples."""
DISTRIBUTIONS = IN_SEQUENCE + QUERY_SHIFTS
PAPER_SCALES = (1 / 3, 1 / 2, 2.0, 3.0)
"""The factors c of the paper's scaled-input and scaled-output evaluations."""


@dataclass(frozen=True)
class Prompts:
    """A batch of prompts; with an in-sequence distribution `query_xs is xs` and `query_ys is ys`."""

    xs: np.ndarray
    """In-context inputs, [n_prompts, n_points, d] float32."""
    ys: np.ndarray
    """In-context outputs, [n_prompts, n_points] float32."""
    query_xs: np.ndarray
    """The query scored at each position k (seeing pairs 0..k-1), [n_prompts, n_points, d] float32."""
    query_ys: np.ndarray
    """Its target, [n_prompts, n_points] float32."""

    @property
    def shifted_query(self) -> bool:
        """Whether queries differ from the in-context examples (so a model needs one pass per position)."""
        return self.query_xs is not self.xs


def _generator(seed: int | None, rng: np.random.Generator | None) -> np.random.Generator:
    if (seed is None) == (rng is None):
        raise SpecError("give exactly one of seed= or rng= (every random choice takes a seed)")
    return rng if rng is not None else np.random.default_rng(seed)


def _random_rotations(rng: np.random.Generator, n: int, d: int) -> np.ndarray:
    """n Haar-random orthogonal d x d matrices."""
    q, r = np.linalg.qr(rng.standard_normal((n, d, d)))
    return q * np.sign(np.diagonal(r, axis1=1, axis2=2))[:, None, :]


def _covariance_inputs(rng: np.random.Generator, n: int, p: int, d: int, eigenvalues: np.ndarray) -> np.ndarray:
    """x ~ N(0, U diag(eigenvalues) U^T) with a random rotation U per prompt."""
    z = rng.standard_normal((n, p, d)) * np.sqrt(eigenvalues)
    return np.einsum("npe,nde->npd", z, _random_rotations(rng, n, d))


def _orthogonal_queries(xs: np.ndarray) -> np.ndarray:
    """Query k: x_k projected off span(x_0..x_{k-1}), rescaled to |x_k|."""
    queries = xs.copy()
    for k in range(1, xs.shape[1]):
        basis, _ = np.linalg.qr(np.swapaxes(xs[:, :k], 1, 2))  # [n, d, k], orthonormal columns
        off = xs[:, k] - np.einsum("ndk,nk->nd", basis, np.einsum("ndk,nd->nk", basis, xs[:, k]))
        queries[:, k] = off * (np.linalg.norm(xs[:, k], axis=1) / np.linalg.norm(off, axis=1))[:, None]
    return queries


def sample_eval_prompts(
    function_class: str | FunctionClass,
    n_prompts: int,
    n_points: int,
    d: int,
    *,
    active_dims: int | None = None,
    distribution: str = "standard",
    scale: float | None = None,
    noise_std: float = 1.0,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> Prompts:
    """Sample prompts from any distribution in `DISTRIBUTIONS`, in-context pairs and queries.

    standard: x ~ N(0, I). skewed_covariance: x ~ N(0, S), S with a random eigenbasis and
    eigenvalues proportional to 1/i^2, trace d (so E|x|^2 = d). half_subspace: x Gaussian on a
    random floor(d/2)-dimensional subspace (one per prompt), E|x|^2 = d. scaled_inputs: x * scale.
    scaled_outputs: y * scale. noisy_outputs: y + N(0, noise_std^2). random_orthant: context in
    one random orthant per prompt, queries ~ N(0, I). orthogonal_query: query k is x_k made
    orthogonal to x_0..x_{k-1} (needs n_points <= d). query_matches_example: query k is a
    uniformly chosen earlier x_j (query 0 is x_0).

    With `active_dims` < d inputs are drawn in the first `active_dims` coordinates and the rest
    are zero (the curriculum). Exactly one of `seed` and `rng` must be given.
    """
    gen = _generator(seed, rng)
    fc = get_function_class(function_class) if isinstance(function_class, str) else function_class
    if distribution not in DISTRIBUTIONS:
        raise SpecError(f"unknown prompt distribution '{distribution}'; choose one of: {', '.join(DISTRIBUTIONS)}")
    if n_prompts < 1 or n_points < 1:
        raise SpecError(f"need n_prompts >= 1 and n_points >= 1, got {n_prompts} and {n_points}")
    active = d if active_dims is None else active_dims
    if d < 1 or not 1 <= active <= d:
        raise SpecError(f"need d >= 1 and 1 <= active_dims <= d, got d={d}, active_dims={active_dims}")
    if distribution in ("scaled_inputs", "scaled_outputs") and scale is None:
        raise SpecError(f"distribution '{distribution}' needs scale= (the paper uses {PAPER_SCALES})")
    if scale is not None and not (np.isfinite(scale) and scale != 0):
        raise SpecError(f"scale must be a finite nonzero number, got {scale}")
    if distribution == "half_subspace" and active < 2:
        raise SpecError("distribution 'half_subspace' needs at least 2 active dimensions")
    if distribution == "orthogonal_query" and n_points > active:
        raise SpecError(
            f"distribution 'orthogonal_query' needs n_points <= active dimensions ({active}), got {n_points}: "
            "a query cannot be orthogonal to more examples than the dimension"
        )
    if distribution == "noisy_outputs" and not noise_std >= 0:
        raise SpecError(f"noise_std must be >= 0, got {noise_std}")

    functions = fc.sample(n_prompts, d, gen, active_dims=active)
    shape = (n_prompts, n_points, active)
    if distribution == "skewed_covariance":
        eigenvalues = 1.0 / np.arange(1, active + 1) ** 2
        xs_active = _covariance_inputs(gen, n_prompts, n_points, active, eigenvalues * active / eigenvalues.sum())
    elif distribution == "half_subspace":
        half = active // 2
        eigenvalues = np.r_[np.full(half, active / half), np.zeros(active - half)]
        xs_active = _covariance_inputs(gen, n_prompts, n_points, active, eigenvalues)
    elif distribution == "random_orthant":
        signs = np.where(gen.random((n_prompts, 1, active)) < 0.5, -1.0, 1.0)
        xs_active = np.abs(gen.standard_normal(shape)) * signs
    else:
        xs_active = gen.standard_normal(shape)
    if distribution == "scaled_inputs" and scale is not None:
        xs_active = xs_active * float(scale)

    xs = np.zeros((n_prompts, n_points, d))
    xs[..., :active] = xs_active
    if distribution == "random_orthant":
        query_xs = np.zeros_like(xs)
        query_xs[..., :active] = gen.standard_normal(shape)
    elif distribution == "orthogonal_query":
        query_xs = _orthogonal_queries(xs)
    elif distribution == "query_matches_example":
        earlier = np.floor(gen.random((n_prompts, n_points)) * np.arange(n_points)).astype(np.int64)
        query_xs = np.take_along_axis(xs, earlier[..., None], axis=1)
    else:
        query_xs = xs

    ys = functions(xs)
    query_ys = ys if query_xs is xs else functions(query_xs)
    if distribution == "scaled_outputs" and scale is not None:
        ys, query_ys = ys * float(scale), query_ys * float(scale)
    if distribution == "noisy_outputs":
        ys = ys + noise_std * gen.standard_normal(ys.shape)  # in-sequence: the noisy outputs are the targets too

    xs32, ys32 = xs.astype(np.float32), ys.astype(np.float32)
    if query_xs is xs:
        return Prompts(xs32, ys32, xs32, ys32)
    return Prompts(xs32, ys32, query_xs.astype(np.float32), query_ys.astype(np.float32))


def sample_prompts(
    function_class: str | FunctionClass,
    n_prompts: int,
    n_points: int,
    d: int,
    *,
    active_dims: int | None = None,
    distribution: str = "standard",
    scale: float | None = None,
    noise_std: float = 1.0,
    seed: int | None = None,
    rng: np.random.Generator | None = None,
) -> tuple[np.ndarray, np.ndarray]:
    """Training-style prompts: ``(xs [n_prompts, n_points, d], ys [n_prompts, n_points])``, float32.

    Every position is both a query and, for later positions, an in-context example, so only
    the in-sequence distributions (`IN_SEQUENCE`) apply; for `QUERY_SHIFTS` use
    `sample_eval_prompts`. Arguments as there.
    """
    if distribution in QUERY_SHIFTS:
        raise SpecError(
            f"distribution '{distribution}' changes the query, not the prompt; use sample_eval_prompts for it"
        )
    prompts = sample_eval_prompts(
        function_class, n_prompts, n_points, d, active_dims=active_dims, distribution=distribution,
        scale=scale, noise_std=noise_std, seed=seed, rng=rng,
    )
    return prompts.xs, prompts.ys


def query_prefix(prompts: Prompts, k: int) -> tuple[np.ndarray, np.ndarray]:
    """The prompt that scores position k: pairs 0..k-1 then the query, ``(xs [n, k+1, d], ys [n, k+1])``.

    The model's prediction at its last x is compared with ``prompts.query_ys[:, k]``.
    """
    if not 0 <= k < prompts.xs.shape[1]:
        raise SpecError(f"position {k} is outside prompts of {prompts.xs.shape[1]} points")
    xs = np.concatenate([prompts.xs[:, :k], prompts.query_xs[:, k : k + 1]], axis=1)
    ys = np.concatenate([prompts.ys[:, :k], prompts.query_ys[:, k : k + 1]], axis=1)
    return xs, ys


def interleave(xs: Any, ys: Any) -> Any:
    """Interleave inputs and outputs into the token sequence the transformer reads.

    ``xs [n, p, d]``, ``ys [n, p]`` -> ``[n, 2p, d]``: rows x_0, (y_0, 0, ..., 0), x_1,
    (y_1, 0, ..., 0), ... Works on numpy arrays and torch tensors alike (same type, dtype
    and device out). The prediction for y_k is read at the x_k row, index 2k, whose
    causal context is exactly the pairs before k.
    """
    if xs.ndim != 3 or ys.ndim != 2 or tuple(xs.shape[:2]) != tuple(ys.shape):
        raise SpecError(f"interleave needs xs [n, p, d] and ys [n, p], got {tuple(xs.shape)} and {tuple(ys.shape)}")
    n, p, d = xs.shape
    if isinstance(xs, np.ndarray):
        y_rows = np.zeros_like(xs)
        y_rows[..., 0] = ys
        return np.stack([xs, y_rows], axis=2).reshape(n, 2 * p, d)
    import torch

    y_tensor_rows = torch.zeros_like(xs)
    y_tensor_rows[..., 0] = ys.to(xs.dtype)
    return torch.stack([xs, y_tensor_rows], dim=2).reshape(n, 2 * p, d)
