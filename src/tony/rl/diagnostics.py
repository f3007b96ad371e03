"""Trust-region diagnostics of one update (the paper's plots), measured after the update on the iteration's batch.

torch is imported when they are computed, so the report reads their names and titles without it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

    from tony.rl.networks import GaussianPolicy
    from tony.rl.rollout import Batch

DIAGNOSTICS: dict[str, str] = {
    "kl": "mean KL between successive policies",
    "max_ratio": "maximum ratio pi_new / pi_old",
    "clip_fraction": "fraction of ratios outside [1-eps, 1+eps]",
    "entropy": "policy entropy",
    "value_loss": "value loss",
}
"""Each diagnostic's name (in records and stats) with what it measures (the report's plot titles)."""


def diagnostics(policy: GaussianPolicy, old_dist: torch.distributions.Normal, batch: Batch, value_loss: float,
                clip_eps: float) -> dict[str, float]:
    """Each of `DIAGNOSTICS` for the updated `policy` against `old_dist` on the batch's observations and actions:
    mean KL(old || new), the largest ratio pi_new / pi_old, the fraction of ratios outside
    [1 - clip_eps, 1 + clip_eps], the new policy's mean entropy, and the mean value loss of the update."""
    import torch

    from tony.rl.networks import gaussian_kl

    with torch.no_grad():
        new_dist = policy.distribution(batch.obs)
        ratios = (new_dist.log_prob(batch.actions).sum(-1) - batch.logprobs).exp()
        outside = (ratios < 1 - clip_eps) | (ratios > 1 + clip_eps)
        return {"kl": gaussian_kl(old_dist, new_dist).mean().item(), "max_ratio": ratios.max().item(),
                "clip_fraction": outside.float().mean().item(), "entropy": new_dist.entropy().sum(-1).mean().item(),
                "value_loss": float(value_loss)}
