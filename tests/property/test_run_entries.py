"""Run entries (`SCENARIO:key=value,...`): any text parses or is a one-line SpecError; quoted values come back
exactly; entries without quotes parse as they did before quoting existed; planning never raises anything else."""

from __future__ import annotations

import json
import sqlite3
import tempfile
from pathlib import Path
from typing import Any

import pytest
from hypothesis import assume, example, given
from hypothesis import strategies as st
from property_helpers import assert_one_line, cli, scaled

from tony.core.errors import SpecError, TonyError
from tony.core.registry import registry
from tony.lm.suite import build_spec, parse_entry

# Characters that matter to the grammar, and some that matter to messages (line breaks, tabs, non-ASCII).
SPECIAL = ",=:\"' \\\n\t\r+./_-é"
entry_text = st.text(alphabet=st.sampled_from(list(SPECIAL) + list("abcxyz019")), max_size=40)
keys = st.from_regex(r"[a-z][a-z_.]{0,8}", fullmatch=True).filter(lambda k: k != "scenario")
values = st.text(max_size=20)  # anything at all: commas, both quotes, line breaks, control characters


def old_parse_entry(text: str) -> dict[str, Any]:
    """parse_entry as it was before quoting: the reference for entries without quote characters."""
    scenario, _, rest = text.strip().partition(":")
    if not scenario:
        raise SpecError("no scenario")
    fields: dict[str, Any] = {"scenario": scenario}
    for part in filter(None, (p.strip() for p in rest.split(","))):
        key, eq, value = part.partition("=")
        if not eq or not key:
            raise SpecError("not key=value")
        fields[key.strip()] = value
    return fields


def quoted(value: str, quote: str) -> str:
    return quote + value.replace(quote, quote * 2) + quote


@given(entry_text)
@example('jsonl:path="a,b')  # an unterminated quote
@example("jsonl:path=a\nb,x")
@example("a\nb:x=1")
def test_any_text_parses_or_is_a_one_line_spec_error(text):
    try:
        fields = parse_entry(text)
    except SpecError as err:
        assert_one_line(err)
        return
    assert fields["scenario"] and all(isinstance(v, str) for v in fields.values())


@given(st.text(alphabet=st.sampled_from(list(",=: \\\n\t+./_-é") + list("abcxyz019")), max_size=40))
def test_an_entry_without_quotes_parses_as_before(text):
    try:
        before = old_parse_entry(text)
    except SpecError:
        with pytest.raises(SpecError):
            parse_entry(text)
        return
    try:
        now = parse_entry(text)
    except SpecError as err:
        # The one change: a key given twice (which used to keep the last value silently) is refused.
        assert "given twice" in str(err)
        return
    assert now == before


@given(st.dictionaries(keys, values, max_size=5), st.lists(st.sampled_from(['"', "'"]), min_size=5, max_size=5),
       st.sampled_from(["", " "]))
def test_quoted_values_come_back_exactly(fields, quotes, space):
    entry = "scenario_x:" + ",".join(f"{key}={space}{quoted(value, quote)}{space}"
                                    for (key, value), quote in zip(fields.items(), quotes, strict=False))
    assert parse_entry(entry) == {"scenario": "scenario_x", **fields}


@given(keys, values, st.sampled_from(['"', "'"]))
def test_an_unterminated_quote_is_refused_and_says_how_to_quote(key, value, quote):
    assume(quote not in value)
    with pytest.raises(SpecError, match="quote") as raised:
        parse_entry(f"scenario_x:{key}={quote}{value}")
    assert_one_line(raised.value)


@given(keys, st.text(alphabet="abc,= ", min_size=1, max_size=5), st.sampled_from(['"', "'"]),
       st.text(alphabet="abc=", min_size=1, max_size=5))
def test_a_quote_inside_a_bare_value_or_text_after_a_closing_quote_is_refused(key, head, quote, tail):
    assume(head.strip() and "," not in head.split("=", 1)[0])
    for entry in (f"x:{key}=a{head.strip()}{quote}{tail}", f"x:{key}={quote}{head}{quote}{tail}"):
        with pytest.raises(SpecError) as raised:
            parse_entry(entry)
        assert_one_line(raised.value)


ENTRY_KEYS = ["max_instances", "seed", "max_tokens", "num_train", "num_draws", "method", "chat", "stop",
              "instructions", "perturbations", "max_perturbed", "model", "model.n_ctx", "nosuch"]
entry_values = st.one_of(st.integers(-10**20, 10**20).map(str), st.sampled_from(
    ["", "true", "false", "generation", "multiple_choice_joint", "robustness", "lowercase+gender", "gemma-3-270m",
     "nosuch", "1.5", "-0", "1e3", " 3", "0x10", "NaN"]), st.text(max_size=8))
# Planning generates the instances: a count in the billions is refused by its own test below, not generated here.
instance_counts = st.one_of(st.integers(-3, 300).map(str), st.sampled_from(["", "x", "1.5", "1e3"]))


@scaled(0.5)
@given(st.sampled_from(["synthetic_induction", "toxicity_prompts", "nosuch", "bigbench", "jsonl"]),
       st.dictionaries(st.sampled_from(ENTRY_KEYS), entry_values, max_size=4)
       | st.dictionaries(st.just("num_instances"), instance_counts, min_size=1))
@example("synthetic_induction", {"seed": "-5"})  # issue 27, item 5
@example("synthetic_induction", {"model": "gemma\n3"})  # a line break in a name the registry does not know
@example("synthetic_induction", {"max_instances": "0", "max_tokens": "-1"})
def test_planning_an_entry_gives_a_spec_or_a_one_line_error(scenario, fields):
    entry = f"{scenario}:" + ",".join(f"{key}={quoted(value, chr(34))}" for key, value in fields.items())
    try:
        spec = build_spec(parse_entry(entry))
    except TonyError as err:
        assert_one_line(err)
        return
    # What was asked for is what the spec says.
    for key in ("max_instances", "seed", "max_tokens"):
        if key in fields:
            given_value = int(fields[key])
            got = spec.adapter.max_tokens if key == "max_tokens" else getattr(spec, key)
            assert got == given_value, (key, got, given_value)
    if "max_instances" in fields:
        assert spec.max_instances >= 1


@pytest.mark.parametrize("scenario", ["synthetic_induction", "toxicity_prompts"])
@pytest.mark.parametrize("count", [10**7, 10**12])
def test_an_instance_count_too_large_to_generate_is_refused(scenario, count):
    # Planning generates every instance in memory: an unbounded count hung `tony run` and exhausted memory.
    # Only the arguments are checked here (parse), so that before the fix this fails rather than hangs.
    with pytest.raises(SpecError, match="num_instances") as raised:
        registry.get("scenario", scenario).parse({"num_instances": count})
    assert_one_line(raised.value)


@pytest.mark.slow  # the embedded model answers (loaded once for every example)
@scaled(0.25)
@given(st.text(alphabet=st.sampled_from(list(SPECIAL) + list("Answer with one word")), max_size=30),
       st.sampled_from(['"', "'"]))
@example("Answer, in one word: yes or no.", '"')
@example("Don't explain; say \"yes\" or 'no'.", "'")
def test_a_quoted_value_reaches_the_stored_run_exactly(instructions, quote):
    entry = f"synthetic_induction:num_instances=2,max_tokens=1,instructions={quoted(instructions, quote)}"
    with tempfile.TemporaryDirectory() as folder:
        done = cli("run", entry, "--store", folder)
        assert done.code == 0, done.stderr
        with sqlite3.connect(Path(folder) / "tony.sqlite") as conn:
            (spec,), = conn.execute("select spec from runs").fetchall()
            (records,), = conn.execute("select count(*) from records").fetchall()
    assert json.loads(spec)["adapter"]["instructions"] == instructions
    assert records == 2
