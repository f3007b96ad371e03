"""Training checkpoints (tony.core.checkpoints) on a real store, SQLite and PostgreSQL: one per training spec,
the newest kept, a missing file forgotten, a damaged or foreign one refused without losing anything, and a
training loop resumed from one ending where an uninterrupted loop ends."""

from __future__ import annotations

import io

import pytest
import sqlalchemy as sa

from tony.core.checkpoints import (
    FORMAT,
    checkpoint_name,
    discard_checkpoints,
    latest_checkpoint,
    load_checkpoint,
    save_checkpoint,
)
from tony.core.errors import DataError
from tony.core.spec import Spec
from tony.core.store import Store
from tony.core.store_schema import artifacts_table

torch = pytest.importorskip("torch", reason="checkpoints are torch files: pip install 'tony[icl]'")


class TinyTraining(Spec):
    """A training spec as a domain would define it: what to train, for how long."""

    steps: int
    lr: float = 0.1
    seed: int = 0


SPEC = TinyTraining(steps=6)
OTHER = TinyTraining(steps=6, lr=0.2)


def state(step: int) -> dict:
    """A trainer's state: tensors, numbers, a loss history."""
    generator = torch.Generator().manual_seed(step)
    return {"step": step, "model": {"weight": torch.randn(3, 2, generator=generator)},
            "losses": [[s, 1.0 / (s + 1)] for s in range(step)]}


def files_of(store: Store) -> set[str]:
    return {p.name for p in store.artifact_dir.rglob("*") if p.is_file()}


def torch_bytes(obj: dict) -> bytes:
    buffer = io.BytesIO()
    torch.save(obj, buffer)
    return buffer.getvalue()


def set_created_at(store: Store, key: str, at: float) -> None:
    with store.writer.begin() as conn:
        conn.execute(artifacts_table.update().where(artifacts_table.c.key == key).values(created_at=at))


def test_a_spec_without_checkpoints(store: Store) -> None:
    assert latest_checkpoint(store, SPEC) is None and load_checkpoint(store, SPEC) is None
    assert discard_checkpoints(store, SPEC) == 0


def test_the_name_is_the_spec_key_so_each_spec_has_its_own(store: Store) -> None:
    assert checkpoint_name(SPEC) == f"checkpoint/{SPEC.key()}"
    assert checkpoint_name(SPEC) == checkpoint_name(TinyTraining(steps=6, lr=0.1))
    assert checkpoint_name(SPEC) != checkpoint_name(OTHER)
    save_checkpoint(store, SPEC, state(2))
    assert load_checkpoint(store, OTHER) is None and latest_checkpoint(store, OTHER) is None
    save_checkpoint(store, OTHER, state(5))
    assert load_checkpoint(store, SPEC)["step"] == 2 and load_checkpoint(store, OTHER)["step"] == 5


def test_a_saved_state_loads_back_equal_in_a_reopened_store(store: Store) -> None:
    saved = state(3)
    path = save_checkpoint(store, SPEC, saved)
    assert path == latest_checkpoint(store, SPEC) and path.is_file() and files_of(store) == {path.name}
    (artifact,) = store.artifacts(checkpoint_name(SPEC))
    assert artifact.path == path and artifact.size == path.stat().st_size
    loaded = load_checkpoint(Store(store.url), SPEC)  # another process's view: only the store's rows and files
    assert loaded["format"] == FORMAT and loaded["spec_key"] == SPEC.key()
    assert loaded["step"] == 3 and loaded["losses"] == saved["losses"]
    assert torch.equal(loaded["model"]["weight"], saved["model"]["weight"])


def test_only_the_newest_checkpoint_is_kept(store: Store) -> None:
    first = save_checkpoint(store, SPEC, state(2))
    other = save_checkpoint(store, OTHER, state(2))
    second = save_checkpoint(store, SPEC, state(4))
    assert second != first and not first.exists()
    assert [a.path for a in store.artifacts(checkpoint_name(SPEC))] == [second]
    assert load_checkpoint(store, SPEC)["step"] == 4
    assert files_of(store) == {second.name, other.name}  # the other spec's checkpoint is not an older one of SPEC
    # Saving the same bytes again (a rerun that stopped at the same step) keeps that one file.
    assert save_checkpoint(store, SPEC, state(4)) == second and second.is_file()
    assert len(store.artifacts(checkpoint_name(SPEC))) == 1


def test_a_deleted_file_is_forgotten_and_an_older_one_used(store: Store) -> None:
    older = save_checkpoint(store, SPEC, state(2))
    # A newer row beside it, as a concurrent trainer could leave before it drops the older one.
    newer_key = store.put_artifact(checkpoint_name(SPEC), torch_bytes({"format": FORMAT, "spec_key": SPEC.key(),
                                                                       **state(4)}))
    set_created_at(store, newer_key, 2e9)
    assert latest_checkpoint(store, SPEC) == store.artifact_path(newer_key)
    store.artifact_path(newer_key).unlink()
    assert load_checkpoint(store, SPEC)["step"] == 2
    assert [a.path for a in store.artifacts(checkpoint_name(SPEC))] == [older]  # the row of the lost file dropped
    older.unlink()
    assert load_checkpoint(store, SPEC) is None and store.artifacts(checkpoint_name(SPEC)) == []


@pytest.mark.parametrize("damage", ["truncated", "garbage"])
def test_a_damaged_checkpoint_says_how_to_recover_and_nothing_is_removed(store: Store, damage: str) -> None:
    path = save_checkpoint(store, SPEC, state(3))
    whole = path.read_bytes()
    path.write_bytes(whole[: len(whole) // 2] if damage == "truncated" else b"not a torch file")
    with pytest.raises(DataError) as caught:
        load_checkpoint(store, SPEC)
    message = str(caught.value)
    assert "\n" not in message and "corrupted or truncated" in message
    assert str(path) in message and "--restart" in message and SPEC.key()[:12] in message
    assert path.is_file() and [a.path for a in store.artifacts(checkpoint_name(SPEC))] == [path]


@pytest.mark.parametrize("content", ["another spec's", "an old format's", "not a dict's"])
def test_a_file_that_is_not_this_specs_checkpoint_is_refused(store: Store, content: str) -> None:
    payload = {
        "another spec's": {"format": FORMAT, "spec_key": OTHER.key(), **state(3)},
        "an old format's": {"format": FORMAT + 1, "spec_key": SPEC.key(), **state(3)},
        "not a dict's": [1, 2, 3],
    }[content]
    key = store.put_artifact(checkpoint_name(SPEC), torch_bytes(payload))
    with pytest.raises(DataError, match=f"is not a tony checkpoint of training {SPEC.key()[:12]}"):
        load_checkpoint(store, SPEC)
    assert store.artifact_path(key).is_file()


def test_discard_removes_every_checkpoint_of_the_spec_only(store: Store) -> None:
    mine = save_checkpoint(store, SPEC, state(2))
    stray = store.put_artifact(checkpoint_name(SPEC), b"an older leftover")
    theirs = save_checkpoint(store, OTHER, state(2))
    assert discard_checkpoints(store, SPEC) == 2
    assert not mine.exists() and not store.artifact_path(stray).exists() and theirs.is_file()
    assert load_checkpoint(store, SPEC) is None and load_checkpoint(store, OTHER)["step"] == 2
    with store.engine.connect() as conn:
        names = set(conn.execute(sa.select(artifacts_table.c.name)).scalars())
    assert names == {checkpoint_name(OTHER)}


def train(spec: TinyTraining, store: Store, *, stop_at: int | None = None, every: int = 2) -> torch.nn.Module:
    """A minimal resumable loop, as the domains' trainers use the kernel: resume from the spec's checkpoint,
    checkpoint every `every` steps and at the end; `stop_at` stands for a kill right after that checkpoint."""
    torch.manual_seed(spec.seed)
    model = torch.nn.Linear(2, 1)
    optimizer = torch.optim.SGD(model.parameters(), lr=spec.lr, momentum=0.9)  # momentum: state that must resume
    step = 0
    if (saved := load_checkpoint(store, spec)) is not None:
        model.load_state_dict(saved["model"])
        optimizer.load_state_dict(saved["optimizer"])
        step = saved["step"]
    inputs = torch.linspace(-1, 1, 16).reshape(8, 2)
    targets = inputs @ torch.tensor([[2.0], [-1.0]]) + 0.5
    while step < spec.steps:
        optimizer.zero_grad()
        torch.nn.functional.mse_loss(model(inputs), targets).backward()
        optimizer.step()
        step += 1
        if step % every == 0 or step == spec.steps:
            save_checkpoint(store, spec, {"step": step, "model": model.state_dict(),
                                          "optimizer": optimizer.state_dict()})
        if step == stop_at:
            break
    return model


def test_training_resumed_from_a_checkpoint_ends_where_uninterrupted_training_ends(store: Store, tmp_path) -> None:
    straight = train(SPEC, Store(str(tmp_path / "straight")))
    interrupted = train(SPEC, store, stop_at=4)
    assert load_checkpoint(store, SPEC)["step"] == 4
    assert not torch.equal(interrupted.weight, straight.weight)
    resumed = train(SPEC, Store(store.url))
    assert load_checkpoint(store, SPEC)["step"] == SPEC.steps
    for mine, theirs in zip(resumed.parameters(), straight.parameters(), strict=True):
        assert torch.equal(mine, theirs)
    assert len(store.artifacts(checkpoint_name(SPEC))) == 1
