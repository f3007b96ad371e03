"""Specs are keyed by content; the registry is lazy, says "did you mean", and takes plugins from entry points."""

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


def test_a_kind_names_its_components_in_messages_and_unknown_kinds_suggest_the_closest():
    registry = Registry()
    registry.add_kind("icl_baseline", "baseline", "estimators compared with the transformer")
    registry.add("icl_baseline", "lasso", "json:loads")
    registry.add("icl_baseline", "least_squares", "json:dumps")
    registry.add("thing", "decoder", "json:JSONDecoder")  # a kind nobody declared: listed after the declared ones
    assert registry.kinds() == ["icl_baseline", "thing"]
    assert registry.kind("icl_baseline").description == "estimators compared with the transformer"
    assert registry.kind("thing").noun == "thing"
    with pytest.raises(UnknownComponentError, match=r"^unknown baseline 'laso': did you mean 'lasso'\? "
                                                    r"`tony ls icl_baseline` lists them \(lasso, least_squares\)$"):
        registry.get("icl_baseline", "laso")
    with pytest.raises(UnknownComponentError, match=r"^unknown kind of component 'icl_baselines': did you mean "
                                                    r"'icl_baseline'\? `tony ls` lists them \(icl_baseline, thing\)$"):
        registry.kind("icl_baselines")


def test_a_module_address_loads_the_module_itself():
    registry = Registry()
    registry.add("command", "json", "json", "the json module")
    import json

    assert registry.get("command", "json") is json


def test_a_table_lists_names_without_importing_and_looks_up_through_the_registry():
    registry = Registry()
    registry.add_kind("codec", "codec")
    registry.add("codec", "json", "json:JSONDecoder")
    registry.add("codec", "ghost", "tony_no_such_package.codecs:Ghost")
    table = registry.table("codec")
    assert list(table) == ["ghost", "json"] and len(table) == 2  # the ghost's package is never imported for these
    assert "json" in table and "yaml" not in table and table.get("yaml", "none") == "none"
    import json

    assert table["json"] is json.JSONDecoder
    with pytest.raises(UnknownComponentError, match="unknown codec 'jsn': did you mean 'json'"):
        table["jsn"]
    with pytest.raises(SpecError, match="not installed"):
        table["ghost"]
    registry.add("codec", "yaml", "json:loads")  # a view, not a copy: later entries show
    assert "yaml" in table and table["yaml"] is json.loads


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


def test_the_quick_look_for_plugins_reads_entry_points_files(tmp_path, monkeypatch):
    """Without a distribution declaring tony.plugins, start-up skips importlib.metadata; with one, it may not."""
    from tony.core import registry as registry_module

    site = tmp_path / "site-packages"
    for dist, declared in [("bare-1.0.dist-info", None), ("tool-2.0.dist-info", "[console_scripts]\ntool = t:main\n"),
                           ("old-0.1.egg-info", None)]:
        (site / dist).mkdir(parents=True)
        if declared:
            (site / dist / "entry_points.txt").write_text(declared)
    (site / "loose_module.py").write_text("")
    monkeypatch.setattr(sys, "path", [str(site), str(tmp_path / "not-there")])
    assert not registry_module._plugins_may_be_installed()
    (site / "old-0.1.egg-info" / "entry_points.txt").write_text("[tony.plugins]\nold = old:register\n")
    assert registry_module._plugins_may_be_installed()
    (site / "old-0.1.egg-info" / "entry_points.txt").unlink()
    archive = tmp_path / "bundle.zip"  # a zip on sys.path: only importlib.metadata can tell
    archive.write_bytes(b"PK\x05\x06" + bytes(18))
    monkeypatch.setattr(sys, "path", [str(site), str(archive)])
    assert registry_module._plugins_may_be_installed()


def _kind_contracts() -> dict[str, Callable[[Any], bool]]:
    """What an entry of each kind must load as (the bases are imported here, not at collection)."""
    from tony.core.data import Dataset
    from tony.core.spec import RunnableSpec
    from tony.icl.baselines.base import PrefixEstimator
    from tony.icl.presets import Preset as ICLPreset
    from tony.lm.adapters.base import Adapter
    from tony.lm.clients.models import ModelSource
    from tony.lm.perturbations.base import Perturbation
    from tony.lm.scenarios.base import Scenario
    from tony.rl.presets import Preset as RLPreset
    from tony.vision.models import Architecture
    from tony.vision.poisoning.attacks.base import Attack
    from tony.vision.poisoning.defenses.base import Defense

    def subclass_of(base: type) -> Callable[[Any], bool]:
        return lambda obj: inspect.isclass(obj) and issubclass(obj, base) and obj is not base

    def pages_function(obj: Any) -> bool:  # a report source: a function from the store to pages
        return inspect.isfunction(obj) and list(inspect.signature(obj).parameters) == ["store"]

    def command_module(obj: Any) -> bool:  # adds its parser (argparse only) and runs the parsed arguments
        return (inspect.ismodule(obj) and list(inspect.signature(obj.add_commands).parameters) == ["commands"]
                and list(inspect.signature(obj.run).parameters) == ["args"])

    def study(obj: Any) -> bool:  # a spec its domain turns into a task
        return subclass_of(RunnableSpec)(obj) and obj.task is not RunnableSpec.task

    def function_class(obj: Any) -> bool:  # samples a batch of functions, knows their output variance
        return inspect.isclass(obj) and callable(obj.sample) and callable(obj.normalizer)

    return {"scenario": subclass_of(Scenario), "adapter": subclass_of(Adapter), "model": subclass_of(ModelSource),
            "perturbation": subclass_of(Perturbation), "metric": callable,
            "dataset": lambda obj: isinstance(obj, Dataset), "report": pages_function,
            "study": study, "command": command_module, "icl_function": function_class,
            "icl_baseline": subclass_of(PrefixEstimator), "icl_preset": lambda obj: isinstance(obj, ICLPreset),
            "vision_model": lambda obj: isinstance(obj, Architecture),
            "rl_preset": lambda obj: isinstance(obj, RLPreset),
            "poison_attack": subclass_of(Attack), "poison_defense": subclass_of(Defense)}


NAMED_KINDS = ("dataset", "icl_function", "icl_baseline", "icl_preset", "vision_model", "poison_attack",
               "poison_defense")
"""Kinds whose components carry their own `name`, which must be the registered one."""


def test_builtin_catalog_entries_load_as_what_their_kind_needs():
    from tony.catalog import BUILTINS, KINDS
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
            # The address names a class, function or module by its own name (not an alias of another).
            if inspect.isclass(obj) or inspect.isfunction(obj) or inspect.ismodule(obj):
                module, _, attr = entry.target.partition(":")
                assert obj.__name__ == (attr or module), target
            if kind in NAMED_KINDS:
                assert obj.name == entry.name, target
            assert entry.description.strip() and "\n" not in entry.description, target
    kinds = [row[0] for row in KINDS]
    assert len(set(kinds)) == len(kinds) and {kind for kind, *_ in BUILTINS} <= set(kinds), "declare each kind once"
