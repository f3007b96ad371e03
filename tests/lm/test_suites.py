"""The shipped suites plan on the data shelf: configs/demo.yaml (`make demo`) and configs/full.yaml."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tony.api import plan
from tony.core.store import Store
from tony.lm.run import split_instances

CONFIGS = Path(__file__).resolve().parents[2] / "configs"
MODELS = {"gemma-3-270m", "smollm2-135m-instruct"}


@pytest.fixture
def store(tmp_path: Path) -> Store:
    opened = Store(str(tmp_path / "store"))
    yield opened
    opened.close()


def test_the_demo_runs_every_scenario_on_both_models(shelf_root, store):
    specs = plan([str(CONFIGS / "demo.yaml")])
    by_scenario = Counter(spec.scenario for spec in specs)
    assert by_scenario == {"truthfulqa": 4, "bbq": 2, "openbookqa": 5, "gsm8k": 2, "synthetic_induction": 2,
                           "toxicity_prompts": 2, "jsonl": 2, "xstest": 1, "strongreject": 1}
    # OpenBookQA spoken (the options read out) by two voices, clean and at 10 dB of white noise.
    (spoken,) = [spec for spec in specs if any(p.name == "speech" for p in spec.build_perturbations())]
    assert [p.label for p in spoken.build_perturbations()] == ["en-us", "en-gb", "en-us/10dB-white",
                                                                "en-gb/10dB-white"]
    assert all(p.read_options for p in spoken.build_perturbations())
    assert {spec.model for spec in specs} == MODELS
    variants = {spec.scenario_args.get("variant", "mc1") for spec in specs if spec.scenario == "truthfulqa"}
    assert variants == {"mc1", "mc2"}
    # The instruction-tuned model gets its chat template on generation only; the base model never.
    for spec in specs:
        assert spec.adapter.chat == (spec.model == "smollm2-135m-instruct" and spec.adapter.method == "generation")
    # BBQ's seeded sample holds both contexts of every category on the shelf.
    bbq = next(spec for spec in specs if spec.scenario == "bbq")
    task = bbq.task(store)
    sampled = [task._items[item][1] for item in task.items()]
    facets = Counter((i.facets["category"], i.facets["context"]) for i in sampled)
    categories = {p.stem for p in (shelf_root / "bbq").glob("*.jsonl")}
    assert {c for c, _ in facets} == categories and len(facets) == 2 * len(categories)


def test_the_full_suite_has_at_least_200_instances_per_scenario(shelf_root, store):
    specs = plan([str(CONFIGS / "full.yaml")])
    assert {spec.model for spec in specs} == MODELS
    for spec in specs:
        task = spec.task(store)
        originals = {item.partition(":")[2] for item in task.items() if "#" not in item}
        test, _ = split_instances(task.scenario.cached_instances(), spec.adapter.num_train)
        assert len(originals) >= min(200, len(test)), spec.scenario
