"""PPO's and TRPO's pieces against their definitions: value clipping, GAE, conjugate gradient, line search."""

from __future__ import annotations

import numpy as np
import pytest
import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from tony.rl.networks import GaussianPolicy, gaussian_kl
from tony.rl.ppo import value_loss
from tony.rl.rollout import gae
from tony.rl.trpo import conjugate_gradient, line_search


def test_clipped_value_loss_equals_its_formula():
    rng = np.random.default_rng(0)
    values, returns, old = (rng.normal(size=200) * 2 for _ in range(3))
    eps = 0.2
    expected = np.mean([max((v - r) ** 2, (o + min(max(v - o, -eps), eps) - r) ** 2)
                        for v, r, o in zip(values, returns, old, strict=True)])
    got = value_loss(*(torch.tensor(x) for x in (values, returns, old)), eps).item()
    assert got == pytest.approx(expected, rel=1e-12)
    assert value_loss(*(torch.tensor(x) for x in (values, returns, old)), None).item() == \
        pytest.approx(np.mean((values - returns) ** 2), rel=1e-12)
    assert got >= np.mean((values - returns) ** 2)  # the max never lowers the loss


def test_gae_equals_the_discounted_sum_of_td_errors():
    rng = np.random.default_rng(1)
    steps, gamma, lam = 12, 0.99, 0.95
    rewards, values = rng.normal(size=(steps, 1)), rng.normal(size=(steps, 1))
    dones = np.zeros((steps, 1))
    dones[4] = 1.0  # the episode ends at step 4; step 5 starts a new one
    next_value = rng.normal(size=1)
    got = gae(rewards, values, dones, next_value, gamma, lam)
    following = np.append(values[1:, 0], next_value)
    delta = rewards[:, 0] + gamma * following * (1 - dones[:, 0]) - values[:, 0]
    for t in range(steps):
        end = 5 if t <= 4 else steps  # sums stop at the episode's end
        expected = sum((gamma * lam) ** (k - t) * delta[k] for k in range(t, end))
        assert got[t, 0] == pytest.approx(expected, rel=1e-10)


def test_conjugate_gradient_solves_a_known_spd_system():
    rng = np.random.default_rng(2)
    m = rng.normal(size=(20, 20))
    a = torch.tensor(m @ m.T + 20 * np.eye(20))
    b = torch.tensor(rng.normal(size=20))
    x = conjugate_gradient(lambda v: a @ v, b, iters=20, tol=1e-24)
    torch.testing.assert_close(x, torch.linalg.solve(a, b), rtol=1e-8, atol=1e-8)
    # A diagonal matrix with 3 distinct eigenvalues: CG is exact after 3 steps.
    diag = torch.tensor([1.0, 1.0, 4.0, 4.0, 9.0], dtype=torch.float64)
    rhs = torch.arange(1.0, 6.0, dtype=torch.float64)
    torch.testing.assert_close(conjugate_gradient(lambda v: diag * v, rhs, iters=3), rhs / diag)


def _surrogate_problem(seed: int):
    """A policy, its parameters, the surrogate (differentiable) and evaluate(theta) -> (surrogate, mean KL)."""
    torch.manual_seed(seed)
    policy = GaussianPolicy(3, 2, (16,), tanh=True, orthogonal=True)
    obs, actions, advantages = torch.randn(64, 3), torch.randn(64, 2), torch.randn(64)
    with torch.no_grad():
        old = policy.distribution(obs)
        old_logprob = old.log_prob(actions).sum(-1)
    parameters = list(policy.parameters())

    def surrogate() -> torch.Tensor:
        ratio = (policy.distribution(obs).log_prob(actions).sum(-1) - old_logprob).exp()
        return (ratio * advantages).mean()

    def evaluate(theta):
        vector_to_parameters(theta, parameters)
        with torch.no_grad():
            return surrogate().item(), gaussian_kl(old, policy.distribution(obs)).mean().item()

    return parameters, surrogate, evaluate


@pytest.mark.parametrize("seed", range(5))
def test_line_search_never_accepts_a_step_beyond_the_kl_bound(seed):
    parameters, surrogate, evaluate = _surrogate_problem(seed)
    theta = parameters_to_vector(parameters).detach()
    baseline, _ = evaluate(theta)
    max_kl = 0.01
    # A step along the surrogate's gradient, far too long: the full step breaks the bound by a wide margin.
    step = 50 * parameters_to_vector(torch.autograd.grad(surrogate(), parameters))
    assert evaluate(theta + step)[1] > 10 * max_kl
    accepted, fraction = line_search(theta, step, evaluate, baseline, max_kl, steps=15, shrink=0.5)
    improved, kl = evaluate(accepted)
    assert 0 < fraction < 1 and kl <= max_kl and improved > baseline
    # Every fraction tried that it skipped broke the bound or did not improve.
    for k in range(round(np.log(fraction) / np.log(0.5))):
        tried_surrogate, tried_kl = evaluate(theta + 0.5**k * step)
        assert tried_kl > max_kl or tried_surrogate <= baseline
    # With too few shrinks no step qualifies: the parameters stay where they were.
    kept, none = line_search(theta, step, evaluate, baseline, max_kl, steps=1, shrink=0.5)
    assert none == 0.0 and torch.equal(kept, theta)
