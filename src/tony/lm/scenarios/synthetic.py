"""Pattern induction: a generated scenario that needs no data.

In the spirit of HELM's synthetic reasoning (pattern induction): every instance
applies one hidden rule to a few random word sequences, shows them as examples,
and asks for the rule's output on a new sequence:

    Each line applies the same hidden rule to a sequence of words.
    pear fig lime -> lime fig pear
    kiwi plum date -> date plum kiwi
    oat melon rice ->

The reference is the exact output ("rice melon oat"), one short line, so the
model generates until a newline and is scored by exact match. The rule's name
is the instance's subgroup, so accuracy can be reported per rule. Instance `i`
uses rule `RULES[i % len(RULES)]`; everything else is drawn from
`random.Random(seed)`, so a seed fixes every instance. Every shown sequence
is distinct and changed by the rule (a sorted sequence is never shown for "sort").
"""

from __future__ import annotations

import random
from collections.abc import Callable

from pydantic import Field

from tony.lm.adapters.base import PromptFormat
from tony.lm.scenarios.base import Scenario
from tony.lm.types import CORRECT_TAG, Instance, Reference

VOCABULARY = (
    "apple", "bean", "beet", "corn", "date", "fig", "grape", "guava", "kale", "kiwi", "leek", "lemon", "lime",
    "mango", "melon", "nut", "oat", "olive", "pea", "peach", "pear", "plum", "rice", "sage", "tea", "yam",
)  # fmt: skip
"""The symbols: short lowercase words, each one token-ish, no two equal."""

INSTRUCTION = "Each line applies the same hidden rule to a sequence of words."

Sequence = tuple[str, ...]
Rule = Callable[[Sequence, str], Sequence]
"""A rule maps a sequence (and the instance's fixed symbol, used by some rules) to its output."""

RULES: dict[str, Rule] = {
    "reverse": lambda seq, fixed: seq[::-1],
    "repeat_first": lambda seq, fixed: seq[:1] + seq,
    "sort": lambda seq, fixed: tuple(sorted(seq)),
    "every_other": lambda seq, fixed: seq[::2],
    "swap_first_last": lambda seq, fixed: seq[-1:] + seq[1:-1] + seq[:1],
    "append_symbol": lambda seq, fixed: seq + (fixed,),
}
"""The hidden rules, by name: reverse; write the first symbol twice; sort alphabetically;
keep the 1st, 3rd, 5th, ... symbols; swap the first and last; append a fixed symbol."""


class PatternInductionScenario(Scenario):
    """Generated pattern induction: infer a hidden rule from examples, apply it to a new sequence."""

    num_instances: int = Field(default=200, ge=1, le=100_000)
    """How many instances to generate."""
    seed: int = 0
    """Fixes every random choice."""
    num_examples: int = Field(default=3, ge=1, le=20)
    """Example lines shown before the query."""
    pattern_length: int = Field(default=3, ge=2, le=len(VOCABULARY))
    """Symbols in each sequence (all distinct)."""

    def prompt_format(self) -> PromptFormat:
        """The prompt already ends in "->": the answer follows it directly, with no Q:/A: around it."""
        return PromptFormat(input_prefix="", output_prefix="")

    def default_method(self) -> str:
        return "generation"

    def instances(self) -> list[Instance]:
        rng = random.Random(self.seed)
        names = list(RULES)
        return [self._instance(i, names[i % len(names)], rng) for i in range(self.num_instances)]

    def _instance(self, index: int, rule_name: str, rng: random.Random) -> Instance:
        rule = RULES[rule_name]
        fixed = rng.choice(VOCABULARY)
        sequences: list[Sequence] = []
        while len(sequences) < self.num_examples + 1:
            sequence = tuple(rng.sample(VOCABULARY, self.pattern_length))
            # distinct sequences that the rule changes (an already sorted one would show nothing)
            if sequence not in sequences and rule(sequence, fixed) != sequence:
                sequences.append(sequence)
        *examples, query = sequences
        lines = [INSTRUCTION]
        lines += [f"{' '.join(seq)} -> {' '.join(rule(seq, fixed))}" for seq in examples]
        lines.append(f"{' '.join(query)} ->")
        answer = " ".join(rule(query, fixed))
        return Instance(
            id=f"induction-{index}",
            input="\n".join(lines),
            references=(Reference(answer, (CORRECT_TAG,)),),
            subgroup=rule_name,
            extra={"rule": rule_name, "query": list(query), "fixed_symbol": fixed},
        )
