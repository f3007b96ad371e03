"""Training: the curriculum, spec validation, checkpoints in the store, exact resumption, recovery."""

from __future__ import annotations

import itertools
import re

import pytest
import torch

from tony.cli import main
from tony.core.checkpoints import checkpoint_name, latest_checkpoint, load_checkpoint, save_checkpoint
from tony.core.errors import DataError, SpecError, UnknownComponentError
from tony.core.store import Store
from tony.icl.curriculum import Curriculum
from tony.icl.presets import PRESETS, get_preset
from tony.icl.train import ICLTrainSpec, batch_at, train


def small_spec(steps: int = 6, **changes) -> ICLTrainSpec:
    fields = {"function_class": "linear", "dims": 4, "model_size": "tiny", "steps": steps, "batch_size": 8,
              "lr": 1e-3, "seed": 0,
              "curriculum": {"dims_start": 2, "dims_end": 4, "dims_interval": 2, "points_start": 3, "points_end": 7,
                             "points_increment": 2, "points_interval": 2}}
    return ICLTrainSpec.parse({**fields, **changes})


def test_the_paper_curriculum_grows_on_schedule():
    curriculum = get_preset("linear").train.curriculum
    assert [curriculum.dims_at(s) for s in (0, 1999, 2000, 4000, 29_999, 30_000, 400_000)] == [5, 5, 6, 7, 19, 20, 20]
    assert [curriculum.points_at(s) for s in (0, 2000, 30_000, 400_000)] == [11, 13, 41, 41]
    trees = get_preset("decision_tree").train.curriculum
    assert [trees.points_at(s) for s in (0, 2000, 30_000, 40_000)] == [26, 31, 101, 101]
    assert Curriculum.fixed(3, 9).points_at(10**6) == 9


def test_batches_follow_the_curriculum_with_zeroed_inactive_dimensions():
    spec = small_spec()
    xs, ys = batch_at(spec, spec.functions(), 0)
    assert xs.shape == (8, 3, 4) and ys.shape == (8, 3) and xs.dtype == torch.float32
    assert torch.count_nonzero(xs[..., 2:]) == 0
    later, _ = batch_at(spec, spec.functions(), 4)
    assert later.shape == (8, 7, 4) and torch.count_nonzero(later[..., 3]) > 0
    assert torch.equal(batch_at(spec, spec.functions(), 4)[0], later)  # seeded by (seed, step)


def test_bad_training_specs_are_one_line_spec_errors():
    with pytest.raises(UnknownComponentError, match="unknown function class 'cubic'"):
        small_spec(function_class="cubic")
    with pytest.raises(SpecError, match="unknown model size 'huge'"):
        small_spec(model_size="huge")
    with pytest.raises(SpecError, match="grows to 4 active dimensions but the model reads d=3"):
        small_spec(dims=3)
    with pytest.raises(SpecError, match="lr > 0"):
        small_spec(lr=0.0)
    with pytest.raises(SpecError, match="points_start <= points_end"):
        small_spec(curriculum={"dims_start": 1, "dims_end": 1, "points_start": 9, "points_end": 3})
    with pytest.raises(SpecError, match="field 'lr_schedule'"):
        small_spec(lr_schedule="linear")
    with pytest.raises(SpecError, match="field 'steps'"):
        small_spec(steps="many")
    with pytest.raises(UnknownComponentError, match="unknown ICL preset 'linaer'"):
        get_preset("linaer")


def test_the_cosine_schedule_falls_from_lr_to_a_fiftieth_and_the_optimizer_follows_it(store: Store):
    spec = small_spec(steps=8, lr_schedule="cosine")
    rates = [spec.lr_at(step) for step in range(9)]
    assert rates[0] == pytest.approx(1e-3) and rates[4] == pytest.approx((1e-3 + 2e-5) / 2)
    assert rates[8] == pytest.approx(2e-5) and all(a > b for a, b in itertools.pairwise(rates))
    assert small_spec(steps=8).lr_at(5) == 1e-3
    train(spec, store, checkpoint_every=100)
    assert load_checkpoint(store, spec)["optimizer"]["param_groups"][0]["lr"] == pytest.approx(rates[7])


def test_checkpoints_are_artifacts_keyed_by_the_spec_and_only_the_latest_is_kept(store: Store):
    spec = small_spec(steps=5)
    result = train(spec, store, checkpoint_every=2)
    assert result.step == 5 and result.resumed_from == 0 and result.losses[-1][0] == 5
    files = [p for p in store.artifact_dir.rglob("*") if p.is_file()]
    assert files == [result.checkpoint] == [latest_checkpoint(store, spec)]
    assert load_checkpoint(store, spec)["step"] == 5
    assert checkpoint_name(spec).endswith(spec.key())
    assert latest_checkpoint(store, small_spec(steps=6)) is None  # another spec, another key
    again = train(spec, store)  # already trained: loaded, not trained again
    assert again.seconds == 0.0 and all(torch.equal(a, b) for a, b in
                                        zip(again.model.parameters(), result.model.parameters(), strict=True))


@pytest.mark.parametrize("schedule", ["constant", "cosine"])
def test_resumed_training_equals_uninterrupted_training(schedule, tmp_path):
    spec = small_spec(steps=6, lr_schedule=schedule)
    straight = train(spec, Store(str(tmp_path / "a")), checkpoint_every=100)
    store = Store(str(tmp_path / "b"))
    first = train(spec, store, checkpoint_every=100, max_steps=4)  # "killed" after 4 steps (its checkpoint)
    assert first.step == 4
    resumed = train(spec, store, checkpoint_every=100)
    assert resumed.resumed_from == 4 and resumed.step == 6
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    a_state, b_state = (load_checkpoint(s, spec) for s in (Store(str(tmp_path / "a")), store))
    assert a_state["optimizer"]["state"][0]["step"] == b_state["optimizer"]["state"][0]["step"] == 6
    assert torch.equal(a_state["optimizer"]["state"][0]["exp_avg_sq"], b_state["optimizer"]["state"][0]["exp_avg_sq"])


def test_a_checkpoint_written_before_the_kernel_loop_still_resumes(tmp_path):
    # Such a checkpoint kept its loss curve as (step, mean loss) pairs under "losses".
    spec = small_spec(steps=6)
    straight = train(spec, Store(str(tmp_path / "a")), checkpoint_every=100)
    store = Store(str(tmp_path / "b"))
    stopped = train(spec, store, checkpoint_every=100, max_steps=4)
    state = load_checkpoint(store, spec)
    old = {key: value for key, value in state.items() if key != "history"}
    save_checkpoint(store, spec, {**old, "losses": [[step, loss] for step, loss in stopped.losses]})
    resumed = train(spec, store, checkpoint_every=100)
    assert resumed.resumed_from == 4 and [s for s, _ in resumed.losses] == [4, 6]
    assert resumed.losses[0] == stopped.losses[0] and resumed.history[0] == {"step": 4, "loss": stopped.losses[0][1]}
    for a, b in zip(straight.model.parameters(), resumed.model.parameters(), strict=True):
        assert torch.equal(a, b)
    assert train(spec, store).losses == resumed.losses  # finished: the curve is read back from the checkpoint


def test_a_corrupted_checkpoint_says_how_to_recover_and_loses_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TONY_PROGRESS", "0")
    assert main(["icl", "train", "cpu-linear", "--steps", "3"]) == 0
    store = Store(None)
    spec = get_preset("cpu-linear").train.model_copy(update={"steps": 3})
    path = latest_checkpoint(store, spec)
    path.write_bytes(path.read_bytes()[:100])  # truncated
    capsys.readouterr()
    with pytest.raises(DataError, match="corrupted or truncated .*delete .* or rerun the training with --restart"):
        train(spec, store)
    assert main(["icl", "train", "cpu-linear", "--steps", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--restart" in err and "Traceback" not in err
    assert main(["icl", "eval", "cpu-linear", "--steps", "3", "--n-prompts", "2"]) == 2
    assert path.exists()  # nothing deleted without --restart
    assert main(["icl", "train", "cpu-linear", "--steps", "3", "--restart"]) == 0
    assert load_checkpoint(store, spec)["step"] == 3
    latest_checkpoint(store, spec).unlink()  # deleting the file is the other way out: start from 0
    assert load_checkpoint(store, spec) is None
    assert train(spec, store).resumed_from == 0


def test_cli_errors_for_bad_names_and_sizes(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    assert main(["icl", "train", "nope"]) == 2
    assert main(["icl", "eval", "cpu-linear", "--distribution", "sideways"]) == 2
    assert main(["icl", "eval", "cpu-linear", "--n-points", "22"]) == 2
    (tmp_path / "bad.yaml").write_text("function_class: cubic\ncurriculum: {dims_start: 1, dims_end: 1, "
                                       "points_start: 2, points_end: 2}\n")
    assert main(["icl", "train", "--spec", "bad.yaml"]) == 2
    assert main(["icl", "train", "--spec", "missing.yaml"]) == 2
    errors = capsys.readouterr().err.splitlines()
    assert len(errors) == 5 and all(e.startswith("tony: error: ") for e in errors)
    assert "unknown ICL preset 'nope'" in errors[0] and "unknown prompt distribution 'sideways'" in errors[1]
    assert "room for 21 points" in errors[2] and "cubic" in errors[3] and "not found" in errors[4]


def test_a_diverging_run_names_its_first_bad_step_and_stores_no_diverged_checkpoint(store: Store):
    spec = small_spec(lr=1e30)  # Adam moves every weight by ~lr in the first step: the next loss overflows
    with pytest.raises(SpecError, match=r"training loss became nan at step 2: lower lr \(now 1e\+30\)"):
        train(spec, store, checkpoint_every=2)
    assert latest_checkpoint(store, spec) is None


@pytest.mark.skipif(torch.cuda.is_available(), reason="checks the message of a machine without CUDA")
def test_an_unusable_device_is_a_one_line_error_that_loses_no_checkpoint(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TONY_PROGRESS", "0")
    spec = get_preset("cpu-linear").train.model_copy(update={"steps": 2})
    assert main(["icl", "train", "cpu-linear", "--steps", "2", "--device", "cpu"]) == 0
    assert re.search(r"to step 2 in \d+s on cpu; loss", capsys.readouterr().out)
    saved = latest_checkpoint(Store(None), spec)
    for device, message in [("cuda", "device 'cuda' is not available here (0 CUDA devices): train with --device cpu"),
                            ("gpu0", "unknown device 'gpu0': use cpu, cuda or cuda:N"),
                            ("meta", "cannot train on device 'meta': use cpu, cuda or cuda:N")]:
        assert main(["icl", "train", "cpu-linear", "--steps", "2", "--device", device, "--restart"]) == 2
        assert capsys.readouterr().err == f"tony: error: {message}\n"
        assert latest_checkpoint(Store(None), spec) == saved and saved.is_file()  # --restart discarded nothing
    with pytest.raises(SpecError, match="not available"):
        train(spec, Store(None), device="cuda:3")


@pytest.mark.parametrize("name", ["linear", "sparse", "relu_2nn", "decision_tree"])
def test_each_paper_preset_trains_a_few_steps(name, tmp_path):
    preset = PRESETS[name]
    spec = preset.train
    assert (spec.dims, spec.model_size, spec.steps, spec.batch_size, spec.lr) == (20, "standard", 500_000, 64, 1e-4)
    quick = ICLTrainSpec.parse({**spec.model_dump(), "batch_size": 2})  # the preset's model and prompts, 2 a batch
    result = train(quick, Store(str(tmp_path)), max_steps=2)
    assert result.step == 2 and result.checkpoint is not None
    assert result.model.positions.num_embeddings == 2 * spec.curriculum.points_end
    assert all(torch.isfinite(p).all() for p in result.model.parameters())
