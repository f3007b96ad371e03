"""Small image classifiers whose layers are addressable by name: CIFAR-style ResNets and VGG-style nets.

Every model is a `NamedNet`: an ordered list of named stages run one after another, e.g. for a
ResNet ``input, stem, block1, block2, block3, penultimate, fc`` (``input`` standardises each channel
with the training set's mean and deviation, kept as buffers, so a saved model takes raw [0, 1] images).

Later studies address layers by name: ``model.layer("block3")`` (or a dotted path inside a stage,
``"block3.0.conv2"``) to edit a layer, ``model.capture("penultimate")`` to read features with
forward hooks, ``model.reset_head()`` to retrain only the last layer. ``penultimate`` is always the
flattened, pooled feature vector that the final linear layer ``fc`` reads.

    model = build_model("resnet8", num_classes=10, in_channels=3, image_size=32, width=16, seed=0)
    with model.capture("block2", "penultimate") as features:
        logits = model(images)
    features["penultimate"].shape   # (batch, 64)
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import torch
from torch import nn

from tony.core.errors import SpecError, UnknownComponentError
from tony.core.registry import registry

INPUT = "input"
"""The name of every model's first stage, the input standardisation."""
HEAD = "fc"
"""The name of every model's last (classification) layer."""
FEATURES = "penultimate"
"""The name of the stage whose output the last layer reads."""


class NamedNet(nn.Module):
    """A classifier as named stages applied in order; the last one is the linear layer `fc`."""

    def __init__(self, architecture: str, stages: list[tuple[str, nn.Module]]) -> None:
        super().__init__()
        self.architecture = architecture
        self.stages = nn.ModuleDict(dict(stages))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        for stage in self.stages.values():
            x = stage(x)
        return x

    @property
    def layer_names(self) -> list[str]:
        """The stages' names, input to output."""
        return list(self.stages.keys())

    def layer(self, name: str) -> nn.Module:
        """The stage called `name`, or a module inside one by dotted path ("block3.0.conv2")."""
        stage, _, rest = name.partition(".")
        if stage not in self.stages:
            raise UnknownComponentError(f"{self.architecture} has no layer '{name}': its layers are "
                                        f"{', '.join(self.layer_names)} (or a dotted path inside one)")
        if not rest:
            return self.stages[stage]
        try:
            return self.stages[stage].get_submodule(rest)
        except AttributeError:
            inner = ", ".join(n for n, _ in self.stages[stage].named_modules() if n) or "none"
            raise UnknownComponentError(f"{self.architecture} layer '{stage}' has no module '{rest}': "
                                        f"its modules are {inner}") from None

    @contextmanager
    def capture(self, *names: str, detach: bool = True) -> Iterator[dict[str, torch.Tensor]]:
        """Forward hooks on the layers `names`: inside the block, each forward pass stores every layer's
        output in the yielded dict (overwriting the previous pass's); the hooks are removed on exit.
        `detach=False` keeps the autograd graph (to differentiate through a feature)."""
        captured: dict[str, torch.Tensor] = {}

        def hook_for(name: str) -> Callable[[nn.Module, object, torch.Tensor], None]:
            def hook(_module: nn.Module, _inputs: object, output: torch.Tensor) -> None:
                # A copy: an in-place ReLU after a captured module would otherwise change what was stored.
                captured[name] = output.detach().clone() if detach else output.clone()
            return hook

        handles = [self.layer(name).register_forward_hook(hook_for(name)) for name in names]
        try:
            yield captured
        finally:
            for handle in handles:
                handle.remove()

    def features(self, x: torch.Tensor, upto: str = FEATURES) -> torch.Tensor:
        """The output of stage `upto` (the stages after it are not run)."""
        self.layer(upto)  # an unknown name is reported, not silently ignored
        for name, stage in self.stages.items():
            x = stage(x)
            if name == upto:
                return x
        raise AssertionError("unreachable: `upto` is a stage")

    def set_normalization(self, mean: torch.Tensor, std: torch.Tensor) -> None:
        """Set the per-channel mean and deviation that the `input` stage subtracts and divides by."""
        stage = self.stages[INPUT]
        assert isinstance(stage, Standardize)
        stage.mean.copy_(mean.view_as(stage.mean))
        stage.std.copy_(std.view_as(stage.std))

    @property
    def head(self) -> nn.Linear:
        """The last layer."""
        head = self.stages[HEAD]
        assert isinstance(head, nn.Linear)
        return head

    def reset_head(self, num_classes: int | None = None, *, seed: int = 0) -> nn.Linear:
        """Replace the last layer by a freshly initialised one (seeded; `num_classes` outputs, default
        unchanged) and return it; the rest of the network keeps its weights."""
        old = self.head
        out = old.out_features if num_classes is None else num_classes
        if out < 1:
            raise SpecError(f"the last layer needs at least 1 output, got {out}")
        with torch.random.fork_rng():
            torch.manual_seed(seed)
            new = nn.Linear(old.in_features, out)
        self.stages[HEAD] = new.to(old.weight.device)
        return new


class Standardize(nn.Module):
    """(x - mean) / std per channel, with mean and std as buffers (saved with the model, not trained)."""

    mean: torch.Tensor
    """[1, channels, 1, 1]: subtracted from the input."""
    std: torch.Tensor
    """[1, channels, 1, 1]: divides the centred input."""

    def __init__(self, channels: int) -> None:
        super().__init__()
        self.register_buffer("mean", torch.zeros(1, channels, 1, 1))
        self.register_buffer("std", torch.ones(1, channels, 1, 1))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # The output is always in plain NCHW layout. A one-channel batch can carry channels-last strides, which
        # then run through the whole network, and oneDNN's 1x1 stride-2 backward-weights kernel writes past its
        # workspace on channels-last input with few channels (uxlfoundation/oneDNN#6035): crashes, hangs or
        # wrong gradients in the shortcut convolutions.
        out = (x - self.mean) / self.std
        if out.is_contiguous(memory_format=torch.channels_last):
            out = out.clone(memory_format=torch.contiguous_format)
        return out


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with batch norm and a shortcut (a 1x1 convolution when the shape changes)."""

    def __init__(self, channels_in: int, channels_out: int, stride: int) -> None:
        super().__init__()
        self.conv1 = nn.Conv2d(channels_in, channels_out, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(channels_out)
        self.conv2 = nn.Conv2d(channels_out, channels_out, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(channels_out)
        self.relu = nn.ReLU(inplace=True)
        self.shortcut: nn.Module = nn.Identity()
        if stride != 1 or channels_in != channels_out:
            self.shortcut = nn.Sequential(nn.Conv2d(channels_in, channels_out, 1, stride, bias=False),
                                          nn.BatchNorm2d(channels_out))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out = self.relu(self.bn1(self.conv1(x)))
        return self.relu(self.bn2(self.conv2(out)) + self.shortcut(x))


def _conv_bn_relu(channels_in: int, channels_out: int) -> list[nn.Module]:
    return [nn.Conv2d(channels_in, channels_out, 3, 1, 1, bias=False), nn.BatchNorm2d(channels_out),
            nn.ReLU(inplace=True)]


@dataclass(frozen=True)
class Architecture:
    """One named network shape (registered as a "vision_model" in `tony.catalog`)."""

    name: str
    """What `build_model` and `--model` call it."""
    family: str
    """resnet or vgg."""
    stages: tuple[tuple[int, int], ...]
    """Per stage: (residual blocks or convolutions, channel multiple of `width`)."""
    hidden_layers: int = 0
    """VGG only: linear+ReLU layers of 8*width units in `penultimate` before `fc`."""

    @property
    def halvings(self) -> int:
        """How often the network halves the image's side (ResNet: every stage but the first; VGG: every stage)."""
        return len(self.stages) - 1 if self.family == "resnet" else len(self.stages)


RESNET8 = Architecture("resnet8", "resnet", ((1, 1), (1, 2), (1, 4)))
RESNET14 = Architecture("resnet14", "resnet", ((2, 1), (2, 2), (2, 4)))
RESNET20 = Architecture("resnet20", "resnet", ((3, 1), (3, 2), (3, 4)))
RESNET18 = Architecture("resnet18", "resnet", ((2, 1), (2, 2), (2, 4), (2, 8)))
VGG7 = Architecture("vgg7", "vgg", ((1, 1), (1, 2), (2, 4), (2, 8)))
VGG11 = Architecture("vgg11", "vgg", ((1, 1), (1, 2), (2, 4), (2, 8), (2, 8)), hidden_layers=2)

ARCHITECTURES = registry.table("vision_model")
"""Every model by name (the registry's "vision_model" kind); `width` scales the channels (the first stage has
`width` channels)."""


def check_model(name: str, *, num_classes: int, in_channels: int, image_size: int, width: int) -> Architecture:
    """The architecture `name` after checking that it can be built for these sizes; a SpecError says why not."""
    arch: Architecture = registry.get("vision_model", name)
    if num_classes < 2 or in_channels < 1 or width < 1:
        raise SpecError(f"a model needs num_classes >= 2, in_channels >= 1 and width >= 1, got {num_classes}, "
                        f"{in_channels} and {width}")
    smallest = 2 ** arch.halvings if arch.family == "vgg" else 1
    if image_size < smallest:
        raise SpecError(f"{name} halves the image {arch.halvings} times, so it needs images of at least "
                        f"{smallest} px, got {image_size}: use larger images or a ResNet")
    return arch


def build_model(name: str, *, num_classes: int, in_channels: int = 3, image_size: int = 32, width: int = 16,
                seed: int = 0) -> NamedNet:
    """The untrained model `name` (`ARCHITECTURES`), initialised from `seed` (global RNG left alone)."""
    arch = check_model(name, num_classes=num_classes, in_channels=in_channels, image_size=image_size, width=width)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        stages = _resnet(arch, in_channels, width) if arch.family == "resnet" else _vgg(arch, in_channels, width)
        features = arch.stages[-1][1] * width
        model = NamedNet(name, [(INPUT, Standardize(in_channels)), *stages, (HEAD, nn.Linear(features, num_classes))])
        for module in model.modules():
            if isinstance(module, nn.Conv2d):
                nn.init.kaiming_normal_(module.weight, mode="fan_out", nonlinearity="relu")
    return model


def _resnet(arch: Architecture, in_channels: int, width: int) -> list[tuple[str, nn.Module]]:
    stages: list[tuple[str, nn.Module]] = [("stem", nn.Sequential(*_conv_bn_relu(in_channels, width)))]
    channels = width
    for index, (blocks, multiple) in enumerate(arch.stages):
        out = multiple * width
        layers = [BasicBlock(channels if b == 0 else out, out, 2 if index > 0 and b == 0 else 1)
                  for b in range(blocks)]
        stages.append((f"block{index + 1}", nn.Sequential(*layers)))
        channels = out
    return [*stages, (FEATURES, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten()))]


def _vgg(arch: Architecture, in_channels: int, width: int) -> list[tuple[str, nn.Module]]:
    stages: list[tuple[str, nn.Module]] = []
    channels = in_channels
    for index, (convs, multiple) in enumerate(arch.stages):
        layers: list[nn.Module] = []
        for _ in range(convs):
            layers += _conv_bn_relu(channels, multiple * width)
            channels = multiple * width
        stages.append((f"block{index + 1}", nn.Sequential(*layers, nn.MaxPool2d(2))))
    hidden: list[nn.Module] = []
    for _ in range(arch.hidden_layers):
        hidden += [nn.Linear(channels, channels), nn.ReLU(inplace=True)]
    return [*stages, (FEATURES, nn.Sequential(nn.AdaptiveAvgPool2d(1), nn.Flatten(), *hidden))]
