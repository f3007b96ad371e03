"""Shared by the attacks that optimise perturbations against a model: picking the poisoned examples among one
class, and projected optimisation of a batch of perturbations within an L-inf ball."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import torch

from tony.core.errors import SpecError
from tony.vision.models import NamedNet
from tony.vision.poisoning.attacks.base import AttackInput, pick_sources, rng_of

SELECT_STREAM, START_STREAM = 1, 2


def class_members(given: AttackInput, label: int) -> np.ndarray:
    """`given.count` training examples of class `label` (a seeded draw); a SpecError when the class has fewer."""
    eligible = (given.labels == label).numpy()
    if given.count > eligible.sum():
        raise SpecError(f"a clean-label attack poisons only target-class images: the budget of {given.count} exceeds "
                        f"the {int(eligible.sum())} of class {label}: lower the fraction")
    return pick_sources(given.labels, given.count, eligible, rng_of(given.seed, SELECT_STREAM))


def attacker_model(given: AttackInput) -> NamedNet:
    """The attacker's model in eval mode with frozen weights (what the threat model lets it know)."""
    if given.model is None:
        raise SpecError("this attack needs a model to craft against: give a grey- or white-box threat model")
    model = given.model().eval()
    for parameter in model.parameters():
        parameter.requires_grad_(False)
    return model


def projected_descent(base: torch.Tensor, eps: float, loss: Callable[[torch.Tensor], torch.Tensor], *, steps: int,
                      lr: float, seed: int, random_start: bool = True) -> torch.Tensor:
    """Images within `eps` (L-inf) of float `base` (in [0, 1]) that lower `loss` (a function of the whole batch,
    to minimise), by signed Adam steps of `lr` x eps on the perturbation, projected after every step."""
    generator = torch.Generator().manual_seed(seed)
    start = (torch.rand(base.shape, generator=generator) * 2 - 1) * eps if random_start else torch.zeros_like(base)
    delta = start.requires_grad_(True)
    optimizer = torch.optim.Adam([delta], lr=lr * eps)
    for _ in range(steps):
        value = loss((base + delta).clamp(0, 1))
        optimizer.zero_grad(set_to_none=True)
        value.backward()
        assert delta.grad is not None
        delta.grad.sign_()
        optimizer.step()
        with torch.no_grad():
            delta.clamp_(-eps, eps)
    return (base + delta.detach()).clamp(0, 1)
