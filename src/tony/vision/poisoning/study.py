"""The poisoning study as the runner's task: poison, train the victim, apply every defense, predict every test
image with and without the trigger.

The run's items: ``test-00042`` (a test image: its label, each variant's prediction on it clean and triggered,
and a detector's rejections), ``target-0`` (a targeted attack's named instance), ``filter-spectral`` (a filter's
removed counts against the ground truth) and ``examples`` (a few poisons beside their originals, as PNG, for the
site). Variants: ``clean`` (no attack), ``none`` (attacked, undefended) and one per defense. Stats: see
`tony.vision.poisoning.metrics`. Everything trained is a checkpoint artifact (`victims`): a killed run resumes,
and a new defense on the same attack trains only what it retrains.
"""

from __future__ import annotations

import base64
import io
from typing import Any

import numpy as np
import torch

from tony.core.progress import progress_bar
from tony.core.runner import RunResult
from tony.core.stats import Stat
from tony.core.store import Store
from tony.vision.models import NamedNet
from tony.vision.poisoning.metrics import CLEAN, NO_DEFENSE, filter_stats, image_stats, target_stats
from tony.vision.poisoning.spec import KIND, PoisonStudySpec

EXAMPLES = 4
"""Poisons shown beside their originals on the site."""


class PoisonTask:
    """The runner's view of a `PoisonStudySpec` (the `tony.core.runner.Task` protocol)."""

    kind = KIND

    def __init__(self, spec: PoisonStudySpec, store: Store) -> None:
        self.spec, self.store = spec, store
        self._records: dict[str, dict[str, Any]] | None = None

    def labels(self) -> dict[str, Any]:
        spec, threat = self.spec, self.spec.threat
        return {"dataset": spec.data.dataset, "attack": spec.attack, "fraction": threat.fraction,
                "count": threat.count, "goal": threat.goal, "regime": threat.regime, "seed": spec.seed,
                "model": f"{spec.train.model} w{spec.train.width}", "epochs": spec.train.epochs,
                "grid": spec.grid_key()}

    def items(self) -> list[str]:
        from tony.vision.poisoning.data import cached_splits

        spec = self.spec
        tests = [f"test-{i:05d}" for i in range(len(cached_splits(spec.data).test))]
        targets = [f"target-{i}" for i in range(max(1, len(spec.threat.targets)))] \
            if spec.threat.goal == "targeted" else []
        filters = [f"filter-{d}" for d in spec.defenses if spec.defense_spec(d).kind == "filter"]
        return [*tests, *targets, *filters, "examples"]

    def process(self, item_ids: list[str]) -> list[tuple[str, dict[str, Any]]]:
        if self._records is None:
            self._records = compute_records(self.spec, self.store)
        return [(item, self._records[item]) for item in item_ids]

    def aggregate(self, records: list[dict[str, Any]]) -> list[Stat]:
        return aggregate(records, self.spec.seed)

    def close(self) -> None:
        self._records = None


def aggregate(records: list[dict[str, Any]], seed: int) -> list[Stat]:
    """The run's stats from its records (see `tony.vision.poisoning.metrics`)."""
    by_kind: dict[str, list[dict[str, Any]]] = {}
    for record in sorted(records, key=lambda r: r["item_id"]):
        by_kind.setdefault(record["item_id"].partition("-")[0], []).append(record)
    tests = by_kind.get("test", [])
    variants = list(tests[0]["clean"]) if tests else []
    stats = image_stats(tests, variants, seed) if tests else []
    if "target" in by_kind:
        stats += target_stats(by_kind["target"], variants, seed)
    for record in by_kind.get("filter", []):
        stats += filter_stats(record, seed)
    return stats


def compute_records(spec: PoisonStudySpec, store: Store) -> dict[str, dict[str, Any]]:
    """Every record of the run, by item id (trains, or loads, every model first)."""
    from tony.vision.poisoning.attacks.base import AttackInput, backdoor_labels
    from tony.vision.poisoning.data import cached_splits, resolve_targets, target_label
    from tony.vision.poisoning.defenses.base import DefenseInput, logits
    from tony.vision.poisoning.victims import clean_model, victim

    splits = cached_splits(spec.data)
    train_set, test = splits.train, splits.test
    attack, threat = spec.attack_spec(), spec.threat
    target = target_label(splits.classes, train_set.hierarchy, threat.target_class)
    targets = resolve_targets(test.labels, target, threat.targets, spec.seed) if threat.goal == "targeted" else ()
    needs = attack.needs()
    attacker = None
    if needs.knowledge != "black_box":
        def attacker() -> NamedNet:  # white box: the pretrained model itself; grey box: its own copy
            return clean_model(spec, splits, store, attacker=needs.knowledge == "grey_box")
    given = AttackInput(train_set.images, train_set.labels, len(splits.classes), target, threat, spec.seed,
                        test.images, targets, attacker)
    poisoned = attack.poison(given)
    identity = {"poison": spec.poison_identity()}
    models = {NO_DEFENSE: victim(spec, splits, poisoned.images, poisoned.labels, store, identity)}
    if spec.clean_baseline:
        models[CLEAN] = clean_model(spec, splits, store)
    records: dict[str, dict[str, Any]] = {}
    rejectors = {}
    budget = threat.budget_fraction(len(train_set))
    with progress_bar(len(spec.defenses), f"defend {spec.describe()}", unit="defense") as bar:
        for name in spec.defenses:
            defense = spec.defense_spec(name)
            defended = DefenseInput(models[NO_DEFENSE], poisoned.images, poisoned.labels, splits.clean.images,
                                    splits.clean.labels, budget, spec.seed)
            if defense.kind == "filter":
                removed = defense.select(defended)
                kept = torch.from_numpy(~removed)
                # Nothing removed: retraining on the same set would give the same victim.
                models[name] = models[NO_DEFENSE] if not removed.any() else victim(
                    spec, splits, poisoned.images[kept], poisoned.labels[kept], store,
                    {**identity, "filter": name, "options": defense.key_fields()})
                records[f"filter-{name}"] = filter_counts(name, removed, poisoned.poisoned)
            elif defense.kind == "repair":
                models[name] = defense.repair(defended)
            else:
                rejectors[name] = defense.detector(defended)
                models[name] = models[NO_DEFENSE]
            bar.update(1)
    predicted = {v: logits(m, test.images).argmax(1).numpy() for v, m in models.items()}
    labels = test.labels.numpy()
    rows: list[dict[str, Any]] = [{"label": int(y), "clean": {v: int(p[i]) for v, p in predicted.items()}}
                                  for i, y in enumerate(labels)]
    eligible = labels != target if threat.mapping == "all-to-one" or not attack.backdoor else np.ones_like(labels,
                                                                                                        bool)
    if attack.backdoor:
        triggered_images = attack.apply_trigger(test.images)
        triggered = {v: logits(m, triggered_images).argmax(1).numpy() for v, m in models.items()}
        backdoor = backdoor_labels(test.labels, target, threat.mapping, len(splits.classes)).numpy()
        rejected = {n: (reject(test.images), reject(triggered_images)) for n, reject in rejectors.items()}
        for i, row in enumerate(rows):
            row.update(triggered={v: int(p[i]) for v, p in triggered.items()}, backdoor=int(backdoor[i]),
                       rejected={n: [bool(c[i]), bool(t[i])] for n, (c, t) in rejected.items()})
    for i, row in enumerate(rows):
        row["eligible"] = bool(eligible[i])
        records[f"test-{i:05d}"] = row
    for k, index in enumerate(targets):
        records[f"target-{k}"] = {"index": index, "label": int(labels[index]), "adversarial": target,
                                  "predicted": {v: int(p[index]) for v, p in predicted.items()}}
    records["examples"] = examples(train_set.images, poisoned.images, train_set.labels, poisoned.labels,
                                   poisoned.poisoned, splits.classes)
    return records


def filter_counts(name: str, removed: np.ndarray, poisoned: np.ndarray) -> dict[str, Any]:
    """A filter's record: poisons and clean examples, and how many of each it removed."""
    return {"defense": name, "poisons": int(poisoned.sum()), "poisons_removed": int((removed & poisoned).sum()),
            "clean": int((~poisoned).sum()), "clean_removed": int((removed & ~poisoned).sum())}


def examples(originals: torch.Tensor, poisons: torch.Tensor, labels: torch.Tensor, new_labels: torch.Tensor,
             poisoned: np.ndarray, classes: tuple[str, ...]) -> dict[str, Any]:
    """The first few poisons beside their originals, as base64 PNG, with their labels before and after."""
    shown = np.flatnonzero(poisoned)[:EXAMPLES]
    return {"pairs": [{"original": png(originals[i]), "poisoned": png(poisons[i]), "label": classes[int(labels[i])],
                       "poison_label": classes[int(new_labels[i])]} for i in shown]}


def png(image: torch.Tensor) -> str:
    """A uint8 (C, H, W) image as base64 PNG text."""
    from PIL import Image

    pixels = image.permute(1, 2, 0).numpy()
    picture = Image.fromarray(pixels[..., 0] if pixels.shape[2] == 1 else pixels)
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return base64.b64encode(buffer.getvalue()).decode("ascii")


def run_study(spec: PoisonStudySpec, store: str | None = None, *, batch_size: int = 500) -> RunResult:
    """Run one spec through the kernel's runner (its models are trained, or resumed, on first use)."""
    from tony.core.executors import run_local

    check_data(spec)
    return next(run_local([spec], store, batch_size=batch_size))


def check_data(spec: PoisonStudySpec) -> None:
    """Load the spec's data and resolve its target class and instances: a bad folder or an unknown class is a
    one-line error here, before a run is stored."""
    from tony.vision.poisoning.data import cached_splits, resolve_targets, target_label

    splits = cached_splits(spec.data)
    target = target_label(splits.classes, splits.train.hierarchy, spec.threat.target_class)
    if spec.threat.goal == "targeted":
        resolve_targets(splits.test.labels, target, spec.threat.targets, spec.seed)
