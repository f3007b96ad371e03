"""One PPO update, readable top to bottom: epochs of shuffled minibatches on the clipped surrogate.

For each minibatch: the probability ratio r = pi(a|s) / pi_old(a|s); the policy loss
-mean(min(r A, clip(r, 1 - eps, 1 + eps) A)) (or -mean(r A) with `ratio_clipping` off, PPO-NoClip);
the value loss (`value_loss`, clipped with `value_clipping`); one Adam step on
policy loss - ent_coef entropy + vf_coef value loss over both networks, the global gradient norm
clipped with `grad_clipping`.
"""

from __future__ import annotations

import torch

from tony.rl.config import RATIO_CLIPPING, RLSpec
from tony.rl.networks import GaussianPolicy, ValueNet
from tony.rl.rollout import Batch, diagnostics, standardize


def value_loss(values: torch.Tensor, returns: torch.Tensor, old_values: torch.Tensor,
               clip_eps: float | None) -> torch.Tensor:
    """Mean squared error of `values`; with `clip_eps`, the mean of max((V - R)^2, (V_clip - R)^2) where
    V_clip = V_old + clip(V - V_old, -clip_eps, clip_eps) (the value-clipping switch)."""
    unclipped = (values - returns) ** 2
    if clip_eps is None:
        return unclipped.mean()
    clipped = old_values + (values - old_values).clamp(-clip_eps, clip_eps)
    return torch.maximum(unclipped, (clipped - returns) ** 2).mean()


def ppo_update(spec: RLSpec, policy: GaussianPolicy, value: ValueNet, optimizer: torch.optim.Optimizer,
               batch: Batch, generator: torch.Generator) -> dict[str, float]:
    """`spec.epochs` passes of `spec.minibatches` minibatches over `batch`; returns the iteration's diagnostics."""
    size = batch.obs.shape[0]
    minibatch = size // spec.minibatches
    value_clip = spec.value_clip_eps if spec.on("value_clipping") else None
    parameters = [*policy.parameters(), *value.parameters()]
    with torch.no_grad():
        old_dist = policy.distribution(batch.obs)
    value_losses = []
    for _ in range(spec.epochs):
        order = torch.randperm(size, generator=generator)
        for start in range(0, size, minibatch):
            idx = order[start:start + minibatch]
            dist = policy.distribution(batch.obs[idx])
            ratio = (dist.log_prob(batch.actions[idx]).sum(-1) - batch.logprobs[idx]).exp()
            advantages = standardize(batch.advantages[idx]) if spec.normalize_advantages else batch.advantages[idx]
            surrogate = ratio * advantages
            if spec.on(RATIO_CLIPPING):
                surrogate = torch.minimum(surrogate, ratio.clamp(1 - spec.clip_eps, 1 + spec.clip_eps) * advantages)
            policy_loss = -surrogate.mean()
            v_loss = value_loss(value(batch.obs[idx]), batch.returns[idx], batch.values[idx], value_clip)
            entropy = dist.entropy().sum(-1).mean()
            loss = policy_loss - spec.ent_coef * entropy + spec.vf_coef * v_loss
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            if spec.on("grad_clipping"):
                torch.nn.utils.clip_grad_norm_(parameters, spec.max_grad_norm)
            optimizer.step()
            value_losses.append(v_loss.item())
    return diagnostics(spec, policy, old_dist, batch, sum(value_losses) / len(value_losses))
