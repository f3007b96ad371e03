"""The data root: where tony finds the files of public data sets, and what it knows of them.

The root is, in order: the folder given by `--data` (which sets TONY_DATA for the process and
its workers), the environment variable TONY_DATA, then the first of `./data` and
`../shared/data` that exists. A data set names its files relative to the root, so the same
spec runs wherever a copy of the files lives; a missing file is a one-line
DataNotInstalledError naming the file, the root searched and how to point tony at a copy.
"""

from __future__ import annotations

import csv
import io
import json
import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any, NamedTuple

from tony.core.errors import DataError, DataNotInstalledError

ENV = "TONY_DATA"
DEFAULT_ROOTS = ("data", "../shared/data")
"""Looked for, relative to the working directory, when neither --data nor TONY_DATA is set."""


def use_data_root(path: str | Path) -> Path:
    """Make `path` the data root of this process and the processes it starts (what `--data` does)."""
    root = Path(path).expanduser()
    if not root.is_dir():
        raise DataError(f"--data {path}: no such folder; give the folder that holds the data sets")
    os.environ[ENV] = str(root.resolve())
    return root


def data_root() -> tuple[Path | None, str]:
    """(the data root or None, where it came from) for messages."""
    given = os.environ.get(ENV)
    if given:
        return Path(given), f"{ENV}={given}"
    for candidate in DEFAULT_ROOTS:
        if Path(candidate).is_dir():
            return Path(candidate), f"default ./{candidate}"
    return None, f"no --data, no {ENV}, and neither " + " nor ".join(f"./{c}" for c in DEFAULT_ROOTS) + " exists"


def _missing(relative: str, dataset: str) -> DataNotInstalledError:
    root, origin = data_root()
    where = f"{root} ({origin})" if root is not None else f"the data root ({origin})"
    return DataNotInstalledError(
        f"{dataset}: {relative} not found under {where}; put the {dataset} files there, "
        f"or point tony at a copy with --data DIR or {ENV}=DIR (`tony data` lists what is found)"
    )


def data_file(relative: str, *, dataset: str) -> Path:
    """The file `relative` under the data root; DataNotInstalledError when it is not there."""
    root, _ = data_root()
    path = root / relative if root is not None else None
    if path is None or not path.is_file():
        raise _missing(relative, dataset)
    return path


def data_files(pattern: str, *, dataset: str) -> list[Path]:
    """Files matching the glob `pattern` under the data root, sorted; DataNotInstalledError when none do."""
    root, _ = data_root()
    found = sorted(p for p in root.glob(pattern) if p.is_file()) if root is not None else []
    if not found:
        raise _missing(pattern, dataset)
    return found


def read_text(path: Path) -> str:
    """A data file's text (UTF-8, a BOM allowed); DataError "file:line: ..." where it is missing, unreadable or
    not UTF-8."""
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise DataError(f"{path}: no such file") from None
    except OSError as err:
        raise DataError(f"{path}: cannot read the file ({err.strerror}); check its permissions") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as err:
        line = data[: err.start].count(b"\n") + 1
        raise DataError(f"{path}:{line}: not valid UTF-8 (byte {err.start}); re-save the file as UTF-8") from None


def csv_rows(path: Path, columns: tuple[str, ...], fix: str) -> list[tuple[int, dict[str, str]]]:
    """(line where the record starts, {column: value}) for every non-blank data row of a CSV file whose header
    has every one of `columns` (others are kept); a one-line DataError "file:line: ...; <fix>" when it is bad."""
    # strict: an unterminated quote is an error, not a field that swallows the rest of the file.
    reader = csv.reader(io.StringIO(read_text(path), newline=""), strict=True)
    header = _next_csv_record(reader, path, fix)
    if header is None:
        raise DataError(f"{path}:1: the file is empty; {fix}")
    missing = [c for c in columns if c not in header]
    if missing:
        raise DataError(f"{path}:1: the header has no column {', '.join(map(repr, missing))}; "
                        f"expected {', '.join(columns)}; {fix}")
    rows = []
    while True:
        line = reader.line_num + 1
        record = _next_csv_record(reader, path, fix)
        if record is None:
            break
        if not any(field.strip() for field in record):
            continue  # a blank line
        if len(record) != len(header):
            how = "fewer" if len(record) < len(header) else "more"
            raise DataError(f"{path}:{line}: {len(record)} fields, {how} than the header's {len(header)} "
                            f"(a truncated row, or an unquoted comma); {fix}")
        rows.append((line, dict(zip(header, record, strict=True))))
    if not rows:
        raise DataError(f"{path}: no rows after the header; {fix}")
    return rows


def _next_csv_record(reader: Any, path: Path, fix: str) -> list[str] | None:
    start = reader.line_num + 1
    try:
        return next(reader)
    except StopIteration:
        return None
    except csv.Error as err:
        if "unexpected end of data" in str(err):
            raise DataError(f"{path}:{start}: unterminated quote, the record starting here runs to the end of the "
                            f"file (a truncated file?); {fix}") from None
        raise DataError(f"{path}:{start}: malformed CSV ({err}); {fix}") from None


class JsonlRow(NamedTuple):
    """One object of a JSON-lines file."""

    where: str
    """"file:line", for messages."""
    line: int
    """Its line number, from 1."""
    data: dict[str, Any]
    """The object."""


def jsonl_rows(path: Path) -> list[JsonlRow]:
    """Every non-blank line of a JSON-lines file as an object, in order; a line that is not JSON, or not a JSON
    object, is a one-line DataError naming file and line. A file without rows gives []."""
    rows = []
    for number, line in enumerate(read_text(path).split("\n"), start=1):
        if not line.strip():
            continue
        where = f"{path}:{number}"
        try:
            row = json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{where}: invalid JSON ({err.msg} at column {err.colno}); fix the line") from None
        if not isinstance(row, dict):
            raise DataError(f"{where}: expected a JSON object, got {type(row).__name__}; write one object per line")
        rows.append(JsonlRow(where, number, row))
    return rows


@dataclass(frozen=True)
class Dataset:
    """A public data set tony reads from the data root (`tony data` lists them)."""

    name: str
    """What users call it; scenarios of the same name read it."""
    files: tuple[str, ...]
    """Its files relative to the data root; a glob pattern stands for every file matching it."""
    license: str
    """The license it is published under."""
    source: str
    """Where the public original lives."""
    description: str = ""
    """One line for `tony data`."""

    def status(self) -> dict[str, object]:
        """found / partial / missing, the files found, and their rows (data lines, or CSV records)."""
        root, origin = data_root()
        found: list[Path] = []
        missing: list[str] = []
        for pattern in self.files:
            matches = sorted(p for p in root.glob(pattern) if p.is_file()) if root is not None else []
            found += matches
            if not matches:
                missing.append(pattern)
        state = "found" if not missing else "partial" if found else "missing"
        return {
            "name": self.name, "status": state, "root": str(root) if root else None, "root_from": origin,
            "files": [str(p) for p in found], "missing": missing, "rows": sum(count_rows(p) for p in found),
            "license": self.license, "source": self.source, "description": self.description,
        }


def count_rows(path: Path) -> int:
    """Records in a data file: CSV rows after the header (quoted newlines included), else non-blank lines."""
    with path.open(encoding="utf-8", newline="") as handle:
        if path.suffix == ".csv":
            return max(sum(1 for _ in csv.reader(handle)) - 1, 0)
        return sum(1 for line in handle if line.strip())
