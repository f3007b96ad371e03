"""Training throughput of tony's in-context learner against Hugging Face's GPT2Model, same machine, one run.

Both sides are the same network: tony's `ICLTransformer`, and `transformers.GPT2Model` fed
`inputs_embeds` (what Garg et al.'s code trains) with the same linear read-in and read-out, no dropout,
SDPA attention. They start from the same weights (tony's model loads the GPT-2 weights), see the same
batches (linear functions, d=20, 41 points, batch 64) and take the same fused-Adam steps (lr 1e-4), so
their losses should agree to float rounding. "hf-paper" is the paper's model as its code computes it: its
environment pins transformers 4.17.0, whose GPT-2 has GELU's tanh approximation (GPT2Config's default, which
the paper keeps) and attention written out (matmul, mask, softmax, matmul; SDPA came to GPT-2 in later
releases): `attn_implementation="eager"` here. "hf-paper-sdpa" is the same configuration on today's
transformers, whose GPT-2 defaults to SDPA. Both start from the same weights and differ from tony's losses
only by the activation.

Time: every side trains in one fresh process, in turns of a few steps (`--rounds` turns each, the order
reversed every other turn), and the speed-up is the median over turns of the ratio of two sides' times in the
same turn, so that a slow spell of a shared machine (which moved best-of-4 separate runs by 10-20%) falls on
both. A last side, "products", computes only the matrix products a step of tony's model cannot avoid (every
linear layer's forward, input-gradient and weight-gradient product, attention's six batched products a layer)
on random operands of the same shapes: a floor for any implementation of the same fp32 arithmetic with
torch's BLAS, so the paper's time over its time bounds the speed-up any such implementation could reach.
Memory: each side trains a few steps alone in a fresh process (spawn); on a CPU its peak resident memory
(ru_maxrss, minus the process's resident size before the model is built), on a GPU
`torch.cuda.max_memory_allocated`. Losses are read back after the timed steps, so that no side waits for a GPU
at every step.

    .venv/bin/python benchmarks/icl_throughput.py --all-positions               # tiny, small, standard; CPU
    .venv/bin/python benchmarks/icl_throughput.py --device cuda --all-positions --compile
    .venv/bin/python benchmarks/icl_throughput.py --sizes tiny --rounds 20 --per-round 20

Writes benchmarks/results/icl_throughput.json.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import platform
import resource
import statistics
import time
from pathlib import Path
from typing import Any

RESULTS = Path(__file__).parent / "results" / "icl_throughput.json"
PER_ROUND = {"cpu": {"tiny": 10, "small": 4, "standard": 1}, "cuda": {"tiny": 50, "small": 50, "standard": 25}}
"""Default steps a turn per device type and size, sized for a 2-core CPU and a GPU."""
WARMUP = {"cpu": 3, "cuda": 20}
"""Untimed steps of each side before the first turn."""
MEMORY_STEPS = 20
"""Steps of a memory measurement: the peak creeps up over the first steps as the allocator fragments (on a CPU,
the paper's standard model: 3,306 MiB after 2 steps, 3,738 after 12; tony's: 1,854 and 1,923), so every side
is measured after the same number."""
HF_SIDES = {"hf": ("gelu", "sdpa"), "hf-paper": ("gelu_new", "eager"), "hf-paper-sdpa": ("gelu_new", "sdpa")}
"""The Hugging Face sides' (activation_function, attn_implementation). "hf" uses the exact GELU, as tony does, so
that its losses equal tony's to rounding; the paper keeps GPT2Config's default, the tanh approximation
("gelu_new"), and its pinned transformers 4.17.0 computes attention eagerly."""
PAPER_SIDES = ("hf-paper", "hf-paper-sdpa")
"""The Hugging Face sides that are the paper's model, against which the products bound is reported."""
PRODUCTS = "products"
"""The side that computes a step's unavoidable matrix products alone (`_products`)."""


def _batches(dims: int, points: int, batch: int, count: int, seed: int):
    import torch

    from tony.icl.prompts import sample_prompts

    out = []
    for step in range(count):
        xs, ys = sample_prompts("linear", batch, points, dims, seed=seed * 1_000_003 + step)
        out.append((torch.from_numpy(xs), torch.from_numpy(ys)))
    return out


def _models(size: str, dims: int, points: int, seed: int, hf_side: str = "hf"):
    """tony's model and the Hugging Face one of `hf_side` (`HF_SIDES`), with equal weights."""
    import torch
    from torch import nn
    from transformers import GPT2Config, GPT2Model

    from tony.icl.model import SIZES, ICLTransformer
    from tony.icl.prompts import interleave

    shape, (activation, attention) = SIZES[size], HF_SIDES[hf_side]

    class HFICL(nn.Module):
        """Garg et al.'s model: read-in, GPT2Model on inputs_embeds, read-out at the x positions."""

        def __init__(self) -> None:
            super().__init__()
            config = GPT2Config(n_positions=2 * points, n_embd=shape.width, n_layer=shape.layers,
                                n_head=shape.heads, resid_pdrop=0.0, embd_pdrop=0.0, attn_pdrop=0.0,
                                use_cache=False, attn_implementation=attention,
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


def _products(size: str, config: dict[str, Any]):
    """A function that computes the matrix products of one training step of tony's model, on random operands of
    their shapes, and returns a zero loss: the decoder's linear layers (forward, input gradient, weight gradient;
    the last block's queries, attention output and MLP on the x rows only) and each layer's attention (q k^T and
    p v forward, four products backward), over the 2n - 1 positions tony's model computes (f(x_n) is not read).
    The read-in and read-out (width d and 1) are left out."""
    import torch

    from tony.icl.model import SIZES

    shape, device = SIZES[size], config["device"]
    batch, points, width = config["batch"], config["points"], shape.width
    length, per_head = 2 * points - 1, width // shape.heads
    rows = batch * length
    matrices, batched = [], []
    for layer in range(shape.layers):
        query_length = length if layer < shape.layers - 1 else points
        query_rows = batch * query_length
        for n, fan_in, fan_out in ((rows, width, 3 * width), (query_rows, width, width),
                                   (query_rows, width, 4 * width), (query_rows, 4 * width, width)):
            matrices += [((n, fan_in), (fan_in, fan_out)), ((n, fan_out), (fan_out, fan_in)),
                         ((fan_in, n), (n, fan_out))]  # the weight gradient, transposed
        heads = batch * shape.heads
        batched += [((heads, query_length, per_head), (heads, per_head, length)),
                    ((heads, query_length, length), (heads, length, per_head))] * 3
    operands = [(torch.randn(a, device=device), torch.randn(b, device=device)) for a, b in matrices + batched]
    zero = torch.zeros((), device=device)

    def step(xs, ys):
        for a, b in operands:
            torch.matmul(a, b)
        return zero
    return step


def _trainer(side: str, size: str, config: dict[str, Any]):
    """One side ("tony", "tony-all-positions", a Hugging Face one of `HF_SIDES`, "products"; "+compile" compiles
    its model), ready to train on the configured device: a function that takes one step and returns its loss (a
    tensor, so that a GPU is not waited for)."""
    import torch

    which, compile_model = side.removesuffix("+compile"), side.endswith("+compile")
    if which == PRODUCTS:
        return _products(size, config)

    ours, hf = _models(size, config["dims"], config["points"], config["seed"], which if which in HF_SIDES else "hf")
    model = (ours if which.startswith("tony") else hf).to(config["device"])
    forward = model
    if which == "tony-all-positions":  # every block computes every position, f(x_n)'s too, as HF's does
        from tony.icl.prompts import interleave

        def forward(xs, ys):
            return model.forward_sequence(interleave(xs, ys))[:, ::2]
    if compile_model:
        forward = torch.compile(model)
    optimizer = torch.optim.Adam(model.parameters(), lr=config["lr"], fused=True)

    def step(xs, ys):
        loss = torch.nn.functional.mse_loss(forward(xs, ys), ys)
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        return loss.detach()
    return step


def _device_batches(config: dict[str, Any], count: int):
    return [(xs.to(config["device"]), ys.to(config["device"])) for xs, ys in
            _batches(config["dims"], config["points"], config["batch"], count, config["seed"])]


def _synchronize(device: str) -> None:
    import torch

    if torch.device(device).type == "cuda":
        torch.cuda.synchronize(device)


def _timing(sides: list[str], size: str, config: dict[str, Any], rounds: int, per_round: int) -> dict[str, Any]:
    """Every side in this (fresh) process, in turns of `per_round` steps (order reversed every other round, so
    that no side always follows the same one): milliseconds a step per round and each side's loss per step."""
    import torch

    warmup = WARMUP[torch.device(config["device"]).type]
    batches = _device_batches(config, warmup + rounds * per_round)
    steps = {side: _trainer(side, size, config) for side in sides}
    losses: dict[str, list] = {side: [steps[side](*b) for b in batches[:warmup]] for side in sides}
    ms: dict[str, list[float]] = {side: [] for side in sides}
    for r in range(rounds):
        for side in sides if r % 2 == 0 else sides[::-1]:
            _synchronize(config["device"])
            started = time.perf_counter()
            for xs, ys in batches[warmup + r * per_round: warmup + (r + 1) * per_round]:
                losses[side].append(steps[side](xs, ys))
            _synchronize(config["device"])
            ms[side].append(1000 * (time.perf_counter() - started) / per_round)
    return {"ms_per_round": ms, "losses": {side: torch.stack(v).tolist() for side, v in losses.items()},
            "threads": torch.get_num_threads()}


def _memory(side: str, size: str, config: dict[str, Any], steps: int) -> dict[str, float]:
    """Peak memory of one side training `steps` steps alone in this (fresh) process: on a CPU the peak resident
    size less the resident size before the model is built; on a GPU torch.cuda.max_memory_allocated."""
    import torch

    device = torch.device(config["device"])
    batches = _device_batches(config, steps)
    baseline_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    step = _trainer(side, size, config)
    for xs, ys in batches:
        step(xs, ys)
    _synchronize(config["device"])
    if device.type == "cuda":
        return {"peak_gpu_mib": torch.cuda.max_memory_allocated(device) / 2**20}
    peak_kib = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {"peak_rss_mib": peak_kib / 1024, "model_and_training_rss_mib": (peak_kib - baseline_kib) / 1024}


def _in_fresh_process(function, *args):
    with multiprocessing.get_context("spawn").Pool(1) as pool:
        return pool.apply(function, args)


def _paired_ratios(slower: list[float], faster: list[float]) -> list[float]:
    """Quartiles over turns of slower / faster: two sides' times in the same turn, so slow spells cancel."""
    return _quartiles([s / f for f, s in zip(faster, slower, strict=True)])


def _quartiles(values: list[float]) -> list[float]:
    q = statistics.quantiles(values, n=4)
    return [q[0], statistics.median(values), q[2]]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", nargs="+", default=list(PER_ROUND["cpu"]), choices=list(PER_ROUND["cpu"]))
    parser.add_argument("--device", default="cpu", help="cpu, cuda or cuda:N")
    parser.add_argument("--rounds", type=int, default=12, help="turns of each side (default 12)")
    parser.add_argument("--per-round", type=int, help="steps a turn, for every size (default: per size)")
    parser.add_argument("--compile", action="store_true", help="also time tony's model under torch.compile")
    parser.add_argument("--all-positions", action="store_true",
                        help="also time tony's model computing every position in every block, as HF's does")
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
    if args.rounds < 2:
        parser.error("--rounds must be at least 2 (medians and quartiles of the turns)")
    config = {"dims": 20, "points": 41, "batch": 64, "lr": 1e-4, "seed": 0, "device": args.device}
    sides = (["tony", *HF_SIDES] + (["tony+compile"] if args.compile else [])
             + (["tony-all-positions"] if args.all_positions else []) + [PRODUCTS])
    trained = [side for side in sides if side != PRODUCTS]
    rows = []
    for size in args.sizes:
        per_round = args.per_round or PER_ROUND[device_type][size]
        timing = _in_fresh_process(_timing, sides, size, config, args.rounds, per_round)
        ms, losses = timing["ms_per_round"], timing["losses"]
        memory = {side: _in_fresh_process(_memory, side, size, config, MEMORY_STEPS) for side in trained}
        relative = [abs(a - b) / abs(b) for a, b in zip(losses["tony"], losses["hf"], strict=True)]
        row = {"size": size, "rounds": args.rounds, "steps_per_round": per_round,
               "warmup_steps": WARMUP[device_type], "threads": timing["threads"],
               "loss_after_all_steps": {side: losses[side][-1] for side in trained},
               "loss_max_relative_difference": max(relative),
               **{side: {"ms_per_step_quartiles": _quartiles(ms[side]), "ms_per_step_rounds": ms[side],
                         **memory.get(side, {})} for side in sides}}
        for other in sides[1:]:
            row[f"speedup_tony_over_{other}_quartiles"] = _paired_ratios(ms[other], ms["tony"])
        for paper in PAPER_SIDES:
            row[f"speedup_bound_over_{paper}_quartiles"] = _paired_ratios(ms[paper], ms[PRODUCTS])
        rows.append(row)
        for side in sides:
            low, median, high = row[side]["ms_per_step_quartiles"]
            used = memory.get(side, {})  # none for the products side
            peak = used.get("peak_gpu_mib", used.get("peak_rss_mib"))
            ratio = "" if side == "tony" else f"  tony {row[f'speedup_tony_over_{side}_quartiles'][1]:.2f}x"
            if side == PRODUCTS:
                ratio += ", bound " + " / ".join(f"{row[f'speedup_bound_over_{paper}_quartiles'][1]:.2f}x"
                                                 for paper in PAPER_SIDES) + " (the paper's over it)"
            memory_note = "" if peak is None else f"  peak {peak:.0f} MiB"
            print(f"{size:<9} {side:<18} {median:8.1f} ms/step [{low:.1f}, {high:.1f}]{memory_note}{ratio}",
                  flush=True)
        print(f"{size}: losses after {len(relative)} steps {losses['tony'][-1]:.5f} (tony) vs {losses['hf'][-1]:.5f} "
              f"(HF; max relative difference {max(relative):.1e}), {losses['hf-paper'][-1]:.5f} (the paper's)",
              flush=True)
    result = {"benchmark": "icl_throughput", "measured_at": time.strftime("%Y-%m-%d %H:%M:%S %Z"),
              "machine": {"platform": platform.platform(), "processor": platform.processor(),
                          "cpus": multiprocessing.cpu_count(), "torch": torch.__version__,
                          "transformers": transformers.__version__,
                          "device": torch.cuda.get_device_name(args.device) if device_type == "cuda" else "cpu"},
              "config": {**config, "optimizer": "Adam(fused=True)", "hf_sides": HF_SIDES, "dropout": 0.0},
              "results": rows}
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(result, indent=1) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
