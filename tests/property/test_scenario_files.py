"""The scenario file formats (our JSONL schema, TruthfulQA's CSV): any file gives instances or a one-line
DataError naming the file, and the instances of a well-formed file are exactly its rows."""

from __future__ import annotations

import csv
import io
import json
import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from hypothesis import event, example, given
from hypothesis import strategies as st
from property_helpers import assert_one_line, scaled

from tony.core.data import ENV as DATA_ROOT_ENV
from tony.core.errors import DataError
from tony.lm.scenarios.jsonl import KNOWN_KEYS, JsonlScenario
from tony.lm.scenarios.truthfulqa import COLUMNS, FILE, TruthfulQAScenario
from tony.lm.types import CORRECT_TAG

json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-5, 5), st.floats(allow_nan=False, allow_infinity=False),
              st.text(max_size=6)),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(st.text(max_size=4), inner, max_size=3)),
    max_leaves=6,
)
# Rows mostly shaped like the schema (its keys, plausible values), sometimes anything.
plausible = {
    "input": st.one_of(st.text(max_size=8), json_values),
    "id": st.one_of(st.integers(0, 3), st.text(max_size=2), json_values),
    "split": st.one_of(st.sampled_from(["train", "test", "dev"]), json_values),
    "subgroup": st.one_of(st.text(max_size=3), json_values),
    "target": st.one_of(st.text(max_size=4), st.lists(st.text(max_size=4), max_size=3), json_values),
    "choices": st.one_of(st.lists(st.text(max_size=4), max_size=4), json_values),
    "answer": st.one_of(st.integers(-1, 4), st.lists(st.integers(-1, 4), max_size=3), json_values),
    "target_scores": st.one_of(st.dictionaries(st.text(max_size=4), st.sampled_from([0, 1, 0.5]), max_size=4),
                               json_values),
    "references": st.one_of(st.lists(st.fixed_dictionaries(
        {"output": st.text(max_size=4)}, optional={"tags": st.lists(st.sampled_from([CORRECT_TAG, "x"]))}),
        max_size=3), json_values),
}
answer_forms = st.one_of(
    st.fixed_dictionaries({"target": st.text(max_size=4) | st.lists(st.text(max_size=4), min_size=1, max_size=2)}),
    st.fixed_dictionaries({"choices": st.lists(st.text(max_size=4), min_size=1, max_size=4),
                           "answer": st.integers(-1, 4) | st.lists(st.integers(-1, 4), max_size=2)}),
    st.fixed_dictionaries({"target_scores": st.dictionaries(st.text(max_size=4), st.sampled_from([0, 1, 0.5]),
                                                            min_size=1, max_size=3)}),
    st.fixed_dictionaries({"references": plausible["references"]}),
)
schema_rows = st.builds(lambda base, answers, extra: {**base, **answers, **extra},
                        st.fixed_dictionaries({"input": st.text(max_size=8)},
                                              optional={"id": st.integers(0, 9) | st.text(max_size=2),
                                                        "split": st.sampled_from(["train", "test"]),
                                                        "subgroup": st.text(max_size=3)}),
                        answer_forms, st.dictionaries(st.text(max_size=4), json_values, max_size=2))
noisy_rows = st.fixed_dictionaries({}, optional={key: plausible.get(key, json_values) for key in sorted(KNOWN_KEYS)})
rows = st.lists(st.one_of(schema_rows, schema_rows, noisy_rows, json_values), max_size=4)


@contextmanager
def data_file(name: str, content: bytes) -> Iterator[Path]:
    """`content` written to NAME in a fresh folder, which is the data root meanwhile."""
    saved = os.environ.get(DATA_ROOT_ENV)
    with tempfile.TemporaryDirectory() as root:
        path = Path(root) / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(content)
        os.environ[DATA_ROOT_ENV] = root
        try:
            yield path
        finally:
            if saved is None:
                os.environ.pop(DATA_ROOT_ENV, None)
            else:
                os.environ[DATA_ROOT_ENV] = saved


def check_jsonl(content: bytes) -> None:
    with data_file("file.jsonl", content) as path:
        scenario = JsonlScenario(path=str(path))
        try:
            instances, method = scenario.instances(), scenario.default_method()
        except DataError as err:
            assert_one_line(err)
            assert str(path) in str(err)
            event("refused")
            return
    event("read")
    assert method in ("generation", "multiple_choice_separate")
    assert len({i.id for i in instances}) == len(instances)
    for instance in instances:
        assert isinstance(instance.input, str)
        assert any(CORRECT_TAG in r.tags for r in instance.references), instance


@scaled(0.75)
@given(rows, st.sampled_from(["\n", "\r\n", "\n\n"]), st.booleans())
@example([{"input": "q", "target": "a"}, {"input": "q", "choices": ["a"], "answer": 0}], "\n", False)
@example([{"input": "q", "choices": ["a", "b"], "answer": True}], "\n", False)
@example([{"input": "q", "target_scores": {"a": 1e400}}], "\n", False)
def test_any_jsonl_rows_give_instances_or_a_one_line_error(lines, newline, bom):
    text = newline.join(json.dumps(row) for row in lines)
    check_jsonl(("\ufeff" if bom else "").encode() + text.encode("utf-8"))


@scaled(0.5)
@given(st.binary(max_size=80) | st.text(max_size=80).map(str.encode))
@example(b'{"input": "q", "target": "a"}\n{"input": ')
@example(b'{"input": "caf\xe9", "target": "a"}')
@example(b'{"input": "q", "target": NaN}')
def test_any_bytes_as_jsonl_give_instances_or_a_one_line_error(content):
    check_jsonl(content)


@scaled(0.5)
@given(st.lists(st.fixed_dictionaries({"input": st.text(max_size=10), "target": st.text(min_size=1, max_size=5)},
                                      optional={"split": st.sampled_from(["train", "test"])}), min_size=1, max_size=6))
def test_a_well_formed_jsonl_file_gives_one_instance_per_line(lines):
    with data_file("file.jsonl", "\n".join(json.dumps(row) for row in lines).encode()) as path:
        instances = JsonlScenario(path=str(path)).instances()
    assert [(i.input, i.references[0].output) for i in instances] == [(r["input"], r["target"]) for r in lines]
    assert [i.split for i in instances] == [r.get("split", "test") for r in lines]


csv_text = st.text(alphabet=st.sampled_from(list("ab ;,\"'\n\r\té")), max_size=8)
tqa_rows = st.lists(st.lists(csv_text, min_size=len(COLUMNS), max_size=len(COLUMNS)), max_size=4)


def tqa_csv(header: list[str], records: list[list[str]]) -> bytes:
    out = io.StringIO(newline="")
    csv.writer(out).writerows([header, *records])
    return out.getvalue().encode()


def check_truthfulqa(content: bytes) -> list:
    with data_file(FILE, content) as path:
        try:
            variants = [TruthfulQAScenario(variant=v).instances() for v in ("mc1", "mc2")]
        except DataError as err:
            assert_one_line(err)
            assert str(path) in str(err) or "TruthfulQA.csv" in str(err)
            event("refused")
            return []
    event("read")
    return variants


@scaled(0.75)
@given(tqa_rows, st.permutations(COLUMNS))
def test_any_truthfulqa_csv_gives_instances_or_a_one_line_error(records, header):
    variants = check_truthfulqa(tqa_csv(list(header), records))
    if not variants:
        return
    mc1, mc2 = variants
    assert len(mc1) == len(mc2) <= len(records)
    for one, every in zip(mc1, mc2, strict=True):
        assert one.input == every.input and one.input.strip() == one.input
        assert sum(CORRECT_TAG in r.tags for r in one.references) == 1  # mc1: the best answer only
        assert {r.output for r in one.references if CORRECT_TAG not in r.tags} == {
            r.output for r in every.references if CORRECT_TAG not in r.tags}


@scaled(0.5)
@given(st.binary(max_size=120) | st.text(max_size=120).map(str.encode))
@example(",".join(COLUMNS).encode() + b'\nA,B,"Q,C,D,E,F\n')  # an unterminated quote
@example(",".join(COLUMNS).encode() + b"\nA,B,Q,C,D,E\n")  # a short row
@example(b"\xff" + ",".join(COLUMNS).encode())
def test_any_bytes_as_truthfulqa_csv_give_instances_or_a_one_line_error(content):
    check_truthfulqa(content)


@scaled(0.5)
@given(st.lists(st.tuples(st.text(alphabet="ab ,\"\n?", min_size=1, max_size=8).filter(str.strip),
                          st.sampled_from(["yes", "no; yes"]), st.sampled_from(["maybe", "never; maybe;"])),
                min_size=1, max_size=4))
def test_a_well_formed_truthfulqa_csv_gives_one_question_per_row(questions):
    records = [["Adversarial", "Misc", q, "yes", true, false, ""] for q, true, false in questions]
    mc1, mc2 = check_truthfulqa(tqa_csv(list(COLUMNS), records))
    assert [i.input for i in mc1] == [q.strip() for q, _, _ in questions]
    assert [[r.output for r in i.references] for i in mc1] == [
        ["yes", *(a.strip() for a in false.split(";") if a.strip())] for _, _, false in questions]
    assert [sorted(r.output for r in i.references if CORRECT_TAG in r.tags) for i in mc2] == [
        sorted({"yes", *(a.strip() for a in true.split(";"))}) for _, true, _ in questions]
