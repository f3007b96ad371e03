"""The in-context learner: shapes, causality, sizes, and equality with Hugging Face's GPT-2."""

from __future__ import annotations

import pytest
import torch

from tony.core.errors import SpecError
from tony.icl.model import SIZES, ICLTransformer, parameter_count, size_of


def _model(dims: int = 4, points: int = 8, size: str = "tiny", seed: int = 0) -> ICLTransformer:
    torch.manual_seed(seed)
    return ICLTransformer(dims, points, size).eval()


def _prompt(batch: int = 3, points: int = 8, dims: int = 4, seed: int = 1) -> tuple[torch.Tensor, torch.Tensor]:
    gen = torch.Generator().manual_seed(seed)
    return torch.randn(batch, points, dims, generator=gen), torch.randn(batch, points, generator=gen)


def test_predictions_are_read_at_every_x_position():
    model = _model()
    xs, ys = _prompt()
    with torch.no_grad():
        preds = model(xs, ys)
        sequence_out = model.forward_sequence(torch.stack((xs, torch.zeros_like(xs)), 2).reshape(3, 16, 4))
    assert preds.shape == (3, 8) and sequence_out.shape == (3, 16)
    shorter = model(xs[:, :5], ys[:, :5])
    assert shorter.shape == (3, 5)
    torch.testing.assert_close(shorter, preds[:, :5])  # a prefix's predictions do not depend on its length


@pytest.mark.parametrize("size", ["tiny", "small"])
def test_the_last_block_at_x_positions_alone_and_no_last_output_change_no_prediction_and_no_gradient(size):
    """forward leaves f(x_n) out and computes the last block at the x positions only: the same as every position."""
    from tony.icl.prompts import interleave

    model = _model(size=size).train()
    xs, ys = _prompt(batch=5)
    full = model.forward_sequence(interleave(xs, ys))[:, ::2]
    full_grads = torch.autograd.grad((full - ys).pow(2).mean(), list(model.parameters()))
    short = model(xs, ys)
    short_grads = torch.autograd.grad((short - ys).pow(2).mean(), list(model.parameters()))
    torch.testing.assert_close(short, full, rtol=0, atol=1e-6)
    for ours, reference in zip(short_grads, full_grads, strict=True):
        torch.testing.assert_close(ours, reference, rtol=1e-5, atol=1e-7)


def test_a_prediction_never_sees_its_own_target_or_anything_later():
    model = _model()
    xs, ys = _prompt()
    with torch.no_grad():
        before = model(xs, ys)
        for k in range(8):
            changed_xs, changed_ys = xs.clone(), ys.clone()
            changed_ys[:, k:] += 10.0  # y_k and everything after it
            if k + 1 < 8:
                changed_xs[:, k + 1:] -= 5.0
            after = model(changed_xs, changed_ys)
            torch.testing.assert_close(after[:, : k + 1], before[:, : k + 1], rtol=0, atol=1e-6)
            if k + 1 < 8:
                assert not torch.allclose(after[:, k + 1:], before[:, k + 1:])


def test_sizes_follow_the_presets_and_bad_sizes_are_spec_errors():
    assert [(s.layers, s.heads, s.width) for s in SIZES.values()] == [(3, 2, 64), (6, 4, 128), (12, 8, 256)]
    standard = ICLTransformer(20, 41, "standard")
    assert 9_400_000 < parameter_count(standard) < 9_700_000
    assert standard.positions.num_embeddings == 82
    with pytest.raises(SpecError, match="unknown model size 'huge'"):
        size_of("huge")
    model = _model(points=4)
    xs, ys = _prompt(points=5)
    with pytest.raises(SpecError, match="5 points is longer than this model's 4"):
        model(xs, ys)
    with pytest.raises(SpecError, match="3 dimensions; this model reads 4"):
        model(xs[:, :4, :3], ys[:, :4])
    with pytest.raises(SpecError, match="at least one"):
        ICLTransformer(0, 4, "tiny")


def test_initialisation_is_seeded():
    a, b = _model(seed=3), _model(seed=3)
    assert all(torch.equal(p, q) for p, q in zip(a.parameters(), b.parameters(), strict=True))
    assert not torch.equal(_model(seed=4).read_in.weight, a.read_in.weight)


def test_same_outputs_as_hugging_face_gpt2_with_the_same_weights():
    transformers = pytest.importorskip("transformers")
    config = transformers.GPT2Config(n_positions=16, n_embd=64, n_layer=3, n_head=2, resid_pdrop=0.0,
                                     embd_pdrop=0.0, attn_pdrop=0.0, use_cache=False,
                                     activation_function="gelu")
    torch.manual_seed(0)
    gpt2 = transformers.GPT2Model(config)
    ours = _model().load_hf_gpt2(gpt2)
    xs, ys = _prompt()
    from tony.icl.prompts import interleave

    sequence = interleave(xs, ys)
    theirs = ours.read_out(gpt2(inputs_embeds=ours.read_in(sequence)).last_hidden_state).squeeze(-1)
    torch.testing.assert_close(ours.forward_sequence(sequence), theirs, rtol=1e-5, atol=1e-5)
