"""The threat model: its own validation, which field rules an attack out, and the study's one-line errors (also
through the CLI, exit status 2)."""

from __future__ import annotations

import re

import pytest

from tony.cli import main
from tony.core.errors import SpecError, UnknownComponentError
from tony.vision.hierarchy import Hierarchy
from tony.vision.poisoning.attacks.badnets import BadNets
from tony.vision.poisoning.attacks.clean_label import CleanLabel
from tony.vision.poisoning.attacks.feature_collision import FeatureCollision
from tony.vision.poisoning.attacks.gradient_matching import GradientMatching
from tony.vision.poisoning.data import target_label
from tony.vision.poisoning.grid import DEFAULT_EPS, fitting_threat
from tony.vision.poisoning.spec import PoisonStudySpec
from tony.vision.poisoning.threat import ThreatModel


@pytest.mark.parametrize("fraction", [0.0, -0.1, 1.0001, float("nan")])
def test_a_fraction_outside_zero_one_is_refused(fraction):
    with pytest.raises(SpecError, match=r"poison fraction must be in \(0, 1\]"):
        ThreatModel(fraction=fraction)


def test_budget_as_fraction_or_count():
    assert ThreatModel(fraction=1.0).poison_count(7) == 7
    assert ThreatModel(fraction=0.1).poison_count(1000) == 100
    assert ThreatModel(fraction=0.001).poison_count(100) == 1  # at least one poison
    assert ThreatModel(count=30).poison_count(1000) == 30 and ThreatModel(count=30).budget_fraction(1000) == 0.03
    with pytest.raises(SpecError, match="exceeds the 20 training examples"):
        ThreatModel(count=30).poison_count(20)
    with pytest.raises(SpecError, match="eps is an L-inf bound"):
        ThreatModel(eps=2.0)


@pytest.mark.parametrize(("attack", "threat", "field"), [
    (BadNets(), ThreatModel(goal="targeted"), "'goal' is targeted"),
    (BadNets(), ThreatModel(labels="clean"), "'labels' is clean"),
    (BadNets(), ThreatModel(trigger="invisible"), "'trigger' allows invisible triggers"),
    (CleanLabel(), ThreatModel(knowledge="black_box", eps=0.03), "'knowledge' is black_box"),
    (CleanLabel(), ThreatModel(knowledge="grey_box"), "'eps' is unset"),
    (CleanLabel(), ThreatModel(knowledge="grey_box", eps=0.03, mapping="all-to-all"), "'mapping' is all-to-all"),
    (FeatureCollision(), ThreatModel(knowledge="white_box", eps=0.03, goal="targeted"), "'regime' is scratch"),
    (GradientMatching(), ThreatModel(knowledge="grey_box", eps=0.03, goal="targeted", regime="fine_tune"),
     "'regime' is fine_tune"),
])
def test_the_error_names_the_field_that_rules_the_attack_out(attack, threat, field):
    with pytest.raises(SpecError) as caught:
        attack.check(threat)
    message = str(caught.value)
    assert message.startswith(f"attack {attack.name} does not fit the threat model: {field}") and "\n" not in message


def test_a_faint_blend_fits_an_invisible_trigger_and_a_strong_one_does_not():
    from tony.vision.poisoning.attacks.blended import Blended

    Blended(alpha=0.1).check(ThreatModel(trigger="invisible"))
    with pytest.raises(SpecError, match="'trigger' allows invisible"):
        Blended(alpha=0.5).check(ThreatModel(trigger="invisible"))


def test_filled_in_threat_models_fit_every_attack_and_keep_what_was_given():
    for attack in ("label_flip", "badnets", "blended", "clean_label", "feature_collision", "gradient_matching"):
        spec = PoisonStudySpec.parse({"attack": attack, "threat": fitting_threat(attack, {}, {"fraction": 0.05}),
                                      "defenses": []})
        assert spec.threat.fraction == 0.05
    assert fitting_threat("clean_label", {}, {})["eps"] == DEFAULT_EPS
    assert fitting_threat("clean_label", {}, {"eps": 0.1, "labels": "dirty"})["labels"] == "dirty"


def test_study_spec_errors_are_one_line():
    with pytest.raises(SpecError, match="attack badnets does not fit the threat model: 'goal'"):
        PoisonStudySpec.parse({"threat": {"goal": "indiscriminate"}})
    with pytest.raises(UnknownComponentError, match="unknown attack 'badnet'.*badnets"):
        PoisonStudySpec.parse({"attack": "badnet"})
    with pytest.raises(SpecError, match="defense strip detects test-time triggers and attack label_flip"):
        PoisonStudySpec.parse({"attack": "label_flip", "threat": {"goal": "indiscriminate"}, "defenses": ["strip"]})
    with pytest.raises(SpecError, match="invalid BadNets field 'colour'"):
        PoisonStudySpec.parse({"attack_options": {"colour": "red"}})


def test_unknown_target_class_names_the_classes():
    hierarchy = Hierarchy([("root", "cat"), ("root", "dog")], {"dog": "good dog"})
    assert target_label(("cat", "dog"), hierarchy, None) == 1
    assert target_label(("cat", "dog"), hierarchy, "good dog") == 1 and target_label(("cat", "dog"), hierarchy,
                                                                                     "cat") == 0
    with pytest.raises(SpecError, match="unknown target class 'cow': choose one of cat, dog"):
        target_label(("cat", "dog"), hierarchy, "cow")


@pytest.mark.parametrize(("args", "message"), [
    (["--fraction", "1.5"], r"poison fraction must be in \(0, 1\]"),
    (["--fraction", "0"], r"poison fraction must be in \(0, 1\]"),
    (["--attack", "badnets", "--goal", "targeted"], "attack badnets does not fit the threat model: 'goal'"),
    (["--target-class", "nope", "--train-images", "40", "--test-images", "10", "--no-defense"],
     "unknown target class 'nope'"),
    (["--attack", "gradient_matching", "--knowledge", "black_box"], "'knowledge' is black_box"),
])
def test_cli_errors_exit_2_with_one_line(capsys, tmp_path, args, message):
    code = main(["poison", "run", "--store", str(tmp_path), *args])
    err = capsys.readouterr().err
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert err.startswith("tony: error: ") and re.search(message, err)
