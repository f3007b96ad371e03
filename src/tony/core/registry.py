"""Named, lazily imported components of every kind: scenarios, models, metrics, studies, CLI commands, and the
domains' own tables (ICL function classes, baselines and presets, vision models, ...).

Built-in components are listed in `tony.catalog` as "module:attr" strings (or "module" for a module itself), so
listing them imports nothing. Code registers more with `add` or the `register` decorator; third-party packages add
theirs through the `tony.plugins` entry-point group (each entry point names a callable taking the registry). Every
look-up is `registry.get(kind, name)`, so an unknown name always gets the same one-line "did you mean" error.

A plugin package declares its callable in its pyproject.toml and registers what it brings, e.g. a command of
`tony` (a module with `add_commands(subparsers)`, which imports argparse only, and `run(args) -> exit code`):

    [project.entry-points."tony.plugins"]
    mine = "my_package.tony_plugin:register"

    def register(registry):
        registry.add("command", "hello", "my_package.cli", "what `tony hello` does")
"""

from __future__ import annotations

import importlib
import os
import sys
from collections.abc import Callable, Iterator, Mapping
from typing import TYPE_CHECKING, Any, NamedTuple

from tony.core.errors import SpecError, UnknownComponentError

if TYPE_CHECKING:
    from tony.core.metric_info import MetricInfo

PLUGIN_GROUP = "tony.plugins"


class Kind(NamedTuple):
    """One kind of component."""

    name: str
    """What `tony ls` and `registry.get` call the kind: scenario, icl_baseline, command, ..."""
    noun: str
    """What a message calls one component of it: "function class" in "unknown function class 'cubic'"."""
    description: str = ""
    """One line for `tony ls`."""


class Entry:
    """One registered component (a plain class, not a dataclass: `tony --help` builds one per built-in)."""

    __slots__ = ("kind", "name", "target", "description", "obj", "metric_info")

    def __init__(self, kind: str, name: str, target: str | None = None, description: str = "", obj: Any = None,
                 metric_info: MetricInfo | None = None) -> None:
        self.kind = kind
        """What sort of component: scenario, model, adapter, metric."""
        self.name = name
        """The name users type."""
        self.target = target
        """"module:attr" to import on first use, or "module" for the module itself (None once `obj` is set)."""
        self.description = description
        """One line for `tony ls`."""
        self.obj = obj
        """The component itself, once imported."""
        self.metric_info = metric_info
        """For a metric: the family its stats are reported under and which of its values are better."""

    def __repr__(self) -> str:
        return f"Entry({self.kind!r}, {self.name!r}, {self.target!r})"

    def load(self) -> Any:
        if self.obj is None:
            module_name, _, attr = (self.target or "").partition(":")
            try:
                module = importlib.import_module(module_name)
            except ImportError as err:
                raise SpecError(
                    f"{self.kind} '{self.name}' needs a package that is not installed ({err.name}); "
                    "install tony's extras, e.g. pip install 'tony[lm]'"
                ) from None
            self.obj = getattr(module, attr) if attr else module
        return self.obj


class Registry:
    def __init__(self) -> None:
        self._entries: dict[str, dict[str, Entry]] = {}
        self._kinds: dict[str, Kind] = {}
        self._plugins_loaded = False

    def add_kind(self, kind: str, noun: str, description: str = "") -> None:
        """Declare a kind of component: its noun in messages and its line in `tony ls`."""
        self._kinds[kind] = Kind(kind, noun, description)

    def add(self, kind: str, name: str, target: str, description: str = "", *,
            metric_info: MetricInfo | None = None) -> None:
        """Register a component by its "module:attr" address, imported on first use (a metric with its
        `metric_info`)."""
        self._entries.setdefault(kind, {})[name] = Entry(kind, name, target, description, metric_info=metric_info)

    def register(self, kind: str, name: str | None = None, description: str = "", *,
                 metric_info: MetricInfo | None = None) -> Callable:
        """Decorator registering an already-imported class or function (a metric with its `metric_info`)."""

        def wrap(obj: Any) -> Any:
            doc = (obj.__doc__ or "").strip().splitlines()
            entry = Entry(kind, name or obj.__name__, None, description or (doc[0] if doc else ""), obj, metric_info)
            self._entries.setdefault(kind, {})[entry.name] = entry
            return obj

        return wrap

    def entries(self, kind: str, *, plugins: bool = True) -> list[Entry]:
        """The entries of `kind` by name, nothing imported; `plugins=False` leaves out what plugins would add
        (without looking for any, which the command line does when it needs no plugin command)."""
        if plugins:
            self._load_plugins()
        return sorted(self._entries.get(kind, {}).values(), key=lambda e: e.name)

    def kinds(self) -> list[str]:
        """Every kind: the declared ones in the order declared, then any other that has entries."""
        self._load_plugins()
        return [*self._kinds, *sorted(set(self._entries) - set(self._kinds))]

    def kind(self, name: str) -> Kind:
        """The kind called `name`; an unknown one raises an UnknownComponentError naming the closest."""
        kinds = self.kinds()
        if name not in kinds:
            raise UnknownComponentError(_unknown("kind of component", name, kinds, "`tony ls` lists them"))
        return self._kinds.get(name) or Kind(name, name.replace("_", " "))

    def get(self, kind: str, name: str) -> Any:
        """The component `name` of `kind`, imported on first use; an unknown name raises an UnknownComponentError
        with the closest known name."""
        entry = self._entries.get(kind, {}).get(name)
        if entry is None:
            self._load_plugins()
            entry = self._entries.get(kind, {}).get(name)
        if entry is None:
            noun = self._kinds[kind].noun if kind in self._kinds else kind
            known = sorted(self._entries.get(kind, {}))
            raise UnknownComponentError(_unknown(noun, name, known, f"`tony ls {kind}` lists them"))
        return entry.load()

    def table(self, kind: str) -> ComponentTable:
        """`kind` as a read-only name -> component mapping, looked up through `get`."""
        return ComponentTable(self, kind)

    def _load_plugins(self) -> None:
        if self._plugins_loaded:
            return
        self._plugins_loaded = True
        if not _plugins_may_be_installed():
            return
        from importlib.metadata import entry_points

        for ep in entry_points(group=PLUGIN_GROUP):
            ep.load()(self)


class ComponentTable(Mapping[str, Any]):
    """One kind of the registry as a read-only mapping: its names come without importing anything, each value is
    loaded through `registry.get` on first access (an unknown name raises its did-you-mean error, not KeyError)."""

    def __init__(self, registry: Registry, kind: str) -> None:
        self._registry = registry
        self._kind = kind

    def __getitem__(self, name: str) -> Any:
        return self._registry.get(self._kind, name)

    def __iter__(self) -> Iterator[str]:
        return iter([entry.name for entry in self._registry.entries(self._kind)])

    def __len__(self) -> int:
        return len(self._registry.entries(self._kind))

    def __contains__(self, name: object) -> bool:
        return any(entry.name == name for entry in self._registry.entries(self._kind))

    def get(self, key: str, default: Any = None) -> Any:
        return self[key] if key in self else default


def _unknown(what: str, name: str, known: list[str], where: str) -> str:
    """The one-line message for an unknown name: the closest known one, where to look, all of them."""
    import difflib  # only on this error path: `tony --help` does not pay for it

    close = difflib.get_close_matches(name, known, n=1)
    hint = f"did you mean '{close[0]}'? " if close else ""
    return f"unknown {what} '{name}': {hint}{where} ({', '.join(known)})"


def _plugins_may_be_installed() -> bool:
    """Whether a distribution on sys.path may declare a `tony.plugins` entry point.

    A quick read of each *.dist-info and *.egg-info folder's entry_points.txt, so that without plugins the start-up
    skips importing importlib.metadata (about 40 ms, as long as the rest of `tony --help`). A sys.path entry that is
    a file (a zip archive) counts as a maybe: importlib.metadata then looks properly.
    """
    for path in sys.path:
        folder = path or "."
        try:
            names = os.listdir(folder)
        except NotADirectoryError:
            return True
        except OSError:
            continue
        for name in names:
            if name.lower().endswith((".dist-info", ".egg-info")):
                try:
                    with open(os.path.join(folder, name, "entry_points.txt"), encoding="utf-8") as declared:
                        if PLUGIN_GROUP in declared.read():
                            return True
                except (OSError, UnicodeDecodeError):
                    continue
    return False


def _builtin_registry() -> Registry:
    from tony.catalog import BUILTINS, KINDS, METRICS

    reg = Registry()
    for kind, noun, description in KINDS:
        reg.add_kind(kind, noun, description)
    for kind, name, target, description in BUILTINS:
        reg.add(kind, name, target, description)
    for name, target, description, info in METRICS:
        reg.add("metric", name, target, description, metric_info=info)
    return reg


registry = _builtin_registry()
