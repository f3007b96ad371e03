"""Generation: the model continues the prompt; scored by exact match, quasi-exact match and F1.

Instances without a correct reference (e.g. toxicity prompts) get no match stats: their
generations are judged by the bias and toxicity metrics instead. Where the scenario's prompt
format says `answer="last_number"` (GSM8K), the prediction is the completion's last number and
exact match compares numbers; the raw completion is kept in the record's details.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.lm.adapters.base import Adapter, AdapterSpec, PromptFormat, Scored
from tony.lm.chat import ChatTemplate, Message
from tony.lm.metrics.text import exact_match, f1_score, last_number, numeric_match, quasi_exact_match
from tony.lm.types import Completion, Instance, Request


class GenerationAdapter(Adapter):
    """The prompt is raw text (instructions, few-shot examples, the question), or with `spec.chat` the
    conversation rendered by the model's chat template (see `chat_messages`)."""

    def __init__(self, spec: AdapterSpec, prompt_format: PromptFormat, chat_template: ChatTemplate | None = None,
                 sends_messages: bool = False):
        super().__init__(spec, prompt_format)
        if spec.chat and chat_template is None and not sends_messages:
            raise SpecError("chat=true needs the model's chat template, and this model has no chat template: "
                            "use chat=false")
        self.chat_template = chat_template if spec.chat else None
        self.sends_messages = spec.chat and chat_template is None
        """The conversation goes to the model as turns (`Request.messages`), which applies its own template."""

    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator):
        if any(not e.correct_outputs for e in examples):
            raise SpecError("few-shot examples need a correct reference, and this scenario has none: use num_train=0")
        if self.chat_template is not None:
            return [self._chat_request(self.chat_template, instance, examples)], {}
        if self.sends_messages:
            return [self._messages_request(instance, examples)], {}
        shots = [f"{self.format.block(e.input)} {e.correct_outputs[0]}" for e in examples]
        shared, prompt = self.format.prompt(shots, self.format.block(instance.input))
        request = Request(prompt=prompt, max_tokens=self.spec.max_tokens, stop=self.spec.stop, shared_prefix=shared)
        return [request], {}

    def chat_messages(self, instance: Instance, examples: list[Instance]) -> list[Message]:
        """The instructions as the system turn (where there are any), each example as a user turn and its
        answer as the assistant's, and the question as the last user turn. A turn is the input after the
        format's input prefix; the output prefix ("A:") is left out, since the assistant's turn marks the answer."""
        system = self.format.instructions.strip()
        messages = [{"role": "system", "content": system}] if system else []
        for example in examples:
            messages.append({"role": "user", "content": self.format.input_prefix + example.input})
            messages.append({"role": "assistant", "content": example.correct_outputs[0]})
        messages.append({"role": "user", "content": self.format.input_prefix + instance.input})
        return messages

    def _chat_request(self, template: ChatTemplate, instance: Instance, examples: list[Instance]) -> Request:
        messages = self.chat_messages(instance, examples)
        prompt = template.render(messages, add_generation_prompt=True)
        # The same for every instance of a draw: the turns before the question, where they render as a
        # prefix of the prompt (a template may write early turns differently once a later one follows).
        try:
            shared = template.render(messages[:-1], add_generation_prompt=False) if len(messages) > 1 else ""
        except SpecError:  # a template may refuse a conversation that ends with the assistant
            shared = ""
        return Request(
            prompt=prompt, max_tokens=self.spec.max_tokens, stop=self.spec.stop,
            shared_prefix=shared if prompt.startswith(shared) else "", parse_special=True,
        )

    def _messages_request(self, instance: Instance, examples: list[Instance]) -> Request:
        turns = tuple((m["role"], m["content"]) for m in self.chat_messages(instance, examples))
        text = "\n\n".join(f"{role}: {content}" for role, content in turns)
        return Request(prompt=text, max_tokens=self.spec.max_tokens, stop=self.spec.stop, messages=turns)

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        if self.format.answer == "last_number":
            return _score_number(instance, completions[0].text)
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


def _score_number(instance: Instance, completion: str) -> Scored:
    """The completion's last number against the references read as numbers ("" and 0 when it has none)."""
    prediction = last_number(completion) or ""
    details = {"completion": completion}
    gold = instance.correct_outputs
    if not gold:
        return Scored(prediction, {}, details=details)
    match = numeric_match(prediction, gold)
    # Only exact match: token F1 or normalized text between two numbers says nothing more.
    return Scored(prediction, {"exact_match": match}, correct=bool(match), details=details)
