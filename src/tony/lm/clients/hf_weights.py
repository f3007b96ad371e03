"""Identity of transformers weights without loading them, and resolving a model path.

Identity: ``"transformers:" + sha256 of the GGUF file`` for a GGUF; for a model folder,
``"transformers:" + sha256`` of a JSON listing the folder's weight files (names and sizes) and
the sha256 of its ``config.json``. A dtype other than float32 is appended (``:bfloat16``), as
it changes the numbers.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

from tony.core.errors import ModelError
from tony.core.files import file_digest

WEIGHT_SUFFIXES = (".safetensors", ".bin", ".pt", ".pth", ".msgpack", ".h5")
"""Files of a model folder that count as weights for the folder's identity."""
_PATH_HELP = (
    "pass a folder saved by convert_gguf_to_folder / save_pretrained, a .gguf file, "
    "or a folder together with gguf_file=NAME"
)


def folder_weights_hash(folder: str | Path) -> str:
    """sha256 over the weight files' names and sizes and the sha256 of config.json.

    Cheap (no weight bytes are read); a re-saved or re-converted folder gets a new hash
    because config.json records the transformers version and dtype.
    """
    folder = Path(folder)
    weights = sorted(
        [p.name, p.stat().st_size]
        for p in folder.iterdir()
        if p.is_file() and (p.name.endswith(WEIGHT_SUFFIXES) or p.name.endswith(".index.json"))
    )
    config = folder / "config.json"
    payload = {"config_sha256": file_digest(config) if config.exists() else None, "weights": weights}
    return hashlib.sha256(json.dumps(payload, sort_keys=True).encode()).hexdigest()


def weights_identity(path: str | Path, *, gguf_file: str | None = None, dtype: str = "float32") -> str:
    """The client's identity for these weights, without loading them (see the module docstring)."""
    folder, gguf_name = resolve_model_path(path, gguf_file)
    weights_hash = file_digest(folder / gguf_name) if gguf_name else folder_weights_hash(folder)
    return "transformers:" + weights_hash + ("" if dtype == "float32" else f":{dtype}")


def resolve_model_path(path: str | Path, gguf_file: str | None) -> tuple[Path, str | None]:
    """(folder, gguf file name or None) for a folder, a folder + gguf_file, or a .gguf path."""
    p = Path(path).expanduser()
    if gguf_file is None and p.suffix.lower() == ".gguf":
        if not p.is_file():
            raise ModelError(f"GGUF file not found: {p}; {_PATH_HELP}")
        return p.parent, p.name
    if not p.is_dir():
        raise ModelError(f"model path not found: {p}; {_PATH_HELP}")
    if gguf_file is not None:
        if not (p / gguf_file).is_file():
            raise ModelError(f"GGUF file {gguf_file!r} not found in {p}; {_PATH_HELP}")
        return p, gguf_file
    if not (p / "config.json").is_file():
        raise ModelError(f"{p} is not a transformers model folder (no config.json); {_PATH_HELP}")
    return p, None
