"""The poisoning study's spec: the data, the attack and its options, the threat model, the defenses, the victim's
training recipe and the seed. One spec is one seed of one grid cell (attack x budget x defenses); a sweep over
seeds is one spec per seed. Imports no torch until it checks an attack's options (the attack classes hold them).
"""

from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

from tony.core.errors import SpecError
from tony.core.registry import registry
from tony.core.spec import RunnableSpec, Spec, content_key
from tony.core.store import Store
from tony.vision.data.dataset import image_shape
from tony.vision.data.world import ShapeWorld
from tony.vision.poisoning.threat import ThreatModel

KIND = "poisoning"
DEFENSES = ("spectral", "activation_clustering", "strip", "fine_pruning", "finetune")
"""Every built-in defense, the default sweep of a run."""


class PoisonData(Spec):
    """Where the images come from and how many of them each set gets."""

    dataset: str = "world"
    """world (the generated world's first shape of each of its 10 families: disc, square, equilateral, star-3,
    plus, bar, two-dots, single-arrow, plain-ring, hollow-square), fashion-mnist, or a folder of class folders."""
    path: str | None = None
    """fashion-mnist: the idx folder (default Debian's /usr/share/datasets/fashion-mnist)."""
    train_images: int = 6000
    """The victim's training set (the attacker's budget is a fraction of it)."""
    clean_images: int = 400
    """The defender's own clean set, disjoint from the training set."""
    test_images: int = 1000
    world: ShapeWorld = ShapeWorld()
    """The generated world's rendering settings."""
    image_size: int = 32
    """A folder's images are resized to this side."""
    seed: int = 0
    """Seeds which images are drawn (the same for every seed of the study, so seeds vary only the attack and
    the training)."""

    @model_validator(mode="after")
    def _check(self) -> PoisonData:
        if min(self.train_images, self.clean_images, self.test_images) < 1:
            raise SpecError(f"train_images, clean_images and test_images must be at least 1, got "
                            f"{self.train_images}, {self.clean_images} and {self.test_images}")
        return self

    @property
    def shape(self) -> tuple[int, int]:
        """(channels, side) of the images."""
        return image_shape(self.dataset, self.world.size, self.image_size)


class Training(Spec):
    """How every victim is trained (see `tony.vision.train.VisionTrainSpec`); the study's seed seeds it. The
    defaults fit the world and Fashion-MNIST on 2 CPU cores: a narrow VGG-7 (2.7x faster per step than a ResNet-8
    of the same width, and more accurate on the world's 6,000 images), Adam, cosine, 12 epochs, no augmentation."""

    model: str = "vgg7"
    width: int = 8
    optimizer: Literal["sgd", "adam"] = "adam"
    lr: float = 0.003
    weight_decay: float = 0.0
    epochs: int = 12
    batch_size: int = 128
    augmentation: str = "none"
    last_layer_epochs: int = 60
    """last_layer regime: epochs of the last layer's retraining on the poisoned set."""
    fine_tune_epochs: int = 4
    """fine_tune regime: epochs of fine-tuning the pretrained model on the poisoned set."""


class PoisonStudySpec(RunnableSpec):
    """One attack at one budget against a victim, with every defense of `defenses`, for one seed."""

    data: PoisonData = PoisonData()
    attack: str = "badnets"
    """A registered attack (`tony poison attacks`)."""
    attack_options: dict[str, Any] = Field(default_factory=dict)
    """The attack's own fields (e.g. BadNets' size, Blended's alpha)."""
    threat: ThreatModel = ThreatModel()
    defenses: tuple[str, ...] = DEFENSES
    """Registered defenses (`tony poison defenses`), each measured against the same trained victim."""
    defense_options: dict[str, dict[str, Any]] = Field(default_factory=dict)
    """Per defense, its own fields (e.g. {"strip": {"frr": 0.01}})."""
    train: Training = Training()
    clean_baseline: bool = True
    """Also train the victim's recipe on the unpoisoned set (variant "clean"): the C-Acc an attack should keep."""
    seed: int = 0
    """Seeds the attack's choices, the victims' initial weights and batches, the defenses and the bootstrap."""

    @model_validator(mode="after")
    def _check(self) -> PoisonStudySpec:
        attack = self.attack_spec()
        attack.check(self.threat)
        unknown = [d for d in self.defense_options if d not in self.defenses]
        if unknown:
            raise SpecError(f"defense_options names '{unknown[0]}', which is not among the defenses run")
        for name in self.defenses:
            defense = self.defense_spec(name)
            if defense.backdoor_only and not attack.backdoor:
                raise SpecError(f"defense {name} detects test-time triggers and attack {self.attack} plants none: "
                                "drop the defense or pick a backdoor attack")
        if len(set(self.defenses)) != len(self.defenses):
            raise SpecError("a defense is listed twice: list each once")
        self.victim_spec(num_classes=2)  # an unknown model, policy or impossible size fails now
        return self

    def attack_spec(self) -> Any:
        """The attack's spec (its class from the registry, its fields from `attack_options`)."""
        return registry.get("poison_attack", self.attack).parse(self.attack_options)

    def defense_spec(self, name: str) -> Any:
        return registry.get("poison_defense", name).parse(self.defense_options.get(name, {}))

    def poison_identity(self) -> dict[str, Any]:
        """What decides the poisoned training set (and so the victim): everything but the defenses."""
        return {"data": self.data.key_fields(), "attack": self.attack, "attack_options": self.attack_spec(
        ).key_fields(), "threat": self.threat.key_fields(), "seed": self.seed}

    def victim_spec(self, num_classes: int, data: dict[str, Any] | None = None, *, seed: int | None = None) -> Any:
        """The `VisionTrainSpec` of a model of this study trained from scratch on the set `data` describes (seeded
        by the study's seed unless `seed` is given)."""
        from tony.vision.train import VisionTrainSpec

        channels, side = self.data.shape
        fields = self.train.model_dump(exclude={"last_layer_epochs", "fine_tune_epochs"})
        return VisionTrainSpec.parse({**fields, "seed": self.seed if seed is None else seed, "num_classes": num_classes,
                                      "in_channels": channels, "image_size": side, "data": data or {}})

    def grid_key(self) -> str:
        """Identifies the grid cell: the spec without its seed (runs of one cell differ only by seed)."""
        return content_key({k: v for k, v in self.key_fields().items() if k != "seed"})

    def describe(self) -> str:
        budget = self.threat.count if self.threat.count is not None else f"{self.threat.fraction:g}"
        return f"{self.data.dataset} {self.attack} {budget} {self.threat.regime}"

    def task(self, store: Store) -> Any:
        from tony.vision.poisoning.study import PoisonTask

        return PoisonTask(self, store)
