"""The in-context learner: a GPT-2-style decoder over embedded (x, y) sequences (Garg et al. 2022).

A prompt x_1, f(x_1), ..., x_n, f(x_n) is a sequence of 2n vectors of width d (each y written as
(y, 0, ..., 0)); a linear read-in maps them to the model's width, learned position embeddings are
added, pre-LayerNorm blocks (causal self-attention through
`torch.nn.functional.scaled_dot_product_attention`, a 4x GELU MLP) follow, then a final LayerNorm and
a linear read-out to one number. The prediction for f(x_k) is read at x_k's position (the even
indices), so it sees the k - 1 examples before it and x_k itself, never f(x_k). Since only those
positions are read, the last block computes them alone (half its queries and MLP rows), and the last
output f(x_n), which no position reads, is left out of the sequence.

There is no token-embedding table and no dropout; the query, key and value projections are one fused
matrix. Initialisation follows GPT-2 (normal 0.02, residual projections scaled by 1/sqrt(2 * layers))
for the decoder; the read-in and read-out keep torch's default, as in the paper's code.
GELU is the exact (erf) one, three times faster on a CPU than GPT-2's default tanh approximation, so
weights copied from a Hugging Face `GPT2Model` configured with ``activation_function="gelu"`` give the
same outputs (`load_hf_gpt2`, used by the tests and the throughput benchmark).
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import torch
import torch.nn.functional as F
from torch import nn

from tony.core.errors import SpecError
from tony.icl.prompts import interleave


@dataclass(frozen=True)
class ModelSize:
    """Depth and width of a decoder."""

    layers: int
    heads: int
    width: int
    """The residual stream's width; each head gets width / heads."""


SIZES: dict[str, ModelSize] = {
    "tiny": ModelSize(layers=3, heads=2, width=64),
    "small": ModelSize(layers=6, heads=4, width=128),
    "standard": ModelSize(layers=12, heads=8, width=256),
}
"""Named sizes; "standard" is the paper's model (about 9.5M parameters)."""


def size_of(name: str) -> ModelSize:
    """The named size; a SpecError listing the names for any other."""
    if name not in SIZES:
        raise SpecError(f"unknown model size '{name}': choose one of {', '.join(SIZES)}")
    return SIZES[name]


class Block(nn.Module):
    """Pre-LayerNorm decoder block: x + attention(ln(x)), then x + mlp(ln(x))."""

    def __init__(self, width: int, heads: int) -> None:
        super().__init__()
        self.heads = heads
        self.ln_attention = nn.LayerNorm(width)
        self.qkv = nn.Linear(width, 3 * width)
        self.attention_out = nn.Linear(width, width)
        self.ln_mlp = nn.LayerNorm(width)
        self.mlp_in = nn.Linear(width, 4 * width)
        self.mlp_out = nn.Linear(4 * width, width)

    def forward(self, x: torch.Tensor, *, x_positions_only: bool = False) -> torch.Tensor:
        """[B, T, width] -> [B, T, width]; with `x_positions_only`, [B, ceil(T / 2), width]: the outputs at the
        even (x) positions alone, whose queries, attention output and MLP are all that is computed (keys and
        values still come from every position)."""
        batch, length, width = x.shape
        q, k, v = self.qkv(self.ln_attention(x)).view(batch, length, 3, self.heads, width // self.heads).unbind(2)
        mask = None
        if x_positions_only:
            x, q = x[:, ::2], q[:, ::2]
            # the i-th query sits at position 2i, so it sees the keys at positions 0 .. 2i
            mask = torch.arange(length, device=x.device) <= 2 * torch.arange(x.shape[1], device=x.device)[:, None]
        attended = F.scaled_dot_product_attention(q.transpose(1, 2), k.transpose(1, 2), v.transpose(1, 2),
                                                  attn_mask=mask, is_causal=mask is None)
        x = x + self.attention_out(attended.transpose(1, 2).reshape(batch, x.shape[1], width))
        return x + self.mlp_out(F.gelu(self.mlp_in(self.ln_mlp(x))))


class ICLTransformer(nn.Module):
    """Predicts f(x_k) from the prompt x_1, f(x_1), ..., x_k for every k at once."""

    def __init__(self, dims: int, max_points: int, size: str | ModelSize = "standard") -> None:
        super().__init__()
        shape = size_of(size) if isinstance(size, str) else size
        if dims < 1 or max_points < 1:
            raise SpecError(f"a model needs at least one input dimension and one point (got d={dims}, "
                            f"max_points={max_points})")
        if shape.width % shape.heads:
            raise SpecError(f"model width {shape.width} is not divisible by its {shape.heads} heads")
        self.dims, self.max_points, self.shape = dims, max_points, shape
        self.read_in = nn.Linear(dims, shape.width)
        self.positions = nn.Embedding(2 * max_points, shape.width)
        blocks = [Block(shape.width, shape.heads) for _ in range(shape.layers)]
        self.blocks = nn.ModuleList(blocks)
        self.ln_final = nn.LayerNorm(shape.width)
        self.read_out = nn.Linear(shape.width, 1)
        for module in (self.positions, *blocks):  # read-in and read-out keep torch's default, as in the paper
            module.apply(_init_weights)
        for block in blocks:
            for residual in (block.attention_out, block.mlp_out):
                nn.init.normal_(residual.weight, std=0.02 / math.sqrt(2 * shape.layers))

    def forward(self, xs: torch.Tensor, ys: torch.Tensor) -> torch.Tensor:
        """[B, n, d] inputs and [B, n] outputs -> [B, n] predictions, the k-th from the k-th prefix.

        Equal to forward_sequence(...)[:, ::2], but the last block computes the x positions alone (the
        outputs at y positions are never read, and nothing after the last block needs them), and f(x_n) is
        left out: causal attention lets no read position see it.
        """
        h = self._embed(interleave(xs, ys)[:, :-1])
        for block in self.blocks[:-1]:
            h = block(h)
        h = self.blocks[-1](h, x_positions_only=True)
        return self.read_out(self.ln_final(h)).squeeze(-1)

    def forward_sequence(self, sequence: torch.Tensor) -> torch.Tensor:
        """[B, T, d] interleaved sequence -> [B, T] outputs at every position."""
        h = self._embed(sequence)
        for block in self.blocks:
            h = block(h)
        return self.read_out(self.ln_final(h)).squeeze(-1)

    def _embed(self, sequence: torch.Tensor) -> torch.Tensor:
        """The read-in plus position embeddings of a [B, T, d] sequence this model can read."""
        length = sequence.shape[1]
        if sequence.shape[-1] != self.dims:
            raise SpecError(f"inputs have {sequence.shape[-1]} dimensions; this model reads {self.dims}")
        if length > 2 * self.max_points:
            raise SpecError(f"a prompt of {(length + 1) // 2} points is longer than this model's "
                            f"{self.max_points} (it has {2 * self.max_points} positions)")
        return self.read_in(sequence) + self.positions.weight[:length]

    @torch.no_grad()
    def load_hf_gpt2(self, gpt2: Any) -> ICLTransformer:
        """Copy the weights of a Hugging Face `GPT2Model` of the same shape (its Conv1D weights are
        stored transposed); read-in and read-out are kept. Returns self. `gpt2` is typed Any: torch types
        every submodule reached through a ModuleList as `Tensor | Module`."""
        self.positions.weight.copy_(gpt2.wpe.weight[: self.positions.num_embeddings])
        for ours, theirs in zip(self.blocks, gpt2.h, strict=True):
            assert isinstance(ours, Block)
            pairs = ((ours.qkv, theirs.attn.c_attn), (ours.attention_out, theirs.attn.c_proj),
                     (ours.mlp_in, theirs.mlp.c_fc), (ours.mlp_out, theirs.mlp.c_proj))
            for linear, conv in pairs:
                linear.weight.copy_(conv.weight.T)
                linear.bias.copy_(conv.bias)
            for norm, hf_norm in ((ours.ln_attention, theirs.ln_1), (ours.ln_mlp, theirs.ln_2)):
                norm.load_state_dict(hf_norm.state_dict())
        self.ln_final.load_state_dict(gpt2.ln_f.state_dict())
        return self


def _init_weights(module: nn.Module) -> None:
    if isinstance(module, nn.Linear | nn.Embedding):
        nn.init.normal_(module.weight, std=0.02)
    if isinstance(module, nn.Linear) and module.bias is not None:
        nn.init.zeros_(module.bias)


def parameter_count(model: nn.Module) -> int:
    """Trainable parameters of `model`."""
    return sum(p.numel() for p in model.parameters() if p.requires_grad)
