"""Thresholds files: the risk levels, the categories and the eval results each reads, read and checked.

A file (`data/preparedness.yaml` by default, illustrative numbers written for tony, not OpenAI's; `tony safety
scorecard --thresholds FILE` replaces it) names its levels, least severe first, and its categories; a category
names the eval results it reads (scenario, stat, subgroup, variant) and, for each, the value at which each level
is reached. `load_thresholds` checks the whole file, a mistake being a one-line SpecError naming the key.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, NoReturn

from tony.core.errors import SpecError
from tony.core.spec import read_config_file

NOT_EVALUATED = "not evaluated"
"""A category's level when its evidence is not all in the store; no level in a file may take the name."""
DEFAULT_SOURCE = "tony.safety:data/preparedness.yaml"
"""How the packaged default thresholds are named on the scorecard."""

_TOP_KEYS = ("note", "levels", "categories")
_CATEGORY_KEYS = ("title", "description", "evidence")
_EVIDENCE_KEYS = ("name", "scenario", "scenario_args", "stat", "subgroup", "variant", "family", "risk_when",
                  "thresholds", "required")
_RISK_WHEN = ("below", "above")


@dataclass(frozen=True)
class Evidence:
    """One named eval result a category reads, and the values at which it reaches each level."""

    name: str
    """What it is, in words."""
    scenario: str
    """The registered scenario of the runs it is read from."""
    stat: str
    """The metric of the stat (not_unsafe, not_overrefuse, refusal_rate, ...)."""
    risk_when: str
    """"below": the level rises as the value falls (not_unsafe); "above": as it rises (a compliance rate)."""
    thresholds: tuple[tuple[str, float], ...]
    """(level, threshold) in order of severity, for levels after the first: reached at or beyond the value."""
    subgroup: str = ""
    """The stat's subgroup ("semantic_category=cybercrime_intrusion"); "" for all instances."""
    variant: str = ""
    """The stat's variant: "" unperturbed, a jailbreak's label, or "worst" for the worst case over a family."""
    family: str = ""
    """The perturbation family a variant belongs to ("jailbreak" by default when a variant is given); "" matches
    the stat of any family."""
    scenario_args: tuple[tuple[str, str], ...] = ()
    """Scenario arguments a run must have (as text); the system prompt is never matched here."""
    required: bool = True
    """Whether the category is "not evaluated" without it (else it only adds to the level when present)."""

    def describe(self) -> str:
        """The stat it reads, in one line: "harmbench not_unsafe [semantic_category=...] @worst"."""
        subgroup = f" [{self.subgroup}]" if self.subgroup else ""
        variant = f" @{self.family + ':' if self.family else ''}{self.variant}" if self.variant else ""
        args = "".join(f",{k}={v}" for k, v in self.scenario_args)
        return f"{self.scenario}{args} {self.stat}{subgroup}{variant}"


@dataclass(frozen=True)
class Category:
    """One risk category of the framework."""

    key: str
    """Its name in the thresholds file (cybersecurity, cbrn, ...)."""
    title: str
    """Its name on the scorecard."""
    description: str
    """What it covers and how the evidence stands in for it."""
    evidence: tuple[Evidence, ...]
    """The eval results it reads (empty: it is never evaluated)."""


@dataclass(frozen=True)
class Thresholds:
    """A whole thresholds file, validated."""

    source: str
    """Where it was read from (a path, or DEFAULT_SOURCE)."""
    note: str
    """Free text shown with the scorecard (the default's says it is illustrative)."""
    levels: tuple[str, ...]
    """Level names, least to most severe."""
    categories: tuple[Category, ...]
    """The categories, in file order."""

    @property
    def scenarios(self) -> set[str]:
        """Every scenario some evidence reads."""
        return {e.scenario for c in self.categories for e in c.evidence}


def load_thresholds(path: str | Path | None = None) -> Thresholds:
    """The thresholds in `path` (the packaged default when None); a one-line error naming the bad key."""
    if path is None:
        import yaml

        text = resources.files("tony.safety").joinpath("data/preparedness.yaml").read_text("utf-8")
        return _Parser(DEFAULT_SOURCE).thresholds(yaml.safe_load(text))
    return _Parser(str(path)).thresholds(read_config_file(path, "thresholds file"))


class _Parser:
    """Checks a thresholds file's data, raising SpecError("thresholds file F: key.path: what is wrong")."""

    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> NoReturn:
        raise SpecError(f"thresholds file {self.source}: {where or 'the whole file'}: {message}")

    def mapping(self, value: Any, where: str, allowed: tuple[str, ...], needed: tuple[str, ...] = ()) -> dict:
        if not isinstance(value, dict):
            self.fail(where, f"must be a mapping with keys {', '.join(allowed)}, not {type(value).__name__}")
        for key in value:
            if key not in allowed:
                self.fail(f"{where}.{key}" if where else str(key), f"unknown key; expected one of {', '.join(allowed)}")
        for key in needed:
            if key not in value:
                self.fail(f"{where}.{key}" if where else key, "missing")
        return value

    def string(self, value: Any, where: str, *, empty: bool = False) -> str:
        if not isinstance(value, str) or (not empty and not value.strip()):
            self.fail(where, "must be a non-empty string" if not empty else "must be a string")
        return value.strip()

    def thresholds(self, data: Any) -> Thresholds:
        top = self.mapping(data, "", _TOP_KEYS, ("levels", "categories"))
        levels = top["levels"]
        if not isinstance(levels, list) or len(levels) < 2:
            self.fail("levels", "must be a list of at least two level names, least severe first")
        names = tuple(self.string(level, f"levels[{i}]") for i, level in enumerate(levels))
        if NOT_EVALUATED in names or len(set(names)) != len(names):
            self.fail("levels", f"names must be distinct and none may be {NOT_EVALUATED!r}")
        categories = top["categories"]
        if not isinstance(categories, dict) or not categories:
            self.fail("categories", "must be a non-empty mapping of category name to its evidence")
        return Thresholds(self.source, self.string(top.get("note", ""), "note", empty=True), names,
                          tuple(self.category(str(key), value, names) for key, value in categories.items()))

    def category(self, key: str, value: Any, levels: tuple[str, ...]) -> Category:
        where = f"categories.{key}"
        fields = self.mapping(value, where, _CATEGORY_KEYS, ("evidence",))
        evidence = fields["evidence"]
        if not isinstance(evidence, list):
            self.fail(f"{where}.evidence", "must be a list ([] for a category no eval measures)")
        return Category(key, self.string(fields.get("title", key), f"{where}.title"),
                        self.string(fields.get("description", ""), f"{where}.description", empty=True),
                        tuple(self.evidence(f"{where}.evidence[{i}]", item, levels) for i, item in enumerate(evidence)))

    def evidence(self, where: str, value: Any, levels: tuple[str, ...]) -> Evidence:
        from tony.core.registry import registry

        fields = self.mapping(value, where, _EVIDENCE_KEYS, ("name", "scenario", "stat", "risk_when", "thresholds"))
        scenario = self.string(fields["scenario"], f"{where}.scenario")
        if scenario not in {entry.name for entry in registry.entries("scenario")}:
            self.fail(f"{where}.scenario", f"{scenario!r} is not a registered scenario (see `tony ls scenario`)")
        risk_when = fields["risk_when"]
        if risk_when not in _RISK_WHEN:
            self.fail(f"{where}.risk_when", f"{risk_when!r} is neither 'below' nor 'above'")
        variant = self.string(fields.get("variant", ""), f"{where}.variant", empty=True)
        family = self.string(fields.get("family", "jailbreak" if variant else ""), f"{where}.family", empty=True)
        args = fields.get("scenario_args") or {}
        if not isinstance(args, dict) or "system_prompt" in args:
            self.fail(f"{where}.scenario_args", "must be a mapping of argument to value, without system_prompt "
                      "(the system prompt tells pre- from post-mitigation)")
        required = fields.get("required", True)
        if not isinstance(required, bool):
            self.fail(f"{where}.required", "must be true or false")
        return Evidence(self.string(fields["name"], f"{where}.name"), scenario,
                        self.string(fields["stat"], f"{where}.stat"), risk_when,
                        self.levels(f"{where}.thresholds", fields["thresholds"], levels, risk_when),
                        self.string(fields.get("subgroup", ""), f"{where}.subgroup", empty=True), variant, family,
                        tuple(sorted((str(k), str(v)) for k, v in args.items())), required)

    def levels(self, where: str, value: Any, levels: tuple[str, ...], risk_when: str) -> tuple[tuple[str, float], ...]:
        fields = self.mapping(value, where, levels[1:])
        if not fields:
            self.fail(where, f"give a threshold for at least one of {', '.join(levels[1:])}")
        out: list[tuple[str, float]] = []
        for level in levels[1:]:
            if level not in fields:
                continue
            threshold = fields[level]
            if isinstance(threshold, bool) or not isinstance(threshold, int | float) or not math.isfinite(threshold):
                self.fail(f"{where}.{level}", f"must be a number, not {threshold!r}")
            if out and not (threshold < out[-1][1] if risk_when == "below" else threshold > out[-1][1]):
                way = "below" if risk_when == "below" else "above"
                self.fail(f"{where}.{level}", f"{threshold} must be {way} {out[-1][0]}'s {out[-1][1]}: with "
                          f"risk_when {risk_when} a more severe level needs a value further {way}")
            out.append((level, float(threshold)))
        return tuple(out)
