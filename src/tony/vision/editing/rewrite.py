"""The rank-one rewrite of one layer (Bau et al. 2020, used by Santurkar et al. 2021 to edit classifiers).

A layer (a Conv2d or a Linear) maps keys, its input vectors (at every position of a feature map), to
values, its outputs. The edit makes the layer map the keys of the transformed exemplars (e.g. the
features of a snowy background) to the values of the original exemplars at the same positions (the
features of the background as it was), changing the weight only along one direction of the input space:

    W' = W + Lambda d^T,    d = C^-1 k

k is the keys' top singular direction over the concept's positions, C the keys' second moment over
training images (so directions common in ordinary images are changed least). For a convolution the
update is rank-one in the input channels at every kernel offset: ``delta[o, i, y, x] = Lambda[o, y, x] d[i]``,
so on any input whose channel vector at every position is orthogonal to d the layer is unchanged.
Lambda minimises the mean absolute (the paper's) or squared error between the edited layer's output on
the transformed keys and the values, over the concept's positions only, by Adam steps on Lambda: gradient
steps projected onto the rank-one form (`rank` > 1: the top `rank` directions).
"""

from __future__ import annotations

import copy
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from tony.core.errors import DataError, SpecError
from tony.vision.editing.spec import RewriteSettings
from tony.vision.models import NamedNet
from tony.vision.train import as_float

BATCH = 256


def editable_layer(model: NamedNet, name: str) -> nn.Conv2d | nn.Linear:
    """The Conv2d or Linear layer `name` of `model`; an unknown name or another kind of layer is a SpecError."""
    module = model.layer(name)  # an unknown name raises UnknownComponentError listing the layers
    if not isinstance(module, nn.Conv2d | nn.Linear):
        convs = [n for n, m in model.named_modules() if isinstance(m, nn.Conv2d | nn.Linear)]
        raise SpecError(f"layer '{name}' of {model.architecture} is a {type(module).__name__}: edit a convolution or "
                        f"linear layer, e.g. {', '.join(n.removeprefix('stages.') for n in convs[-3:])}")
    return module


@contextmanager
def _recording(module: nn.Module) -> Iterator[dict[str, torch.Tensor]]:
    """Inside the block, every forward pass through `module` stores its input and output (detached)."""
    seen: dict[str, torch.Tensor] = {}

    def hook(_module: nn.Module, inputs: tuple[torch.Tensor, ...], output: torch.Tensor) -> None:
        seen["input"], seen["output"] = inputs[0].detach(), output.detach().clone()

    handle = module.register_forward_hook(hook)
    try:
        yield seen
    finally:
        handle.remove()


def layer_io(model: NamedNet, layer: str, images: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """The layer's inputs (keys) and outputs (values) on `images` (uint8 or float), in eval mode."""
    module = editable_layer(model, layer)
    inputs, outputs = [], []
    model.eval()
    with torch.no_grad(), _recording(module) as seen:
        for start in range(0, len(images), BATCH):
            model(as_float(images[start:start + BATCH]))
            inputs.append(seen["input"])
            outputs.append(seen["output"])
    return torch.cat(inputs), torch.cat(outputs)


def key_second_moment(model: NamedNet, layer: str, images: torch.Tensor) -> torch.Tensor:
    """C = mean of k k^T over every key (input vector at every position) of the layer on `images`: [c, c]."""
    module = editable_layer(model, layer)
    total, count = None, 0
    model.eval()
    with torch.no_grad(), _recording(module) as seen:
        for start in range(0, len(images), BATCH):
            model(as_float(images[start:start + BATCH]))
            rows = _as_rows(seen["input"]).double()
            total = rows.T @ rows if total is None else total + rows.T @ rows
            count += len(rows)
    if total is None:
        raise DataError("no images to estimate the keys' second moment from")
    return (total / count).float()


def _as_rows(features: torch.Tensor, mask: torch.Tensor | None = None) -> torch.Tensor:
    """[N, c, h, w] (or [N, c]) features as one row per position [M, c], only masked positions when given."""
    moved = features.movedim(1, -1) if features.ndim == 4 else features
    return moved[mask] if mask is not None else moved.reshape(-1, features.shape[1])


def resize_mask(masks: torch.Tensor, features: torch.Tensor) -> torch.Tensor:
    """Image masks [N, H, W] at the resolution of `features` [N, c, h, w]: a cell is in when at least half its pixels
    are (area pooling); for flat features [N, c], every image is one position: [N] (in if any pixel is)."""
    if features.ndim == 2:
        return masks.flatten(1).any(1)
    height, width = features.shape[-2:]
    pooled = nn.functional.adaptive_avg_pool2d(masks.float()[:, None], (height, width))[:, 0]
    return pooled >= 0.5


def edit_direction(keys: torch.Tensor, second_moment: torch.Tensor, rank: int, ridge: float) -> torch.Tensor:
    """[rank, c] orthonormal rows spanning C^-1 k for the `rank` top right singular vectors k of `keys` [M, c]."""
    if len(keys) == 0:
        raise DataError("the concept covers no position of the edited layer's input in these exemplars: choose an "
                        "earlier (larger) layer or a concept that covers more of the image")
    top = torch.linalg.svd(keys.double(), full_matrices=False).Vh[:rank]
    moment = second_moment.double()
    regularised = moment + ridge * moment.diagonal().mean() * torch.eye(len(moment), dtype=moment.dtype)
    whitened = torch.linalg.solve(regularised, top.T)  # [c, rank]: C^-1 k per direction
    basis, _ = torch.linalg.qr(whitened)
    return basis.T.float()


def project(delta: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """`delta` (a weight's shape, input channels in dimension 1) with each input-channel row projected onto the
    span of `basis` [r, c] (orthonormal rows): the nearest update of the rank-r form."""
    return expand(reduce(delta, basis), basis)


def reduce(delta: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """Lambda [o, r, ...] of an update: its input-channel rows in the coordinates of `basis` [r, c]."""
    return (delta.movedim(1, -1) @ basis.T).movedim(-1, 1)


def expand(coefficients: torch.Tensor, basis: torch.Tensor) -> torch.Tensor:
    """The update Lambda d^T [o, c, ...] of coefficients Lambda [o, r, ...]."""
    return (coefficients.movedim(1, -1) @ basis).movedim(-1, 1)


def fit_update(module: nn.Conv2d | nn.Linear, keys: torch.Tensor, values: torch.Tensor, out_mask: torch.Tensor,
               basis: torch.Tensor, settings: RewriteSettings) -> torch.Tensor:
    """The weight update (of the layer's shape, in the span of `basis`) that makes the layer map `keys` to `values`
    at the positions of `out_mask`, by Adam steps from zero.

    The steps move Lambda, the update's coordinates in the basis: a gradient step on Lambda is the gradient step
    on the weight projected onto the rank-r form, so the update never leaves it. The layer is linear, so the
    edited output is the unedited one plus the update applied to the keys' coordinates along the basis, a
    convolution from r channels: each step costs little whatever the layer's width.
    """
    if isinstance(module, nn.Conv2d) and (module.groups != 1 or module.padding_mode != "zeros"):
        raise SpecError("the rewrite edits convolutions with groups=1 and zero padding")
    with torch.no_grad():
        unedited = module(keys)
        along = reduce(keys, basis)  # [K, r, ...]: each key's coordinates along the basis
    coefficients = torch.zeros_like(reduce(module.weight.detach(), basis), requires_grad=True)
    optimizer = torch.optim.Adam([coefficients], lr=settings.lr)
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # steps this small run many times faster on one thread than split over busy cores
    try:
        for _ in range(settings.steps):
            if isinstance(module, nn.Conv2d):
                change = nn.functional.conv2d(along, coefficients, None, module.stride, module.padding,
                                              module.dilation)
            else:
                change = along @ coefficients.T
            error = _as_rows(unedited + change - values, out_mask)
            loss = error.abs().mean() if settings.loss == "l1" else error.pow(2).mean()
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            optimizer.step()
    finally:
        torch.set_num_threads(threads)
    return expand(coefficients.detach(), basis)


@dataclass(frozen=True)
class Rewrite:
    """One rewrite: the edited model and what it was made from."""

    model: NamedNet
    """A copy of the model with the layer's weight changed by `delta`."""
    delta: torch.Tensor
    """The weight update (the layer's weight shape)."""
    basis: torch.Tensor
    """[rank, c]: orthonormal rows spanning the update's input directions (C^-1 k)."""


def rewrite(model: NamedNet, layer: str, originals: torch.Tensor, transformed: torch.Tensor, masks: torch.Tensor,
            second_moment: torch.Tensor, settings: RewriteSettings) -> Rewrite:
    """Rewrite `layer` so that it maps the keys of `transformed` to the values of `originals` (the same images before
    the transformation) where `masks` [K, H, W] (the concept) is; `model` is left unchanged."""
    keys, _ = layer_io(model, layer, transformed)
    _, values = layer_io(model, layer, originals)
    if keys.ndim == 4 and masks.shape[-2:] != (originals.shape[-2:]):
        raise DataError(f"masks of shape {tuple(masks.shape)} do not fit images of shape {tuple(originals.shape)}")
    basis = edit_direction(_as_rows(keys, resize_mask(masks, keys)), second_moment, settings.rank, settings.ridge)
    delta = fit_update(editable_layer(model, layer), keys, values, resize_mask(masks, values), basis, settings)
    edited = copy.deepcopy(model)
    with torch.no_grad():
        editable_layer(edited, layer).weight.add_(delta)
    return Rewrite(edited.eval(), delta, basis)
