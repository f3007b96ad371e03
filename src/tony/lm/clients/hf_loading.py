"""Loading transformers models and tokenizers from local files, and converting a GGUF to a folder.

Only local files are read (``local_files_only``): nothing is downloaded. A converted folder
reloads in seconds where dequantizing the GGUF takes a minute or more.
"""

from __future__ import annotations

import gc
import json
from pathlib import Path
from typing import Any

from tony.core.errors import ModelError
from tony.core.files import file_digest

SOURCE_FILE = "tony-source.json"
"""Written by convert_gguf_to_folder beside the weights: which GGUF they came from."""


def import_backend() -> tuple[Any, Any]:
    """(torch, transformers), or a ModelError saying which extra to install."""
    try:
        import torch
        import transformers
    except ImportError as error:
        raise ModelError(
            f"the transformers client needs torch and transformers ({error.name} is missing): pip install 'tony[hf]'"
        ) from error
    return torch, transformers


def _dtype_kwarg(transformers: Any, torch_dtype: Any) -> dict[str, Any]:
    major, minor = (int(x) for x in transformers.__version__.split(".")[:2])
    return {"dtype": torch_dtype} if (major, minor) >= (4, 56) else {"torch_dtype": torch_dtype}


def load_model(folder: Path, gguf_file: str | None, dtype: str, device: str) -> tuple[Any, Any]:
    """(tokenizer, model) from a folder (or the GGUF `gguf_file` in it), in eval mode on `device`."""
    torch, transformers = import_backend()
    torch_dtype = getattr(torch, dtype, None)
    if not isinstance(torch_dtype, torch.dtype):
        raise ModelError(f"unknown dtype {dtype!r}; pass float32, bfloat16 or float16")
    extra = {"gguf_file": gguf_file} if gguf_file else {}
    try:
        tokenizer = plain_fast_tokenizer(transformers, folder) if not gguf_file else None
        if tokenizer is None:
            tokenizer = transformers.AutoTokenizer.from_pretrained(str(folder), local_files_only=True, **extra)
        model = transformers.AutoModelForCausalLM.from_pretrained(
            str(folder), local_files_only=True, **_dtype_kwarg(transformers, torch_dtype), **extra
        )
    except (OSError, ValueError, ImportError, KeyError) as error:
        first_line = str(error).strip().splitlines()[0] if str(error).strip() else type(error).__name__
        raise ModelError(f"could not load the model from {folder / (gguf_file or '')}: {first_line}") from error
    model.to(device)
    model.eval()
    return tokenizer, model


PLAIN_FAST_TOKENIZERS = ("GemmaTokenizer", "GemmaTokenizerFast", "PreTrainedTokenizerFast")
"""Tokenizer classes that add nothing to their tokenizer.json (checked for Gemma in the tests)."""


def plain_fast_tokenizer(transformers: Any, folder: Path) -> Any | None:
    """The folder's tokenizer.json wrapped directly, for the classes that only wrap it; None otherwise.

    AutoTokenizer parses the 33 MB tokenizer.json of a 262,144-token vocabulary in Python (about
    4.5 s here); the Rust parser takes about a third of that.
    """
    file, config_file = folder / "tokenizer.json", folder / "tokenizer_config.json"
    if not (file.is_file() and config_file.is_file()):
        return None
    config = json.loads(config_file.read_text(encoding="utf-8"))
    if config.get("tokenizer_class") not in PLAIN_FAST_TOKENIZERS:
        return None
    special = {k: v for k in ("bos_token", "eos_token", "pad_token", "unk_token", "mask_token")
               if isinstance(v := config.get(k), str)}
    return transformers.PreTrainedTokenizerFast(tokenizer_file=str(file), **special)


def convert_gguf_to_folder(gguf_path: str | Path, out_dir: str | Path, *, overwrite: bool = False) -> Path:
    """Load a GGUF once (dequantized to float32) and save model + tokenizer to ``out_dir``.

    Loading the folder afterwards takes seconds instead of a minute or more. Returns
    ``out_dir``; when it already holds a conversion of the same GGUF (same sha256), nothing is
    done unless ``overwrite``.
    """
    gguf = Path(gguf_path).expanduser()
    if not gguf.is_file():
        raise ModelError(f"GGUF file not found: {gguf}; pass the path of a .gguf file")
    out = Path(out_dir).expanduser()
    digest = file_digest(gguf)
    source = out / SOURCE_FILE
    if not overwrite and (out / "config.json").is_file() and source.is_file():
        if json.loads(source.read_text()).get("gguf_sha256") == digest:
            return out
    _, transformers = import_backend()
    tokenizer, model = load_model(gguf.parent, gguf.name, "float32", "cpu")
    # The GGUF loader leaves a (non-serializable) quantizer attached even though the weights
    # were dequantized into plain tensors; drop it so save_pretrained writes them as they are.
    if any(type(m).__name__.startswith("Gguf") for m in model.modules()):
        raise ModelError("this GGUF was loaded with packed GGUF kernels; uninstall `kernels` to convert it")
    model.hf_quantizer = None
    if hasattr(model.config, "quantization_config"):
        del model.config.quantization_config
    out.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(str(out))
    tokenizer.save_pretrained(str(out))
    source.write_text(
        json.dumps(
            {"gguf_file": gguf.name, "gguf_sha256": digest, "transformers_version": transformers.__version__},
            indent=1,
        )
        + "\n"
    )
    del model
    gc.collect()
    return out
