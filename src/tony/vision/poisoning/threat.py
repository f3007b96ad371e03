"""The survey's threat model as a spec: what the attacker knows, what it may change, what it wants, and how the
victim trains. Every attack declares what it needs (`Needs`); `check_fits` turns a mismatch into a one-line
SpecError naming the field of the threat model that rules the attack out.

    threat = ThreatModel(fraction=0.1, goal="backdoor", target_class="sneaker")
    threat.poison_count(10_000)                        # 1000
    check_fits("feature_collision", FEATURE_COLLISION_NEEDS, threat)   # SpecError: ... 'goal' ...
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Literal

from pydantic import model_validator

from tony.core.errors import SpecError
from tony.core.spec import Spec

Knowledge = Literal["black_box", "grey_box", "white_box"]
KNOWLEDGE: tuple[Knowledge, ...] = ("black_box", "grey_box", "white_box")
"""Least to most: black box (data only), grey box (the architecture; the attacker trains its own copy), white box
(the victim's weights, e.g. the pretrained feature extractor a victim fine-tunes)."""
Visibility = Literal["none", "invisible", "visible"]
VISIBILITY: tuple[Visibility, ...] = ("none", "invisible", "visible")
"""Least to most: no test-time trigger, a trigger that changes no pixel by more than 0.2 (a faint blend), any
trigger (a patch)."""
INVISIBLE_LIMIT = 0.2
"""The largest per-pixel change (images in [0, 1]) of a trigger that counts as invisible."""
Goal = Literal["indiscriminate", "targeted", "backdoor"]
Regime = Literal["scratch", "last_layer", "fine_tune"]
"""How the victim trains on the poisoned set: from scratch, only its last layer on a frozen pretrained feature
extractor, or the whole pretrained model fine-tuned."""


class ThreatModel(Spec):
    """One point of the survey's taxonomy: knowledge, capability, goal and the victim's training regime."""

    knowledge: Knowledge = "black_box"
    """What the attacker knows of the victim: black_box, grey_box (architecture known) or white_box (weights)."""
    fraction: float = 0.1
    """The poison budget as a fraction of the training set, in (0, 1] (ignored when `count` is given)."""
    count: int | None = None
    """The poison budget as a number of training examples (overrides `fraction`)."""
    labels: Literal["dirty", "clean"] = "dirty"
    """dirty: the attacker may relabel what it poisons; clean: poisons keep their true labels."""
    eps: float | None = None
    """The L-inf bound on perturbations of training images (pixels in [0, 1]); None: unbounded."""
    trigger: Visibility = "visible"
    """The most visible test-time trigger allowed: none, invisible (no pixel changed by more than 0.2), visible."""
    goal: Goal = "backdoor"
    """indiscriminate (lower clean accuracy), targeted (named test instances misclassified), backdoor (a trigger
    sends inputs to the target class)."""
    target_class: str | None = None
    """Backdoor all-to-one, class-targeted label flipping, targeted poisoning: the class inputs are sent to (a
    class id or name of the dataset); None: the dataset's last class."""
    mapping: Literal["all-to-one", "all-to-all"] = "all-to-one"
    """Backdoor: every triggered input to `target_class`, or class y to class y + 1 (mod classes)."""
    targets: tuple[int, ...] = ()
    """Targeted: the test instances (indices into the test set) to misclassify; empty: one, drawn by the seed."""
    regime: Regime = "scratch"
    """How the victim trains: scratch, last_layer (frozen pretrained features) or fine_tune (whole model)."""

    @model_validator(mode="after")
    def _check(self) -> ThreatModel:
        if not (math.isfinite(self.fraction) and 0.0 < self.fraction <= 1.0):
            raise SpecError(f"poison fraction must be in (0, 1], got {self.fraction}: give e.g. 0.1 for 10%")
        if self.count is not None and self.count < 1:
            raise SpecError(f"poison count must be at least 1, got {self.count}")
        if self.eps is not None and not 0.0 < self.eps <= 1.0:
            raise SpecError(f"eps is an L-inf bound on pixels in [0, 1]: give a value in (0, 1], got {self.eps}")
        if any(t < 0 for t in self.targets):
            raise SpecError(f"target instances are indices into the test set, got {self.targets}")
        return self

    def poison_count(self, n_train: int) -> int:
        """How many of `n_train` training examples the attacker may poison (at least 1)."""
        if self.count is not None:
            if self.count > n_train:
                raise SpecError(f"poison count {self.count} exceeds the {n_train} training examples: lower count")
            return self.count
        return max(1, round(self.fraction * n_train))

    def budget_fraction(self, n_train: int) -> float:
        """The budget as a fraction of `n_train` (what a filtering defense expects to find)."""
        return self.poison_count(n_train) / n_train


@dataclass(frozen=True)
class Needs:
    """What an attack needs of a threat model (declared by each attack class)."""

    knowledge: Knowledge = "black_box"
    """The least the attacker must know."""
    labels: tuple[str, ...] = ("dirty",)
    """The label capabilities it works under (a clean-label attack works under both)."""
    eps: bool = False
    """Whether it perturbs images within an eps bound (the threat model must set eps)."""
    goals: tuple[str, ...] = ("backdoor",)
    mappings: tuple[str, ...] = ("all-to-one", "all-to-all")
    regimes: tuple[str, ...] = ("scratch", "last_layer", "fine_tune")
    trigger: Visibility = "none"
    """The visibility of its test-time trigger."""

    def describe(self) -> str:
        """One line for `tony poison attacks`."""
        labels = "/".join(self.labels)
        return (f"knowledge >= {self.knowledge}; labels {labels}; goal {'/'.join(self.goals)}; regimes "
                f"{'/'.join(self.regimes)}; trigger {self.trigger}{'; needs eps' if self.eps else ''}")


def check_fits(attack: str, needs: Needs, threat: ThreatModel) -> None:
    """A one-line SpecError naming the threat model's field that rules `attack` out; nothing when it fits."""
    def refuse(field: str, why: str) -> SpecError:
        return SpecError(f"attack {attack} does not fit the threat model: '{field}' {why}")

    if KNOWLEDGE.index(threat.knowledge) < KNOWLEDGE.index(needs.knowledge):
        raise refuse("knowledge", f"is {threat.knowledge}, the attack needs at least {needs.knowledge}")
    if threat.labels not in needs.labels:
        raise refuse("labels", f"is {threat.labels}, the attack needs {' or '.join(needs.labels)}-label poisoning")
    if needs.eps and threat.eps is None:
        raise refuse("eps", "is unset, the attack perturbs images within an L-inf bound: give eps (e.g. 0.0314)")
    if threat.goal not in needs.goals:
        raise refuse("goal", f"is {threat.goal}, the attack pursues {' or '.join(needs.goals)}")
    if threat.goal == "backdoor" and threat.mapping not in needs.mappings:
        raise refuse("mapping", f"is {threat.mapping}, the attack supports {' or '.join(needs.mappings)}")
    if threat.regime not in needs.regimes:
        raise refuse("regime", f"is {threat.regime}, the attack is made for {' or '.join(needs.regimes)}")
    if VISIBILITY.index(threat.trigger) < VISIBILITY.index(needs.trigger):
        raise refuse("trigger", f"allows {threat.trigger} triggers, the attack's trigger is {needs.trigger}")
