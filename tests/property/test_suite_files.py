"""Suite files: any YAML (any shape, any values) gives specs or a one-line TonyError, never a traceback; and the
specs of a well-formed suite are the runs it lists."""

from __future__ import annotations

import tempfile
from pathlib import Path

import yaml
from hypothesis import example, given
from hypothesis import strategies as st
from property_helpers import assert_one_line, scaled

from tony.core.errors import TonyError
from tony.lm.suite import load_suite

SCENARIOS = ["synthetic_induction", "toxicity_prompts", "nosuch", "jsonl"]
KEYS = ["scenario", "max_instances", "seed", "max_tokens", "num_train", "method", "chat", "num_instances", "model",
        "model.n_ctx", "perturbations", "nosuch"]
scalars = st.one_of(st.none(), st.booleans(), st.integers(-10**6, 10**20), st.floats(allow_nan=True),
                    st.sampled_from(SCENARIOS + ["gemma-3-270m", "generation", "true", "3", "-1", ""]),
                    st.text(max_size=10))
# YAML mapping keys need not be strings: `1: 2`, `null: x`, `true: y` are keys too.
mapping_keys = st.one_of(st.text(max_size=5), st.sampled_from(KEYS), st.integers(-3, 3), st.none(), st.booleans())
anything = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                         st.dictionaries(mapping_keys, inner, max_size=3)),
                        max_leaves=8)
entry_strings = st.builds(lambda s, rest: f"{s}:{rest}", st.sampled_from(SCENARIOS), st.text(max_size=20))
run_mappings = st.dictionaries(st.one_of(st.sampled_from(KEYS), mapping_keys), st.one_of(scalars, anything),
                               max_size=4)
runs = st.lists(st.one_of(entry_strings, run_mappings, anything), max_size=3)
suites = st.one_of(
    anything,
    st.fixed_dictionaries({"runs": runs}, optional={"defaults": st.one_of(run_mappings, anything),
                                                    "models": st.one_of(st.lists(scalars, max_size=2), anything)}),
)


def check_suite(text: str | bytes) -> None:
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.yaml"
        path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
        try:
            specs = load_suite(path)
        except TonyError as err:
            assert_one_line(err)
            return
    assert isinstance(specs, list)


@scaled(0.75)
@given(suites)
@example({"runs": [5]})
@example({"runs": [["a", "b"]]})
@example({"runs": ["synthetic_induction:max_instances=2"], "defaults": [1, 2]})
@example({"runs": []})
@example({"runs": [{"scenario": ["synthetic_induction"]}]})
@example({"runs": [{"scenario": "synthetic_induction", "max_instances": [1]}]})
@example({"runs": [{"scenario": "synthetic_induction", 1: 2}]})  # a key that is not a string
@example({"runs": ["synthetic_induction:max_instances=1"], "defaults": {None: 3}})
def test_any_suite_shape_gives_specs_or_a_one_line_error(data):
    check_suite(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))


@scaled(0.5)
@given(st.one_of(st.text(max_size=60), st.binary(max_size=60)))
@example(b"\xff\xfe runs: []")
@example("runs: [a:b=\"c\n")
@example("runs: !!python/object:os.system {}\n")
def test_any_text_or_bytes_gives_specs_or_a_one_line_error(text):
    check_suite(text)


@scaled(0.5)
@given(st.lists(st.tuples(st.integers(1, 5), st.integers(1, 4)), min_size=1, max_size=3),
       st.lists(st.sampled_from(["gemma-3-270m", "smollm2-135m-instruct"]), max_size=2, unique=True))
def test_a_well_formed_suite_plans_each_run_once_per_model(sizes, models):
    runs_ = [f"synthetic_induction:num_instances={n},max_instances={m}" for n, m in sizes]
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "suite.yaml"
        path.write_text(yaml.safe_dump({"runs": runs_, "models": models}))
        specs = load_suite(path)
    assert len(specs) == len(sizes) * max(len(models), 1)
    asked = sorted((n, m, model) for n, m in sizes for model in models or ["gemma-3-270m"])
    planned = sorted((s.scenario_args["num_instances"], s.max_instances, s.model) for s in specs)
    assert planned == asked
