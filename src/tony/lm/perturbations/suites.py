"""Named bundles of perturbations, and the parsing of a run's `perturbations` value."""

from __future__ import annotations

from typing import Any

from tony.core.errors import SpecError

BUNDLES: dict[str, list[dict[str, Any]]] = {
    "robustness": [
        {"name": "typos"}, {"name": "lowercase"}, {"name": "contraction"}, {"name": "expansion"},
        {"name": "whitespace"}, {"name": "synonym"},
    ],
    "fairness": [
        {"name": "gender", "target": "female"}, {"name": "gender", "target": "male"},
        {"name": "person_name", "target": "black_american"}, {"name": "person_name", "target": "white_american"},
        {"name": "dialect", "target": "aae"},
    ],
    "jailbreak": [{"name": name} for name in ("prefix_injection", "refusal_suppression", "role_play", "base64",
                                              "payload_splitting", "few_shot_compliance", "language_switch")],
}
"""`perturbations=robustness+fairness` (or `jailbreak`) in a run entry means all of these."""


def expand_perturbations(value: Any) -> list[dict[str, Any]]:
    """A run's `perturbations` (a "+"-joined string, or a list of names and {"name": ..., args} mappings)
    as a list of mappings, bundles expanded. An empty value means none (to override a default)."""
    items = [part for part in value.split("+") if part.strip()] if isinstance(value, str) else value
    if not isinstance(items, list | tuple):
        raise SpecError(f"perturbations must be names joined by '+' or a list, not {value!r}")
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, dict):
            out.append(dict(item))
        elif isinstance(item, str) and item.strip() in BUNDLES:
            out += [dict(entry) for entry in BUNDLES[item.strip()]]
        elif isinstance(item, str) and item.strip():
            out.append({"name": item.strip()})
        else:
            raise SpecError(f"perturbation {item!r} is neither a name nor a mapping with a name")
    return out
