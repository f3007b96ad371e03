"""Adapters turn an instance (and few-shot examples) into requests, and answers into a scored record."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

import numpy as np
from pydantic import Field, ValidationInfo, field_validator

from tony.core.spec import Spec
from tony.lm.types import Completion, Instance, Request


class PromptFormat(Spec):
    """How an instance is written into a prompt."""

    instructions: str = ""
    """Text before everything else (e.g. a BIG-bench task_prefix)."""
    input_prefix: str = "Q: "
    """Before each input."""
    output_prefix: str = "\nA:"
    """After each input, before the answer (the answer follows after one space)."""
    example_separator: str = "\n\n"
    """Between few-shot examples, and between them and the question."""
    stop: tuple[str, ...] | None = None
    """Generation: the scenario's stop strings (e.g. GSM8K's, so that a base model stops after its answer);
    used where the run does not set `stop` itself. None: the AdapterSpec's."""
    max_tokens: int | None = None
    """Generation: the scenario's default length (a worked solution needs more than a short answer);
    used where the run does not set `max_tokens` itself. None: the AdapterSpec's."""
    answer: Literal["text", "last_number"] = "text"
    """Generation: how the answer is read from a completion. "text": the stripped completion;
    "last_number": its last number, compared as a number (see metrics.text.last_number)."""

    def block(self, text: str) -> str:
        return f"{self.input_prefix}{text}{self.output_prefix}"

    def prompt(self, examples: list[str], question: str) -> tuple[str, str]:
        """(shared prefix, whole prompt): instructions and examples, then the question."""
        head = [self.instructions.strip()] if self.instructions.strip() else []
        shared = "".join(part + self.example_separator for part in [*head, *examples])
        return shared, shared + question


class AdapterSpec(Spec):
    """How a scenario's instances are put to a model (HELM's AdapterSpec)."""

    method: str = "multiple_choice_separate"
    """The adapter: generation, multiple_choice_joint, multiple_choice_separate, multiple_choice_separate_calibrated."""
    num_train: int = Field(0, ge=0, le=64)
    """Few-shot examples in each prompt."""
    num_draws: int = Field(1, ge=1, le=20)
    """Independent seeded draws of the few-shot examples; stats are reported per draw and across draws."""
    max_tokens: int = Field(32, ge=1, le=4096)
    """Generation: tokens to generate at most."""
    stop: tuple[str, ...] = ("\n",)
    """Generation: stop strings."""
    instructions: str | None = None
    """Overrides the scenario's instructions ("" for none)."""
    chat: bool = False
    """Render the prompt with the model's chat template: the instructions as the system turn, few-shot
    examples as user/assistant turns and the question as the last user turn. Generation only."""

    @field_validator("chat")
    @classmethod
    def _chat_is_for_generation(cls, chat: bool, info: ValidationInfo) -> bool:
        method = info.data.get("method")
        if chat and method != "generation":
            raise ValueError(f"chat=true renders generation prompts only, not {method}; use chat=false")
        return chat


@dataclass
class Scored:
    """An adapter's verdict on one instance."""

    prediction: str
    stats: dict[str, float]
    confidence: float | None = None
    correct: bool | None = None
    details: dict[str, Any] | None = None


class Adapter:
    """Base: subclasses build requests and score completions."""

    multiple_choice: ClassVar[bool] = False
    """Whether the model chooses among an instance's options (so chance and majority-option baselines apply),
    rather than generating its answer."""

    def __init__(self, spec: AdapterSpec, prompt_format: PromptFormat) -> None:
        self.spec = spec
        self.format = prompt_format

    def requests(self, instance: Instance, examples: list[Instance], rng: np.random.Generator) -> tuple[
        list[Request], dict[str, Any]
    ]:
        """Requests for `instance`, and what the scorer needs to know about them (e.g. option order)."""
        raise NotImplementedError

    def score(self, instance: Instance, completions: list[Completion], context: dict[str, Any]) -> Scored:
        raise NotImplementedError


def softmax(scores: list[float]) -> np.ndarray:
    values = np.asarray(scores, dtype=float)
    weights = np.exp(values - values.max())
    return weights / weights.sum()
