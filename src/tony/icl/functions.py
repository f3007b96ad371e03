"""Function classes of Garg et al. (2022): each samples a batch of functions from a numpy Generator.

A function class is a small frozen dataclass of hyperparameters. `sample(n, d, rng)`
draws n functions on R^d and returns a callable batch: ``fs(xs)`` maps inputs
``xs [n, n_points, d]`` to outputs ``[n, n_points]``, function i applied to prompt i.
`normalizer(d)` is the output variance under x ~ N(0, I_d), so dividing squared
error by it makes "always predict 0" score about 1 (the paper's normalized squared error).
"""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from tony.core.errors import SpecError
from tony.core.registry import registry

Generator = np.random.Generator
Functions = Callable[[np.ndarray], np.ndarray]
"""A sampled batch of functions: ``fs(xs [n, n_points, d]) -> ys [n, n_points]`` (float64)."""


def _check_sizes(n_functions: int, d: int, active_dims: int | None) -> int:
    """Validate sizes; return the number of active coordinates."""
    if n_functions < 1 or d < 1:
        raise SpecError(f"need at least one function and one dimension, got n_functions={n_functions}, d={d}")
    active = d if active_dims is None else active_dims
    if not 1 <= active <= d:
        raise SpecError(f"active_dims must be between 1 and d={d}, got {active_dims}")
    return active


def _check_inputs(xs: np.ndarray, n: int, d: int) -> np.ndarray:
    xs = np.asarray(xs, dtype=np.float64)
    if xs.ndim != 3 or xs.shape[0] != n or xs.shape[2] != d:
        raise SpecError(f"these {n} functions on R^{d} take inputs shaped [{n}, n_points, {d}], got {xs.shape}")
    return xs


@dataclass(frozen=True)
class LinearFunctions:
    """f_i(x) = w_i . x."""

    w: np.ndarray
    """Weights, [n, d]."""

    def __call__(self, xs: np.ndarray) -> np.ndarray:
        xs = _check_inputs(xs, *self.w.shape)
        return np.einsum("npd,nd->np", xs, self.w)


@dataclass(frozen=True)
class NoisyLinearFunctions:
    """f_i(x) = out_scale * (w_i . x + noise), noise ~ N(0, noise_std^2) drawn afresh on every call."""

    w: np.ndarray
    noise_std: float
    out_scale: float
    rng: Generator
    """Source of the noise (spawned from the sampling generator, so a seed fixes it)."""

    def __call__(self, xs: np.ndarray) -> np.ndarray:
        xs = _check_inputs(xs, *self.w.shape)
        clean = np.einsum("npd,nd->np", xs, self.w)
        return self.out_scale * (clean + self.noise_std * self.rng.standard_normal(clean.shape))


@dataclass(frozen=True)
class ReluNetworkFunctions:
    """f_i(x) = sqrt(2 / hidden) * sum_j a_ij relu(W_ij . x)."""

    w: np.ndarray
    """First layer, [n, hidden, d]."""
    a: np.ndarray
    """Second layer, [n, hidden]."""

    def __call__(self, xs: np.ndarray) -> np.ndarray:
        n, hidden, d = self.w.shape
        xs = _check_inputs(xs, n, d)
        # batched matmul, not einsum: numpy's einsum runs these contractions in C loops, 2x slower
        hidden_units = np.maximum(xs @ self.w.transpose(0, 2, 1), 0.0)
        return math.sqrt(2.0 / hidden) * (hidden_units @ self.a[:, :, None])[..., 0]


@dataclass(frozen=True)
class TreeFunctions:
    """Complete binary trees stored heap-style: node m has children 2m+1 (x[c] <= 0) and 2m+2 (x[c] > 0)."""

    features: np.ndarray
    """Coordinate tested at each internal node, [n, 2^depth - 1] (int)."""
    leaves: np.ndarray
    """Value at each leaf, left to right, [n, 2^depth]."""
    d: int
    """Input dimension."""

    @property
    def depth(self) -> int:
        return int(self.leaves.shape[1]).bit_length() - 1

    def __call__(self, xs: np.ndarray) -> np.ndarray:
        xs = _check_inputs(xs, self.features.shape[0], self.d)
        node = np.zeros(xs.shape[:2], dtype=np.int64)
        for _ in range(self.depth):
            feature = np.take_along_axis(self.features, node, axis=1)
            goes_right = np.take_along_axis(xs, feature[..., None], axis=2)[..., 0] > 0
            node = 2 * node + 1 + goes_right
        return np.take_along_axis(self.leaves, node - self.features.shape[1], axis=1)


@dataclass(frozen=True)
class Linear:
    """Linear functions, w ~ N(0, I_d)."""

    name: ClassVar[str] = "linear"

    def sample(self, n_functions: int, d: int, rng: Generator, *, active_dims: int | None = None) -> Functions:
        """Draw `n_functions` weight vectors (`active_dims` is accepted and ignored: inputs carry the zeros)."""
        _check_sizes(n_functions, d, active_dims)
        return LinearFunctions(rng.standard_normal((n_functions, d)))

    def normalizer(self, d: int) -> float:
        """E[f(x)^2] = d."""
        return float(d)


@dataclass(frozen=True)
class SparseLinear:
    """Linear functions with w ~ N(0, I_d) and all but `sparsity` random coordinates zeroed."""

    sparsity: int = 3
    """Number of nonzero weights s."""
    name: ClassVar[str] = "sparse_linear"

    def sample(self, n_functions: int, d: int, rng: Generator, *, active_dims: int | None = None) -> Functions:
        """Draw weights; the support is chosen among the first `active_dims` coordinates (all by default).

        When fewer than `sparsity` coordinates are active (a curriculum's early stage),
        every active coordinate is in the support.
        """
        active = _check_sizes(n_functions, d, active_dims)
        if not 1 <= self.sparsity <= d:
            raise SpecError(f"sparse_linear needs 1 <= sparsity <= d={d}, got sparsity={self.sparsity}")
        w = rng.standard_normal((n_functions, d))
        support = np.argsort(rng.random((n_functions, active)), axis=1)[:, : min(self.sparsity, active)]
        mask = np.zeros((n_functions, d), dtype=bool)
        np.put_along_axis(mask, support, True, axis=1)
        return LinearFunctions(np.where(mask, w, 0.0))

    def normalizer(self, d: int) -> float:
        """E[f(x)^2] = s."""
        return float(self.sparsity)


@dataclass(frozen=True)
class NoisyLinear:
    """Linear functions whose outputs carry Gaussian noise (the paper's noisy linear regression).

    The paper evaluates with noise_std = 1 and outputs rescaled to variance d; here
    `renormalize` multiplies by sqrt(d / (d + noise_std^2)), the deterministic
    version of that rescaling.
    """

    noise_std: float = 1.0
    """Standard deviation of the noise added to w . x, before any renormalization."""
    renormalize: bool = True
    """Rescale outputs so that their variance is d, as for noiseless linear functions."""
    name: ClassVar[str] = "noisy_linear"

    def sample(self, n_functions: int, d: int, rng: Generator, *, active_dims: int | None = None) -> Functions:
        """Draw weights and a noise stream spawned from `rng`."""
        _check_sizes(n_functions, d, active_dims)
        if not self.noise_std >= 0:
            raise SpecError(f"noisy_linear needs noise_std >= 0, got {self.noise_std}")
        w = rng.standard_normal((n_functions, d))
        out_scale = math.sqrt(d / (d + self.noise_std**2)) if self.renormalize else 1.0
        return NoisyLinearFunctions(w, self.noise_std, out_scale, rng.spawn(1)[0])

    def normalizer(self, d: int) -> float:
        """d (the output variance with `renormalize`; without it the variance is d + noise_std^2)."""
        return float(d)


@dataclass(frozen=True)
class Relu2NN:
    """Two-layer ReLU networks: W, a ~ N(0, 1), outputs scaled by sqrt(2 / hidden) so their variance is d."""

    hidden: int = 100
    """Number of hidden units r."""
    name: ClassVar[str] = "relu_2nn"

    def sample(self, n_functions: int, d: int, rng: Generator, *, active_dims: int | None = None) -> Functions:
        """Draw both layers (`active_dims` is accepted and ignored: inputs carry the zeros)."""
        _check_sizes(n_functions, d, active_dims)
        if self.hidden < 1:
            raise SpecError(f"relu_2nn needs at least one hidden unit, got {self.hidden}")
        return ReluNetworkFunctions(
            rng.standard_normal((n_functions, self.hidden, d)), rng.standard_normal((n_functions, self.hidden))
        )

    def normalizer(self, d: int) -> float:
        """E[f(x)^2] = (2/r) * r * E[relu(w.x)^2] = d."""
        return float(d)


@dataclass(frozen=True)
class DecisionTree:
    """Depth-`depth` trees: each internal node tests the sign of a uniformly random coordinate; leaves ~ N(0, 1)."""

    depth: int = 4
    name: ClassVar[str] = "decision_tree"

    def sample(self, n_functions: int, d: int, rng: Generator, *, active_dims: int | None = None) -> Functions:
        """Draw trees over all d coordinates (`active_dims` is accepted and ignored, as in the paper)."""
        _check_sizes(n_functions, d, active_dims)
        if not 1 <= self.depth <= 16:
            raise SpecError(f"decision_tree needs 1 <= depth <= 16, got {self.depth}")
        features = rng.integers(0, d, size=(n_functions, 2**self.depth - 1))
        return TreeFunctions(features, rng.standard_normal((n_functions, 2**self.depth)), d)

    def normalizer(self, d: int) -> float:
        """E[f(x)^2] = 1."""
        return 1.0


FunctionClass = Linear | SparseLinear | NoisyLinear | Relu2NN | DecisionTree
"""Any of the function classes."""

FUNCTION_CLASSES = registry.table("icl_function")
"""Name -> class (the registry's "icl_function" kind); instantiate with the class's hyperparameters as keywords."""


def get_function_class(name: str, **params: object) -> FunctionClass:
    """The function class called `name`, built with `params` (e.g. ``sparsity=3``)."""
    cls = registry.get("icl_function", name)
    try:
        return cls(**params)
    except TypeError as err:
        raise SpecError(f"bad parameters for function class '{name}': {err}") from None
