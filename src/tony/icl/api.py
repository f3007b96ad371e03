"""The in-context-learning study from Python; `tony icl ...` is a thin layer over these functions.

    from tony.icl import api
    spec = api.train_spec("cpu-linear")
    api.train(spec)                                   # resumes from the last checkpoint
    for result in api.evaluate(api.eval_specs(spec, ["standard", "skewed_covariance"])):
        print(api.curves(result.stats)["baseline:least_squares"][10])
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from pathlib import Path

from tony.core.errors import SpecError
from tony.core.runner import RunResult
from tony.core.spec import read_spec_file
from tony.core.stats import Stat
from tony.core.store import Store
from tony.icl.presets import PRESETS, Preset, get_preset
from tony.icl.study import ICLEvalSpec
from tony.icl.train import CHECKPOINT_EVERY, ICLTrainSpec, TrainResult


def presets() -> list[Preset]:
    """Every named set-up (`tony icl presets`)."""
    return list(PRESETS.values())


def train_spec(preset: str | None = None, spec_file: str | Path | None = None, *,
               steps: int | None = None) -> ICLTrainSpec:
    """The training spec of a preset or a spec file (an eval spec file gives its `train`), `steps` overridden."""
    if (preset is None) == (spec_file is None):
        raise SpecError("give a preset name or --spec FILE (one of them; `tony icl presets` lists presets)")
    if preset is not None:
        spec = get_preset(preset).train
    else:
        data = read_spec_file(spec_file)  # type: ignore[arg-type]
        spec = ICLTrainSpec.parse(data["train"] if isinstance(data.get("train"), dict) else data)
    return spec if steps is None else ICLTrainSpec.parse({**spec.model_dump(), "steps": steps})


def checkpoint_every_for(spec: ICLTrainSpec) -> int:
    """The preset's checkpoint interval when `spec` is (a shortened) preset spec, else the default."""
    for preset in PRESETS.values():
        if preset.train.model_dump(exclude={"steps"}) == spec.model_dump(exclude={"steps"}):
            return preset.checkpoint_every
    return CHECKPOINT_EVERY


def train(spec: ICLTrainSpec, store: str | None = None, *, restart: bool = False,
          checkpoint_every: int | None = None, max_steps: int | None = None, device: str = "cpu") -> TrainResult:
    """Train `spec` on `device` (or finish it from its last checkpoint); already trained, it only loads."""
    from tony.icl.train import train as run_training

    every = checkpoint_every or checkpoint_every_for(spec)
    return run_training(spec, Store(store), checkpoint_every=every, restart=restart, max_steps=max_steps,
                        device=device)


def eval_specs(train: ICLTrainSpec, distributions: Sequence[str] = ("standard",), *, n_prompts: int | None = None,
               n_points: int | None = None, scale: float | None = None, baselines: Sequence[str] = (),
               seed: int = 1) -> list[ICLEvalSpec]:
    """One evaluation of `train`'s model per distribution."""
    prompts = n_prompts or next((p.n_prompts for p in PRESETS.values() if p.train == train), 1280)
    return [ICLEvalSpec.parse({"train": train, "distribution": d, "n_prompts": prompts, "n_points": n_points or 0,
                               "scale": scale, "baselines": tuple(baselines), "seed": seed})
            for d in distributions]


def eval_spec_file(path: str | Path) -> ICLEvalSpec:
    """An evaluation spec from a file holding its fields (with `train`)."""
    data = read_spec_file(path)
    if not isinstance(data.get("train"), dict):
        raise SpecError(f"spec file {path} has no `train:` mapping: an evaluation spec embeds its training spec")
    return ICLEvalSpec.parse(data)


def evaluate(specs: Sequence[ICLEvalSpec], store: str | None = None, *, batch_size: int = 64,
             device: str = "cpu", workers: int = 1, executor: str = "local",
             ray_address: str | None = None) -> Iterator[RunResult]:
    """Run the evaluations through the kernel's runner, training each model first (here, on `device`) if it is
    not yet; the evaluations themselves run on the CPU, `workers` at a time, locally or as Ray tasks
    (`executor="ray"`, `tony.core.executors.run_specs`)."""
    from tony.core.executors import check_executor, check_settings, run_specs

    check_settings(workers, batch_size)  # before any training
    check_executor(store, executor, ray_address)
    for model in {s.train.key(): s.train for s in specs}.values():
        train(model, store, device=device)
    yield from run_specs(list(specs), store, executor=executor, workers=workers, batch_size=batch_size,
                         ray_address=ray_address)


def curves(stats: Sequence[Stat]) -> dict[str, dict[int, Stat]]:
    """Per predictor split ("" is the transformer), the ``nse@k`` stats by k."""
    out: dict[str, dict[int, Stat]] = {}
    for stat in stats:
        if stat.metric == "nse" and stat.at:
            out.setdefault(stat.split, {})[int(stat.at)] = stat
    return {split: dict(sorted(by_k.items())) for split, by_k in out.items()}
