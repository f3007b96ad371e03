"""Leases on the items of a run, so that processes running one spec share its items instead of each doing all.

A lease is a row (run, item, owner, expiry). A process claims a batch of items before computing them, renews its
leases while it works and deletes them once the records are stored. Another process skips items leased by others,
and takes over a lease that has expired or whose owner, on this machine, is no longer alive (so the run after a
kill -9 resumes at once instead of waiting out the expiry). Claims are made in one write transaction on SQLite
(whose writers are serialized) and with insert-or-ignore plus a conditional update on PostgreSQL (where the update's
row lock decides between two processes taking over one expired lease).
"""

from __future__ import annotations

import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

import sqlalchemy as sa

from tony.core.store_schema import insert_ignore, leases_table, records_table

LEASE_TTL_S = 60.0
"""How long a lease holds without renewal: long enough for any one batch between renewals, short enough that a
run abandoned on another machine is taken over within a minute."""


def new_owner() -> str:
    """An owner name unique to this process and call: host, pid and a random part."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def owner_is_dead(owner: str) -> bool:
    """Whether the owner is a process on this machine that no longer exists (another machine's: never known)."""
    host, _, rest = owner.partition(":")
    pid_text = rest.partition(":")[0]
    if host != socket.gethostname() or not pid_text.isdigit():
        return False
    pid = int(pid_text)
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return True
    except PermissionError:  # alive, owned by another user
        return False
    return _zombie(pid)


def _zombie(pid: int) -> bool:
    """Whether the process has ended but not been reaped (Linux; a container's init may never reap an orphan)."""
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state in ("Z", "X")


class LeasesMixin:
    """Store methods for item leases; mixed into `tony.core.store.Store`."""

    engine: sa.Engine

    if TYPE_CHECKING:  # Store's own, declared here for the type checker
        def _write(self) -> AbstractContextManager[sa.Connection]: ...

        def _read(self) -> AbstractContextManager[sa.Connection]: ...

    def claim_items(self, run_id: str, owner: str, item_ids: Sequence[str], *,
                    ttl_s: float = LEASE_TTL_S) -> tuple[list[str], list[str]]:
        """Lease those of `item_ids` that are free; returns (claimed, already stored), each in the order asked.

        An item is free when it has no stored record and no live lease of another owner. Items stored meanwhile
        come back in the second list, so the caller can drop them from its own list of work."""
        ids = list(dict.fromkeys(item_ids))
        if not ids:
            return [], []
        now = time.time()
        lease = leases_table.c
        with self._write() as conn:
            stored: set[str] = set(conn.execute(sa.select(records_table.c.item_id).where(
                records_table.c.run_id == run_id, records_table.c.item_id.in_(ids))).scalars())
            wanted = [i for i in ids if i not in stored]
            if wanted:
                conn.execute(insert_ignore(self.engine, leases_table),
                             [{"run_id": run_id, "item_id": i, "owner": owner, "expires_at": now + ttl_s}
                              for i in wanted])
                held: Sequence[tuple[str, str, float]] = conn.execute(sa.select(
                    lease.item_id, lease.owner, lease.expires_at
                ).where(lease.run_id == run_id, lease.item_id.in_(wanted), lease.owner != owner)).all()
                takeover = [item for item, other, expires in held if expires < now or owner_is_dead(other)]
                for item, other, _ in held:
                    if item in takeover:
                        # Conditional on the owner seen: of two processes taking over one lease, one updates it.
                        conn.execute(leases_table.update().where(
                            lease.run_id == run_id, lease.item_id == item, lease.owner == other
                        ).values(owner=owner, expires_at=now + ttl_s))
                mine: set[str] = set(conn.execute(sa.select(lease.item_id).where(
                    lease.run_id == run_id, lease.item_id.in_(wanted), lease.owner == owner)).scalars())
            else:
                mine = set()
        return [i for i in ids if i in mine], [i for i in ids if i in stored]

    def renew_leases(self, run_id: str, owner: str, *, ttl_s: float = LEASE_TTL_S) -> None:
        """Push back the expiry of every lease this owner holds on the run."""
        with self._write() as conn:
            conn.execute(leases_table.update().where(
                leases_table.c.run_id == run_id, leases_table.c.owner == owner).values(expires_at=time.time() + ttl_s))

    def release_leases(self, run_id: str, owner: str) -> None:
        """Drop every lease this owner holds on the run (its items are stored, or it gives up)."""
        with self._write() as conn:
            conn.execute(leases_table.delete().where(leases_table.c.run_id == run_id, leases_table.c.owner == owner))

    def leased_items(self, run_id: str) -> dict[str, str]:
        """Item -> owner for every live lease on the run (expired ones and dead local owners left out)."""
        lease = leases_table.c
        now = time.time()
        with self._read() as conn:
            rows: Sequence[tuple[str, str, float]] = conn.execute(sa.select(
                lease.item_id, lease.owner, lease.expires_at).where(lease.run_id == run_id)).all()
        return {item: owner for item, owner, expires in rows if expires >= now and not owner_is_dead(owner)}

    @contextmanager
    def leases_renewed(self, run_id: str, owner: str, *, ttl_s: float = LEASE_TTL_S) -> Iterator[None]:
        """While the body runs, a background thread renews the owner's leases every third of `ttl_s`."""
        stop = threading.Event()

        def renew() -> None:
            while not stop.wait(ttl_s / 3):
                try:
                    self.renew_leases(run_id, owner, ttl_s=ttl_s)
                except Exception:  # noqa: BLE001 - a missed renewal only risks another process redoing a batch
                    pass

        thread = threading.Thread(target=renew, name=f"tony-lease-{run_id[:8]}", daemon=True)
        thread.start()
        try:
            yield
        finally:
            stop.set()
            thread.join()
