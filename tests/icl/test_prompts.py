"""Prompt distributions: each one's defining property, sizes, seeds, errors, and the interleaving."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.icl.prompts import (
    DISTRIBUTIONS,
    QUERY_SHIFTS,
    interleave,
    query_prefix,
    sample_eval_prompts,
    sample_prompts,
)


def test_standard_prompts_shapes_types_and_seeds() -> None:
    xs, ys = sample_prompts("linear", 6, 9, 4, seed=0)
    assert xs.shape == (6, 9, 4) and ys.shape == (6, 9)
    assert xs.dtype == np.float32 and ys.dtype == np.float32
    again = sample_prompts("linear", 6, 9, 4, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(xs, again[0])
    np.testing.assert_array_equal(ys, again[1])
    assert not np.array_equal(xs, sample_prompts("linear", 6, 9, 4, seed=1)[0])


@pytest.mark.parametrize("distribution", DISTRIBUTIONS)
def test_every_distribution_is_deterministic_by_seed(distribution: str) -> None:
    a = sample_eval_prompts("linear", 3, 5, 6, distribution=distribution, scale=2.0, seed=4)
    b = sample_eval_prompts("linear", 3, 5, 6, distribution=distribution, scale=2.0, seed=4)
    for field in ("xs", "ys", "query_xs", "query_ys"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    assert a.shifted_query == (distribution in QUERY_SHIFTS)


def test_active_dims_zero_the_unused_coordinates() -> None:
    for distribution in ("standard", "skewed_covariance", "half_subspace", "random_orthant"):
        p = sample_eval_prompts("relu_2nn", 4, 6, 8, active_dims=3, distribution=distribution, seed=2)
        assert not p.xs[..., 3:].any() and not p.query_xs[..., 3:].any()
        assert p.xs[..., :3].all()


def test_skewed_covariance_has_eigenvalues_one_over_i_squared_and_trace_d() -> None:
    d = 5
    p = sample_eval_prompts("linear", 2, 40_000, d, distribution="skewed_covariance", seed=3)
    expected = 1.0 / np.arange(1, d + 1) ** 2
    expected *= d / expected.sum()
    for xs in p.xs.astype(np.float64):
        eigenvalues = np.sort(np.linalg.eigvalsh(xs.T @ xs / len(xs)))[::-1]
        np.testing.assert_allclose(eigenvalues, expected, rtol=0.05)
    assert np.mean(np.sum(p.xs.astype(np.float64) ** 2, axis=2)) == pytest.approx(d, rel=0.02)


@pytest.mark.parametrize("d", [6, 7])
def test_half_subspace_inputs_have_rank_d_over_2(d: int) -> None:
    p = sample_eval_prompts("linear", 20, 50, d, distribution="half_subspace", seed=5)
    ranks = np.linalg.matrix_rank(p.xs.astype(np.float64), tol=1e-4)
    assert (ranks == d // 2).all()
    assert np.mean(np.sum(p.xs.astype(np.float64) ** 2, axis=2)) == pytest.approx(d, rel=0.1)


def test_random_orthant_context_shares_one_orthant_and_queries_do_not() -> None:
    p = sample_eval_prompts("linear", 30, 20, 5, distribution="random_orthant", seed=6)
    signs = np.sign(p.xs)
    assert (signs == signs[:, :1]).all()  # every context point in its prompt's orthant
    assert (signs[:, 0] > 0).any(axis=0).all() and (signs[:, 0] < 0).any(axis=0).all()  # orthants vary
    query_signs = np.sign(p.query_xs)
    assert not (query_signs == query_signs[:, :1]).all()
    np.testing.assert_allclose(p.query_ys, np.einsum("npd,npd->np", p.query_xs, _weights(p)), atol=1e-4)


def _weights(p) -> np.ndarray:  # type: ignore[no-untyped-def]
    """Recover each linear prompt's w from its context (enough points) by least squares, tiled per point."""
    w = np.stack([np.linalg.lstsq(x, y, rcond=None)[0] for x, y in zip(p.xs, p.ys, strict=True)])
    return np.broadcast_to(w[:, None, :], p.xs.shape)


def test_orthogonal_query_is_orthogonal_to_earlier_examples_and_keeps_norm() -> None:
    d = 8
    p = sample_eval_prompts("linear", 10, d, d, distribution="orthogonal_query", seed=7)
    xs, queries = p.xs.astype(np.float64), p.query_xs.astype(np.float64)
    for k in range(1, d):
        dots = np.einsum("njd,nd->nj", xs[:, :k], queries[:, k])
        assert np.abs(dots).max() < 1e-4
    np.testing.assert_allclose(np.linalg.norm(queries, axis=2), np.linalg.norm(xs, axis=2), rtol=1e-5)
    with pytest.raises(SpecError, match="n_points <= active dimensions"):
        sample_eval_prompts("linear", 2, d + 1, d, distribution="orthogonal_query", seed=0)


def test_query_matches_an_earlier_example() -> None:
    p = sample_eval_prompts("linear", 40, 12, 4, distribution="query_matches_example", seed=8)
    np.testing.assert_array_equal(p.query_xs[:, 0], p.xs[:, 0])
    chosen = []
    for k in range(1, 12):
        same = (p.query_xs[:, k, None, :] == p.xs[:, :k]).all(axis=2)  # [n, k]
        assert same.any(axis=1).all()
        j = same.argmax(axis=1)
        np.testing.assert_allclose(p.query_ys[:, k], p.ys[np.arange(40), j], rtol=1e-6)
        chosen.append(j)
    assert len(np.unique(chosen[-1])) > 5  # not always the same earlier example


@pytest.mark.parametrize("scale", [1 / 3, 0.5, 2.0, 3.0])
def test_scaled_inputs_and_outputs(scale: float) -> None:
    xs, ys = sample_prompts("linear", 5, 6, 3, seed=9)
    sx, sy = sample_prompts("linear", 5, 6, 3, distribution="scaled_inputs", scale=scale, seed=9)
    np.testing.assert_allclose(sx, scale * xs, rtol=1e-6)
    np.testing.assert_allclose(sy, scale * ys, rtol=1e-5, atol=1e-6)
    ox, oy = sample_prompts("linear", 5, 6, 3, distribution="scaled_outputs", scale=scale, seed=9)
    np.testing.assert_array_equal(ox, xs)
    np.testing.assert_allclose(oy, scale * ys, rtol=1e-6, atol=1e-7)


def test_noisy_outputs_add_gaussian_noise() -> None:
    xs, ys = sample_prompts("linear", 200, 50, 3, seed=10)
    nx, ny = sample_prompts("linear", 200, 50, 3, distribution="noisy_outputs", noise_std=0.5, seed=10)
    np.testing.assert_array_equal(nx, xs)
    assert float(np.std(ny - ys)) == pytest.approx(0.5, rel=0.05)


def test_clear_errors() -> None:
    with pytest.raises(SpecError, match="unknown prompt distribution 'weird'.*standard, skewed_covariance"):
        sample_prompts("linear", 2, 3, 4, distribution="weird", seed=0)
    with pytest.raises(SpecError, match="unknown function class"):
        sample_prompts("cubic", 2, 3, 4, seed=0)
    with pytest.raises(SpecError, match="needs scale="):
        sample_prompts("linear", 2, 3, 4, distribution="scaled_inputs", seed=0)
    with pytest.raises(SpecError, match="finite nonzero"):
        sample_prompts("linear", 2, 3, 4, distribution="scaled_outputs", scale=0.0, seed=0)
    with pytest.raises(SpecError, match="use sample_eval_prompts"):
        sample_prompts("linear", 2, 3, 4, distribution="random_orthant", seed=0)
    with pytest.raises(SpecError, match="exactly one of seed= or rng="):
        sample_prompts("linear", 2, 3, 4)
    with pytest.raises(SpecError, match="exactly one of seed= or rng="):
        sample_prompts("linear", 2, 3, 4, seed=0, rng=np.random.default_rng(0))
    with pytest.raises(SpecError, match="n_prompts >= 1"):
        sample_prompts("linear", 0, 3, 4, seed=0)
    with pytest.raises(SpecError, match="active_dims"):
        sample_prompts("linear", 2, 3, 4, active_dims=0, seed=0)
    with pytest.raises(SpecError, match="at least 2 active"):
        sample_prompts("linear", 2, 3, 1, distribution="half_subspace", seed=0)


def test_interleave_numpy_and_torch() -> None:
    torch = pytest.importorskip("torch")
    xs, ys = sample_prompts("linear", 2, 3, 4, seed=11)
    seq = interleave(xs, ys)
    assert seq.shape == (2, 6, 4) and seq.dtype == np.float32
    np.testing.assert_array_equal(seq[:, 0::2], xs)
    np.testing.assert_array_equal(seq[:, 1::2, 0], ys)
    assert not seq[:, 1::2, 1:].any()
    tseq = interleave(torch.from_numpy(xs), torch.from_numpy(ys))
    assert isinstance(tseq, torch.Tensor) and tseq.dtype == torch.float32
    np.testing.assert_array_equal(tseq.numpy(), seq)
    with pytest.raises(SpecError, match="interleave needs"):
        interleave(xs, ys[:, :2])


def test_query_prefix_puts_the_query_after_the_earlier_pairs() -> None:
    p = sample_eval_prompts("linear", 3, 5, 4, distribution="random_orthant", seed=12)
    xs, ys = query_prefix(p, 3)
    assert xs.shape == (3, 4, 4) and ys.shape == (3, 4)
    np.testing.assert_array_equal(xs[:, :3], p.xs[:, :3])
    np.testing.assert_array_equal(xs[:, 3], p.query_xs[:, 3])
    np.testing.assert_array_equal(ys[:, 3], p.query_ys[:, 3])
    with pytest.raises(SpecError, match="outside"):
        query_prefix(p, 5)
