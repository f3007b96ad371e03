"""Content-keyed specs: frozen, validated descriptions of work."""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from tony.core.errors import DataError, SpecError


def canonical_json(value: Any) -> str:
    """JSON with sorted keys and no whitespace, so equal values give equal text."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, default=str)


def content_key(value: Any) -> str:
    """SHA-256 of the canonical JSON of `value`."""
    return hashlib.sha256(canonical_json(value).encode("utf-8")).hexdigest()


def read_spec_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a JSON or YAML spec file; a DataError when it cannot be read."""
    file = Path(path)
    try:
        content = file.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise DataError(f"spec file not found: {file}") from None
    except (OSError, UnicodeDecodeError) as err:
        raise DataError(f"cannot read spec file {file}: {err}") from None
    try:
        if file.suffix == ".json":
            data = json.loads(content)
        else:
            import yaml

            data = yaml.safe_load(content)
    except Exception as err:  # noqa: BLE001 - json.JSONDecodeError, yaml.YAMLError
        raise DataError(f"spec file {file} is not valid {file.suffix.lstrip('.') or 'YAML'}: "
                        f"{str(err).splitlines()[0]}") from None
    if not isinstance(data, dict):
        raise DataError(f"spec file {file} must hold a mapping of spec fields")
    return data


class Spec(BaseModel):
    """Base of every spec. Frozen; `key()` identifies its content.

    The class name is part of the key, so two kinds of spec with equal
    fields never share results.
    """

    model_config = ConfigDict(frozen=True, extra="forbid")

    def key(self) -> str:
        return content_key({"kind": type(self).__name__, "spec": self.model_dump(mode="json")})

    @classmethod
    def parse(cls, data: dict[str, Any]):
        """Validate `data`, turning pydantic's report into a one-line SpecError."""
        try:
            return cls.model_validate(data)
        except ValidationError as err:
            first = err.errors()[0]
            where = ".".join(str(p) for p in first["loc"]) or cls.__name__
            raise SpecError(f"invalid {cls.__name__} field '{where}': {first['msg']}") from None
