"""Generation: the model continues the prompt; scored by exact match, quasi-exact match and F1.

Instances without a correct reference (e.g. toxicity prompts) get no match stats: their
generations are judged by the bias and toxicity metrics instead.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.lm.adapters.base import Adapter, Scored
from tony.lm.metrics.text import exact_match, f1_score, quasi_exact_match
from tony.lm.types import Completion, Instance, Request


class GenerationAdapter(Adapter):
    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator):
        if any(not e.correct_outputs for e in examples):
            raise SpecError("few-shot examples need a correct reference, and this scenario has none: use num_train=0")
        shots = [f"{self.format.block(e.input)} {e.correct_outputs[0]}" for e in examples]
        shared, prompt = self.format.prompt(shots, self.format.block(instance.input))
        request = Request(prompt=prompt, max_tokens=self.spec.max_tokens, stop=self.spec.stop, shared_prefix=shared)
        return [request], {}

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        prediction = completions[0].text.strip()
        gold = instance.correct_outputs
        if not gold:
            return Scored(prediction, {})
        stats = {
            "exact_match": exact_match(prediction, gold),
            "quasi_exact_match": quasi_exact_match(prediction, gold),
            "f1": f1_score(prediction, gold),
        }
        return Scored(prediction, stats, correct=bool(stats["exact_match"]))
