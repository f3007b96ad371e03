"""The BREEDS study: a tiny run through the runner, its stats against the records, the report page, the CLI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET

import numpy as np
import pytest

from tony.cli import main
from tony.core.errors import SpecError, UnknownComponentError
from tony.core.store import Store
from tony.vision.breeds.report import VARIANT_NAMES, pages
from tony.vision.breeds.study import VARIANTS, BreedsStudySpec, aggregate, run_study

TINY = {"data": {"world": {"size": 16}, "images_per_class": 8}, "train": {"model": "resnet8", "width": 4, "epochs": 1}}
SVG = "{http://www.w3.org/2000/svg}"
TINY_ARGS = ["--image-size", "16", "--images-per-class", "8", "--width", "4", "--epochs", "1"]


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("breeds") / "store")
    spec = BreedsStudySpec.parse(TINY)
    return spec, store, run_study(spec, store)


def test_a_tiny_study_stores_every_variant_on_every_test_image(tiny_run):
    spec, store_url, result = tiny_run
    assert result.status == "complete", result.error
    store = Store(store_url)
    records = store.records(result.run_id)
    # 10 families x (2 source + 2 target shapes) x 2 held-out images of the 8 per shape.
    assert len(records) == 80 and sum(r["side"] == "source" for r in records) == 40
    assert all(set(r["predictions"]) == set(VARIANTS) for r in records)
    assert {r["superclass"] for r in records} == set(spec.data.world.superclasses)
    stats = {(s.name, s.split, s.subgroup): s for s in result.stats}
    for variant in VARIANTS:
        source, target, gap = (stats[(n, variant, "")] for n in ("source_accuracy", "target_accuracy", "gap"))
        assert gap.value == pytest.approx(source.value - target.value) and (source.n, target.n, gap.n) == (40, 40, 80)
        for stat in (source, target, gap):
            assert stat.ci_low <= stat.value <= stat.ci_high
        # Per-subclass accuracy against a direct count over the stored records.
        for record_subclass in {r["subclass"] for r in records}:
            mine = [r for r in records if r["subclass"] == record_subclass]
            hits = sum(r["predictions"][variant] == r["label"] for r in mine)
            stat = stats[("subclass_accuracy", variant, f"{mine[0]['side']}:{record_subclass}")]
            assert (stat.value, stat.n) == (pytest.approx(hits / len(mine)), len(mine))
    gain = stats[("target_gain", "last_layer", "")]
    assert gain.value == pytest.approx(stats[("target_accuracy", "last_layer", "")].value
                                       - stats[("target_accuracy", "baseline", "")].value)
    assert run_study(spec, store_url).reused  # the same spec is not run twice


def test_the_report_page_has_a_table_and_a_source_target_plot(tiny_run):
    _, store_url, result = tiny_run
    (page,) = list(pages(Store(store_url)))
    assert page.path == "breeds/index.html" and "world · level 1 · rand split" in page.body
    assert page.body.count("<svg") == 1
    root = ET.fromstring(re.search(r"<svg.*?</svg>", page.body, re.S).group(0))
    dots = [c for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is not None]
    legend = [c for c in root.iter(f"{SVG}circle") if c.find(f"{SVG}title") is None]
    assert len(dots) == len(legend) == len(VARIANTS)  # one point, and one legend entry, per variant of the one run
    legend_labels = {t.text for t in root.iter(f"{SVG}text") if t.get("class") == "small"}
    assert legend_labels == {VARIANT_NAMES[v][:24] for v in VARIANTS}  # the legend cuts labels at 24 characters
    stats = {(s.name, s.split): s.value for s in result.stats if not s.subgroup}
    for variant, dot in zip(VARIANTS, dots, strict=True):  # in the study's order
        tip = dot.find(f"{SVG}title").text
        assert tip.startswith(VARIANT_NAMES[variant]) and result.run_id[:8] in tip
        assert (f"source {stats[('source_accuracy', variant)]:.3f}, "
                f"target {stats[('target_accuracy', variant)]:.3f}") in tip
    assert "last layer retrained on target" in page.body and result.run_id[:12] in page.body
    assert "per-subclass accuracy" in page.body


def test_the_gap_interval_and_gains_on_known_records():
    rng = np.random.default_rng(0)
    records = []
    for i in range(200):
        side = "source" if i < 100 else "target"
        base_right = side == "source" or i % 2 == 0  # source 100%, target 50%
        records.append({"item_id": f"{side}-{i:05d}", "side": side, "label": 1, "superclass": "s",
                        "subclass": f"{side}{i % 4}", "predictions": {
                            "baseline": 1 if base_right else 0,
                            "last_layer": 1 if side == "target" or rng.random() < 0.9 else 0}})
    stats = {(s.name, s.split, s.subgroup): s for s in aggregate(records, seed=0)}
    gap = stats[("gap", "baseline", "")]
    assert gap.value == pytest.approx(0.5) and 0.38 < gap.ci_low < 0.5 < gap.ci_high < 0.62
    assert stats[("target_gain", "last_layer", "")].value == pytest.approx(0.5)
    assert stats[("source_gain", "last_layer", "")].value < 0
    assert stats[("subclass_accuracy", "baseline", "target:target1")].value == 0.0


def test_the_cli_runs_the_study_and_prints_json(tiny_run, capsys, monkeypatch):
    _, store_url, result = tiny_run
    monkeypatch.setenv("TONY_PROGRESS", "0")
    assert main(["breeds", "run", *TINY_ARGS, "--store", store_url, "--format", "json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["run"] == result.run_id  # the options make the module's spec: reused, not trained again
    assert set(printed["variants"]) == set(VARIANTS)
    assert main(["breeds", "run", *TINY_ARGS, "--store", store_url]) == 0
    table = capsys.readouterr().out
    assert "last layer on target" in table and "target gain" in table


@pytest.mark.parametrize(("args", "message"), [
    (["--model", "resnet9000"], "unknown model 'resnet9000'"),
    (["--model", "vgg11", "--image-size", "16"], "needs images of at least 32 px"),
    (["--images-per-class", "1"], "leaves no training or no test image"),
    (["living17"], "defined on the ImageNet hierarchy"),
    (["--dataset", "imagenet"], "needs the image folder"),
    (["--spec", "missing.yaml"], "spec file not found"),
    (["--level", "7"], "level 7 is outside the class hierarchy"),
    (["--subclasses", "6"], "no superclass at level 1 has 6 subclasses"),
])
def test_bad_input_is_one_line_and_exit_2(args, message, tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["breeds", "run", *TINY_ARGS, *args]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_bad_specs_from_python():
    with pytest.raises(UnknownComponentError):
        BreedsStudySpec.parse({**TINY, "train": {"model": "alexnet"}})
    with pytest.raises(SpecError, match="unknown intervention 'dropout'"):
        BreedsStudySpec.parse({**TINY, "interventions": ["dropout"]})
    with pytest.raises(SpecError, match="test_fraction"):
        BreedsStudySpec.parse({**TINY, "test_fraction": 1.0})


def write_imagenet_folder(root) -> tuple[str, str]:
    """A BREEDS hierarchy (2 superclasses of 2 classes under one root) and a folder of 6 JPEGs per class."""
    from PIL import Image

    from tony.vision.breeds import write_breeds
    from tony.vision.hierarchy import Hierarchy

    edges = [("n0", "n1"), ("n0", "n2"), ("n1", "n11"), ("n1", "n12"), ("n2", "n21"), ("n2", "n22")]
    hierarchy = write_breeds(root / "hierarchy", Hierarchy(edges, {n: f"node {n}" for e in edges for n in e}))
    rng = np.random.default_rng(0)
    for label, wnid in enumerate(["n11", "n12", "n21", "n22"]):
        (root / "images" / wnid).mkdir(parents=True)
        for i in range(6):
            pixels = rng.integers(0, 80, (20, 24, 3), dtype=np.uint8)
            pixels[..., label % 3] += 150  # the class shows in its colour
            Image.fromarray(pixels).save(root / "images" / wnid / f"{wnid}_{i}.JPEG")
    return str(root / "images"), str(hierarchy)


def test_the_study_runs_on_an_imagenet_style_folder_and_reports_bad_folders(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    images, hierarchy = write_imagenet_folder(tmp_path)
    args = ["breeds", "run", "--dataset", "imagenet", "--data", images, "--hierarchy", hierarchy, "--image-size", "16",
            "--images-per-class", "6", "--width", "4", "--epochs", "1", "--format", "json"]
    assert main(args) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["labels"]["dataset"] == "imagenet"
    assert printed["variants"]["baseline"]["source_accuracy"]["n"] == 4  # 2 superclasses x 1 source class x 2 held out
    (tmp_path / "images" / "n11" / "n11_0.JPEG").rename(tmp_path / "n11_0.JPEG")
    for path in (tmp_path / "images" / "n11").iterdir():
        path.unlink()
    assert main(args) == 2
    assert "class folder" in capsys.readouterr().err
    (tmp_path / "images" / "n11").rmdir()
    (tmp_path / "images" / "n99").mkdir()
    assert main(args) == 2
    assert "'n99'" in capsys.readouterr().err
    assert main([*args, "entity13"]) == 2  # a published benchmark needs ImageNet's BREEDS files
    assert "level 3 is outside the class hierarchy" in capsys.readouterr().err


FASHION = "/usr/share/datasets/fashion-mnist"


@pytest.mark.skipif(not __import__("os").path.isdir(FASHION),
                    reason="needs Debian's dataset-fashion-mnist (apt-get install dataset-fashion-mnist)")
def test_the_study_runs_on_fashion_mnist(tmp_path):
    spec = BreedsStudySpec.parse({"data": {"dataset": "fashion-mnist", "images_per_class": 8},
                                  "train": {"width": 4, "epochs": 1}, "interventions": ["last_layer"]})
    result = run_study(spec, str(tmp_path / "store"))
    assert result.status == "complete", result.error
    stats = {(s.name, s.split, s.subgroup): s for s in result.stats}
    # tops, trousers-and-dresses and footwear have 2+ garments: one source and one target garment each.
    assert stats[("source_accuracy", "baseline", "")].n == 6 and ("gap", "last_layer", "") in stats
    assert ("gap", "strong_augmentation", "") not in stats
