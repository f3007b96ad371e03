"""Function classes: their defining structure, output scale, determinism and errors."""

from __future__ import annotations

import numpy as np
import pytest

from tony.core.errors import SpecError
from tony.icl.functions import (
    FUNCTION_CLASSES,
    DecisionTree,
    Linear,
    NoisyLinear,
    Relu2NN,
    SparseLinear,
    TreeFunctions,
    get_function_class,
)
from tony.icl.prompts import sample_prompts


def _inputs(n: int, p: int, d: int, seed: int = 0) -> np.ndarray:
    return np.random.default_rng(seed).standard_normal((n, p, d))


def test_registry_names_and_errors() -> None:
    assert set(FUNCTION_CLASSES) == {"linear", "sparse_linear", "noisy_linear", "relu_2nn", "decision_tree"}
    assert get_function_class("sparse_linear", sparsity=2) == SparseLinear(sparsity=2)
    assert FUNCTION_CLASSES["relu_2nn"] is Relu2NN and "cubic" not in FUNCTION_CLASSES
    with pytest.raises(SpecError, match=r"unknown function class 'quadratic': `tony ls icl_function` lists them "
                                        r"\(decision_tree, linear, noisy_linear, relu_2nn, sparse_linear\)$"):
        get_function_class("quadratic")
    with pytest.raises(SpecError, match="unknown function class 'sparse_lineer': did you mean 'sparse_linear'?"):
        get_function_class("sparse_lineer")
    with pytest.raises(SpecError, match="bad parameters for function class 'linear'"):
        get_function_class("linear", sparsity=3)


def test_linear_is_w_dot_x() -> None:
    fs = Linear().sample(4, 3, np.random.default_rng(0))
    xs = _inputs(4, 5, 3)
    np.testing.assert_allclose(fs(xs), np.einsum("npd,nd->np", xs, fs.w))


@pytest.mark.parametrize(("d", "s", "active"), [(10, 3, None), (20, 1, None), (10, 3, 4), (10, 5, 2)])
def test_sparse_linear_has_exactly_s_nonzeros_among_active_coordinates(d: int, s: int, active: int | None) -> None:
    fs = SparseLinear(sparsity=s).sample(500, d, np.random.default_rng(1), active_dims=active)
    nonzero = fs.w != 0
    assert (nonzero.sum(axis=1) == min(s, active or d)).all()
    assert not nonzero[:, active or d :].any()
    if active is None:  # every coordinate is used by some function
        assert nonzero.any(axis=0).all()


def test_sparse_linear_rejects_impossible_sparsity() -> None:
    with pytest.raises(SpecError, match="sparsity"):
        SparseLinear(sparsity=6).sample(2, 5, np.random.default_rng(0))


def test_relu_2nn_matches_its_formula_and_has_output_variance_d() -> None:
    d, hidden = 8, 100
    fs = Relu2NN(hidden=hidden).sample(3, d, np.random.default_rng(2))
    xs = _inputs(3, 4, d)
    expected = np.sqrt(2 / hidden) * np.einsum("nph,nh->np", np.maximum(np.einsum("npd,nhd->nph", xs, fs.w), 0), fs.a)
    np.testing.assert_allclose(fs(xs), expected)
    _, ys = sample_prompts("relu_2nn", 4000, 5, d, seed=3)
    assert np.mean(ys.astype(np.float64) ** 2) == pytest.approx(d, rel=0.1)


def _tree_by_hand(features: np.ndarray, leaves: np.ndarray, x: np.ndarray) -> float:
    node = 0
    while node < len(features):
        node = 2 * node + (2 if x[features[node]] > 0 else 1)
    return float(leaves[node - len(features)])


def test_decision_tree_structure_and_evaluation() -> None:
    d = 6
    fs = DecisionTree().sample(50, d, np.random.default_rng(4))
    assert isinstance(fs, TreeFunctions) and fs.depth == 4
    assert fs.features.shape == (50, 15) and fs.leaves.shape == (50, 16)
    assert fs.features.min() >= 0 and fs.features.max() < d
    xs = _inputs(50, 30, d, seed=5)
    ys = fs(xs)
    for i in range(50):
        assert set(ys[i]) <= set(fs.leaves[i])
        for j in range(30):
            assert ys[i, j] == _tree_by_hand(fs.features[i], fs.leaves[i], xs[i, j])
    # Only signs matter: rescaling inputs by positive factors changes nothing.
    np.testing.assert_array_equal(fs(xs * np.random.default_rng(6).uniform(0.1, 5, xs.shape)), ys)
    _, tree_ys = sample_prompts("decision_tree", 4000, 5, d, seed=7)
    assert np.mean(tree_ys.astype(np.float64) ** 2) == pytest.approx(1.0, rel=0.1)


def test_noisy_linear_noise_and_scale() -> None:
    d = 10
    fs = NoisyLinear(noise_std=2.0, renormalize=False).sample(200, d, np.random.default_rng(8))
    xs = _inputs(200, 50, d)
    residual = fs(xs) - np.einsum("npd,nd->np", xs, fs.w)
    assert residual.std() == pytest.approx(2.0, rel=0.05)
    _, ys = sample_prompts(NoisyLinear(noise_std=3.0), 4000, 5, d, seed=9)
    assert np.mean(ys.astype(np.float64) ** 2) == pytest.approx(d, rel=0.1)  # renormalized to variance d
    with pytest.raises(SpecError, match="noise_std"):
        NoisyLinear(noise_std=-1.0).sample(2, 3, np.random.default_rng(0))


@pytest.mark.parametrize("name", sorted(FUNCTION_CLASSES))
def test_normalizer_makes_predicting_zero_score_about_one(name: str) -> None:
    fc = get_function_class(name)
    _, ys = sample_prompts(fc, 3000, 5, 10, seed=10)
    assert np.mean(ys.astype(np.float64) ** 2) / fc.normalizer(10) == pytest.approx(1.0, rel=0.12)


@pytest.mark.parametrize("name", sorted(FUNCTION_CLASSES))
def test_sampling_is_deterministic_by_seed(name: str) -> None:
    fc = get_function_class(name)
    xs = _inputs(5, 7, 4)
    first = fc.sample(5, 4, np.random.default_rng(11))(xs)
    again = fc.sample(5, 4, np.random.default_rng(11))(xs)
    other = fc.sample(5, 4, np.random.default_rng(12))(xs)
    np.testing.assert_array_equal(first, again)
    assert not np.array_equal(first, other)


@pytest.mark.parametrize("name", sorted(FUNCTION_CLASSES))
def test_bad_sizes_and_inputs_raise_spec_errors(name: str) -> None:
    fc = get_function_class(name)
    with pytest.raises(SpecError, match="at least one"):
        fc.sample(0, 4, np.random.default_rng(0))
    with pytest.raises(SpecError, match="active_dims"):
        fc.sample(2, 4, np.random.default_rng(0), active_dims=5)
    fs = fc.sample(2, 4, np.random.default_rng(0))
    with pytest.raises(SpecError, match=r"inputs shaped \[2, n_points, 4\]"):
        fs(_inputs(2, 3, 5))
