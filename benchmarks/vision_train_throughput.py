"""Training throughput of tony's vision training loop against a plain torch loop with a DataLoader, one run.

Both sides train the same network (tony's resnet8, built from the same seed) on the same images
(the generated world, 32x32 uint8, in memory) with the same recipe: SGD with momentum 0.9, lr 0.05,
weight decay 5e-4, batch 128, and the same augmentation, a random crop after 4 px of zero padding and a
horizontal flip. What differs is how batches are made:

- tony: `tony.vision.train.train`, which gathers each batch from the image tensor by index and
  augments it with batched torch ops, and writes its checkpoint to the store every epoch;
- torch: the loop a user would write with `torch.utils.data.DataLoader` over a `Dataset` whose
  `__getitem__` pads, crops and flips one image with torch ops (torchvision is not a dependency),
  with 0 worker processes and with 2 (the machine's cores), shuffled, same batch size.

Each side runs in its own fresh process (spawn), alternating, `--repeats` times; the best images/s of
each is kept, along with the CPU seconds per image (the process and its DataLoader workers), which
other load on the machine disturbs less than wall time. Setup (data, model, imports) is not timed.

    .venv/bin/python benchmarks/vision_train_throughput.py
    .venv/bin/python benchmarks/vision_train_throughput.py --images 4096 --epochs 2 --width 16

Writes benchmarks/results/vision_train_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "vision_train_throughput.json"
RECIPE = {"lr": 0.05, "momentum": 0.9, "weight_decay": 5e-4, "batch_size": 128, "padding": 4, "seed": 0}


def _data(n: int):
    from tony.vision.data import ShapeWorld

    data = ShapeWorld().generate(n, seed=0)
    return data.images, data.labels % 10  # 10 classes: the shape index modulo 10


def _cpu_seconds() -> float:
    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _tony(images, labels, model: str, width: int, epochs: int) -> dict[str, Any]:
    from tony.core.store import Store
    from tony.vision.train import VisionTrainSpec, train

    def spec(epochs: int, seed: int = RECIPE["seed"]) -> VisionTrainSpec:
        return VisionTrainSpec(model=model, width=width, num_classes=10, epochs=epochs, optimizer="sgd",
                               lr=RECIPE["lr"], momentum=RECIPE["momentum"], weight_decay=RECIPE["weight_decay"],
                               schedule="constant", batch_size=RECIPE["batch_size"], augmentation="standard",
                               seed=seed)

    with tempfile.TemporaryDirectory() as folder:
        store = Store(folder)
        train(spec(1, seed=1), images[:256], labels[:256], store)  # warm-up (another spec): imports, allocations
        started, cpu = time.perf_counter(), _cpu_seconds()
        result = train(spec(epochs), images, labels, store)
        seconds, cpu = time.perf_counter() - started, _cpu_seconds() - cpu
        store.close()
    return {"seconds": seconds, "cpu_seconds": cpu, "final_loss": result.history[-1]["loss"]}


class AugmentedImages:
    """A map-style dataset, one image at a time: to float, zero-pad, crop at a random offset, flip with
    probability 1/2 (module level, so DataLoader workers can receive it)."""

    def __init__(self, images, labels) -> None:
        self.images, self.labels = images, labels

    def __len__(self) -> int:
        return len(self.images)

    def __getitem__(self, index: int):
        import torch

        pad = RECIPE["padding"]
        image = self.images[index].float().div_(255)
        padded = torch.nn.functional.pad(image, (pad, pad, pad, pad))
        dy, dx = torch.randint(0, 2 * pad + 1, (2,)).tolist()
        crop = padded[:, dy:dy + image.shape[1], dx:dx + image.shape[2]]
        if torch.rand(()) < 0.5:
            crop = crop.flip(-1)
        return crop, self.labels[index]


def _torch(images, labels, model: str, width: int, epochs: int, workers: int) -> dict[str, Any]:
    import torch
    from torch.utils.data import DataLoader

    from tony.vision.models import build_model
    from tony.vision.train import channel_stats

    net = build_model(model, num_classes=10, width=width, seed=RECIPE["seed"])
    net.set_normalization(*channel_stats(images))
    optimizer = torch.optim.SGD(net.parameters(), lr=RECIPE["lr"], momentum=RECIPE["momentum"],
                                weight_decay=RECIPE["weight_decay"])
    torch.manual_seed(RECIPE["seed"])

    def run(epochs: int, count: int) -> float:
        loader = DataLoader(AugmentedImages(images[:count], labels[:count]), batch_size=RECIPE["batch_size"],
                            shuffle=True, num_workers=workers)
        net.train()
        loss = torch.zeros(())
        for _ in range(epochs):
            for x, y in loader:
                loss = torch.nn.functional.cross_entropy(net(x), y)
                optimizer.zero_grad(set_to_none=True)
                loss.backward()
                optimizer.step()
        return float(loss.detach())

    run(1, 256)  # warm-up, as on tony's side
    started, cpu = time.perf_counter(), _cpu_seconds()
    final = run(epochs, len(images))
    return {"seconds": time.perf_counter() - started, "cpu_seconds": _cpu_seconds() - cpu, "final_loss": final}


def _side(side: str, n: int, model: str, width: int, epochs: int) -> dict[str, Any]:
    import torch

    images, labels = _data(n)
    if side == "tony":
        out = _tony(images, labels, model, width, epochs)
    else:
        out = _torch(images, labels, model, width, epochs, workers=int(side.rsplit("-", 1)[1]))
    done = n * epochs
    return {**out, "images_per_s": done / out["seconds"], "cpu_ms_per_image": 1000 * out["cpu_seconds"] / done,
            "threads": torch.get_num_threads()}


def _run(job: tuple) -> dict[str, Any]:
    return _side(*job)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--images", type=int, default=2048, help="training images (default 2048)")
    parser.add_argument("--epochs", type=int, default=2, help="timed epochs per side (default 2)")
    parser.add_argument("--model", default="resnet8")
    parser.add_argument("--width", type=int, default=8, help="channels of the first stage (default 8, the study's)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each side (best one kept)")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch

    sides = ["tony", "torch-dataloader-0", "torch-dataloader-2"]
    context = multiprocessing.get_context("spawn")
    runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
    for _ in range(args.repeats):
        for side in sides:
            # A fresh process per run; ProcessPoolExecutor's workers (unlike Pool's) may start DataLoader workers.
            with ProcessPoolExecutor(1, mp_context=context) as pool:
                job = (side, args.images, args.model, args.width, args.epochs)
                runs[side].append(pool.submit(_run, job).result())
            last = runs[side][-1]
            print(f"{side:<20} {last['images_per_s']:8.1f} images/s  {last['cpu_ms_per_image']:6.2f} CPU ms/image",
                  flush=True)
    best = {s: max(r, key=lambda x: x["images_per_s"]) for s, r in runs.items()}
    fastest_torch = max(sides[1:], key=lambda s: best[s]["images_per_s"])
    result = {
        "benchmark": "vision_train_throughput", "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
        "machine": {"platform": platform.platform(), "processor": platform.processor(),
                    "cpus": multiprocessing.cpu_count(), "torch": torch.__version__},
        "config": {**RECIPE, "model": args.model, "width": args.width, "images": args.images,
                   "epochs": args.epochs, "image_size": 32, "augmentation": "crop (pad 4) + flip"},
        "speedup_tony_over_best_torch": best["tony"]["images_per_s"] / best[fastest_torch]["images_per_s"],
        "best_torch_side": fastest_torch,
        "cpu_ratio_torch_over_tony": best[fastest_torch]["cpu_ms_per_image"] / best["tony"]["cpu_ms_per_image"],
        "sides": {s: {**best[s], "all_runs_images_per_s": [r["images_per_s"] for r in runs[s]]} for s in sides},
    }
    print(f"tony {result['speedup_tony_over_best_torch']:.2f}x the best plain torch loop ({fastest_torch})")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
