"""The editing study as a run of the kernel's runner: one item per (model seed, exemplar draw, method).

Per seed the model is trained (or loaded from its checkpoint), and the unedited model's predictions on the
clean and transformed test images fix the errors to correct (`evaluate.Baseline`). Per draw, `exemplars`
training images of one class with the concept are drawn (seeded by the study's seed, the model seed and the
draw, so every method edits with the same exemplars), and each method edits a copy of the model; the edited
model is stored as an artifact keyed by its `EditedModelSpec` and loaded from there on a rerun. Records are
committed per item, so a killed study resumes where it stopped.
"""

from __future__ import annotations

import copy
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch

from tony.core.checkpoints import load_checkpoint, save_checkpoint
from tony.core.errors import DataError
from tony.core.runner import RunResult
from tony.core.stats import Stat
from tony.core.store import Store
from tony.vision.data.dataset import ImageDataset
from tony.vision.editing.concept import Concept, check_concept, concept_masks, has_concept, load_images, transform
from tony.vision.editing.evaluate import Baseline, aggregate, edit_record
from tony.vision.editing.finetune import finetune
from tony.vision.editing.rewrite import key_second_moment, rewrite
from tony.vision.editing.spec import KIND, EditedModelSpec, EditStudySpec
from tony.vision.evaluate import features, predict
from tony.vision.models import NamedNet


@dataclass
class StudyImages:
    """The study's images: training and test sets, where the concept is, and the test images transformed."""

    train: ImageDataset
    test: ImageDataset
    concept: Concept
    train_concept: np.ndarray
    """[N train] bool: training images with the concept (the exemplars' pool)."""
    test_concept: np.ndarray
    """[N test] bool: test images with the concept."""
    transformed: torch.Tensor
    """The test images with the concept, transformed, in test order."""

    @classmethod
    def load(cls, spec: EditStudySpec) -> StudyImages:
        concept = check_concept(spec.data, spec.concept, spec.style)
        train, test = load_images(spec.data)
        train_concept, test_concept = has_concept(spec.data, train, concept), has_concept(spec.data, test, concept)
        if not test_concept.any():
            raise DataError(f"concept '{spec.concept}' is absent from the test images: choose another concept")
        return cls(train, test, concept, train_concept, test_concept,
                   transform(spec.data, test, np.flatnonzero(test_concept), concept, spec.style))


@dataclass
class SeedModel:
    """One trained model and what the unedited model does."""

    seed: int
    model: NamedNet
    base_key: str
    baseline: Baseline
    error_images: torch.Tensor
    """The transformed test images the unedited model gets wrong (`baseline.errors`, in order)."""
    second_moment: torch.Tensor | None = None
    inputs: dict[str, torch.Tensor] | None = None
    """What the edited layer's stage reads, for the clean test images ("clean") and `error_images` ("errors"): an
    edit of that stage changes nothing before it, so its predictions start there."""


def cached_images(spec: EditStudySpec) -> StudyImages:
    """`StudyImages.load(spec)`, remembered for the last spec (a run checks its data first, then its task uses it)."""
    key = spec.key()
    if key not in _LAST:
        _LAST.clear()
        _LAST[key] = StudyImages.load(spec)
    return _LAST[key]


_LAST: dict[str, StudyImages] = {}


def draw_exemplars(spec: EditStudySpec, images: StudyImages, seed: int, draw: int) -> tuple[int, np.ndarray]:
    """The exemplars of one draw: (their label, sorted positions in the training images)."""
    rng = np.random.default_rng([spec.seed, seed, draw])
    labels = images.train.labels.numpy()
    classes = images.train.classes
    pools = {k: np.flatnonzero((labels == k) & images.train_concept) for k in range(len(classes))}
    eligible = [k for k, pool in pools.items() if len(pool) >= spec.exemplars]
    if spec.exemplar_class is not None:
        label = classes.index(spec.exemplar_class)
        if label not in eligible:
            raise DataError(f"class '{spec.exemplar_class}' has {len(pools[label])} training images with concept "
                            f"'{spec.concept}', fewer than the {spec.exemplars} exemplars asked for")
    elif not eligible:
        raise DataError(f"no class has {spec.exemplars} training images with concept '{spec.concept}': ask for fewer "
                        "exemplars or more training images")
    else:
        label = int(rng.choice(eligible))
    return label, np.sort(rng.choice(pools[label], spec.exemplars, replace=False))


class EditTask:
    """The runner's view of an `EditStudySpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: EditStudySpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._images: StudyImages | None = None
        self._model: SeedModel | None = None

    @property
    def images(self) -> StudyImages:
        if self._images is None:
            self._images = cached_images(self.spec)
        return self._images

    def labels(self) -> dict[str, Any]:
        spec = self.spec
        return {"dataset": spec.data.dataset, "concept": spec.concept, "style": spec.style,
                "exemplars": spec.exemplars, "model": f"{spec.train.model} w{spec.train.width}",
                "layer": spec.edited_layer, "seeds": spec.seeds, "draws": spec.draws}

    def items(self) -> list[str]:
        return [f"s{seed:02d}-d{draw:03d}-{method}" for seed in range(self.spec.seeds)
                for draw in range(self.spec.draws) for method in self.spec.methods]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        records = []
        for item in item_ids:
            seed_text, draw_text, method = item.split("-", 2)
            records.append((item, self.edit(int(seed_text[1:]), int(draw_text[1:]), method)))
        return records

    def seed_model(self, seed: int) -> SeedModel:
        """Model `seed`, trained or loaded, with its unedited predictions (the last seed's kept)."""
        if self._model is None or self._model.seed != seed:
            from tony.vision.train import train

            images, spec = self.images, self.spec.train_spec(seed)
            model = train(spec, images.train.images, images.train.labels, self.store).model
            labels = images.test.labels.numpy()
            clean = predict(model, images.test.images).argmax(1).numpy() == labels
            transformed = np.zeros(len(labels), dtype=bool)
            transformed[images.test_concept] = (predict(model, images.transformed).argmax(1).numpy()
                                                == labels[images.test_concept])
            baseline = Baseline(labels, images.test_concept, clean, transformed)
            errors_among_concept = baseline.errors[images.test_concept]
            self._model = SeedModel(seed, model, spec.key(), baseline, images.transformed[errors_among_concept])
        return self._model

    def second_moment(self, state: SeedModel) -> torch.Tensor:
        """The keys' second moment of the edited layer over `covariance_images` evenly spaced training images."""
        if state.second_moment is None:
            train = self.images.train.images
            wanted = self.spec.rewrite.covariance_images
            sample = train[:: max(1, len(train) // wanted)][:wanted]
            state.second_moment = key_second_moment(state.model, self.spec.edited_layer, sample)
        return state.second_moment

    def edit(self, seed: int, draw: int, method: str) -> dict[str, Any]:
        """One edit of model `seed` with draw `draw`'s exemplars by `method`, evaluated (a record)."""
        spec, images, state = self.spec, self.images, self.seed_model(seed)
        label, rows = draw_exemplars(spec, images, seed, draw)
        transformed = transform(spec.data, images.train, rows, images.concept, spec.style)
        started = time.perf_counter()
        edited, steps, loaded = self.edited_model(state, method, rows, transformed)
        seconds = time.perf_counter() - started
        if method == "finetune_global":
            clean = predict(edited, images.test.images).argmax(1).numpy()
            fixed = predict(edited, state.error_images).argmax(1).numpy() if len(state.error_images) else np.zeros(0)
        else:
            clean, fixed = (self.predict_from_stage(state, edited, which) for which in ("clean", "errors"))
        record = edit_record(state.baseline, label, clean, fixed, images.test.classes)
        exemplars_right = predict(edited, transformed).argmax(1).numpy() == images.train.labels.numpy()[rows]
        if (seed, draw, method) == (0, 0, spec.methods[0]):  # the site shows the first draw's exemplars
            from tony.vision.editing.report import IMAGES, png_strip

            name = IMAGES + spec.key()
            stored = self.store.put_artifact(name, png_strip([images.train.images[rows].numpy(), transformed.numpy()]))
            self.store.drop_artifacts(name, keep=stored)
        return {"seed": seed, "draw": draw, "method": method, "exemplar_class": images.train.classes[label],
                "exemplars": rows.tolist(), "exemplars_fixed": bool(exemplars_right.all()), "steps": steps,
                "edit_seconds": seconds, "loaded": loaded, **record}

    def predict_from_stage(self, state: SeedModel, edited: NamedNet, which: str) -> np.ndarray:
        """Predicted labels of the clean test images or the error images by a model edited in one stage only."""
        names = state.model.layer_names
        stage = self.spec.edited_layer.partition(".")[0]
        if state.inputs is None:
            before = names[names.index(stage) - 1]
            state.inputs = {"clean": features(state.model, self.images.test.images, before),
                            "errors": features(state.model, state.error_images, before) if len(state.error_images)
                            else torch.zeros(0)}
        x = state.inputs[which]
        if len(x) == 0:
            return np.zeros(0, dtype=np.int64)
        with torch.no_grad():
            for name in names[names.index(stage):]:
                x = edited.stages[name](x)
        return x.argmax(1).numpy()

    def edited_spec(self, state: SeedModel, method: str, rows: np.ndarray) -> EditedModelSpec:
        spec = self.spec
        settings = spec.rewrite if method == "rewrite" else spec.finetune
        return EditedModelSpec(base=state.base_key, method=method,
                               layer="" if method == "finetune_global" else spec.edited_layer,
                               concept=spec.concept, style=spec.style, exemplars=tuple(int(r) for r in rows),
                               settings=settings.model_dump(mode="json"), data=spec.data.model_dump(mode="json"))

    def edited_model(self, state: SeedModel, method: str, rows: np.ndarray,
                     transformed: torch.Tensor) -> tuple[NamedNet, int, bool]:
        """(the edited model, steps taken, whether it was loaded from its artifact)."""
        spec, images = self.spec, self.images
        key = self.edited_spec(state, method, rows)
        stored = load_checkpoint(self.store, key) if spec.save_edits else None
        if stored is not None:
            return apply_changes(state.model, stored["changed"]), int(stored["steps"]), True
        if method == "rewrite":
            masks = concept_masks(spec.data, images.train.subset(rows), images.concept)
            made = rewrite(state.model, spec.edited_layer, images.train.images[rows], transformed, masks,
                           self.second_moment(state), spec.rewrite)
            edited, steps = made.model, spec.rewrite.steps
        else:
            layer = spec.edited_layer if method == "finetune_local" else None
            tuned = finetune(state.model, transformed, images.train.labels[rows], spec.finetune, layer=layer)
            edited, steps = tuned.model, tuned.steps
        if spec.save_edits:
            save_checkpoint(self.store, key, {"changed": changed_tensors(state.model, edited), "steps": steps})
        return edited, steps, False

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return aggregate(records, self.spec.seed)

    def close(self) -> None:
        self._images, self._model = None, None


def changed_tensors(base: NamedNet, edited: NamedNet) -> dict[str, torch.Tensor]:
    """The entries of `edited`'s state dict that differ from `base`'s (what an edited model's artifact stores)."""
    before = base.state_dict()
    return {name: value for name, value in edited.state_dict().items() if not torch.equal(value, before[name])}


def apply_changes(base: NamedNet, changed: dict[str, torch.Tensor]) -> NamedNet:
    """A copy of `base` with the stored entries `changed` loaded."""
    edited = copy.deepcopy(base)
    edited.load_state_dict({**base.state_dict(), **changed})
    return edited.eval()


def run_study(spec: EditStudySpec, store: str | None = None, *, batch_size: int = 4) -> RunResult:
    """Run the study through the kernel's runner (models trained, or resumed, on first use)."""
    from tony.core.executors import run_local

    try:
        cached_images(spec)  # bad data (a missing folder, an absent concept) is reported here, not as a failed run
        return next(run_local([spec], store, batch_size=batch_size))
    finally:
        _LAST.clear()  # the images can be large
