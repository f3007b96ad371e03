"""The policy and value networks: separate MLPs, a Gaussian policy with a state-independent log std.

Two switches act here: `tanh_activations` (tanh hidden units, else ReLU) and `orthogonal_init`
(orthogonal weights scaled by a gain per layer: sqrt(2) for hidden layers, 0.01 for the policy's
mean output, 1 for the value output; else Xavier-uniform weights). Biases start at zero either way.
"""

from __future__ import annotations

import math

import torch
from torch import nn

HIDDEN_GAIN = math.sqrt(2.0)
LOG_2PI = math.log(2 * math.pi)
POLICY_OUTPUT_GAIN = 0.01
VALUE_OUTPUT_GAIN = 1.0


def init_layer(layer: nn.Linear, *, orthogonal: bool, gain: float) -> nn.Linear:
    """Initialize `layer` in place: orthogonal with `gain`, or Xavier-uniform (gain ignored)."""
    if orthogonal:
        nn.init.orthogonal_(layer.weight, gain=gain)
    else:
        nn.init.xavier_uniform_(layer.weight)
    nn.init.zeros_(layer.bias)
    return layer


def mlp(sizes: list[int], *, tanh: bool, orthogonal: bool, output_gain: float) -> nn.Sequential:
    """Linear layers of `sizes` with an activation between them (none after the last)."""
    layers: list[nn.Module] = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:], strict=True)):
        last = i == len(sizes) - 2
        layers.append(init_layer(nn.Linear(fan_in, fan_out), orthogonal=orthogonal,
                                 gain=output_gain if last else HIDDEN_GAIN))
        if not last:
            layers.append(nn.Tanh() if tanh else nn.ReLU())
    return nn.Sequential(*layers)


class GaussianPolicy(nn.Module):
    """a ~ N(mu(s), diag(exp(log_std))^2), log_std a learned vector independent of the state."""

    def __init__(self, obs_size: int, act_size: int, hidden: tuple[int, ...], *, tanh: bool, orthogonal: bool,
                 init_log_std: float = 0.0) -> None:
        super().__init__()
        self.mean = mlp([obs_size, *hidden, act_size], tanh=tanh, orthogonal=orthogonal,
                        output_gain=POLICY_OUTPUT_GAIN)
        self.log_std = nn.Parameter(torch.full((act_size,), float(init_log_std)))

    def distribution(self, obs: torch.Tensor) -> torch.distributions.Normal:
        mean = self.mean(obs)
        return torch.distributions.Normal(mean, self.log_std.exp().expand_as(mean))

    def sample(self, obs: torch.Tensor, generator: torch.Generator) -> tuple[torch.Tensor, torch.Tensor]:
        """(actions, their log-probabilities) drawn with `generator`."""
        # The Gaussian's density by hand: torch.distributions costs more than the network at batch size 1.
        mean = self.mean(obs)
        noise = torch.randn(mean.shape, generator=generator)
        actions = mean + self.log_std.exp() * noise
        logprob = -(0.5 * noise**2 + self.log_std + 0.5 * LOG_2PI).sum(-1)
        return actions, logprob


class ValueNet(nn.Module):
    """V(s), a scalar per observation."""

    def __init__(self, obs_size: int, hidden: tuple[int, ...], *, tanh: bool, orthogonal: bool) -> None:
        super().__init__()
        self.net = mlp([obs_size, *hidden, 1], tanh=tanh, orthogonal=orthogonal, output_gain=VALUE_OUTPUT_GAIN)

    def forward(self, obs: torch.Tensor) -> torch.Tensor:
        return self.net(obs).squeeze(-1)


def gaussian_kl(old: torch.distributions.Normal, new: torch.distributions.Normal) -> torch.Tensor:
    """KL(old || new) per row, summed over action dimensions (closed form for diagonal Gaussians)."""
    return torch.distributions.kl_divergence(old, new).sum(-1)
