"""One PPO update (Schulman et al. 2017), readable top to bottom, and the minibatch loop TRPO's value network shares.

Each iteration the policy pi_old collects a batch of transitions (s_t, a_t, r_t) (`rollout.Collector`,
where the observation and reward switches act) and keeps log pi_old(a_t|s_t) and V_old(s_t). Advantages
are generalized advantage estimates (Schulman et al. 2016, `rollout.gae`), the value targets the returns:

    delta_t = r_t + gamma V_old(s_{t+1}) (1 - done_t) - V_old(s_t)
    A_t     = delta_t + gamma lambda (1 - done_t) A_{t+1}
    R_t     = A_t + V_old(s_t)

The update (`ppo_update`) then makes `epochs` passes over the batch, each in `minibatches` shuffled
minibatches (`minibatch_steps`), and on each minibatch takes one Adam step over both networks on

    r_t(theta) = pi_theta(a_t|s_t) / pi_old(a_t|s_t)
    L_policy   = -mean(min(r_t A_t, clip(r_t, 1 - clip_eps, 1 + clip_eps) A_t))     ratio_clipping
               = -mean(r_t A_t)                                                   ratio_clipping off (PPO-NoClip)
    L_value    = mean((V(s_t) - R_t)^2)                                           (`value_loss`)
               = mean(max((V - R)^2, (V_old + clip(V - V_old, -value_clip_eps, value_clip_eps) - R)^2))
                                                                                  value_clipping
    L          = L_policy - ent_coef H[pi_theta] + vf_coef L_value

with A standardized per minibatch (normalize_advantages) and, with grad_clipping, the global gradient
norm of both networks clipped to max_grad_norm before the step. The learning rate is annealed linearly
to 0 over the run with lr_annealing (`train.Trainer.step`); orthogonal_init and tanh_activations shape
the networks (`networks`). After the update, the iteration's trust-region diagnostics are measured on
the whole batch (`diagnostics`).
"""

from __future__ import annotations

from collections.abc import Callable

import torch

from tony.rl.diagnostics import diagnostics
from tony.rl.networks import GaussianPolicy, ValueNet
from tony.rl.rollout import Batch, standardize
from tony.rl.spec import RLSpec

MinibatchLoss = Callable[[torch.Tensor], tuple[torch.Tensor, torch.Tensor]]
"""Minibatch indices -> (the loss to step on, its value loss)."""


def value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor,
               clip_eps: float | None) -> torch.Tensor:
    """Mean squared error of `values`; with `clip_eps`, the mean of max((V - R)^2, (V_clip - R)^2) where
    V_clip = V_old + clip(V - V_old, -clip_eps, clip_eps) (the value-clipping switch)."""
    unclipped = (values - returns) ** 2
    if clip_eps is None:
        return unclipped.mean()
    clipped = old_values + (values - old_values).clamp(-clip_eps, clip_eps)
    return torch.maximum(unclipped, (clipped - returns) ** 2).mean()


def minibatch_value_loss(spec: RLSpec, value: ValueNet, batch: Batch, idx: torch.Tensor) -> torch.Tensor:
    """L_value on the samples `idx` of `batch`, clipped by value_clip_eps when value_clipping is on."""
    clip_eps = spec.value_clip_eps if spec.switches.value_clipping else None
    return value_loss(value(batch.obs[idx]), batch.returns[idx], batch.values[idx], clip_eps)


def minibatch_steps(spec: RLSpec, optimizer: torch.optim.Optimizer, size: int, generator: torch.Generator,
                    loss: MinibatchLoss) -> float:
    """`spec.epochs` passes over `size` samples, each in `spec.minibatches` minibatches of a fresh permutation
    drawn with `generator`; one `optimizer` step per minibatch on `loss(indices)[0]`, the global gradient norm of
    the optimizer's parameters clipped to `max_grad_norm` when grad_clipping is on. Returns the mean over the
    steps of `loss(indices)[1]`, the value loss."""
    parameters = [p for group in optimizer.param_groups for p in group["params"]]
    minibatch = size // spec.minibatches
    value_losses = []
    for _ in range(spec.epochs):
        order = torch.randperm(size, generator=generator)
        for start in range(0, size, minibatch):
            total, v_loss = loss(order[start:start + minibatch])
            optimizer.zero_grad(set_to_none=True)
            total.backward()
            if spec.switches.grad_clipping:
                torch.nn.utils.clip_grad_norm_(parameters, spec.max_grad_norm)
            optimizer.step()
            value_losses.append(v_loss.item())
    return sum(value_losses) / len(value_losses)


def ppo_update(spec: RLSpec, policy: GaussianPolicy, value: ValueNet, optimizer: torch.optim.Optimizer,
               batch: Batch, generator: torch.Generator) -> dict[str, float]:
    """`spec.epochs` passes of `spec.minibatches` minibatches over `batch`; returns the iteration's diagnostics."""
    with torch.no_grad():
        old_dist = policy.distribution(batch.obs)

    def loss(idx: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
        dist = policy.distribution(batch.obs[idx])
        ratio = (dist.log_prob(batch.actions[idx]).sum(-1) - batch.logprobs[idx]).exp()
        advantages = standardize(batch.advantages[idx]) if spec.normalize_advantages else batch.advantages[idx]
        surrogate = ratio * advantages
        if spec.switches.ratio_clipping:
            surrogate = torch.minimum(surrogate, ratio.clamp(1 - spec.clip_eps, 1 + spec.clip_eps) * advantages)
        policy_loss = -surrogate.mean()
        v_loss = minibatch_value_loss(spec, value, batch, idx)
        entropy = dist.entropy().sum(-1).mean()
        return policy_loss - spec.ent_coef * entropy + spec.vf_coef * v_loss, v_loss

    mean_value_loss = minibatch_steps(spec, optimizer, batch.obs.shape[0], generator, loss)
    return diagnostics(policy, old_dist, batch, mean_value_loss, spec.clip_eps)
