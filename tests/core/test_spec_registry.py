"""Specs are keyed by content; the registry is lazy and takes plugins from entry points."""

from __future__ import annotations

import inspect
import sys
import textwrap
from collections.abc import Callable
from typing import Any

import pytest
from pydantic import ValidationError

from tony.core.errors import SpecError, UnknownComponentError
from tony.core.registry import Registry
from tony.core.spec import Spec, content_key


class Point(Spec):
    x: int
    y: int = 0


class OtherPoint(Spec):
    x: int
    y: int = 0


def test_key_depends_on_content_and_kind_only():
    assert Point(x=1).key() == Point(y=0, x=1).key()
    assert Point(x=1).key() != Point(x=2).key()
    assert Point(x=1).key() != OtherPoint(x=1).key()
    assert content_key({"a": 1, "b": 2}) == content_key({"b": 2, "a": 1})


def test_specs_are_frozen_and_reject_unknown_fields():
    point = Point(x=1)
    with pytest.raises(ValidationError):
        point.x = 3
    with pytest.raises(SpecError) as err:
        Point.parse({"x": 1, "z": 2})
    assert "\n" not in str(err.value) and "z" in str(err.value)


def test_parse_coerces_run_entry_strings():
    assert Point.parse({"x": "4"}) == Point(x=4)
    with pytest.raises(SpecError, match="x"):
        Point.parse({"x": "four"})


def test_lazy_entries_import_on_first_use():
    registry = Registry()
    registry.add("thing", "decoder", "json:JSONDecoder", "a lazily imported class")
    assert [e.name for e in registry.entries("thing")] == ["decoder"]
    assert registry.entries("thing")[0].obj is None
    import json

    assert registry.get("thing", "decoder") is json.JSONDecoder


def test_unknown_name_suggests_the_closest():
    registry = Registry()
    registry.add("scenario", "bigbench", "json:loads")
    with pytest.raises(UnknownComponentError, match="did you mean 'bigbench'"):
        registry.get("scenario", "bigbnch")


def test_decorator_registers_eagerly():
    registry = Registry()

    @registry.register("metric", "twice")
    def twice(x):
        """Doubles x."""
        return 2 * x

    assert registry.get("metric", "twice")(3) == 6
    assert registry.entries("metric")[0].description == "Doubles x."


def test_missing_dependency_is_a_spec_error():
    registry = Registry()
    registry.add("model", "ghost", "tony_no_such_package.models:Ghost")
    with pytest.raises(SpecError, match="not installed"):
        registry.get("model", "ghost")


def test_plugins_come_from_the_entry_point_group(tmp_path, monkeypatch):
    """A real (if tiny) installed distribution declaring a tony.plugins entry point."""
    (tmp_path / "tony_demo_plugin.py").write_text(textwrap.dedent("""
        def register(registry):
            registry.add("scenario", "from_plugin", "json:dumps", "added by a plugin")
    """))
    dist = tmp_path / "tony_demo_plugin-1.0.dist-info"
    dist.mkdir()
    (dist / "METADATA").write_text("Metadata-Version: 2.1\nName: tony-demo-plugin\nVersion: 1.0\n")
    (dist / "entry_points.txt").write_text("[tony.plugins]\ndemo = tony_demo_plugin:register\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    registry = Registry()
    import json

    assert registry.get("scenario", "from_plugin") is json.dumps
    sys.modules.pop("tony_demo_plugin", None)


def _kind_contracts() -> dict[str, Callable[[Any], bool]]:
    """What an entry of each kind must load as (the bases are imported here, not at collection)."""
    from tony.core.data import Dataset
    from tony.lm.adapters.base import Adapter
    from tony.lm.clients.models import ModelSource
    from tony.lm.perturbations.base import Perturbation
    from tony.lm.scenarios.base import Scenario

    def subclass_of(base: type) -> Callable[[Any], bool]:
        return lambda obj: inspect.isclass(obj) and issubclass(obj, base) and obj is not base

    def pages_function(obj: Any) -> bool:  # a report source: a function from the store to pages
        return inspect.isfunction(obj) and list(inspect.signature(obj).parameters) == ["store"]

    return {"scenario": subclass_of(Scenario), "adapter": subclass_of(Adapter), "model": subclass_of(ModelSource),
            "perturbation": subclass_of(Perturbation), "metric": callable,
            "dataset": lambda obj: isinstance(obj, Dataset), "report": pages_function}


def test_builtin_catalog_entries_load_as_what_their_kind_needs():
    from tony.catalog import BUILTINS
    from tony.core.registry import registry

    contracts = _kind_contracts()
    assert set(registry.kinds()) <= set(contracts), "a new kind of component: say here what its entries must be"
    names = [(kind, name) for kind, name, _, _ in BUILTINS]
    assert len(set(names)) == len(names), "a repeated name silently replaces the earlier entry"
    builtin = set(names)
    for kind in registry.kinds():
        # The built-in ones: other test modules register stand-ins of their own (canned models and the like).
        for entry in [e for e in registry.entries(kind) if (kind, e.name) in builtin]:
            target = entry.target or repr(entry.obj)  # registered by decorator: no address
            obj = entry.load()  # every one installed: tony's extras are part of the test environment
            assert contracts[kind](obj), f"{kind} '{entry.name}' ({target}) loaded {obj!r}"
            # The address names the object by its own name (not an alias of another); `tony ls` can say what it is.
            if kind == "dataset":
                assert obj.name == entry.name, target
            elif entry.target:
                assert obj.__name__ == entry.target.partition(":")[2], target
            assert entry.description.strip() and "\n" not in entry.description, target
