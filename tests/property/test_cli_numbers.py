"""Numbers on the command line (ports, batch sizes, counts, seeds), whatever is typed: the command works and
what it stores is right, or it is a one-line error with exit 2 and nothing is stored. Never a traceback, never
exit 1 (a failed run) for a number that should have been refused before anything ran."""

from __future__ import annotations

import sqlite3
import tempfile
from pathlib import Path

import pytest
from hypothesis import event, example, given
from hypothesis import strategies as st
from property_helpers import cli, scaled

pytestmark = pytest.mark.slow  # the embedded model answers the runs (loaded once for every example)

NUM_INSTANCES = 3
ENTRY = f"synthetic_induction:num_instances={NUM_INSTANCES},max_tokens=1"
odd_numbers = st.one_of(
    st.integers(-5, 12).map(str),
    st.integers(-(2**70), 2**70).map(str),
    st.sampled_from(["", " 3", "3 ", "1.5", "1e3", "0x10", "٣", "+2", "-0", "nan", "inf", "2**8", "9" * 30]),
    st.text(max_size=4),
)
# Mostly small whole numbers, so that a good share of the examples runs and its stored run is checked.
numbers = st.one_of(st.integers(1, 4).map(str), st.integers(1, 4).map(str), odd_numbers)


def stored_runs(store: Path) -> list[tuple[str, int]]:
    """(status, records) of every run in the store; [] when there is no store."""
    if not (store / "tony.sqlite").exists():
        return []
    with sqlite3.connect(store / "tony.sqlite") as conn:
        return conn.execute("select status, (select count(*) from records r where r.run_id = u.run_id) "
                            "from runs u").fetchall()


@scaled(0.5)
@given(batch_size=numbers, workers=numbers, max_instances=numbers | st.none(), seed=numbers | st.none())
@example(batch_size="-1", workers="1", max_instances=None, seed=None)  # issue 27, item 1: a run of 0 records
@example(batch_size="0", workers="1", max_instances=None, seed=None)
@example(batch_size="2", workers="0", max_instances=None, seed=None)
@example(batch_size="2", workers="1", max_instances=None, seed="-5")  # issue 27, item 5: a failed run stored
@example(batch_size="2", workers="1", max_instances="0", seed=None)
@example(batch_size="2", workers="3", max_instances="2", seed=str(2**70))
def test_run_numbers_work_and_store_the_right_run_or_are_refused(batch_size, workers, max_instances, seed):
    options = [f"--batch-size={batch_size}", f"--workers={workers}"]
    options += [] if max_instances is None else [f"--max-instances={max_instances}"]
    options += [] if seed is None else [f"--seed={seed}"]
    with tempfile.TemporaryDirectory() as folder:
        store = Path(folder) / "store"
        done = cli("run", ENTRY, *options, "--store", str(store))
        runs = stored_runs(store)
    event(f"exit {done.code}")
    if done.code == 2:
        done.assert_one_line_error()
        assert runs == [], "a refused command stored a run"
        return
    assert done.code == 0, f"exit {done.code}: {done.stderr}"
    expected = min(int(max_instances), NUM_INSTANCES) if max_instances is not None else NUM_INSTANCES
    assert runs == [("complete", expected)]


@scaled(1.0)
@given(st.one_of(st.integers(-(2**40), 2**40).map(str), st.integers(-2, 70000).map(str),
                 st.sampled_from(["", "80a", "1.5", "0x50", "65536", "99999999999999999999"]), st.text(max_size=5)))
@example("70000")  # issue 27, item 3: an OverflowError traceback
@example("-1")
@example("²")  # a digit that int() refuses
def test_any_port_is_a_one_line_error_when_there_is_no_site(port):
    with tempfile.TemporaryDirectory() as folder:
        done = cli("serve", f"--port={port}", "--out", str(Path(folder) / "no-site"))
    done.assert_one_line_error()  # refused: either the port or the missing site
    assert ("no site" in done.stderr) == in_port_range(port), done.stderr


def in_port_range(text: str) -> bool:
    try:
        return 0 <= int(text) <= 65535  # as argparse's type=int reads it
    except ValueError:
        return False
