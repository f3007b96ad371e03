"""Chat templates: how an instruction-tuned model expects a conversation to be written.

A GGUF file carries its model's template (Jinja, as written for Hugging Face's
tokenizers) under the metadata key `tokenizer.chat_template`. `gguf_chat_template`
reads it, with the BOS and EOS token texts the template may use, from the file's
header alone (the weights are not loaded); `folder_chat_template` reads it from a
transformers model folder (`chat_template.jinja`, or `tokenizer_config.json`).
`ChatTemplate.render` writes a conversation as the exact text the model is prompted with.

Templates come from model files, so they are rendered in Jinja's immutable
sandbox. As Hugging Face's renderer does, blocks are trimmed (`trim_blocks`,
`lstrip_blocks`), `{% break %}`/`{% continue %}` work, `raise_exception(msg)`
aborts rendering (here with a one-line SpecError) and `tojson` leaves non-ASCII
text as it is.
"""

from __future__ import annotations

import json
import mmap
import struct
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from pathlib import Path
from typing import Any

from tony.core.errors import ModelError, SpecError

__all__ = ["ChatTemplate", "Message", "folder_chat_template", "gguf_chat_template", "gguf_metadata"]

Message = dict[str, str]
"""One turn of a conversation: {"role": "system" | "user" | "assistant", "content": text}."""


@dataclass(frozen=True)
class ChatTemplate:
    """A model's chat template and the special-token texts it may refer to."""

    source: str
    """The Jinja template text, as the model file carries it."""
    bos_token: str = ""
    """The text of the model's beginning-of-sequence token (the template's `bos_token`)."""
    eos_token: str = ""
    """The text of the model's end-of-sequence token (the template's `eos_token`)."""

    @cached_property
    def _compiled(self):
        from jinja2 import TemplateError
        from jinja2.sandbox import ImmutableSandboxedEnvironment

        env = ImmutableSandboxedEnvironment(
            trim_blocks=True, lstrip_blocks=True, extensions=["jinja2.ext.loopcontrols"]
        )
        env.globals["raise_exception"] = _raise_exception
        env.globals["strftime_now"] = lambda fmt: datetime.now().strftime(fmt)
        env.filters["tojson"] = _tojson
        try:
            return env.from_string(self.source)
        except TemplateError as err:
            raise ModelError(f"the model's chat template is not valid Jinja ({err}); use chat=false") from None

    def render(self, messages: list[Message], add_generation_prompt: bool = True) -> str:
        """The conversation as the model's prompt text; with `add_generation_prompt`, ending where the
        assistant's next turn begins."""
        from jinja2 import TemplateError

        try:
            return self._compiled.render(
                messages=messages,
                add_generation_prompt=add_generation_prompt,
                bos_token=self.bos_token,
                eos_token=self.eos_token,
            )
        except TemplateRejection as err:
            raise SpecError(f"the model's chat template rejected the conversation: {err}; use chat=false") from None
        except TemplateError as err:
            raise ModelError(f"the model's chat template failed to render ({err}); use chat=false") from None


class TemplateRejection(Exception):
    """Raised by a template's `raise_exception(message)`."""


def _raise_exception(message: str) -> None:
    raise TemplateRejection(message)


def _tojson(value: Any, indent: int | None = None) -> str:
    return json.dumps(value, ensure_ascii=False, indent=indent)


# GGUF metadata -----------------------------------------------------------------

_TEMPLATES: dict[str, ChatTemplate | None] = {}

# GGUF value types (gguf.md in llama.cpp's repository): fixed-size scalars by struct code.
_SCALARS = {0: "B", 1: "b", 2: "H", 3: "h", 4: "I", 5: "i", 6: "f", 7: "?", 10: "Q", 11: "q", 12: "d"}
_STRING, _ARRAY = 8, 9


def gguf_chat_template(path: Path, digest: str) -> ChatTemplate | None:
    """The chat template a GGUF file carries (None when it has none), remembered per weights digest."""
    if digest not in _TEMPLATES:
        meta = gguf_metadata(path, keep_arrays={"tokenizer.ggml.tokens"})
        source = meta.get("tokenizer.chat_template")
        if not isinstance(source, str) or not source.strip():
            _TEMPLATES[digest] = None
        else:
            tokens = meta.get("tokenizer.ggml.tokens") or []
            _TEMPLATES[digest] = ChatTemplate(
                source,
                bos_token=_token_text(tokens, meta.get("tokenizer.ggml.bos_token_id")),
                eos_token=_token_text(tokens, meta.get("tokenizer.ggml.eos_token_id")),
            )
    return _TEMPLATES[digest]


def folder_chat_template(folder: Path) -> ChatTemplate | None:
    """The chat template of a transformers model folder (None when it has none): `chat_template.jinja`, where
    recent transformers saves it, else `tokenizer_config.json`'s "chat_template" (a string, or a list of named
    templates of which "default" is the chat one); the BOS and EOS token texts from `tokenizer_config.json`."""
    config_file = folder / "tokenizer_config.json"
    try:
        config = json.loads(config_file.read_text(encoding="utf-8")) if config_file.is_file() else {}
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
        raise ModelError(f"cannot read {config_file}: {err}; fix or remove the file") from None
    jinja = folder / "chat_template.jinja"
    source: Any = jinja.read_text(encoding="utf-8") if jinja.is_file() else config.get("chat_template")
    if isinstance(source, list):  # [{"name": ..., "template": ...}, ...]
        source = next((t.get("template") for t in source if isinstance(t, dict) and t.get("name") == "default"), None)
    if not isinstance(source, str) or not source.strip():
        return None
    return ChatTemplate(source, bos_token=_special_text(config.get("bos_token")),
                        eos_token=_special_text(config.get("eos_token")))


def _special_text(token: Any) -> str:
    """A special token's text as tokenizer_config.json gives it: a string, or an object with "content"."""
    if isinstance(token, dict):
        token = token.get("content")
    return token if isinstance(token, str) else ""


def _token_text(tokens: list[str], token_id: Any) -> str:
    return tokens[token_id] if isinstance(token_id, int) and 0 <= token_id < len(tokens) else ""


def gguf_metadata(path: Path, keep_arrays: AbstractSet[str] = frozenset()) -> dict[str, Any]:
    """The key/value metadata of a GGUF file (versions 2 and 3), read from its header.

    Arrays are skipped (they hold the vocabulary and merges) except those named in `keep_arrays`.
    """
    try:
        with path.open("rb") as handle, mmap.mmap(handle.fileno(), 0, access=mmap.ACCESS_READ) as data:
            return _GGUFReader(data).metadata(keep_arrays)
    except (OSError, ValueError) as err:
        raise ModelError(f"cannot read the GGUF file {path}: {err}") from None


class _GGUFReader:
    """Walks a GGUF header: magic, version, tensor count, key/value count, then the key/values."""

    def __init__(self, data: mmap.mmap) -> None:
        self.data = data
        self.at = 0

    def metadata(self, keep_arrays: AbstractSet[str]) -> dict[str, Any]:
        if self.data[:4] != b"GGUF":
            raise ValueError("not a GGUF file (bad magic)")
        self.at = 4
        version = self._scalar("I")
        if version not in (2, 3):
            raise ValueError(f"GGUF version {version} is not supported (2 or 3 are)")
        self._scalar("Q")  # tensor count
        meta: dict[str, Any] = {}
        for _ in range(self._scalar("Q")):
            key = self._string()
            kind = self._scalar("I")
            meta[key] = self._value(kind, keep=key in keep_arrays)
        return meta

    def _scalar(self, code: str) -> Any:
        (value,) = struct.unpack_from("<" + code, self.data, self.at)
        self.at += struct.calcsize(code)
        return value

    def _string(self) -> str:
        size = self._scalar("Q")
        if self.at + size > len(self.data):
            raise ValueError("truncated string in the header")
        text = self.data[self.at : self.at + size].decode("utf-8", errors="replace")
        self.at += size
        return text

    def _value(self, kind: int, *, keep: bool) -> Any:
        if kind in _SCALARS:
            return self._scalar(_SCALARS[kind])
        if kind == _STRING:
            return self._string()
        if kind != _ARRAY:
            raise ValueError(f"unknown metadata value type {kind}")
        item_kind, count = self._scalar("I"), self._scalar("Q")
        if keep:
            return [self._value(item_kind, keep=True) for _ in range(count)]
        if item_kind in _SCALARS:  # skip fixed-size items at once
            self.at += count * struct.calcsize(_SCALARS[item_kind])
        elif item_kind == _STRING:  # skip each string by its length
            for _ in range(count):
                size = self._scalar("Q")
                self.at += size
        else:
            for _ in range(count):
                self._value(item_kind, keep=False)
        return None
