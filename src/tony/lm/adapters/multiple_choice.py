"""Multiple choice: joint (lettered options, the model answers a letter), separate (each
option's log-probability as a continuation) and separate calibrated (minus the option's
log-probability after a neutral prompt).

Every adapter shows the options in a seeded shuffled order (the `rng` of `requests`, seeded by
the run's seed, the draw and the instance id), so that no option wins a tie by its place in the
source (TruthfulQA lists the best answer first); the order shown and scored is kept in the
record (`details["options"]`, with `details["scores"]` in the same order).

Each verdict has two per-instance stats:

- `accuracy`: 1 when the highest-scoring option is a correct one;
- `correct_mass`: the softmax probability mass, over the same option scores, on the options
  tagged correct. With several true answers this is TruthfulQA's MC2 score (Lin et al. 2022:
  the probability mass on the true answers, normalized over the true and false answers); with
  one correct option it is the probability of the right answer.
"""

from __future__ import annotations

import re
import string
import zlib
from collections.abc import Sequence
from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.lm.adapters.base import Adapter, Scored, softmax
from tony.lm.metrics.multiple_choice import accuracy
from tony.lm.types import Completion, Instance, Request

LETTERS = string.ascii_uppercase
UNCHOSEN_LOGPROB = -1e9
"""The score of an option a model that only generates did not choose (a probability of 0 for every purpose)."""


def _words(text: str) -> str:
    return " ".join(re.findall(r"\w+", text.casefold()))


def named_option(answer: str, options: Sequence[str]) -> int | None:
    """The one option whose words the answer says, in order, as whole words ("Mercury." in "It is mercury"), not
    counting an option said only inside a longer one ("York" in "New York"); None where it names none, or
    several."""
    said = f" {_words(answer)} "
    words = [_words(o) for o in options]
    named = {w for w in words if w and f" {w} " in said}
    alone = [w for w in named if not any(w != other and f" {w} " in f" {other} " for other in named)]
    return words.index(alone[0]) if len(alone) == 1 and words.count(alone[0]) == 1 else None


def _options(instance: Instance) -> list[str]:
    if len(instance.references) < 2 or not instance.correct_outputs:
        raise SpecError(
            f"instance {instance.id} has no answer options to choose from; use method=generation for this scenario"
        )
    return [r.output for r in instance.references]


class _MultipleChoice(Adapter):
    multiple_choice = True

    def _verdict(self, instance: Instance, options: list[str], scores: list[float], extra: dict[str, Any]) -> Scored:
        probabilities = softmax(scores)
        best = int(np.argmax(scores))
        correct = instance.correct_outputs
        chosen_accuracy = accuracy(options[best], correct)
        correct_mass = float(sum(p for option, p in zip(options, probabilities, strict=True) if option in correct))
        return Scored(
            prediction=options[best],
            stats={"accuracy": chosen_accuracy, "correct_mass": correct_mass},
            confidence=float(probabilities[best]),
            correct=bool(chosen_accuracy),
            details={"options": options, "scores": scores, **extra},
        )


class SeparateAdapter(_MultipleChoice):
    """Score each option, in a seeded shuffled order, as a continuation of the question; pick the most likely."""

    def _shots(self, examples: list[Instance]) -> list[str]:
        return [f"{self.format.block(e.input)} {e.correct_outputs[0]}" for e in examples]

    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator):
        options = _options(instance)
        # Scored independently, yet argmax breaks ties by position: shuffled so a tie favors no source order.
        shown = [options[i] for i in rng.permutation(len(options))]
        shared, prompt = self.format.prompt(self._shots(examples), self.format.block(instance.input))
        continuations = tuple(f" {o}" for o in shown)
        return [Request(prompt=prompt, continuations=continuations, shared_prefix=shared)], {"options": shown}

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        return self._verdict(instance, context["options"], list(completions[0].continuation_logprobs), {})


class CalibratedSeparateAdapter(SeparateAdapter):
    """log p(option | question) - log p(option | neutral prompt): corrects for options that are likely anyway."""

    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator):
        requests, context = super().requests(instance, examples, rng)
        neutral = self.format.output_prefix.strip() or "Answer:"
        return [*requests, Request(prompt=neutral, continuations=requests[0].continuations)], context

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        conditional = completions[0].continuation_logprobs
        unconditional = completions[1].continuation_logprobs
        scores = [c - u for c, u in zip(conditional, unconditional, strict=True)]
        return self._verdict(instance, context["options"], scores, {"unconditional": list(unconditional)})


class JointAdapter(_MultipleChoice):
    """Options listed as A., B., ... in a seeded order; the model's answer is the letter it
    finds most likely after "Answer:" (greedy decoding restricted to the option letters)."""

    answer_prefix = "\nAnswer:"

    def _block(self, question: str, options: list[str]) -> str:
        block = "\n".join([question, *(f"{LETTERS[i]}. {o}" for i, o in enumerate(options))])
        return f"{self.format.input_prefix}{block}{self.answer_prefix}"

    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator):
        options = _options(instance)
        if len(options) > len(LETTERS):
            raise SpecError(f"instance {instance.id} has {len(options)} options, more than {len(LETTERS)} letters")
        # Options read out with a spoken question (tony.voice.channel) keep the order they were heard in.
        read_out = instance.extra.get("options_read_out")
        shown = list(read_out) if read_out else [options[i] for i in rng.permutation(len(options))]
        shots = []
        for example in examples:
            # An example's order depends on the example alone, so every prompt of a draw shares its prefix.
            example_rng = np.random.default_rng(zlib.crc32(example.id.encode("utf-8")))
            example_options = [r.output for r in example.references]
            order = [example_options[i] for i in example_rng.permutation(len(example_options))]
            answer = LETTERS[order.index(example.correct_outputs[0])]
            shots.append(f"{self._block(example.input, order)} {answer}")
        shared, prompt = self.format.prompt(shots, self._block(instance.input, [] if read_out else shown))
        letters = tuple(f" {LETTERS[i]}" for i in range(len(shown)))
        return [Request(prompt=prompt, continuations=letters, shared_prefix=shared)], {"options": shown}

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        completion, options = completions[0], context["options"]
        scores = list(completion.continuation_logprobs)
        # A model that only generates (an audio model, tony.voice.audio_model) ties the letters when its answer
        # says none; the option it names in words, where it names exactly one, is then its choice.
        named = named_option(completion.text, options) if completion.text and len(set(scores)) == 1 else None
        if named is None:
            return self._verdict(instance, options, scores, {})
        scores = [0.0 if i == named else UNCHOSEN_LOGPROB for i in range(len(scores))]
        return self._verdict(instance, options, scores, {"chosen_by": "option named"})
