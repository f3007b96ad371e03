"""The editing study end to end on a tiny world: records, stats, stored edits reloaded bit-identically, the sweep,
the site page and `tony edit` (exit status and one-line errors)."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from tony.cli import main
from tony.core.checkpoints import load_checkpoint
from tony.core.store import Store
from tony.vision.editing.report import pages
from tony.vision.editing.spec import EditStudySpec
from tony.vision.editing.study import EditTask, apply_changes, draw_exemplars, run_study
from tony.vision.editing.sweep import EditSweepSpec, run_sweep

CLASSES = ["disc", "square", "plus"]
TINY = {"data": {"world": {"size": 16}, "classes": CLASSES, "train_per_class": 10, "test_per_class": 8},
        "train": {"width": 4, "epochs": 2}, "draws": 2, "exemplars": 2, "rewrite": {"steps": 20},
        "finetune": {"steps": 5}}
TINY_ARGS = ["--train-per-class", "10", "--test-per-class", "8", "--width", "4", "--epochs", "2", "--draws", "1",
             "--steps", "10", "--spec"]


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    store = str(tmp_path_factory.mktemp("editing") / "store")
    spec = EditStudySpec.parse(TINY)
    return spec, store, run_study(spec, store)


def test_a_tiny_study_edits_each_draw_with_every_method(tiny):
    spec, store_url, result = tiny
    assert result.status == "complete", result.error
    records = Store(store_url).records(result.run_id)
    assert sorted(r["item_id"] for r in records) == sorted(
        f"s00-d{d:03d}-{m}" for d in range(2) for m in ("rewrite", "finetune_local", "finetune_global"))
    for draw in range(2):
        mine = [r for r in records if r["draw"] == draw]
        assert len({tuple(r["exemplars"]) for r in mine}) == 1  # every method edits with the same exemplars
        assert len({r["exemplar_class"] for r in mine}) == 1 and len(mine[0]["exemplars"]) == 2
    rewrite = [r for r in records if r["method"] == "rewrite"]
    assert all(r["steps"] == 20 and not r["loaded"] for r in rewrite)
    stats = {(s.name, s.split, s.subgroup): s for s in result.stats}
    drops = [sum(v[0] for v in r["clean_before"].values()) - sum(v[0] for v in r["clean_after"].values())
             for r in rewrite]
    assert stats[("clean_accuracy_drop", "rewrite", "")].value == pytest.approx(np.mean(drops) / 24)
    assert stats[("clean_accuracy", "unedited", "")].n == 24
    assert {s for _, _, s in stats if s} == set(CLASSES)
    assert run_study(spec, store_url).reused


def test_edited_models_reload_from_their_artifact_bit_identically(tiny):
    spec, store_url, _ = tiny
    store = Store(store_url)
    task = EditTask(spec, store)
    state = task.seed_model(0)
    _, rows = draw_exemplars(spec, task.images, 0, 1)
    for method in spec.methods:
        key = task.edited_spec(state, method, rows)
        stored = load_checkpoint(store, key)
        assert stored is not None
        reloaded = apply_changes(state.model, stored["changed"])
        unsaved = EditTask(spec.model_copy(update={"save_edits": False}), store)
        fresh, _, loaded = unsaved.edited_model(state, method, rows, _transformed(task, rows))
        assert not loaded
        assert all(torch.equal(a, b) for a, b in zip(reloaded.state_dict().values(), fresh.state_dict().values(),
                                                     strict=True))
        changed = set(stored["changed"])
        if method == "rewrite":
            assert changed == {f"stages.{spec.edited_layer}.weight"}
        elif method == "finetune_local":
            assert changed <= {f"stages.{spec.edited_layer}.weight"}
    again = task.edit(0, 1, "rewrite")
    assert again["loaded"]


def _transformed(task: EditTask, rows: np.ndarray) -> torch.Tensor:
    from tony.vision.editing.concept import transform

    return transform(task.spec.data, task.images.train, rows, task.images.concept, task.spec.style)


def test_the_sweep_and_the_site_page(tiny, tmp_path):
    spec, store_url, result = tiny
    sweep = EditSweepSpec.parse({"data": TINY["data"], "train": TINY["train"], "styles": ("snow", "plain")})
    swept = run_sweep(sweep, store_url)
    assert swept.status == "complete", swept.error
    broken = {(s.split, s.subgroup): s for s in swept.stats if s.name == "broken_fraction"}
    assert set(broken) == {(c, s) for c in ("foreground", "background") for s in ("snow", "plain")}
    study = {s.name: s for s in result.stats if s.split == "unedited"}
    assert broken[("background", "snow")].value == pytest.approx(study["broken_fraction"].value)  # the same models
    (page,) = list(pages(Store(store_url)))
    assert page.path == "editing/index.html" and "world · background → snow" in page.body
    assert "data:image/png;base64," in page.body and page.body.count("<svg") == 1
    assert "Vulnerability" in page.body and "fine-tune every layer" in page.body


def run_cli(capsys, *args: str) -> tuple[int, str, str]:
    code = main(["edit", *args])
    out, err = capsys.readouterr()
    return code, out, err


def test_the_command_line(capsys, tmp_path, tiny):
    spec_file = tmp_path / "spec.json"
    spec_file.write_text(json.dumps({"data": {"world": {"size": 16}, "classes": CLASSES}}))
    store = str(tmp_path / "store")
    code, out, err = run_cli(capsys, "run", *TINY_ARGS, str(spec_file), "--method", "rewrite", "--store", store,
                             "--format", "json")
    assert code == 0, err
    shown = json.loads(out)
    assert set(shown["methods"]) == {"rewrite", "unedited"} and shown["labels"]["layer"] == "block3.0.conv2"
    code, out, _ = run_cli(capsys, "run", *TINY_ARGS, str(spec_file), "--method", "rewrite", "--store", store)
    assert code == 0 and "rewrite (rank one)" in out and "unedited: clean accuracy" in out
    code, out, err = run_cli(capsys, "sweep", *TINY_ARGS[:8], "--spec", str(spec_file), "--concept", "background",
                             "--style", "snow", "--style", "dots", "--store", store)
    assert code == 0, err
    lines = out.splitlines()
    assert lines[1] == "background:" and {lines[2].split()[0], lines[3].split()[0]} == {"snow", "dots"}
    for args, message in ((["--concept", "wheel"], "concept 'wheel' is absent from world"),
                          (["--exemplar-class", "cat"], "the model does not know class 'cat'"),
                          (["--layer", "block3.0.bn2"], "is a BatchNorm2d: edit a convolution or linear layer"),
                          (["--layer", "block7"], "resnet8 has no layer 'block7'")):
        code, _, err = run_cli(capsys, "run", *TINY_ARGS, str(spec_file), "--store", store, *args)
        lines = err.strip().splitlines()
        assert code == 2 and len(lines) == 1 and message in lines[0], err
