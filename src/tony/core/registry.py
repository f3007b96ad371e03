"""Named, lazily imported components: scenarios, models, adapters, metrics.

Built-in components are listed in `tony.catalog` as "module:attr" strings,
so listing them imports nothing. Code registers more with the `register`
decorator; third-party packages add theirs through the `tony.plugins`
entry-point group (each entry point names a callable taking the registry).
"""

from __future__ import annotations

import difflib
import importlib
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from tony.core.errors import SpecError, UnknownComponentError

PLUGIN_GROUP = "tony.plugins"


@dataclass
class Entry:
    """One registered component."""

    kind: str
    """What sort of component: scenario, model, adapter, metric."""
    name: str
    """The name users type."""
    target: str | None = None
    """"module:attr" to import on first use (None once `obj` is set)."""
    description: str = ""
    """One line for `tony ls`."""
    obj: Any = field(default=None, repr=False)
    """The component itself, once imported."""

    def load(self) -> Any:
        if self.obj is None:
            module_name, _, attr = (self.target or "").partition(":")
            try:
                self.obj = getattr(importlib.import_module(module_name), attr)
            except ImportError as err:
                raise SpecError(
                    f"{self.kind} '{self.name}' needs a package that is not installed ({err.name}); "
                    "install tony's extras, e.g. pip install 'tony[lm]'"
                ) from None
        return self.obj


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {}
        self._plugins_loaded = False

    def add(self, kind: str, name: str, target: str, description: str = "") -> None:
        """Register a component by its "module:attr" address, imported on first use."""
        self._entries.setdefault(kind, {})[name] = Entry(kind, name, target, description)

    def register(self, kind: str, name: str | None = None, description: str = "") -> Callable:
        """Decorator registering an already-imported class or function."""

        def wrap(obj: Any) -> Any:
            doc = (obj.__doc__ or "").strip().splitlines()
            entry = Entry(kind, name or obj.__name__, None, description or (doc[0] if doc else ""), obj)
            self._entries.setdefault(kind, {})[entry.name] = entry
            return obj

        return wrap

    def entries(self, kind: str) -> list[Entry]:
        self._load_plugins()
        return sorted(self._entries.get(kind, {}).values(), key=lambda e: e.name)

    def kinds(self) -> list[str]:
        self._load_plugins()
        return sorted(self._entries)

    def get(self, kind: str, name: str) -> Any:
        entry = self._entries.get(kind, {}).get(name)
        if entry is None:
            self._load_plugins()
            entry = self._entries.get(kind, {}).get(name)
        if entry is None:
            known = sorted(self._entries.get(kind, {}))
            close = difflib.get_close_matches(name, known, n=1)
            hint = f"did you mean '{close[0]}'? " if close else ""
            raise UnknownComponentError(
                f"unknown {kind} '{name}': {hint}`tony ls` lists them ({', '.join(known)})"
            )
        return entry.load()

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        from importlib.metadata import entry_points

        for ep in entry_points(group=PLUGIN_GROUP):
            ep.load()(self)


def _builtin_registry() -> Registry:
    from tony.catalog import BUILTINS

    reg = Registry()
    for kind, name, target, description in BUILTINS:
        reg.add(kind, name, target, description)
    return reg


registry = _builtin_registry()
