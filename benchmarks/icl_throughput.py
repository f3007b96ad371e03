"""Training throughput of tony's in-context learner against Hugging Face's GPT2Model, same machine, one run.

Both sides are the same network: tony's `ICLTransformer`, and `transformers.GPT2Model` fed
`inputs_embeds` (what Garg et al.'s code trains) with the same linear read-in and read-out, no dropout,
SDPA attention. They start from the same weights (tony's model loads the GPT-2 weights), see the same
batches (linear functions, d=20, 41 points, batch 64) and take the same fused-Adam steps (lr 1e-4), so
their losses should agree to float rounding. A third side, "hf-paper", is the paper's model as its code
configures it (GELU's tanh approximation, GPT2Config's default): the same weights, losses that differ only
by the activation. Each side trains in its own fresh process (spawn), so its
peak resident memory (ru_maxrss, minus the process's resident size before the model is built) is its own;
the sides alternate, `--repeats` times, and the best steps/s of each is reported. On a GPU (`--device cuda`)
the memory is the peak of `torch.cuda.max_memory_allocated`, and losses are read back after the timed steps,
so that no side waits for the GPU at every step.

    .venv/bin/python benchmarks/icl_throughput.py                  # tiny, small, standard
    .venv/bin/python benchmarks/icl_throughput.py --device cuda --repeats 4 --all-positions
    .venv/bin/python benchmarks/icl_throughput.py --sizes tiny --steps 200 --compile
    .venv/bin/python benchmarks/icl_throughput.py --repeats 4 --all-positions   # what the x-only last block gains

Writes benchmarks/results/icl_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "icl_throughput.json"
STEPS = {"cpu": {"tiny": 100, "small": 40, "standard": 8}, "cuda": {"tiny": 400, "small": 400, "standard": 200}}
"""Default timed steps per device type and size (after WARMUP untimed ones), sized for a 2-core CPU and a GPU."""
WARMUP = {"cpu": 3, "cuda": 20}
PAPER_ACTIVATION = "gelu_new"
"""GPT2Config's default, which the paper's code keeps: GELU's tanh approximation. The "hf" side uses the exact
GELU, as tony does, so that its losses equal tony's to the bit; "hf-paper" is the paper's model as it is."""


def _batches(dims: int, points: int, batch: int, count: int, seed: int):
    import torch

    from tony.icl.prompts import sample_prompts

    out = []
    for step in range(count):
        xs, ys = sample_prompts("linear", batch, points, dims, seed=seed * 1_000_003 + step)
        out.append((torch.from_numpy(xs), torch.from_numpy(ys)))
    return out


def _models(size: str, dims: int, points: int, seed: int, activation: str = "gelu"):
    """tony's model and the Hugging Face one, with equal weights (`activation`: the Hugging Face side's)."""
    import torch
    from torch import nn
    from transformers import GPT2Config, GPT2Model

    from tony.icl.model import SIZES, ICLTransformer
    from tony.icl.prompts import interleave

    shape = SIZES[size]

    class HFICL(nn.Module):
        """Garg et al.'s model: read-in, GPT2Model on inputs_embeds, read-out at the x positions."""

        def __init__(self) -> None:
            super().__init__()
            config = GPT2Config(n_positions=2 * points, n_embd=shape.width, n_layer=shape.layers,
                                n_head=shape.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                use_cache=False, attn_implementation="sdpa",
                                activation_function=activation)
            self.read_in = nn.Linear(dims, shape.width)
            self.backbone = GPT2Model(config)
            self.read_out = nn.Linear(shape.width, 1)

        def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
            hidden = self.backbone(inputs_embeds=self.read_in(interleave(xs, ys))).last_hidden_state
            return self.read_out(hidden)[:, ::2, 0]

    torch.manual_seed(seed)
    hf = HFICL()
    ours = ICLTransformer(dims, points, size).load_hf_gpt2(hf.backbone)
    ours.read_in.load_state_dict(hf.read_in.state_dict())
    ours.read_out.load_state_dict(hf.read_out.state_dict())
    return ours, hf


def _side(which: str, size: str, config: dict[str, Any], steps: int, compile_model: bool) -> dict[str, Any]:
    """Train one side in this (fresh) process; steps/s, memory and the loss after every step."""
    import torch

    device = torch.device(config["device"])
    warmup, cuda = WARMUP[device.type], device.type == "cuda"
    batches = [(xs.to(device), ys.to(device)) for xs, ys in
               _batches(config["dims"], config["points"], config["batch"], steps + warmup, config["seed"])]
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    activation = PAPER_ACTIVATION if which == "hf-paper" else "gelu"
    ours, hf = _models(size, config["dims"], config["points"], config["seed"], activation)
    model = (ours if which.startswith("tony") else hf).to(device)
    del ours, hf
    if cuda:
        torch.cuda.reset_peak_memory_stats(device)
    step_fn = model
    if which == "tony-all-positions":  # the last block computes every position, as HF's does
        from tony.icl.prompts import interleave

        def step_fn(xs, ys):
            return model.forward_sequence(interleave(xs, ys))[:, ::2]
    if compile_model:
        step_fn = torch.compile(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], fused=True)
    losses, started = [], 0.0
    for i, (xs, ys) in enumerate(batches):
        if i == warmup:
            if cuda:
                torch.cuda.synchronize(device)
            started = time.perf_counter()
        loss = torch.nn.functional.mse_loss(step_fn(xs, ys), ys)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        losses.append(loss.detach())
    if cuda:
        torch.cuda.synchronize(device)
    seconds = time.perf_counter() - started
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    memory = ({"peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20} if cuda else
              {"peak_rss_mib": peak_kib / 1024, "model_and_training_rss_mib": (peak_kib - baseline_kib) / 1024})
    return {"steps_per_s": steps / seconds, "ms_per_step": 1000 * seconds / steps, **memory,
            "losses": torch.stack(losses).tolist(), "threads": torch.get_num_threads(),
            "device": torch.cuda.get_device_name(device) if cuda else platform.processor()}


def _run(args: tuple) -> dict[str, Any]:
    return _side(*args)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(STEPS["cpu"]), choices=list(STEPS["cpu"]))
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--steps", type=int, help="timed steps for every size (default: per size)")
    parser.add_argument("--repeats", type=int, default=2, help="alternating runs of each side (best one kept)")
    parser.add_argument("--compile", action="store_true", help="also time tony's model under torch.compile")
    parser.add_argument("--all-positions", action="store_true",
                        help="also time tony's model with its last block computing every position, not the x ones")
    parser.add_argument("--out", type=Path, default=RESULTS)
    args = parser.parse_args()
    import torch
    import transformers

    from tony.core.errors import SpecError
    from tony.icl.train import training_device

    try:
        device_type = training_device(args.device).type
    except SpecError as err:
        parser.error(str(err))
    config = {"dims": 20, "points": 41, "batch": 64, "lr": 1e-4, "seed": 0, "device": args.device}
    context = multiprocessing.get_context("spawn")
    rows = []
    for size in args.sizes:
        steps = args.steps or STEPS[device_type][size]
        sides = (["tony", "hf", "hf-paper"] + (["tony+compile"] if args.compile else [])
                 + (["tony-all-positions"] if args.all_positions else []))
        runs: dict[str, list[dict[str, Any]]] = {s: [] for s in sides}
        for _ in range(args.repeats):
            for side in sides:
                with context.Pool(1) as pool:
                    job = (side.split("+")[0], size, config, steps, side.endswith("compile"))
                    runs[side].append(pool.apply(_run, (job,)))
                last = runs[side][-1]
                print(f"{size:<9} {side:<18} {last['ms_per_step']:8.1f} ms/step  "
                      f"peak {last.get('peak_gpu_mib', last.get('peak_rss_mib')):.0f} MiB", flush=True)
        best = {s: max(r, key=lambda x: x["steps_per_s"]) for s, r in runs.items()}
        tony_losses, hf_losses = best["tony"]["losses"], best["hf"]["losses"]
        relative = [abs(a - b) / abs(b) for a, b in zip(tony_losses, hf_losses, strict=True)]
        row = {"size": size, "timed_steps": steps, "warmup_steps": WARMUP[device_type],
               "speedup_tony_over_hf": best["tony"]["steps_per_s"] / best["hf"]["steps_per_s"],
               "speedup_tony_over_hf_paper": best["tony"]["steps_per_s"] / best["hf-paper"]["steps_per_s"],
               "loss_after_all_steps": {"tony": tony_losses[-1], "hf": hf_losses[-1],
                                        "hf-paper": best["hf-paper"]["losses"][-1]},
               "loss_max_relative_difference": max(relative),
               **{side: {k: v for k, v in r.items() if k != "losses"} | {
                   "all_runs_steps_per_s": [x["steps_per_s"] for x in runs[side]]} for side, r in best.items()}}
        if args.compile:
            row["speedup_compiled_over_eager"] = best["tony+compile"]["steps_per_s"] / best["tony"]["steps_per_s"]
        if args.all_positions:
            row["speedup_x_positions_only"] = (best["tony"]["steps_per_s"]
                                               / best["tony-all-positions"]["steps_per_s"])
        rows.append(row)
        print(f"{size}: tony {row['speedup_tony_over_hf']:.2f}x HF, {row['speedup_tony_over_hf_paper']:.2f}x the "
              f"paper's HF model; losses {tony_losses[-1]:.5f} vs "
              f"{hf_losses[-1]:.5f} (max relative difference {max(relative):.1e})", flush=True)
    result = {"benchmark": "icl_throughput", "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": multiprocessing.cpu_count(), "torch": torch.__version__,
                          "transformers": transformers.__version__},
              "config": {**config, "optimizer": "Adam(fused=True)", "attention": "sdpa", "dropout": 0.0},
              "results": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
