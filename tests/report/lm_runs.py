"""Language-model runs written straight through the Store API, for the site's tests."""

from __future__ import annotations

import hashlib
from typing import Any

from tony.core.stats import Stat
from tony.core.store import Store


def lm_record(instance_id: str, prompt: str, *, completion: str = "", correct: bool | None = True,
              confidence: float | None = None, perturbation: dict[str, str] | None = None, draw: int = 0,
              shared_prefix: str = "", continuations: tuple[str, ...] = (), logprobs: tuple[float, ...] = (),
              references: tuple[tuple[str, tuple[str, ...]], ...] = (("yes", ("correct",)),),
              subgroup: str = "") -> dict[str, Any]:
    """A record payload shaped as tony.lm.run writes it."""
    return {
        "instance": {"id": instance_id, "input": prompt, "split": "test", "subgroup": subgroup, "extra": {},
                     "references": [{"output": o, "tags": list(t)} for o, t in references]},
        "draw": draw,
        "perturbation": perturbation,
        "examples": [],
        "exchanges": [{
            "request": {"prompt": prompt, "max_tokens": 0 if continuations else 8, "temperature": 0.0,
                        "stop": [] if continuations else ["\n"], "continuations": list(continuations),
                        "shared_prefix": shared_prefix},
            "completion": {"text": completion, "tokens": [], "logprobs": [], "continuation_logprobs": list(logprobs),
                           "continuation_lengths": [1] * len(logprobs), "prompt_tokens": 10,
                           "completion_tokens": 2, "processed_tokens": 12, "wall_s": 0.01, "cached": False},
        }],
        "prediction": completion.strip(),
        "confidence": confidence,
        "correct": correct,
        "stats": {} if correct is None else {"exact_match": float(correct)},
        "details": {},
    }


def add_lm_run(store: Store, *, scenario: str, model: str, method: str = "generation",
               records: list[tuple[str, dict[str, Any]]] = (), stats: list[Stat] = (), status: str = "complete",
               salt: str = "") -> str:
    """Store one language-model run with these records and stats; returns its id."""
    run_id = hashlib.sha256(f"{scenario}|{model}|{method}|{salt}".encode()).hexdigest()
    labels = {"scenario": scenario, "model": model, "method": method}
    store.begin_run(run_id, "lm", {"scenario": scenario, "model": model, "salt": salt}, labels)
    store.add_records(run_id, list(records))
    if status == "complete":
        store.finish_run(run_id, list(stats), wall_s=1.5)
    elif status == "failed":
        store.fail_run(run_id, "ModelError: the model server went away")
    return run_id


def stat(name: str, value: float, *, split: str = "", subgroup: str = "", n: int = 10, **identity: str) -> Stat:
    """A stat with an interval of +-0.1 (`identity`: metric=, family=, variant=, at= of a name that is more than
    its metric)."""
    return Stat(name, value, max(0.0, value - 0.1), value + 0.1, n, split, subgroup, **identity)
