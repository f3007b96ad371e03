"""The numbers of a poisoning run, from per-test-image records, each with its n and a 95% bootstrap interval:

- ``c_acc``: clean accuracy, test images without trigger classified correctly;
- ``asr``: attack success rate, triggered test images whose true class is not the target (all-to-one; every image
  for all-to-all) classified as the backdoor label;
- ``r_acc``: robust accuracy, those triggered images still classified correctly;
- ``target_success``: targeted poisoning, the named target instances classified as the attacker's class;
- ``filter_tpr`` / ``filter_fpr``: a filtering defense's removed share of the poisons / of the clean examples;
- ``strip_frr`` / ``strip_far``: STRIP's false rejection (clean inputs rejected) and false acceptance (triggered
  inputs accepted) rates;
- ``der``: defense effectiveness ratio, (max(0, dASR) - max(0, dC-Acc) + 1) / 2, d = undefended minus defended
  (BackdoorBench): 1 removes the backdoor at no cost, 0.5 changes nothing.

A detector (STRIP) answers nothing for a rejected input: a rejected clean image counts as wrong, a rejected
triggered image as a failed attack. Means over seeds (each seed one run) get a t interval (`over_seeds`).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

from tony.core.stats import Stat, bootstrap_ci, mean_stat, proportion_stat, spread_over_draws

NO_DEFENSE = "none"
"""The variant of the attacked, undefended victim (the baseline of every DER)."""
CLEAN = "clean"
"""The variant of the model trained on the clean data (no attack)."""


def der(asr_before: float | np.ndarray, asr_after: float | np.ndarray, c_acc_before: float | np.ndarray,
        c_acc_after: float | np.ndarray) -> Any:
    """BackdoorBench's defense effectiveness ratio (works elementwise on arrays)."""
    return (np.maximum(0, np.subtract(asr_before, asr_after)) - np.maximum(0, np.subtract(c_acc_before, c_acc_after))
            + 1) / 2


def _der_of(sample: np.ndarray) -> np.ndarray:
    """DER of resampled rows (clean correct before, after, attack success before, after, eligible): (R, n, 5)."""
    eligible = sample[..., 4]
    count = np.maximum(eligible.sum(1), 1)
    asr_before, asr_after = (sample[..., 2] * eligible).sum(1) / count, (sample[..., 3] * eligible).sum(1) / count
    return der(asr_before, asr_after, sample[..., 0].mean(1), sample[..., 1].mean(1))


def outcomes(records: list[dict[str, Any]], variant: str) -> dict[str, np.ndarray]:
    """Per test record, as arrays: `correct` (clean image right and not rejected), `success` (triggered image sent to
    its backdoor label and not rejected), `robust` (triggered image still right), `eligible` (counts for ASR)."""
    labels = np.array([r["label"] for r in records])
    clean = np.array([r["clean"][variant] for r in records])
    out = {"correct": clean == labels, "eligible": np.array([r["eligible"] for r in records], bool)}
    if "triggered" in records[0]:
        triggered = np.array([r["triggered"][variant] for r in records])
        out["success"] = triggered == np.array([r["backdoor"] for r in records])
        out["robust"] = triggered == labels
    rejected = records[0].get("rejected", {})
    if variant in rejected:
        out["rejected_clean"] = np.array([r["rejected"][variant][0] for r in records], bool)
        out["rejected_triggered"] = np.array([r["rejected"][variant][1] for r in records], bool)
        out["correct"] &= ~out["rejected_clean"]
        out["success"] &= ~out["rejected_triggered"]
        out["robust"] &= ~out["rejected_triggered"]
    return out


def image_stats(records: list[dict[str, Any]], variants: Sequence[str], seed: int) -> list[Stat]:
    """c_acc, asr, r_acc, STRIP's rates and DER against the undefended victim, per variant."""
    stats: list[Stat] = []
    by_variant = {v: outcomes(records, v) for v in variants}
    for variant, out in by_variant.items():
        stats.append(mean_stat("c_acc", out["correct"].tolist(), seed=seed, split=variant))
        if "success" not in out:
            continue
        eligible = out["eligible"]
        stats.append(mean_stat("asr", out["success"][eligible].tolist(), seed=seed, split=variant))
        stats.append(mean_stat("r_acc", out["robust"][eligible].tolist(), seed=seed, split=variant))
        if "rejected_clean" in out:
            stats.append(mean_stat("strip_frr", out["rejected_clean"].tolist(), seed=seed, split=variant))
            accepted = ~out["rejected_triggered"][eligible]
            stats.append(mean_stat("strip_far", accepted.tolist(), seed=seed, split=variant))
        if variant not in (NO_DEFENSE, CLEAN) and NO_DEFENSE in by_variant:
            base = by_variant[NO_DEFENSE]
            rows = np.stack([base["correct"], out["correct"], base["success"], out["success"], eligible], 1)
            low, high = bootstrap_ci(rows.astype(float), _der_of, seed=seed)
            stats.append(Stat("der", float(_der_of(rows[None].astype(float))[0]), low, high, len(rows), variant))
    return stats


def target_stats(records: list[dict[str, Any]], variants: Sequence[str], seed: int) -> list[Stat]:
    """target_success per variant: the named targets classified as the attacker's class."""
    return [proportion_stat("target_success", [r["predicted"][v] == r["adversarial"] for r in records], seed=seed,
                            split=v) for v in variants]


def filter_stats(record: dict[str, Any], seed: int) -> list[Stat]:
    """filter_tpr and filter_fpr of one filtering defense's record (its removed and kept counts)."""
    variant = record["defense"]
    caught = [True] * record["poisons_removed"] + [False] * (record["poisons"] - record["poisons_removed"])
    false = [True] * record["clean_removed"] + [False] * (record["clean"] - record["clean_removed"])
    return [proportion_stat("filter_tpr", caught, seed=seed, split=variant),
            proportion_stat("filter_fpr", false, seed=seed, split=variant)]


def over_seeds(name: str, values: Sequence[float], split: str = "") -> Stat:
    """The mean of one number over seeds (one run each) with a t interval over them."""
    stat = spread_over_draws(name, values)
    return Stat(name, stat.value, stat.ci_low, stat.ci_high, stat.n, split)
