"""tony's cache folder and the remembered file digests (tony.core.files), and the modules that use them."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tony.core import wordnet
from tony.core.files import DIGESTS_FILE, cache_dir, file_digest


def test_the_cache_folder_is_the_environment_s_else_the_home_cache(tmp_path: Path,
                                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    assert cache_dir() == tmp_path / "cache"
    monkeypatch.setenv("TONY_CACHE_DIR", "~/elsewhere")
    assert cache_dir() == tmp_path / "home" / "elsewhere"
    for unset in (lambda: monkeypatch.setenv("TONY_CACHE_DIR", ""), lambda: monkeypatch.delenv("TONY_CACHE_DIR")):
        unset()  # set but empty counts as unset
        assert cache_dir() == tmp_path / "home" / ".cache" / "tony"
    assert not (tmp_path / "home").exists()  # only named, not created


def test_wordnet_copies_its_files_into_the_cache_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    assert wordnet.nltk_data_dir() == tmp_path / "cache" / "nltk_data"


def test_a_file_digest_is_its_sha256_computed_once_per_version(tmp_path: Path,
                                                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TONY_CACHE_DIR", str(tmp_path / "cache"))
    weights = tmp_path / "model.gguf"
    weights.write_bytes(b"\x00weights" * 300_000)  # over one 1 MiB read block
    expected = hashlib.sha256(weights.read_bytes()).hexdigest()
    assert file_digest(weights) == expected
    memo = tmp_path / "cache" / DIGESTS_FILE
    stat = weights.stat()
    entry = f"{weights.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    assert json.loads(memo.read_text()) == {entry: expected}
    memo.write_text(json.dumps({entry: "remembered"}))  # the file is not read again while it is unchanged
    assert file_digest(weights) == "remembered"
    weights.write_bytes(b"other weights")
    os.utime(weights, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    assert file_digest(weights) == hashlib.sha256(b"other weights").hexdigest()
    assert len(json.loads(memo.read_text())) == 2 and not list(memo.parent.glob("*.tmp"))


def test_the_weights_identity_no_longer_imports_the_model_registry() -> None:
    code = ("import sys, tony.lm.clients.hf_weights, tony.lm.clients.hf_loading; "
            "print('tony.lm.clients.models' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"
