"""One TRPO update, readable top to bottom: a natural-gradient step inside a KL trust region.

1. g: the gradient of the surrogate L(theta) = mean(pi_theta(a|s) / pi_old(a|s) A) at theta_old.
2. s ~ F^-1 g by `conjugate_gradient` (cg_iters steps), F the Fisher matrix, i.e. the Hessian of the
   mean KL(pi_old || pi_theta), applied as a Hessian-vector product plus cg_damping times the vector.
3. The full step beta s with beta = sqrt(2 max_kl / s^T F s), where the quadratic model of the KL
   reaches the bound.
4. `line_search`: try theta_old + shrink^k beta s for k = 0, 1, ...; accept the first step whose
   exact mean KL is within max_kl and whose surrogate improves; accept none (keep theta_old) if
   no step qualifies.
5. The value network: PPO's minibatch loop (`ppo.minibatch_steps`) on the value loss alone
   (`ppo.minibatch_value_loss`, clipped with value_clipping; the gradient norm clipped with grad_clipping).
"""

from __future__ import annotations

from collections.abc import Callable

import torch
from torch.nn.utils import parameters_to_vector, vector_to_parameters

from tony.rl.diagnostics import diagnostics
from tony.rl.networks import GaussianPolicy, ValueNet, gaussian_kl
from tony.rl.ppo import minibatch_steps, minibatch_value_loss
from tony.rl.rollout import Batch, standardize
from tony.rl.spec import RLSpec


def conjugate_gradient(apply: Callable[[torch.Tensor], torch.Tensor], b: torch.Tensor, iters: int,
                       tol: float = 1e-10) -> torch.Tensor:
    """x with apply(x) ~ b for a symmetric positive-definite linear map `apply`, after at most `iters` steps."""
    x = torch.zeros_like(b)
    residual, direction = b.clone(), b.clone()
    rr = residual @ residual
    for _ in range(iters):
        if rr < tol:
            break
        applied = apply(direction)
        alpha = rr / (direction @ applied)
        x += alpha * direction
        residual -= alpha * applied
        rr_next = residual @ residual
        direction = residual + (rr_next / rr) * direction
        rr = rr_next
    return x


def line_search(params: torch.Tensor, full_step: torch.Tensor, evaluate: Callable[[torch.Tensor], tuple[float, float]],
                baseline: float, max_kl: float, steps: int, shrink: float) -> tuple[torch.Tensor, float]:
    """(accepted parameters, accepted fraction of `full_step`; 0 when none was accepted).

    `evaluate(theta)` gives (surrogate, mean KL from the old policy) at theta; a step is accepted
    only if its KL is at most `max_kl` and its surrogate exceeds `baseline`.
    """
    for k in range(steps):
        fraction = shrink**k
        candidate = params + fraction * full_step
        surrogate, kl = evaluate(candidate)
        if kl <= max_kl and surrogate > baseline:
            return candidate, fraction
    return params, 0.0


def trpo_update(spec: RLSpec, policy: GaussianPolicy, value: ValueNet, value_optimizer: torch.optim.Optimizer,
                batch: Batch, generator: torch.Generator) -> dict[str, float]:
    """One trust-region policy step and the value network's epochs; returns the iteration's diagnostics."""
    parameters = list(policy.parameters())
    advantages = standardize(batch.advantages) if spec.normalize_advantages else batch.advantages
    with torch.no_grad():
        old_dist = policy.distribution(batch.obs)

    def surrogate() -> torch.Tensor:
        ratio = (policy.distribution(batch.obs).log_prob(batch.actions).sum(-1) - batch.logprobs).exp()
        return (ratio * advantages).mean()

    def mean_kl() -> torch.Tensor:
        return gaussian_kl(old_dist, policy.distribution(batch.obs)).mean()

    def fisher_product(vector: torch.Tensor) -> torch.Tensor:
        grads = torch.autograd.grad(mean_kl(), parameters, create_graph=True)
        grad_dot = parameters_to_vector(grads) @ vector
        hessian_vector = torch.autograd.grad(grad_dot, parameters)
        return parameters_to_vector(hessian_vector) + spec.cg_damping * vector

    def evaluate(theta: torch.Tensor) -> tuple[float, float]:
        vector_to_parameters(theta, parameters)
        with torch.no_grad():
            return surrogate().item(), mean_kl().item()

    old_surrogate = surrogate()
    gradient = parameters_to_vector(torch.autograd.grad(old_surrogate, parameters))
    direction = conjugate_gradient(fisher_product, gradient, spec.cg_iters)
    curvature = direction @ fisher_product(direction)
    old_params = parameters_to_vector(parameters).detach()
    full_step = torch.sqrt(2 * spec.max_kl / curvature.clamp_min(1e-12)) * direction
    new_params, fraction = line_search(old_params, full_step.detach(), evaluate, old_surrogate.item(), spec.max_kl,
                                       spec.line_search_steps, spec.line_search_shrink)
    vector_to_parameters(new_params, parameters)

    def loss(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        v_loss = minibatch_value_loss(spec, value, batch, idx)
        return v_loss, v_loss

    mean_value_loss = minibatch_steps(spec, value_optimizer, batch.obs.shape[0], generator, loss)
    return {**diagnostics(policy, old_dist, batch, mean_value_loss, spec.clip_eps), "step_fraction": fraction}
