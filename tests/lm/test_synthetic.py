"""The generated pattern-induction scenario."""

from __future__ import annotations

import pytest

from tony.core.errors import SpecError
from tony.lm.scenarios.synthetic import INSTRUCTION, RULES, VOCABULARY, PatternInductionScenario


def expected_output(rule: str, seq: list[str], fixed: str) -> list[str]:
    """An independent re-implementation of each rule."""
    if rule == "reverse":
        return [seq[i] for i in range(len(seq) - 1, -1, -1)]
    if rule == "repeat_first":
        return [seq[0]] + list(seq)
    if rule == "sort":
        out = list(seq)
        out.sort()
        return out
    if rule == "every_other":
        return [s for i, s in enumerate(seq) if i % 2 == 0]
    if rule == "swap_first_last":
        out = list(seq)
        out[0], out[-1] = out[-1], out[0]
        return out
    if rule == "append_symbol":
        return list(seq) + [fixed]
    raise AssertionError(f"untested rule {rule}")


def parse(prompt: str) -> tuple[list[tuple[list[str], list[str]]], list[str]]:
    """The example (input, output) pairs and the query sequence of a prompt."""
    lines = prompt.split("\n")
    assert lines[0] == INSTRUCTION
    examples = []
    for line in lines[1:-1]:
        left, right = line.split(" -> ")
        examples.append((left.split(), right.split()))
    assert lines[-1].endswith(" ->")
    return examples, lines[-1][: -len(" ->")].split()


def test_same_seed_same_instances():
    a = PatternInductionScenario(num_instances=30, seed=5).instances()
    b = PatternInductionScenario(num_instances=30, seed=5).instances()
    assert a == b
    assert [i.extra for i in a] == [i.extra for i in b]


def test_different_seeds_differ():
    a = PatternInductionScenario(num_instances=30, seed=0).instances()
    b = PatternInductionScenario(num_instances=30, seed=1).instances()
    assert [i.input for i in a] != [i.input for i in b]
    assert [i.id for i in a] == [i.id for i in b]  # ids depend on position only


@pytest.mark.parametrize(("num_examples", "pattern_length"), [(3, 3), (1, 2), (5, 6), (2, 7)])
def test_every_reference_is_the_rule_applied(num_examples, pattern_length):
    scenario = PatternInductionScenario(
        num_instances=60, seed=3, num_examples=num_examples, pattern_length=pattern_length
    )
    for instance in scenario.instances():
        rule, fixed = instance.subgroup, instance.extra["fixed_symbol"]
        examples, query = parse(instance.input)
        assert len(examples) == num_examples
        for seq, shown in examples:
            assert len(seq) == pattern_length and len(set(seq)) == pattern_length
            assert set(seq) <= set(VOCABULARY)
            assert shown == expected_output(rule, seq, fixed) and shown != seq
        assert query == instance.extra["query"] and len(query) == pattern_length
        assert query not in [seq for seq, _ in examples]
        assert expected_output(rule, query, fixed) != query
        assert instance.correct_outputs == [" ".join(expected_output(rule, query, fixed))]
        assert "\n" not in instance.correct_outputs[0]
        assert len(instance.references) == 1 and instance.split == "test"


def test_ids_unique_and_subgroups_cover_all_rules():
    instances = PatternInductionScenario().instances()
    assert len(instances) == 200
    assert len({i.id for i in instances}) == len(instances)
    assert {i.subgroup for i in instances} == set(RULES)
    assert all(i.subgroup == i.extra["rule"] for i in instances)


def test_default_method_is_generation():
    assert PatternInductionScenario().default_method() == "generation"


def test_bad_arguments_are_one_line_spec_errors():
    with pytest.raises(SpecError) as caught:
        PatternInductionScenario.parse({"pattern_length": 1})
    assert "pattern_length" in str(caught.value) and "\n" not in str(caught.value)
    with pytest.raises(SpecError):
        PatternInductionScenario.parse({"num_instances": 0})


def test_key_depends_on_the_seed():
    assert PatternInductionScenario(seed=1).key() != PatternInductionScenario(seed=2).key()
