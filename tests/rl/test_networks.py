"""Initialization and activation switches, and the Gaussian policy's state-independent std."""

from __future__ import annotations

import math

import torch

from tony.rl.networks import HIDDEN_GAIN, POLICY_OUTPUT_GAIN, GaussianPolicy, ValueNet


def _linears(module: torch.nn.Module) -> list[torch.nn.Linear]:
    return [m for m in module.modules() if isinstance(m, torch.nn.Linear)]


def _assert_orthogonal(weight: torch.Tensor, gain: float) -> None:
    w = weight.detach().double()
    # Orthogonal rows (fewer rows than columns) or orthogonal columns, scaled by the gain.
    gram = w @ w.T if w.shape[0] <= w.shape[1] else w.T @ w
    torch.testing.assert_close(gram, gain**2 * torch.eye(gram.shape[0], dtype=torch.float64), atol=1e-5, rtol=1e-5)


def test_orthogonal_init_gives_orthogonal_weights_with_the_layer_gains():
    torch.manual_seed(0)
    policy = GaussianPolicy(11, 3, (64, 64), tanh=True, orthogonal=True)
    value = ValueNet(11, (64, 64), tanh=True, orthogonal=True)
    *hidden, out = _linears(policy)
    for layer in hidden:
        _assert_orthogonal(layer.weight, HIDDEN_GAIN)
    _assert_orthogonal(out.weight, POLICY_OUTPUT_GAIN)
    _assert_orthogonal(_linears(value)[-1].weight, 1.0)
    assert all(torch.all(layer.bias == 0) for layer in _linears(policy) + _linears(value))


def test_xavier_init_matches_its_uniform_bound_and_variance():
    torch.manual_seed(0)
    value = ValueNet(200, (300,), tanh=False, orthogonal=False)
    layer = _linears(value)[0]
    bound = math.sqrt(6.0 / (200 + 300))
    assert layer.weight.abs().max() <= bound
    assert abs(layer.weight.var().item() - 2.0 / (200 + 300)) < 0.05 * 2.0 / (200 + 300)
    gram = layer.weight.detach() @ layer.weight.detach().T
    assert not torch.allclose(gram, gram[0, 0] * torch.eye(300), atol=1e-3)  # not orthogonal


def test_activation_switch():
    tanh = GaussianPolicy(4, 1, (8, 8), tanh=True, orthogonal=True)
    relu = GaussianPolicy(4, 1, (8, 8), tanh=False, orthogonal=True)
    assert sum(isinstance(m, torch.nn.Tanh) for m in tanh.modules()) == 2
    assert sum(isinstance(m, torch.nn.ReLU) for m in relu.modules()) == 2
    assert not any(isinstance(m, torch.nn.Tanh) for m in relu.modules())


def test_std_is_state_independent_and_sample_logprob_is_the_gaussian_density():
    torch.manual_seed(0)
    policy = GaussianPolicy(4, 2, (8,), tanh=True, orthogonal=True, init_log_std=-0.5)
    obs = torch.randn(5, 4)
    dist = policy.distribution(obs)
    torch.testing.assert_close(dist.stddev, torch.full((5, 2), math.exp(-0.5)))
    actions, logprob = policy.sample(obs, torch.Generator().manual_seed(3))
    torch.testing.assert_close(logprob, dist.log_prob(actions).sum(-1))
