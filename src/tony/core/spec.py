"""Content-keyed specs: frozen, validated descriptions of work."""

from __future__ import annotations

import hashlib
import json
import types
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any, Union, get_args, get_origin

from pydantic import BaseModel, ConfigDict, TypeAdapter, ValidationError

from tony.core.errors import DataError, SpecError

if TYPE_CHECKING:
    from tony.core.runner import Task
    from tony.core.store import Store


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_key(value: Any) -> str:
    """SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a JSON or YAML spec file; a DataError when it cannot be read."""
    data = read_config_file(path, "spec file")
    if not isinstance(data, dict):
        raise DataError(f"spec file {path} must hold a mapping of spec fields")
    return data


def read_config_file(path: str | Path, what: str) -> Any:
    """What a JSON (.json) or YAML (any other suffix) file a user wrote holds; a one-line DataError naming it as
    `what` ("spec file", "suite file") when it is missing, unreadable, not UTF-8 or not valid."""
    file = Path(path)
    try:
        content = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"{what} not found: {file}") from None
    except UnicodeDecodeError:
        raise DataError(f"{what} {file} is not UTF-8; re-save it as UTF-8") from None
    except OSError as err:
        raise DataError(f"cannot read {what} {file}: {err.strerror}") from None
    try:
        if file.suffix == ".json":
            return json.loads(content)
        import yaml

        return yaml.safe_load(content)
    except Exception as err:  # noqa: BLE001 - json.JSONDecodeError, yaml.YAMLError
        raise DataError(f"{what} {file} is not valid {'JSON' if file.suffix == '.json' else 'YAML'}: "
                        f"{str(err).splitlines()[0]}") from None


class Spec(BaseModel):
    """Base of every spec. Frozen; `key()` identifies its content.

    The key is the SHA-256 of the canonical JSON of {"kind": the class name, "spec": `key_fields()`}: the
    fields that differ from their defaults, so adding a field with a default to a spec class keeps the key
    of every spec that leaves it at that default (and every result stored under it). The class name is part
    of the key, so two kinds of spec with equal fields never share results. Changing a field's default
    changes what the specs that leave it out mean: that needs a store migration, as renaming a field does.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def key(self) -> str:
        return content_key({"kind": type(self).__name__, "spec": self.key_fields()})

    def key_fields(self) -> dict[str, Any]:
        """The fields that differ from their defaults, as JSON: what `key()` hashes.

        A field differs from its default when the canonical JSON text of its value, as `model_dump(mode="json")`
        writes it, differs from that of its class's default (`default`, or what `default_factory` returns),
        validated as the field's type and written the same way. Comparing text, not Python values: a value
        set explicitly to the default (given as [] for a tuple, or 1 for a float) is left out like one never
        set, and 0, 0.0 and false stay apart where the type keeps them apart. Required fields are always in.
        Defaults are the concrete class's, so a subclass that changes a default is compared with its own.
        A nested spec (a field, or an item of a tuple, list or dict field, declared as a Spec class, or as
        that class or None) whose value differs from the field's default is written as its own `key_fields()`,
        recursively; the nested class name is not written (the field's declared class fixes it).
        """
        return _key_fields(type(self), self.model_dump(mode="json"))

    @classmethod
    def parse(cls, data: dict[str, Any]):
        """Validate `data`, turning pydantic's report into a one-line SpecError."""
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or cls.__name__
            raise SpecError(f"invalid {cls.__name__} field '{where}': {first['msg']}") from None


def _key_fields(cls: type[Spec], data: dict[str, Any]) -> dict[str, Any]:
    """`data` (a `cls` spec as JSON) without the fields at their defaults, nested specs reduced likewise."""
    defaults = _default_texts(cls)
    # Fields only: a computed field is derived from them, and one excluded from dumps was never in a key.
    return {name: _key_value(field.annotation, data[name]) for name, field in cls.model_fields.items()
            if name in data and canonical_json(data[name]) != defaults.get(name)}


def _key_value(annotation: Any, value: Any) -> Any:
    """`value` (JSON of a field declared as `annotation`) with every nested spec in it reduced to its key fields."""
    if isinstance(annotation, type) and issubclass(annotation, Spec):
        return _key_fields(annotation, value)
    origin, args = get_origin(annotation), get_args(annotation)
    if origin in (Union, types.UnionType):
        choices = [a for a in args if a is not type(None)]
        # Only `X | None` names one class; a value of a union of several classes is kept whole.
        return value if value is None or len(choices) != 1 else _key_value(choices[0], value)
    if origin in (tuple, list) and args:
        items = args[:1] * len(value) if origin is list or args[-1] is Ellipsis else args
        return [_key_value(item, v) for item, v in zip(items, value, strict=True)]
    if origin is dict and args:
        return {k: _key_value(args[1], v) for k, v in value.items()}
    return value


@cache
def _default_texts(cls: type[Spec]) -> dict[str, str]:
    """The canonical JSON of each defaulted field's default (validated as the field's type, then dumped)."""
    texts = {}
    for name, field in cls.model_fields.items():
        if not field.is_required():
            # A model field's annotation is never None (pydantic stores `x: None` as NoneType); only a
            # FieldInfo outside a model has none, hence the Optional in pydantic's types.
            adapter = TypeAdapter(field.annotation)  # type: ignore[arg-type]
            default = adapter.validate_python(field.get_default(call_default_factory=True))
            texts[name] = canonical_json(adapter.dump_python(default, mode="json"))
    return texts


class RunnableSpec(Spec):
    """A spec that its domain turns into a `tony.core.runner.Task`, which the executors run and store."""

    def task(self, store: Store) -> Task:
        raise NotImplementedError
