"""Run entries and suite files into LMRunSpecs.

A run entry is `SCENARIO:key=value,key=value`, for example
`bigbench:task=truthful_qa,method=multiple_choice_separate,model=gemma-3-270m`.
Keys: `model`, `model.<arg>` (model arguments), `method`, `num_train`,
`num_draws`, `max_tokens`, `stop`, `instructions`, `chat`, `max_instances`, `seed`,
`perturbations` (names or the bundles `robustness` and `fairness`, joined
by `+`), `max_perturbed`, the speech channel's `channel`, `voice`, `speed`, `noise_snr`, `noise` and `telephone`
(tony.voice.channel); every other key is a scenario argument. `chat` (true/false) renders generation
prompts with the model's chat template; an entry without it gets the model's default (true for chat
models such as smollm2-135m-instruct, false for base models). A suite file (YAML) has optional
`defaults` (the same keys), optional `models` (a list: every run that names no model runs once on each)
and `runs`, a list of entries, each a string as above or a mapping with `scenario` and the same keys.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from tony.core.errors import DataError, DataNotInstalledError, SpecError
from tony.core.registry import registry
from tony.core.spec import read_config_file
from tony.lm.adapters.base import AdapterSpec
from tony.lm.perturbations.suites import expand_perturbations
from tony.lm.run import LMRunSpec

ADAPTER_KEYS = {"method", "num_train", "num_draws", "max_tokens", "stop", "instructions", "chat"}
RUN_KEYS = {"max_instances", "seed", "model", "max_perturbed"}
CHANNEL_KEYS = {"channel", "voice", "speed", "noise_snr", "noise", "telephone"}
"""How the prompt reaches the model (`channel=speech` and its conditions; tony.voice.channel)."""

MissingDataHandler = Callable[[str, DataNotInstalledError], None]
"""Told the entry (as written) and the error of a run left out because its data is not installed."""


QUOTES = "\"'"
HOW_TO_QUOTE = ("wrap a value holding a comma or a quote in quotes, e.g. task=\"a,b\" or instructions='Don''t' "
                "(a quote inside is doubled); see docs/run-entries.md")


def parse_entry(text: str) -> dict[str, Any]:
    """`scenario:k=v,...` into a flat mapping with `scenario` (every value a string; the grammar is in
    docs/run-entries.md).

    Fields are separated by commas; empty fields are skipped. A value runs from after the first `=` to the next
    comma, trailing spaces dropped. A value that starts with a double or a single quote ends at the matching
    quote: inside it commas, `=` and the other quote are literal, backslashes too, and the quote itself is
    written twice (`instructions='Don''t'`); only spaces may follow it before the next comma. What cannot be read one
    way only is a SpecError that says how to quote: an unterminated quote, a quote in the middle of a bare value
    or in a key, text after a closing quote, a key given twice. An entry without quote characters parses as it
    always has.
    """
    scenario, _, rest = text.strip().partition(":")
    if not scenario:
        raise SpecError(f"run entry {_shown(text)} names no scenario: write SCENARIO:key=value,... (see `tony ls`)")
    fields: dict[str, Any] = {"scenario": scenario}
    at = 0
    while at <= len(rest):
        key, value, at = _field(text, rest, at)
        if key is None:
            continue
        if key in fields:
            how = "name the scenario before the colon only" if key == "scenario" else "give each key once"
            raise SpecError(f"run entry {_shown(text)}: {_shown(key)} is given twice; {how}")
        fields[key] = value
    return fields


def _field(text: str, rest: str, at: int) -> tuple[str | None, str, int]:
    """The field of `rest` that starts at `at`: (key or None for an empty field, value, where the next starts)."""
    end = len(rest)
    stop = at
    while stop < end and rest[stop] not in ",=":
        stop += 1
    key = rest[at:stop].strip()
    if stop == end or rest[stop] == ",":
        if key:
            raise SpecError(f"run entry {_shown(text)}: {_shown(key)} is not key=value")
        return None, "", stop + 1
    if not key:
        comma = rest.find(",", stop)
        raise SpecError(f"run entry {_shown(text)}: {_shown(rest[at:end if comma == -1 else comma].strip())} "
                        "is not key=value")
    if any(q in key for q in QUOTES):
        raise SpecError(f"run entry {_shown(text)}: key {_shown(key)} has a quote; keys are never quoted, "
                        f"only values: {HOW_TO_QUOTE}")
    start = stop + 1
    opening = start
    while opening < end and rest[opening].isspace():
        opening += 1
    if opening < end and rest[opening] in QUOTES:
        value, after = _quoted(text, rest, opening, key)
        while after < end and rest[after].isspace():
            after += 1
        if after < end and rest[after] != ",":
            raise SpecError(f"run entry {_shown(text)}: text after the closing quote of the value of "
                            f"{_shown(key)}; {HOW_TO_QUOTE}")
        return key, value, after + 1
    comma = rest.find(",", start)
    comma = end if comma == -1 else comma
    value = rest[start:comma].rstrip()  # as before quoting existed: spaces after `=` kept, trailing ones not
    if any(q in value for q in QUOTES):
        raise SpecError(f"run entry {_shown(text)}: the value of {_shown(key)} has a quote inside it; "
                        f"{HOW_TO_QUOTE}")
    return key, value, comma + 1


def _quoted(text: str, rest: str, opening: int, key: str) -> tuple[str, int]:
    """The quoted value whose quote is at `opening`, undoubled, and the index just after its closing quote."""
    quote, pieces, at = rest[opening], [], opening + 1
    while True:
        close = rest.find(quote, at)
        if close == -1:
            raise SpecError(f"run entry {_shown(text)}: the value of {_shown(key)} opens a quote ({quote}) "
                            f"that is never closed; {HOW_TO_QUOTE}")
        pieces.append(rest[at:close])
        if rest.startswith(quote, close + 1):  # a doubled quote is one literal quote
            pieces.append(quote)
            at = close + 2
            continue
        return "".join(pieces), close + 1


def _shown(text: str) -> str:
    """`text` quoted for a one-line message: line breaks and other control characters escaped."""
    if text.isprintable():
        return f"'{text}'"
    return repr(text)


def build_spec(fields: dict[str, Any], defaults: dict[str, Any] | None = None) -> LMRunSpec:
    """One LMRunSpec from flat fields (entry keys), over `defaults`."""
    merged = {**(defaults or {}), **fields}
    scenario_name = merged.pop("scenario", None)
    if not scenario_name:
        raise SpecError("a run needs a scenario, e.g. bigbench:task=strategyqa (see `tony ls`)")
    scenario_cls = registry.get("scenario", str(scenario_name))
    model_args = {k.removeprefix("model."): merged.pop(k) for k in list(merged) if k.startswith("model.")}
    adapter = {k: merged.pop(k) for k in list(merged) if k in ADAPTER_KEYS}
    run = {k: merged.pop(k) for k in list(merged) if k in RUN_KEYS}
    if "perturbations" in merged:
        run["perturbations"] = expand_perturbations(merged.pop("perturbations"))
    channel = {k: merged.pop(k) for k in list(merged) if k in CHANNEL_KEYS}
    scenario = scenario_cls.parse(merged)
    instances = scenario.cached_instances()  # a missing or malformed data file is reported now, before any run
    adapter.setdefault("method", scenario.default_method())
    registry.get("adapter", str(adapter["method"]))
    fmt = scenario.prompt_format()
    for key in ("stop", "max_tokens"):  # the scenario's generation defaults, where the entry sets none
        if getattr(fmt, key, None) is not None:
            adapter.setdefault(key, getattr(fmt, key))
    if isinstance(adapter.get("stop"), str):
        adapter["stop"] = (adapter["stop"],)
    model_name = str(run.get("model", LMRunSpec.model_fields["model"].default))
    source = registry.get("model", model_name).parse(model_args)  # bad model arguments fail now, not mid-suite
    if channel:  # the prompt spoken: one speech variant per voice and condition, as the model and adapter take it
        from tony.voice.channel import channel_perturbations

        run["perturbations"] = [*run.get("perturbations", []), *channel_perturbations(
            channel, hears_audio=getattr(source, "hears_audio", False), method=str(adapter["method"]))]
    if adapter.get("chat") is None:  # the model's own default: chat models chat where they generate
        adapter["chat"] = source.chat_default and adapter["method"] == "generation"
    adapter_spec = AdapterSpec.parse(adapter)  # "true"/"false" from a run entry parse as booleans
    if adapter_spec.chat and source.chat_template() is None and not source.takes_messages():
        raise SpecError(f"model {model_name} has no chat template in its weights file and takes no conversation "
                        "(an OpenAI-compatible model does with model.endpoint=chat): use chat=false")
    if adapter_spec.num_train and not any(i.correct_outputs for i in instances):
        raise SpecError(f"scenario {scenario_name} has no correct references to show as few-shot examples: "
                        "use num_train=0")
    spec = LMRunSpec.parse({
        "scenario": scenario_name,
        "scenario_args": scenario.model_dump(exclude_defaults=True),
        "model_args": model_args,
        "adapter": adapter_spec.model_dump(),
        **run,
    })
    for perturbation in spec.build_perturbations():
        perturbation.check_ready()
    return spec


def load_suite(path: str | Path, overrides: dict[str, Any] | None = None, *,
               on_missing_data: MissingDataHandler | None = None) -> list[LMRunSpec]:
    """Specs from a YAML suite file; `overrides` (from the command line) win over its defaults."""
    file = Path(path)
    data = read_config_file(file, "suite file") or {}
    if not isinstance(data, dict) or not isinstance(data.get("runs"), list):
        raise DataError(f"suite file {file} needs a `runs:` list (and optional `defaults:` and `models:`)")
    if not isinstance(data.get("defaults") or {}, dict):
        raise DataError(f"suite file {file}: `defaults:` must be a mapping of key: value")
    _check_keys(file, "`defaults:`", data.get("defaults") or {})
    models = data.get("models") or []
    if not isinstance(models, list) or not all(isinstance(m, str) and m for m in models):
        raise DataError(f"suite file {file}: `models:` must be a list of model names (see `tony ls model`)")
    defaults = {**(data.get("defaults") or {}), **(overrides or {})}
    specs = []
    for number, entry in enumerate(data["runs"], start=1):
        if isinstance(entry, str):
            fields = parse_entry(entry)
        elif isinstance(entry, dict):
            _check_keys(file, f"run {number}", entry)
            fields = dict(entry)
        else:
            raise DataError(f"suite file {file}: run {number} is {type(entry).__name__}; write each run as "
                            "SCENARIO:key=value,... or a mapping with `scenario:`")
        # `models:` crosses every run that names no model of its own with each model listed.
        chosen = [{}] if "model" in fields or "model" in (overrides or {}) or not models else [
            {"model": m} for m in models]
        for model in chosen:
            specs += _built_or_skipped(str(entry), {**fields, **model, **(overrides or {})}, defaults,
                                       on_missing_data)
    return specs


def _check_keys(file: Path, where: str, mapping: dict[Any, Any]) -> None:
    bad = [key for key in mapping if not isinstance(key, str)]
    if bad:
        raise DataError(f"suite file {file}: {where} has a key that is not a name ({bad[0]!r}); write name: value")


def specs_from_arguments(entries: list[str], overrides: dict[str, Any], *,
                         on_missing_data: MissingDataHandler | None = None) -> list[LMRunSpec]:
    """Run entries and/or suite files (anything ending .yaml/.yml) from the command line.

    With `on_missing_data`, an entry whose data is not installed is passed to it and left out, not an error.
    """
    specs: list[LMRunSpec] = []
    for entry in entries:
        if entry.endswith((".yaml", ".yml")):
            specs += load_suite(entry, overrides, on_missing_data=on_missing_data)
        else:
            specs += _built_or_skipped(entry, {**parse_entry(entry), **overrides}, None, on_missing_data)
    return specs


def _built_or_skipped(entry: str, fields: dict[str, Any], defaults: dict[str, Any] | None,
                      on_missing_data: MissingDataHandler | None) -> list[LMRunSpec]:
    try:
        return [build_spec(fields, defaults)]
    except DataNotInstalledError as err:
        if on_missing_data is None:
            raise
        on_missing_data(entry, err)
        return []
