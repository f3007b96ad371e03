"""Shared store fixtures: every store test runs on SQLite and on PostgreSQL.

The PostgreSQL backend gets its own throwaway cluster, started once per
session in a temporary directory on a free port of 127.0.0.1, with a fresh
database for each test. Where the server binaries are missing the
PostgreSQL variants are skipped with a note on how to enable them.
"""

from __future__ import annotations

import glob
import os
import shutil
import socket
import subprocess
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import NoReturn

import pytest

from shelf import shelf_root  # noqa: F401  (a fixture for every test that reads the data shelf)
from tony.core.store import Store

ENABLE_POSTGRES = "to enable the postgresql store tests, `apt-get install postgresql` or run .ci/run"
REQUIRE_POSTGRES = "TONY_REQUIRE_POSTGRES"
"""Set (as .ci/run does) to fail, not skip, when the PostgreSQL cluster cannot start."""


def _unavailable(reason: str) -> NoReturn:
    message = f"{reason}; {ENABLE_POSTGRES}"
    if os.environ.get(REQUIRE_POSTGRES):
        pytest.fail(f"{message} ({REQUIRE_POSTGRES} is set)", pytrace=False)
    pytest.skip(message)


def _server_binaries() -> tuple[str, str] | None:
    """initdb and pg_ctl: from PATH, else from Debian's /usr/lib/postgresql/<version>/bin (newest first)."""
    initdb, pg_ctl = shutil.which("initdb"), shutil.which("pg_ctl")
    if initdb and pg_ctl:
        return initdb, pg_ctl
    for bindir in sorted(glob.glob("/usr/lib/postgresql/*/bin"), key=_version_of, reverse=True):
        initdb, pg_ctl = os.path.join(bindir, "initdb"), os.path.join(bindir, "pg_ctl")
        if os.access(initdb, os.X_OK) and os.access(pg_ctl, os.X_OK):
            return initdb, pg_ctl
    return None


def _version_of(bindir: str) -> tuple[int, ...]:
    version = Path(bindir).parent.name
    return tuple(int(part) for part in version.split(".") if part.isdigit())


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class PostgresCluster:
    """A throwaway PostgreSQL cluster owned by this test session."""

    user = "postgres"

    def __init__(self, initdb: str, pg_ctl: str) -> None:
        self.initdb, self.pg_ctl = initdb, pg_ctl
        # initdb refuses to run as root: as root, the cluster belongs to the postgres system user.
        self.run_as: list[str] = []
        if os.geteuid() == 0:
            if not shutil.which("runuser"):
                _unavailable("running as root without `runuser`, so initdb cannot run as the postgres user")
            self.run_as = ["runuser", "-u", "postgres", "--"]
        # Not under pytest's tmp_path: the postgres user must be able to reach the directory.
        self.root = Path(tempfile.mkdtemp(prefix="tony-pg-"))
        if self.run_as:
            shutil.chown(self.root, user="postgres")
        self.data = self.root / "data"
        self.log = self.root / "server.log"
        self.port = 0
        self.create_strategy = ""

    def start(self) -> None:
        """Create the cluster (trusting local connections) and start it on a free port of 127.0.0.1."""
        cluster_options = ["-U", self.user, "--auth=trust", "--no-sync", "--no-locale", "--encoding=UTF8"]
        self._run(self.initdb, "-D", str(self.data), *cluster_options)
        options = f"-p {{port}} -k {self.root} -c listen_addresses=127.0.0.1 -c fsync=off -c max_connections=200"
        # Another process may take the free port between choosing and binding it: try a few.
        for _ in range(3):
            self.port = _free_port()
            started = self._run(
                self.pg_ctl, "-D", str(self.data), "-l", str(self.log), "-w", "-t", "60",
                "-o", options.format(port=self.port), "start",
                check=False,
            )  # fmt: skip
            if started.returncode == 0:
                # FILE_COPY (PostgreSQL 15+) creates a database several times faster than the default, with fsync off.
                if int(self._admin("SHOW server_version_num")) >= 150000:
                    self.create_strategy = " STRATEGY FILE_COPY"
                return
        raise RuntimeError(f"pg_ctl start failed: {started.stdout}{started.stderr}{self._log_tail()}")

    def stop(self) -> None:
        self._run(self.pg_ctl, "-D", str(self.data), "-m", "immediate", "-w", "stop", check=False)
        shutil.rmtree(self.root, ignore_errors=True)

    def url(self, database: str) -> str:
        return f"postgresql+psycopg://{self.user}@127.0.0.1:{self.port}/{database}"

    def create_database(self) -> str:
        name = f"tony_test_{uuid.uuid4().hex[:12]}"
        self._admin(f'CREATE DATABASE "{name}"{self.create_strategy}')
        return name

    def drop_database(self, name: str) -> None:
        self._admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')

    def _admin(self, statement: str) -> str:
        """Run one statement in the maintenance database; the first column of its first row, if any."""
        import psycopg

        with psycopg.connect(self.url("postgres").replace("+psycopg", ""), autocommit=True) as conn:
            cursor = conn.execute(statement)
            row = cursor.fetchone() if cursor.description else None
            return str(row[0]) if row else ""

    def _run(self, *command: str, check: bool = True) -> subprocess.CompletedProcess[str]:
        done = subprocess.run([*self.run_as, *command], capture_output=True, text=True, cwd=self.root)
        if check and done.returncode != 0:
            raise RuntimeError(f"{' '.join(command)} failed: {done.stdout}{done.stderr}")
        return done

    def _log_tail(self) -> str:
        return self.log.read_text(errors="replace")[-2000:] if self.log.exists() else ""


@pytest.fixture(scope="session")
def postgres_cluster() -> Iterator[PostgresCluster]:
    """A PostgreSQL cluster for the whole session, or a skip saying how to get one."""
    try:
        import psycopg
    except ImportError:
        _unavailable("psycopg is not installed (`pip install 'psycopg[binary]'`)")
    binaries = _server_binaries()
    if binaries is None:
        _unavailable("PostgreSQL server binaries (initdb, pg_ctl) not found")
    cluster = None
    try:
        cluster = PostgresCluster(*binaries)
        cluster.start()
    except (OSError, RuntimeError, LookupError, psycopg.Error) as err:  # LookupError: no postgres user
        if cluster is not None:
            cluster.stop()
        _unavailable(f"cannot start a throwaway PostgreSQL cluster ({str(err).strip()[:500]})")
    yield cluster
    cluster.stop()


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A URL of an empty store: SQLite in tmp_path, or a fresh database on the session's PostgreSQL cluster."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'store' / 'tony.sqlite'}"
        return
    cluster: PostgresCluster = request.getfixturevalue("postgres_cluster")
    database = cluster.create_database()
    yield cluster.url(database)
    cluster.drop_database(database)


@pytest.fixture
def store(store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Store]:
    """An open Store on an empty database of each backend (artifacts of a PostgreSQL store go under tmp_path)."""
    monkeypatch.chdir(tmp_path)
    opened = Store(store_url)
    yield opened
    opened.close()


REQUIRE_ALL = "TONY_REQUIRE_ALL"
"""Set (as .ci/run does, where every extra, system package and data set is installed) to fail every test that
skips, unless its reason is on ALLOWED_SKIPS: there a skip can only mean that something the test needs is missing
(a package, a system component, a data set, a server), which must be fixed, not passed over. A module or
directory that skips while it is collected is an error too. The TONY_REQUIRE_POSTGRES, _DATA and _BROWSER
switches still make their fixtures fail at once, with their own message."""

ALLOWED_SKIPS = {
    "BIG-bench data not installed":
        "the bigbench package was withdrawn from the package registry, so no machine can install it; the tests "
        "that only need some BIG-bench task run on tests/data/bigbench_tasks instead",
    "checks the message of a machine without CUDA":
        "on a machine with a GPU the no-CUDA message it checks cannot occur",
    "psycopg2 is installed":
        "checks the message for a missing psycopg2 driver, which only exists where psycopg2 is not installed",
}
"""Skips that are legitimate everywhere, CI included: a substring of the reason -> why it is allowed."""


class RequireAll:
    """The REQUIRE_ALL rule, registered as a plugin in pytest_configure when the variable is set.

    A plugin rather than hooks of this conftest.py: pytest leaves a conftest's hooks out of the report of a
    directory whose own conftest.py skips while it is imported (tests/rl/conftest.py without gymnasium).
    """

    @pytest.hookimpl(hookwrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Iterator[None]:
        report = (yield).get_result()
        if _must_not_skip(report):
            _fail(report)

    @pytest.hookimpl(tryfirst=True)
    def pytest_collectreport(self, report: pytest.CollectReport) -> None:
        # A module or directory that skips while it is imported (a module-level importorskip): changed before the
        # session counts it, so it is a collection error, as an ImportError there would be.
        if _must_not_skip(report):
            _fail(report)


def _must_not_skip(report: pytest.TestReport | pytest.CollectReport) -> bool:
    if not report.skipped or hasattr(report, "wasxfail"):  # an xfail is reported as skipped too: not a skip
        return False
    return not any(allowed in _skip_reason(report) for allowed in ALLOWED_SKIPS)


def _skip_reason(report: pytest.TestReport | pytest.CollectReport) -> str:
    # A skip's longrepr is (file, line, "Skipped: reason").
    return str(report.longrepr[-1] if isinstance(report.longrepr, tuple) else report.longrepr)


def _fail(report: pytest.TestReport | pytest.CollectReport) -> None:
    report.outcome = "failed"
    report.longrepr = (f"skipped where it must run ({REQUIRE_ALL} is set; a skip allowed everywhere belongs on "
                       f"ALLOWED_SKIPS in tests/conftest.py): {_skip_reason(report)}")


BIGBENCH_STAND_IN = Path(__file__).parent / "data" / "bigbench_tasks"
"""task.json files in BIG-bench's format, for the tests that only need a task to plan (not its real content)."""


def pytest_configure(config):
    if os.environ.get(REQUIRE_ALL):
        config.pluginmanager.register(RequireAll(), "tony-require-all")
    # When the package registry would not give us bigbench 1.0.0, tests that need some BIG-bench task still
    # run on the stand-in folder; tests of the real task files check for the package itself and skip.
    import importlib.util

    if importlib.util.find_spec("bigbench") is None and not os.environ.get("TONY_BIGBENCH_DIR"):
        os.environ["TONY_BIGBENCH_DIR"] = str(BIGBENCH_STAND_IN)
