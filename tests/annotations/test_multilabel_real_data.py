"""The ImageNet multi-label annotations (../shared/data/imagenet-multilabel): statistics pinned, and recounted
by a second, brute-force reading of the raw files that shares no code with the package."""

from __future__ import annotations

import csv
import importlib.util
import json
import random

import pytest
from multilabel_helpers import REAL_DATA

from tony.annotations.multilabel import api
from tony.annotations.multilabel.predictions import write_predictions

pytestmark = pytest.mark.skipif(not (REAL_DATA / "classify_task.jsonl").is_file(),
                                reason=f"real data absent: {REAL_DATA} (only in the project's shared checkout)")

IMAGES = 6761
FIRST_STAGE = {"easy": 2923, "mis": 150, "amb": 166, "fu": 6761}
OBJECTS = {1: 4699, 2: 1538, 3: 396, 4: 86, 5: 26, 6: 16}
MULTI_OBJECT = 2062
MAIN_IS_LABEL = 4662
MAIN_TIES = 371
LABEL_VALID = 6443
"""Follow-up images whose benchmark label at least 20% of annotators selected."""
GROUPS_MATCH_OBJECTS = 6245
"""Images whose co-selection groups number exactly their objects."""


@pytest.fixture(scope="module")
def real():
    data = api.load(REAL_DATA)
    return data, api.summaries(data)


def brute_force() -> dict:
    """Recount from the raw files with plain loops: the mode by scanning sizes in order, the main label by
    comparing (votes, selections, -index) tuples."""
    objects: dict[int, int] = {}
    main_is_label = ties = 0
    with (REAL_DATA / "classify_task.jsonl").open() as handle:
        rows = [json.loads(line) for line in handle]
    for row in rows:
        sizes = [len(s) for s in row["selected"]]
        best_size, best_count = None, -1
        for size in range(1, max(sizes) + 1):  # ascending, strict '>' keeps the smaller size on a tie
            if sizes.count(size) > best_count:
                best_size, best_count = size, sizes.count(size)
        objects[best_size] = objects.get(best_size, 0) + 1
        flat = [x for s in row["selected"] for x in s]
        ranked = sorted(set(row["main"]), key=lambda c: (row["main"].count(c), flat.count(c), -c), reverse=True)
        ties += len(ranked) > 1 and row["main"].count(ranked[0]) == row["main"].count(ranked[1])
        main_is_label += ranked[0] == row["imagenet_label"]
    with (REAL_DATA / "image_categories.csv").open() as handle:
        stage: dict[str, int] = {}
        for row in csv.DictReader(handle):
            stage[row["annotation"]] = stage.get(row["annotation"], 0) + 1
    return {"images": len(rows), "objects": dict(sorted(objects.items())), "main_is_label": main_is_label,
            "ties": ties, "stage": stage}


def test_pinned_statistics_agree_with_a_brute_force_recount(real):
    data, summaries = real
    stats = api.statistics(data, summaries)
    assert stats.images == IMAGES and stats.first_stage == FIRST_STAGE and sum(FIRST_STAGE.values()) == 10_000
    assert stats.objects == OBJECTS and stats.multi_object_images == MULTI_OBJECT
    assert stats.main_label_is_benchmark_label == MAIN_IS_LABEL and stats.main_label_ties == MAIN_TIES
    assert sum(s.label in s.valid for s in summaries) == LABEL_VALID
    assert sum(len(s.groups) == s.objects for s in summaries) == GROUPS_MATCH_OBJECTS
    recount = brute_force()
    assert recount == {"images": IMAGES, "objects": OBJECTS, "main_is_label": MAIN_IS_LABEL, "ties": MAIN_TIES,
                       "stage": {k: FIRST_STAGE[k] for k in recount["stage"]}}
    assert MULTI_OBJECT == sum(v for k, v in OBJECTS.items() if k > 1)
    # The superclasses of the release cover the 1000 classes once each.
    assert len(data.superclass_of()) == 1000 == sum(len(v) for v in data.superclasses.values())


def test_cli_json_on_the_real_data_with_generated_predictions(real, tmp_path, monkeypatch, capsys):
    from tony import cli
    from tony.annotations import cli as annotations_cli

    data, summaries = real
    if importlib.util.find_spec("tony.annotations.replication.cli") is None:  # the sibling study's CLI, when there
        monkeypatch.setattr(annotations_cli, "SUBCOMMANDS", {"multilabel": annotations_cli.SUBCOMMANDS["multilabel"]})
    monkeypatch.setenv("TONY_PROGRESS", "0")
    rng = random.Random(0)
    by_image = {s.image: s for s in summaries}
    rows = []  # a model that always names the benchmark label; the other images get seeded labels
    for image in data.categories:
        label = by_image[image].label if image in by_image else rng.randrange(1000)
        rows.append((image, [label, *((label + k) % 1000 for k in rng.sample(range(1, 1000), 4))],
                     None if image in by_image else label))
    path = write_predictions(tmp_path / "benchmark_label.jsonl", rows)
    assert cli.main(["annotations", "multilabel", str(REAL_DATA), "--predictions", str(path), "--store",
                     str(tmp_path / "store"), "--format", "json"]) == 0
    out = json.loads(capsys.readouterr().out)
    assert out["images"] == IMAGES and out["multi_object_images"] == MULTI_OBJECT
    assert out["main_label_is_benchmark_label"] == pytest.approx(MAIN_IS_LABEL / IMAGES)
    accuracy = out["accuracy"]["benchmark_label"]
    assert accuracy["all"]["top1"]["value"] == 1.0 and accuracy["all"]["top1"]["n"] == 10_000
    assert accuracy["first_stage:fu"]["multilabel_top1"]["value"] == pytest.approx(LABEL_VALID / IMAGES)
    assert accuracy["first_stage:fu"]["main_top1"]["value"] == pytest.approx(MAIN_IS_LABEL / IMAGES)
    labels = {image: label for image, (label, *_), _ in rows}
    dogs = set(data.superclasses["Dogs"])
    assert accuracy["superclass:Dogs"]["top1"]["n"] == sum(label in dogs for label in labels.values())
