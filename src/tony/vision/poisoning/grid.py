"""Grids of poisoning runs: attack x poison fraction x seeds, each run with the same defenses, from the command
line's options or a suite file; and the summary of their stats, each grid cell's mean over seeds.

A suite file (YAML or JSON):

    base:                      # fields of PoisonStudySpec shared by every run (data, train, threat, ...)
      data: {dataset: fashion-mnist, train_images: 20000}
    attacks: [badnets, {attack: blended, options: {alpha: 0.1}}]
    fractions: [0.01, 0.05, 0.1]
    defenses: [spectral, activation_clustering, fine_pruning]
    seeds: 3

Threat-model fields the user leaves out are filled in to fit each attack (`fitting_threat`), so a grid may mix a
dirty-label and a clean-label attack; fields given are kept, and one that rules an attack out is an error.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from tony.core.errors import SpecError
from tony.core.registry import registry
from tony.core.spec import read_config_file
from tony.core.stats import Stat
from tony.vision.poisoning.metrics import CLEAN, NO_DEFENSE, over_seeds
from tony.vision.poisoning.spec import PoisonStudySpec

DEFAULT_EPS = 8 / 255
"""The eps a bounded attack gets when the user gives none (the usual CIFAR-10 bound)."""
SUITE_KEYS = {"base", "attacks", "fractions", "defenses", "seeds"}


def fitting_threat(attack: str, options: dict[str, Any], threat: dict[str, Any]) -> dict[str, Any]:
    """`threat` with every field it leaves out set to what `attack` (with `options`) needs."""
    needs = registry.get("poison_attack", attack).parse(options).needs()
    filled = {"knowledge": needs.knowledge, "labels": "clean" if "clean" in needs.labels else "dirty",
              "goal": needs.goals[0], "regime": needs.regimes[0], "mapping": needs.mappings[0]}
    if needs.eps:
        filled["eps"] = DEFAULT_EPS
    return {**filled, **threat}


def grid_specs(base: dict[str, Any], attacks: Sequence[str | dict[str, Any]], fractions: Sequence[float | None],
               seeds: Iterable[int]) -> list[PoisonStudySpec]:
    """One spec per attack x fraction x seed (a fraction of None keeps the base's budget)."""
    specs = []
    for entry in attacks:
        name, options, threat = _attack_entry(entry)
        for fraction in fractions:
            fields = {**base.get("threat", {}), **threat}
            if fraction is not None:
                fields["fraction"] = fraction
            for seed in seeds:
                specs.append(PoisonStudySpec.parse({**base, "attack": name, "attack_options": options, "seed": seed,
                                                    "threat": fitting_threat(name, options, fields)}))
    return specs


def _attack_entry(entry: str | dict[str, Any]) -> tuple[str, dict[str, Any], dict[str, Any]]:
    if isinstance(entry, str):
        return entry, {}, {}
    if not isinstance(entry, dict) or "attack" not in entry or set(entry) - {"attack", "options", "threat"}:
        raise SpecError(f"a suite's attack is a name or {{attack: NAME, options: {{...}}, threat: {{...}}}}, got "
                        f"{entry!r}")
    return entry["attack"], dict(entry.get("options") or {}), dict(entry.get("threat") or {})


def suite_specs(path: str) -> list[PoisonStudySpec]:
    """The specs of a suite file (see the module docstring)."""
    suite = read_config_file(path, "suite file")
    if not isinstance(suite, dict) or set(suite) - SUITE_KEYS:
        extra = sorted(set(suite) - SUITE_KEYS) if isinstance(suite, dict) else []
        raise SpecError(f"suite file {path} must be a mapping of {', '.join(sorted(SUITE_KEYS))}"
                        + (f"; it has '{extra[0]}'" if extra else ""))
    base = dict(suite.get("base") or {})
    if "defenses" in suite:
        base["defenses"] = suite["defenses"]
    seeds = suite.get("seeds", 1)
    if not isinstance(seeds, int) or seeds < 1:
        raise SpecError(f"suite file {path}: seeds must be a whole number, 1 or more, got {seeds!r}")
    return grid_specs(base, suite.get("attacks") or [base.pop("attack", "badnets")], suite.get("fractions") or
                      [None], range(seeds))


def variant_order(variant: str) -> tuple[int, str]:
    """Variants in reading order: the clean model, the undefended victim, then the defenses by name."""
    return (0 if variant == CLEAN else 1 if variant == NO_DEFENSE else 2, variant)


HEADLINE = ("c_acc", "asr", "r_acc", "target_success", "der", "filter_tpr", "filter_fpr", "strip_frr", "strip_far")


def summarize(runs: Sequence[tuple[dict[str, Any], Sequence[Stat]]]) -> list[dict[str, Any]]:
    """One row per grid cell and variant: its labels, and per headline stat either the single run's value with its
    bootstrap interval or, over several seeds, the mean with a t interval (n = seeds)."""
    cells: dict[str, list[tuple[dict[str, Any], Sequence[Stat]]]] = {}
    for labels, stats in runs:
        cells.setdefault(labels["grid"], []).append((labels, stats))
    rows = []
    for group in cells.values():
        variants = sorted({s.split for _, stats in group for s in stats}, key=variant_order)
        for variant in variants:
            row: dict[str, Any] = {**{k: v for k, v in group[0][0].items() if k != "seed"}, "variant": variant,
                                   "seeds": len(group)}
            for name in HEADLINE:
                found = [s for _, stats in group for s in stats if s.split == variant and s.name == name]
                if len(found) == 1:
                    row[name] = {"value": found[0].value, "ci_low": found[0].ci_low, "ci_high": found[0].ci_high,
                                 "n": found[0].n}
                elif found:
                    mean = over_seeds(name, [s.value for s in found], variant)
                    row[name] = {"value": mean.value, "ci_low": mean.ci_low, "ci_high": mean.ci_high, "n": mean.n,
                                 "over": "seeds"}
            rows.append(row)
    return rows
