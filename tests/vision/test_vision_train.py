"""Training: batched augmentation against a per-image check, the schedule, learning, checkpoints, exact resumption."""

from __future__ import annotations

import math
import subprocess
import sys
import time

import pytest
import torch

from tony.core.checkpoints import checkpoint_name, latest_checkpoint, load_checkpoint, save_checkpoint
from tony.core.errors import DataError, SpecError, UnknownComponentError
from tony.core.store import Store
from tony.vision.augment import augment, cutout, random_crop, random_flip
from tony.vision.train import VisionTrainSpec, train


def images(n: int = 6, size: int = 8, seed: int = 0) -> torch.Tensor:
    return torch.rand(n, 3, size, size, generator=torch.Generator().manual_seed(seed))


def test_each_random_crop_is_a_window_of_the_zero_padded_image():
    batch, pad = images(), 2
    crops = random_crop(batch, pad, torch.Generator().manual_seed(0))
    padded = torch.nn.functional.pad(batch, (pad,) * 4)
    offsets = []
    for image, crop in zip(padded, crops, strict=True):
        matches = [(dy, dx) for dy in range(2 * pad + 1) for dx in range(2 * pad + 1)
                   if torch.equal(image[:, dy:dy + 8, dx:dx + 8], crop)]
        assert matches
        offsets.append(matches[0])
    assert len(set(offsets)) > 1  # offsets differ between images


def test_flips_mirror_some_images_and_keep_the_others():
    batch = images(n=64)
    flipped = random_flip(batch, torch.Generator().manual_seed(1))
    mirrored = [torch.equal(f, b.flip(-1)) for f, b in zip(flipped, batch, strict=True)]
    kept = [torch.equal(f, b) for f, b in zip(flipped, batch, strict=True)]
    assert all(m != k for m, k in zip(mirrored, kept, strict=True))
    assert 16 < sum(mirrored) < 48


def test_cutout_fills_a_square_with_the_mean_colour():
    batch = images(n=40, size=10)
    out = cutout(batch, 4, torch.Generator().manual_seed(2))
    changed = (out != batch).any(dim=1)  # (N, H, W)
    assert 5 < int(changed.any(dim=(1, 2)).sum()) < 35  # about half the images
    for image, before, mask in zip(out, batch, changed, strict=True):
        if mask.any():
            rows, cols = mask.nonzero().unbind(1)
            assert int(rows.max() - rows.min()) < 4 and int(cols.max() - cols.min()) < 4
            assert torch.allclose(image[:, rows[0], cols[0]], before.mean(dim=(1, 2)))


def test_policies_are_seeded_and_keep_shape_and_range():
    batch = images()
    assert augment(batch, "none", torch.Generator()) is batch
    for policy in ("standard", "strong"):
        a = augment(batch, policy, torch.Generator().manual_seed(5))
        b = augment(batch, policy, torch.Generator().manual_seed(5))
        assert torch.equal(a, b) and a.shape == batch.shape and a.min() >= 0 and a.max() <= 1
        assert not torch.equal(a, augment(batch, policy, torch.Generator().manual_seed(6)))
    grey = augment(images(1)[:, :1], "strong", torch.Generator().manual_seed(0))  # one channel: no saturation
    assert grey.shape == (1, 1, 8, 8)


def toy_data(n: int = 96, size: int = 8) -> tuple[torch.Tensor, torch.Tensor]:
    """Three classes told apart by which colour channel is bright: learnable in a few steps."""
    generator = torch.Generator().manual_seed(0)
    labels = torch.arange(n) % 3
    pictures = (torch.rand(n, 3, size, size, generator=generator) * 100).to(torch.uint8)
    pictures[torch.arange(n), labels] += 150
    return pictures, labels


def spec(**changes) -> VisionTrainSpec:
    fields = {"model": "resnet8", "width": 4, "num_classes": 3, "image_size": 8, "epochs": 2, "batch_size": 32,
              "lr": 0.05, "augmentation": "standard", "data": {"test": "toy"}}
    return VisionTrainSpec.parse({**fields, **changes})


def test_the_learning_rate_schedules():
    cosine = spec(epochs=4)
    assert cosine.lr_at(0, 10) == pytest.approx(0.05) and cosine.lr_at(20, 10) == pytest.approx(0.025)
    assert cosine.lr_at(39, 10) < 1e-3
    step = spec(epochs=6, schedule="step", lr_step_epochs=2, lr_gamma=0.5)
    assert [step.lr_at(e * 10, 10) for e in (0, 1, 2, 4, 5)] == pytest.approx([0.05, 0.05, 0.025, 0.0125, 0.0125])
    assert spec(schedule="constant").lr_at(123, 10) == 0.05


@pytest.mark.parametrize("optimizer", ["sgd", "adam"])
def test_training_learns_a_learnable_task(tmp_path, optimizer):
    pictures, labels = toy_data()
    lr = 0.05 if optimizer == "sgd" else 0.01
    result = train(spec(epochs=6, optimizer=optimizer, lr=lr), pictures, labels, Store(str(tmp_path)))
    assert result.step == result.total_steps == 18 and len(result.history) == 6
    assert result.history[-1]["loss"] < result.history[0]["loss"]
    from tony.vision.evaluate import evaluate

    assert evaluate(result.model, pictures, labels).accuracy > 0.9


def test_checkpoints_are_artifacts_keyed_by_the_spec(tmp_path):
    store, pictures, labels = Store(str(tmp_path)), *toy_data()
    result = train(spec(), pictures, labels, store)
    assert result.checkpoint == latest_checkpoint(store, spec())
    assert checkpoint_name(spec()).endswith(spec().key()) and load_checkpoint(store, spec())["step"] == 6
    assert latest_checkpoint(store, spec(data={"test": "other"})) is None  # other data, other key
    again = train(spec(), pictures, labels, store)  # already trained: loaded
    assert again.seconds == 0.0 and again.resumed_from == 6
    assert all(torch.equal(a, b) for a, b in zip(again.model.state_dict().values(),
                                                 result.model.state_dict().values(), strict=True))
    with pytest.raises(DataError, match="made from other images than these"):
        train(spec(), pictures.flip(0), labels.flip(0), store)


def test_resumed_training_equals_uninterrupted_training(tmp_path):
    pictures, labels = toy_data()
    straight = train(spec(epochs=3), pictures, labels, Store(str(tmp_path / "a")))
    store = Store(str(tmp_path / "b"))
    assert train(spec(epochs=3), pictures, labels, store, max_steps=4).step == 4  # stopped mid-epoch 2
    resumed = train(spec(epochs=3), pictures, labels, store)
    assert resumed.resumed_from == 4 and resumed.step == 9
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    momentum = [s["momentum_buffer"] for s in load_checkpoint(store, spec(epochs=3))["optimizer"]["state"].values()]
    assert momentum and all(torch.isfinite(m).all() for m in momentum)


def test_a_checkpoint_written_before_the_kernel_loop_still_resumes(tmp_path):
    # Such a checkpoint's epochs had no "step"; the loop adds it (epoch x steps per epoch) when it reads them.
    pictures, labels = toy_data()
    straight = train(spec(epochs=3), pictures, labels, Store(str(tmp_path / "a")))
    store = Store(str(tmp_path / "b"))
    train(spec(epochs=3), pictures, labels, store, max_steps=4)
    state = load_checkpoint(store, spec(epochs=3))
    epochs = [{k: v for k, v in entry.items() if k != "step"} for entry in state["history"]]
    assert epochs and "epoch" in epochs[0]
    save_checkpoint(store, spec(epochs=3), {**state, "history": epochs})
    resumed = train(spec(epochs=3), pictures, labels, store)
    assert resumed.resumed_from == 4 and [e["step"] for e in resumed.history] == [3, 6, 9]
    assert resumed.losses[0] == (3, straight.history[0]["loss"]) and resumed.history[0] == straight.history[0]
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


KILLED_TRAINING = """
import sys, torch
from tony.core.store import Store
sys.path.insert(0, {tests!r})
from test_vision_train import spec, toy_data
pictures, labels = toy_data()
from tony.vision.train import train
train(spec(epochs=20), pictures, labels, Store({store!r}), checkpoint_every=1)
"""


@pytest.mark.slow
def test_training_killed_with_sigkill_resumes_to_the_same_weights(tmp_path):
    import os

    store_dir, tests = str(tmp_path / "killed"), os.path.dirname(__file__)
    process = subprocess.Popen([sys.executable, "-c", KILLED_TRAINING.format(tests=tests, store=store_dir)],
                               env={**os.environ, "TONY_PROGRESS": "0"})
    store, step = Store(store_dir), 0
    try:
        while step < 5 and process.poll() is None:  # wait for a few checkpoints, then kill -9 mid-training
            time.sleep(0.2)
            state = load_checkpoint(store, spec(epochs=20)) if latest_checkpoint(store, spec(epochs=20)) else None
            step = 0 if state is None else state["step"]
    finally:
        process.kill()
        process.wait()
    assert 5 <= step < 60, "the child should have been killed mid-training"
    pictures, labels = toy_data()
    resumed = train(spec(epochs=20), pictures, labels, store)
    assert resumed.resumed_from >= step and resumed.step == 60
    straight = train(spec(epochs=20), pictures, labels, Store(str(tmp_path / "straight")))
    for a, b in zip(straight.model.state_dict().values(), resumed.model.state_dict().values(), strict=True):
        assert torch.equal(a, b)


def test_bad_specs_and_data_are_errors_that_say_what_to_do(tmp_path):
    with pytest.raises(UnknownComponentError, match="unknown model 'alexnet'"):
        spec(model="alexnet")
    with pytest.raises(SpecError, match="vgg11 halves the image 5 times"):
        spec(model="vgg11")
    with pytest.raises(SpecError, match="unknown augmentation 'wild'"):
        spec(augmentation="wild")
    with pytest.raises(SpecError, match="epochs >= 1"):
        spec(epochs=0)
    with pytest.raises(SpecError, match="field 'optimizer'"):
        spec(optimizer="rmsprop")
    pictures, labels = toy_data()
    store = Store(str(tmp_path))
    with pytest.raises(DataError, match=r"shape \(96, 3, 8, 8\), the spec expects \(N, 3, 16, 16\)"):
        train(spec(image_size=16), pictures, labels, store)
    with pytest.raises(DataError, match="the model has 2 classes"):
        train(spec(num_classes=2), pictures, labels, store)
    with pytest.raises(SpecError, match="lower lr"):
        train(spec(lr=1e30, schedule="constant", augmentation="none"), pictures.float() * math.inf, labels, store)
