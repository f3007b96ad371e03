"""The per-instance drill-down: every prompt exactly as sent, what came back, references and stats,
each perturbed variant beside its original; GROUPS_PER_PAGE instances to a page.

A record with a perturbation is a variant of the record with the same draw and instance id and no
perturbation. A run's records are read in chunks and rendered as they come, so only the rendered HTML
of a run is held, never its parsed records. A record with an error (its request could not be answered)
shows the reason, escaped, where its prediction would be.
"""

from __future__ import annotations

import json
import re
from collections.abc import Collection, Iterator, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

from tony.core.store import Store
from tony.lm.record import Exchange, LMRecord
from tony.lm.report import paths
from tony.lm.types import Reference
from tony.report.html import json_script, link, number, pre, safe_json, text
from tony.report.pages import Asset, Page

GROUPS_PER_PAGE = 50
CHUNK = 2000
"""Records read from the store at a time."""
BEST = ' class="best"'
CORRECT_TAG = '<span class="tag">correct</span>'
RIGHT = '<span class="badge right">correct</span>'
WRONG = '<span class="badge wrong">wrong</span>'
ERROR = '<span class="badge wrong" title="not answered: see the reason below">error</span>'
UNSHOWN_COMPLETION = ("tokens", "logprobs", "continuation_lengths", "processed_tokens")
SHA256 = re.compile(r"[0-9a-f]{64}")
AUDIO_FOLDER = "audio"
"""Where a run's spoken prompts and answers go, beside its drill-down pages."""


@dataclass
class Group:
    """One instance of one few-shot draw: its original record and its perturbed variants, rendered."""

    instance_id: str
    draw: int
    subgroup: str
    original: str = ""
    variants: list[str] = field(default_factory=list)
    more: dict[str, dict[str, Any]] = field(default_factory=dict)
    """By item id, what the panels do not show (details, tokens, ...), for the page's JSON."""
    correct: bool | None = None
    error: bool = False
    """The original record is an error (its request could not be answered)."""


@dataclass
class RunRecords:
    """What the drill-down and the run page need from a run's records."""

    groups: list[Group]
    count: int
    calibration: list[tuple[float, bool]]
    """(confidence, correct) of each unperturbed record that has a confidence."""
    errors: int = 0
    """Records whose request could not be answered (their error set)."""
    audio: dict[str, Path] = field(default_factory=dict)
    """The spoken prompts and answers the panels play: site path -> the store artifact copied there."""


def read_records(store: Store, run_id: str) -> RunRecords:
    """Every record of the run, rendered and grouped under its original, in the order stored."""
    groups: dict[tuple[int, str], Group] = {}
    calibration: list[tuple[float, bool]] = []
    count = errors = 0
    audio: dict[str, Path] = {}
    while True:
        chunk = store.records(run_id, offset=count, limit=CHUNK)
        for stored in chunk:
            item_id, record = stored["item_id"], LMRecord.from_json(stored)
            group = groups.get(record.key)
            if group is None:
                group = groups[record.key] = Group(record.instance.id, record.draw, record.instance.subgroup)
            group.more[item_id] = _unshown(record)
            errors += not record.answered
            played = spoken_files(store, record)
            audio |= {f"{paths.FOLDER}/{AUDIO_FOLDER}/{digest}.wav": file for digest, file in played.items()}
            if not record.is_original:
                group.variants.append(panel(item_id, record, played=played.keys()))
                continue
            group.original = panel(item_id, record, played=played.keys())
            group.correct = record.correct
            group.error = not record.answered
            if record.confidence is not None and record.correct is not None:
                calibration.append((record.confidence, record.correct))
        count += len(chunk)
        if len(chunk) < CHUNK:
            return RunRecords(list(groups.values()), count, calibration, errors, audio)


def spoken_digest(record: LMRecord) -> str | None:
    """The SHA-256 of a speech-channel record's spoken prompt (tony.voice.channel), if it has one."""
    speech = record.instance.extra.get("speech")
    digest = speech.get("audio") if isinstance(speech, dict) else None
    return digest if isinstance(digest, str) and SHA256.fullmatch(digest) else None


def spoken_files(store: Store, record: LMRecord) -> dict[str, Path]:
    """The spoken audio of a record the store holds (tony.voice.artifacts), SHA-256 -> artifact file: its spoken
    prompt, and the spoken answer of each completion of a model that speaks."""
    answers = (e.completion.audio for e in record.exchanges if e.completion is not None)
    files = {d: store.artifact_path(d) for d in (spoken_digest(record), *answers) if d and SHA256.fullmatch(d)}
    return {d: file for d, file in files.items() if file.is_file()}


def _player(digest: str, transcript: str, css: str) -> str:
    """A player of spoken audio (a hash-named file beside the page) with its transcript."""
    return (f'<audio controls preload="none" src="{AUDIO_FOLDER}/{digest}.wav"></audio> '
            f'<span class="{css}">{text(transcript)}</span>')


def _heard(speech: dict[str, Any]) -> str:
    """The spoken prompt beside what was heard of it (or spoken, where the audio itself was sent)."""
    heard = speech.get("heard", speech.get("spoken", ""))
    return f'<dt>spoken prompt</dt><dd>{_player(speech["audio"], heard, "heard")}</dd>'


def panel(item_id: str, record: LMRecord, *, played: Collection[str] = ()) -> str:
    """One record (stored as `item_id`): its prompts and completions, prediction, stats and references; the
    spoken prompt and answers among `played` (hashes whose files the page has beside it) with players."""
    perturbation = record.perturbation
    if perturbation is not None:
        heading = (f'{text(perturbation.label or perturbation.name)}'
                   f'<span class="tag">{text(perturbation.family)}</span>')
    else:
        heading = "original"
    item = text(item_id)
    exchanges = record.exchanges
    sent = "".join(_exchange(e, i, len(exchanges), played) for i, e in enumerate(exchanges))
    correct, error = record.correct, record.error
    badge = ERROR if error else "" if correct is None else RIGHT if correct else WRONG
    error_html = f'<dt>error</dt><dd><span class="error">{text(error)}</span></dd>' if error else ""
    confidence = record.confidence
    confidence_html = "" if confidence is None else f"<dt>confidence</dt><dd>{number(confidence)}</dd>"
    stats = ", ".join(f"{text(k)} {number(v)}" for k, v in sorted(record.stats.items()))
    references = "".join(_reference(r) for r in record.instance.references)
    prediction = record.prediction
    prediction_html = f'<span class="prediction">{text("" if prediction is None else prediction)}</span>'
    heard_html = _heard(record.instance.extra["speech"]) if spoken_digest(record) in played else ""
    return (f'<section class="variant" data-item="{item}"><h4>{heading}</h4>{sent}<dl class="facts">{heard_html}'
            f'<dt>prediction</dt><dd>{prediction_html} {badge}</dd>{error_html}'
            f'{confidence_html}<dt>stats</dt><dd>{stats}</dd></dl><h5>references</h5><ul class="refs">{references}'
            f'</ul><button class="more" type="button" data-item="{item}">details</button></section>')


def _unshown(record: LMRecord) -> dict[str, Any]:
    """The parts of a record its panel does not show, for the "details" button: the adapter's details,
    the instance's extra fields, the few-shot examples, and each completion's tokens and log-probs."""
    completions = [{} if c is None else {k: getattr(c, k) for k in UNSHOWN_COMPLETION if getattr(c, k)}
                   for c in (e.completion for e in record.exchanges)]
    unshown = {"details": record.details, "extra": record.instance.extra,
               "examples": record.examples, "completions": completions if any(completions) else None}
    return {k: v for k, v in unshown.items() if v}


def _reference(reference: Reference) -> str:
    tags = reference.tags
    if tags == ("correct",):  # the common case, without escaping a known word
        return f'<li class="correct"><span class="ref">{text(reference.output)}</span>{CORRECT_TAG}</li>'
    css = ' class="correct"' if reference.is_correct else ""
    labels = "".join(f'<span class="tag">{text(t)}</span>' for t in tags)
    return f'<li{css}><span class="ref">{text(reference.output)}</span>{labels}</li>'


def _exchange(exchange: Exchange, index: int, total: int, played: Collection[str]) -> str:
    request, completion = exchange.request, exchange.completion
    prompt, shared = request.prompt, request.shared_prefix
    number_ = f" {index + 1} of {total}" if total > 1 else ""
    if shared and prompt.startswith(shared):
        # The shared prefix (instructions, few-shot examples) is the head of the prompt: shown muted, in place.
        sent = f'<pre class="prompt">\n{_shared_html(shared)}{text(prompt[len(shared):])}</pre>'
    else:
        sent = pre(prompt, "prompt")
    settings = f"max_tokens {request.max_tokens}, temperature {request.temperature}, stop {_stop_html(request.stop)}"
    heading = f'<h5>prompt{number_} <span class="muted">(exactly as sent; {settings})</span></h5>{sent}'
    if completion is None:  # refused: too long for the context, or a bad request to the server
        reason = exchange.error or "not answered"
        return f'{heading}<h5>completion <span class="muted">(none)</span></h5>{pre(reason, "error")}'
    cost = (f"{completion.prompt_tokens} prompt + {completion.completion_tokens} tokens, "
            f"{completion.wall_s:.3f} s{' (cached)' if completion.cached else ''}")
    if request.continuations:
        scores = completion.continuation_logprobs
        best = max(range(len(scores)), key=scores.__getitem__) if scores else -1
        rows = "".join(
            f'<tr{BEST if i == best else ""}><td><span class="ref">{text(c)}</span></td>'
            f'<td class="num">{_logprob(scores, i)}</td></tr>'
            for i, c in enumerate(request.continuations))
        answer = (f'<table class="scores"><thead><tr><th>continuation</th><th>log-prob</th></tr></thead>'
                  f"<tbody>{rows}</tbody></table>")
    else:
        answer = pre(completion.text, "completion")
    if completion.audio in played:  # a model that speaks: its answer as it said it, beside the transcript
        answer = f'<p class="spoken">spoken answer {_player(completion.audio, completion.text, "said")}</p>{answer}'
    return f'{heading}<h5>completion <span class="muted">({cost})</span></h5>{answer}'


@lru_cache(maxsize=64)
def _shared_html(shared: str) -> str:
    """A shared prefix, escaped once for all the prompts of a draw that begin with it."""
    return f'<span class="shared" title="shared prefix: instructions and examples">{text(shared)}</span>'


@lru_cache(maxsize=64)
def _stop_html(stop: tuple[str, ...]) -> str:
    return text(json.dumps(list(stop), ensure_ascii=False))


def _logprob(scores: Sequence[float | None], i: int) -> str:
    return f"{scores[i]:.4f}" if i < len(scores) and scores[i] is not None else "n/a"


def pager(run_id: str, current: int, total: int) -> str:
    """Links to the first, previous, nearby, next and last drill-down pages."""
    def page_link(number_: int, label: str) -> str:
        return link(paths.href(paths.instances_page(run_id, number_)), label)

    shown = sorted({1, total, *range(max(1, current - 3), min(total, current + 3) + 1)})
    parts = [page_link(current - 1, "\u2039 previous")] if current > 1 else []
    last = 0
    for number_ in shown:
        if number_ > last + 1:
            parts.append('<span class="gap">\u2026</span>')
        here = number_ == current
        parts.append(f'<span class="current">{number_}</span>' if here else page_link(number_, str(number_)))
        last = number_
    if current < total:
        parts.append(page_link(current + 1, "next \u203a"))
    return f'<nav class="pager" aria-label="instance pages">{"".join(parts)}</nav>'


def instance_pages(run: dict[str, Any], records: RunRecords) -> Iterator[Page | Asset]:
    """The drill-down pages of a run (none when it has no records), and the spoken audio they play."""
    yield from (Asset(path, source) for path, source in records.audio.items())
    run_id, labels = run["run_id"], run["labels"]
    what = " \u00b7 ".join(str(labels.get(k, "")) for k in ("scenario", "model", "method"))
    total = max(1, -(-len(records.groups) // GROUPS_PER_PAGE))
    for number_ in range(1, total + 1 if records.groups else 1):
        chunk = records.groups[(number_ - 1) * GROUPS_PER_PAGE : number_ * GROUPS_PER_PAGE]
        first = (number_ - 1) * GROUPS_PER_PAGE + 1
        articles = "".join(_article(g) for g in chunk)
        more = safe_json({item: unshown for g in chunk for item, unshown in g.more.items()})
        nav = pager(run_id, number_, total)
        body = (f"<h1>Instances {first}-{first + len(chunk) - 1} of {len(records.groups)}</h1>"
                f"<p>{link(paths.href(paths.run_page(run_id)), what)}: each instance with its perturbed variants "
                f"beside it.</p>{nav}{articles}{nav}{json_script('details', more)}")
        yield Page(paths.instances_page(run_id, number_), f"Instances {number_}/{total}: {what}", body)


def _article(group: Group) -> str:
    badge = ERROR if group.error else "" if group.correct is None else RIGHT if group.correct else WRONG
    subgroup = f'<span class="muted">subgroup {text(group.subgroup)}</span>' if group.subgroup else ""
    variants = f'<span class="muted">{len(group.variants)} variants</span>' if group.variants else ""
    original = group.original or '<section class="variant"><h4>original</h4><p class="muted">not stored</p></section>'
    return (f'<article class="instance" id="{text(f"d{group.draw}-{group.instance_id}")}"><header>'
            f'<h3>{text(group.instance_id)}</h3><span class="muted">draw {group.draw}</span>{subgroup}{badge}'
            f'{variants}</header><div class="variants">{original}{"".join(group.variants)}</div></article>')
