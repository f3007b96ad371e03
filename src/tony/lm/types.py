"""The language-model domain: what a scenario yields, what is sent, what comes back."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Protocol

from tony.core.errors import SpecError
from tony.core.stats import Stat

__all__ = ["CORRECT_TAG", "Client", "Completion", "Instance", "Reference", "Request", "Stat"]

CORRECT_TAG = "correct"


@dataclass(frozen=True)
class Reference:
    """One reference output of an instance."""

    output: str
    """The reference text (an answer option, or an acceptable generation)."""
    tags: tuple[str, ...] = ()
    """Labels of this reference; "correct" marks a right answer."""

    @property
    def is_correct(self) -> bool:
        return CORRECT_TAG in self.tags


@dataclass(frozen=True)
class Instance:
    """One test case of a scenario."""

    id: str
    """Stable identifier within the scenario (the same across runs)."""
    input: str
    """The question or context shown to the model."""
    references: tuple[Reference, ...]
    """Answer options (multiple choice) or acceptable outputs (generation)."""
    split: str = "test"
    """"train" instances are only used as few-shot examples."""
    subgroup: str = ""
    """A category for per-group stats, e.g. BBQ's ambiguous or disambiguated context."""
    facets: dict[str, str] = field(default_factory=dict, hash=False, compare=False)
    """Further groupings, each reported as its own subgroups "key=value" (e.g. {"category": "Age",
    "context": "ambig"}): an instance belongs to one subgroup but may fall under several facets."""
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)
    """Anything else the source carries (e.g. every original field of a BBQ row); kept in the record."""

    @property
    def correct_outputs(self) -> list[str]:
        return [r.output for r in self.references if r.is_correct]

    def to_json(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Instance:
        """The instance `to_json` wrote; a key missing from an older record takes the field's default."""
        references = tuple(Reference(r["output"], tuple(r.get("tags", ()))) for r in data.get("references", ()))
        return cls(data["id"], data["input"], references, data.get("split", "test"), data.get("subgroup", ""),
                   data.get("facets") or {}, data.get("extra") or {})


@dataclass(frozen=True)
class Request:
    """What is sent to a model: a generation, or the scoring of continuations."""

    prompt: str
    """The exact text sent, few-shot examples and instructions included."""
    max_tokens: int = 0
    """Tokens to generate (0 for a scoring request)."""
    temperature: float = 0.0
    """0 means greedy decoding."""
    stop: tuple[str, ...] = ()
    """Generation ends before any of these strings."""
    continuations: tuple[str, ...] = ()
    """Texts to score as continuations of the prompt (log-probability of each)."""
    seed: int | None = None
    """Sampling seed; only meaningful (and only cached with) temperature > 0."""
    shared_prefix: str = ""
    """The leading part of `prompt` shared by the run's requests (instructions, few-shot examples);
    a backend may evaluate it once and reuse it."""
    parse_special: bool = False
    """The prompt is text rendered by a chat template: special-token texts in it (e.g. "<|im_start|>")
    stand for the special tokens themselves, and a BOS it starts with is not added again."""
    messages: tuple[tuple[str, str], ...] = ()
    """For a model that takes a conversation (an OpenAI-compatible /chat/completions endpoint): the (role,
    content) turns sent, system turn first where there is one; `prompt` then holds the same turns as text, one
    paragraph each, for the record. Empty for a prompt sent as text."""

    def __post_init__(self) -> None:
        # Every random choice takes its seed from the spec, and a sampled answer is cached only under its seed.
        if self.temperature > 0 and self.seed is None:
            raise SpecError("a sampled request (temperature > 0) needs a seed; the run's seed gives one")

    @property
    def is_scoring(self) -> bool:
        return bool(self.continuations)

    @property
    def is_generation(self) -> bool:
        """The model generates text (tokens to generate, nothing to score)."""
        return self.max_tokens > 0 and not self.continuations

    def cache_form(self) -> dict[str, Any]:
        """The canonical request for the cache key (the seed is keyed separately)."""
        form = asdict(self)
        form.pop("seed")
        if not self.parse_special:
            form.pop("parse_special")  # plain-text requests keep the keys they had before chat prompts
        if not self.messages:
            form.pop("messages")  # and before conversations
        return form

    def cache_seed(self) -> int | None:
        return self.seed if self.temperature > 0 else None

    def to_json(self) -> dict[str, Any]:
        """The request as a record keeps it: its cache form, plus the seed of a sampled request (which the
        cache keys separately), so that it reads back (``from_json``) as the request that was sent."""
        form = self.cache_form()
        if self.cache_seed() is not None:
            form["seed"] = self.seed
        return form

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Request:
        fields = _tuples(data)
        if "messages" in fields:
            fields["messages"] = tuple((role, content) for role, content in fields["messages"])
        return cls(**fields)


@dataclass(frozen=True)
class Completion:
    """What came back for one request."""

    text: str = ""
    """Generated text (empty for a scoring request)."""
    tokens: tuple[str, ...] = ()
    """The generated tokens."""
    logprobs: tuple[float, ...] = ()
    """Log-probability of each generated token, where the backend gives it."""
    continuation_logprobs: tuple[float, ...] = ()
    """Scoring: the summed log-probability of each continuation, in request order."""
    continuation_lengths: tuple[int, ...] = ()
    """Scoring: how many tokens each continuation has."""
    prompt_tokens: int = 0
    """Tokens in the prompt."""
    completion_tokens: int = 0
    """Tokens generated, or for scoring the continuations' tokens."""
    processed_tokens: int = 0
    """Tokens the model actually evaluated for this request (prompt once + continuations in the fast path)."""
    wall_s: float = 0.0
    """Seconds the model spent on this request (the original time, even when served from cache)."""
    cached: bool = False
    """True when the answer came from the request cache."""
    audio: str = ""
    """A model that speaks (tony.voice.audio_model): the SHA-256 of its spoken answer, a WAV file kept as the
    run's artifact; "" otherwise. `text` is then the answer's transcript."""

    def to_json(self) -> dict[str, Any]:
        form = asdict(self)
        if not self.audio:
            form.pop("audio")  # records and cached answers of models that do not speak keep the form they had
        return form

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Completion:
        return cls(**_tuples(data))


def _tuples(data: dict[str, Any]) -> dict[str, Any]:
    """A flat JSON object's arrays as the tuples the frozen dataclasses hold."""
    return {k: tuple(v) if isinstance(v, list) else v for k, v in data.items()}


class Client(Protocol):
    """A model backend. Every client answers a list of requests in order."""

    identity: str
    """Model identity for the cache: name plus a hash of the weights (or the endpoint's model id)."""

    def complete(self, requests: list[Request]) -> list[Completion]:
        """Answer each request; raise ModelError (or ModelServerError) when the model cannot."""
        ...

    def close(self) -> None:
        """Release the model (a no-op for stateless clients)."""
        ...
