"""The models of a poisoning study: the clean model, the attacker's model, the victim under its training regime,
and a victim retrained on what a filter kept. Every one is a checkpoint artifact keyed by a spec that names the
data it learned from, so a defense sweep, a rerun or a resumed run trains each once.

- scratch: `tony.vision.train.train` on the (poisoned) set, checkpointed every epoch (resumable);
- last_layer / fine_tune: the clean model is the pretrained network; its last layer is retrained on the set
  (frozen features), or the whole of it fine-tuned, and the result stored under a `DerivedModel` spec.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import torch

from tony.core.checkpoints import load_checkpoint, save_checkpoint
from tony.core.spec import Spec
from tony.core.store import Store
from tony.vision.models import NamedNet
from tony.vision.poisoning.data import PoisonSplits
from tony.vision.poisoning.spec import PoisonStudySpec
from tony.vision.train import fingerprint, train

ATTACKER_SEED = 1_000_003
"""Added to the study's seed for a grey-box attacker's own model (it knows the architecture, not the weights)."""
FINE_TUNE_LR = 0.01


class DerivedModel(Spec):
    """A model made from a trained one by further training on a described set (the key of its checkpoint)."""

    base: str
    """The key of the model it starts from."""
    how: str
    """last_layer or fine_tune."""
    epochs: int
    seed: int
    data: dict[str, Any]
    """What decides the set it learned from."""


def clean_model(spec: PoisonStudySpec, splits: PoisonSplits, store: Store, *, attacker: bool = False) -> NamedNet:
    """The study's recipe trained on the unpoisoned training set (the victim's seed, or the attacker's own)."""
    seed = spec.seed + ATTACKER_SEED if attacker else spec.seed
    recipe = spec.victim_spec(len(splits.classes), {"clean": spec.data.key_fields()}, seed=seed)
    return train(recipe, splits.train.images, splits.train.labels, store).model


def victim(spec: PoisonStudySpec, splits: PoisonSplits, images: torch.Tensor, labels: torch.Tensor, store: Store,
           data: dict[str, Any]) -> NamedNet:
    """The victim trained under the threat model's regime on (`images`, `labels`), which `data` describes."""
    classes = len(splits.classes)
    if spec.threat.regime == "scratch":
        return train(spec.victim_spec(classes, data), images, labels, store).model
    base_recipe = spec.victim_spec(classes, {"clean": spec.data.key_fields()})
    how = spec.threat.regime
    epochs = spec.train.last_layer_epochs if how == "last_layer" else spec.train.fine_tune_epochs
    key = DerivedModel(base=base_recipe.key(), how=how, epochs=epochs, seed=spec.seed,
                       data={**data, "fingerprint": fingerprint(images, labels)})

    def make() -> NamedNet:
        from tony.vision.evaluate import retrain_last_layer
        from tony.vision.poisoning.defenses.finetune import fine_tune

        pretrained = clean_model(spec, splits, store)
        if how == "last_layer":
            return retrain_last_layer(pretrained, images, labels, epochs=epochs, seed=spec.seed)
        return fine_tune(pretrained, images, labels, epochs=epochs, lr=FINE_TUNE_LR, seed=spec.seed)

    return stored_model(store, key, base_recipe.build_model, make)


def stored_model(store: Store, key: Spec, build: Callable[[], NamedNet], make: Callable[[], NamedNet]) -> NamedNet:
    """The model stored under `key` (its weights loaded into `build()`), or `make()`'s, stored there first."""
    state = load_checkpoint(store, key)
    if state is not None:
        model = build()
        model.load_state_dict(state["model"])
        return model.eval()
    model = make()
    save_checkpoint(store, key, {"model": copy.deepcopy(model.state_dict())})
    return model.eval()
