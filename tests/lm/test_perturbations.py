"""The perturbations: determinism by seed, what each changes and what it must leave alone."""

from __future__ import annotations

import math
import re
from importlib import resources

import numpy as np
import pytest

from tony.core import wordnet
from tony.core.errors import DataError, SpecError
from tony.lm.perturbations._words import WORD, data_rows, match_case
from tony.lm.perturbations.base import FAIRNESS, ROBUSTNESS, Perturbation
from tony.lm.perturbations.contraction import Contraction, Expansion
from tony.lm.perturbations.dialect import Dialect, spellings
from tony.lm.perturbations.gender import Gender
from tony.lm.perturbations.lowercase import Lowercase
from tony.lm.perturbations.person_name import PersonName, names
from tony.lm.perturbations.synonym import Synonym
from tony.lm.perturbations.typos import Typos, keyboard_neighbors
from tony.lm.perturbations.whitespace import Whitespace
from tony.lm.types import Instance, Reference

TEXT = (
    "The quarterly report shows that the company increased revenue while reducing costs. "
    "Analysts expected a weaker result, but strong demand in Europe and careful planning helped. "
    "What will the board decide about the dividend next month?"
)
PINNED_NAMES = "Tawanda and Darnell"
PINNED_SPELLINGS = "nothin cause"
ALL = [Typos(), Lowercase(), Contraction(), Expansion(), Whitespace(), Synonym(), Gender(), PersonName(), Dialect()]


def perturb(p: Perturbation, text: str, instance_id: str = "i0") -> str:
    return p.perturb_text(text, p.rng(instance_id))


def instance(text: str, *outputs: str) -> Instance:
    return Instance(id="q1", input=text, references=tuple(Reference(o, ("correct",)) for o in outputs))


needs_wordnet = pytest.mark.skipif(
    not wordnet.available(), reason="WordNet not installed: sudo apt-get install wordnet-base (and nltk)"
)


@pytest.fixture(scope="module")
def wn(tmp_path_factory):
    """nltk's WordNet reader over a copy made in a temporary cache folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TONY_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    wordnet.load.cache_clear()
    yield wordnet.load()
    wordnet.load.cache_clear()
    mp.undo()


# --- every perturbation ---------------------------------------------------------------------------


@pytest.mark.parametrize("p", [p for p in ALL if not isinstance(p, Synonym)], ids=lambda p: p.name)
def test_same_seed_same_text_and_families(p):
    assert perturb(p, TEXT) == perturb(p, TEXT)
    assert p.family in (ROBUSTNESS, FAIRNESS)
    assert p.perturbs_references == (p.family == FAIRNESS)
    assert p.label == (f"{p.name}={p.target}" if p.family == FAIRNESS else p.name)


def test_specs_are_validated_and_keyed_by_seed():
    assert Typos(seed=1).key() != Typos(seed=2).key() != Typos(seed=1, rate=0.2).key()
    with pytest.raises(SpecError):
        Typos.parse({"rate": 1.5})
    with pytest.raises(SpecError):
        Gender.parse({"target": "neutral"})
    with pytest.raises(SpecError):
        Whitespace.parse({"characters": "x"})
    assert Gender(target="male").label == "gender=male"
    assert PersonName(target="female").label == "person_name=female"
    assert Dialect().label == "dialect=aae"


@pytest.mark.parametrize("p", [Typos(rate=0), Whitespace(rate=0), Synonym(rate=0), Gender(rate=0),
                               PersonName(rate=0), Dialect(rate=0)], ids=lambda p: p.name)  # fmt: skip
def test_rate_zero_changes_nothing(p):
    text = "He said Emily was going with her brother; don't the theme matter?  \n" + TEXT
    assert perturb(p, text) == text


def test_robustness_leaves_references_alone_and_keeps_the_instance():
    original = Instance(id="x", input="Is Paris the capital of France?", references=(Reference("Paris", ("correct",)),),
                        split="test", subgroup="geo", extra={"k": 1})  # fmt: skip
    for p in (Typos(rate=1.0), Lowercase(), Whitespace(rate=1.0), Expansion()):
        out = p.apply(original)
        assert out.references == original.references
        assert (out.id, out.split, out.subgroup, out.extra) == ("x", "test", "geo", {"k": 1})
    assert Lowercase().apply(original).input == "is paris the capital of france?"


def test_match_case_and_words():
    assert [match_case(t, "she") for t in ("he", "He", "HE")] == ["she", "She", "SHE"]
    assert match_case("I", "we") == "We"
    assert WORD.findall("the theme, other-he's 2he") == ["the", "theme", "other", "he", "s", "he"]


# --- typos ----------------------------------------------------------------------------------------


def test_keyboard_neighbors_match_the_staggered_layout():
    offsets = (0.0, 0.25, 0.75)  # how far right of the top row each row's first key sits, in keys
    rows = ("qwertyuiop", "asdfghjkl", "zxcvbnm")
    where = {k: (c + offsets[r], r) for r, row in enumerate(rows) for c, k in enumerate(row)}
    for key, (x, y) in where.items():
        touching = {k for k, (u, v) in where.items() if k != key and math.hypot(u - x, v - y) < 1.3}
        assert set(keyboard_neighbors()[key]) == touching, key
    assert set(keyboard_neighbors()["g"]) == set("fhtyvb")
    assert set(keyboard_neighbors()["q"]) == set("wa")


def one_typo(before: str, after: str) -> bool:
    """Whether `after` is `before` with one adjacent-key substitution, one letter dropped or two swapped."""
    if len(after) == len(before):
        diff = [i for i, (a, b) in enumerate(zip(before, after, strict=True)) if a != b]
        if len(diff) == 1:
            i = diff[0]
            return after[i].lower() in keyboard_neighbors().get(before[i].lower(), "") and (
                after[i].isupper() == before[i].isupper()
            )
        return len(diff) == 2 and diff[1] == diff[0] + 1 and before[diff[0]] == after[diff[1]] and (
            before[diff[1]] == after[diff[0]]
        )  # fmt: skip
    return len(after) == len(before) - 1 and any(before[:i] + before[i + 1 :] == after for i in range(len(before)))


def test_typos_are_keyboard_slips_at_the_rate():
    changed = total = 0
    for seed in range(40):
        out = perturb(Typos(seed=seed), TEXT)
        before, after = WORD.findall(TEXT), WORD.findall(out)
        assert len(before) == len(after)
        assert re.sub(r"[^\W\d_]+", "", TEXT) == re.sub(r"[^\W\d_]+", "", out)  # punctuation, spaces kept
        for b, a in zip(before, after, strict=True):
            if a != b:
                assert one_typo(b, a), (b, a)
                changed += 1
        total += len(before)
    assert 0.06 < changed / total < 0.14
    assert perturb(Typos(seed=1), TEXT) != perturb(Typos(seed=2), TEXT)
    assert perturb(Typos(), TEXT, "a") != perturb(Typos(), TEXT, "b")  # each instance its own draws


def test_typos_at_rate_one_change_every_word():
    out = perturb(Typos(rate=1.0), "I see all cool books, zzz")
    for b, a in zip(WORD.findall("I see all cool books, zzz"), WORD.findall(out), strict=True):
        assert a != b and one_typo(b, a)


# --- contraction, expansion, whitespace -----------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I do not know.", "I don't know."),
        ("Do not go: it is raining and I am tired", "Don't go: it's raining and I'm tired"),
        ("DO NOT PANIC", "DON'T PANIC"),
        ("You would not. It is not true.", "You wouldn't. It isn't true."),
        ("I know who he is. They are, they are here", "I know who he is. They are, they're here"),
        ("We cannot undo nothing; let us go", "We can't undo nothing; let us go"),
        ("the doorman will notice", "the doorman will notice"),
    ],
)
def test_contraction(text, expected):
    assert perturb(Contraction(), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("I don't know.", "I do not know."),
        ("Don't go: it's raining and I'm tired", "Do not go: it is raining and I am tired"),
        ("DON'T PANIC. Won't he? It won't.", "DO NOT PANIC. Won't he? It will not."),
        ("It’s been long; you'd better go; she'd go", "It has been long; you had better go; she would go"),
        ("The dog's bone; let's see; y'all", "The dog's bone; let us see; you all"),
    ],
)
def test_expansion(text, expected):
    assert perturb(Expansion(), text) == expected


def test_contraction_data_round_trips():
    for contraction, expansion, *flags in data_rows("contractions.tsv"):
        if "expand-only" not in flags:
            assert perturb(Contraction(), f"so {expansion} go") == f"so {contraction} go"
    assert perturb(Expansion(), perturb(Contraction(), "I am sure they are not done")) == "I am sure they are not done"


def test_whitespace_only_widens_gaps():
    text = "  Hello, world! How are\tyou today?\n"
    for seed in range(20):
        out = perturb(Whitespace(seed=seed, rate=0.5), text)
        assert out.split() == text.split()
        assert out.startswith("  Hello,") and out.endswith("today?\n")
        assert len(out) - len(text) <= 3 * 5
    widened = perturb(Whitespace(rate=1.0, max_extra=2, characters="\t"), "a b c")
    assert widened in {f"a {x}b {y}c" for x in ("\t", "\t\t") for y in ("\t", "\t\t")}
    assert any(perturb(Whitespace(seed=s), TEXT) != TEXT for s in range(3))


# --- synonym (WordNet) ----------------------------------------------------------------------------


def test_lexnames_and_missing_wordnet(tmp_path, monkeypatch):
    lines = wordnet.lexnames_text().splitlines()
    assert len(lines) == 45 and lines[0] == "00\tadj.all\t3" and lines[18] == "18\tnoun.person\t1"
    assert lines[44] == "44\tadj.ppl\t3" and all(re.fullmatch(r"\d\d\t\w+\.\w+\t[1-4]", x) for x in lines)
    monkeypatch.setenv("TONY_WORDNET_DIR", str(tmp_path / "nowhere"))
    with pytest.raises(DataError, match="sudo apt-get install wordnet-base"):
        wordnet.prepare(data_dir=tmp_path / "nltk_data")


def test_prepare_copies_once_and_rebuilds_when_the_source_changes(tmp_path):
    source = tmp_path / "dict"
    source.mkdir()
    for name in wordnet.DATABASE_FILES:
        (source / name).write_text(f"fake {name}\n")
    folder = wordnet.prepare(source, tmp_path / "nltk_data")
    assert folder == tmp_path / "nltk_data" / "corpora" / "wordnet"
    assert (folder / "data.noun").read_text() == "fake data.noun\n"
    assert (folder / "lexnames").read_text() == wordnet.lexnames_text()
    (folder / "marker").write_text("kept while the source is unchanged")
    wordnet.prepare(source, tmp_path / "nltk_data")
    assert (folder / "marker").exists()
    (source / "data.noun").write_text("a newer, longer data.noun\n")
    wordnet.prepare(source, tmp_path / "nltk_data")
    assert not (folder / "marker").exists() and "newer" in (folder / "data.noun").read_text()
    assert [p.name for p in folder.parent.iterdir()] == ["wordnet"]  # no half-built folder left


@needs_wordnet
def test_synonyms_are_wordnet_synonyms(wn):
    assert wn.synsets("dog")[0].lexname() == "noun.animal"  # the generated lexnames line up
    replaced = 0
    for word in WORD.findall(TEXT):
        for seed in range(3):
            new = perturb(Synonym(rate=1.0, seed=seed), word)
            if new == word:
                continue
            replaced += 1
            lemma = new.replace(" ", "_").lower()
            assert any(lemma in s.lemma_names() for s in wn.synsets(word.lower()) if word.lower() in s.lemma_names())
            assert new[:1].isupper() == word[:1].isupper(), (word, new)
    assert replaced > 20
    p = Synonym(seed=4)
    out = perturb(p, TEXT)
    assert out == perturb(p, TEXT) != TEXT
    assert perturb(Synonym(seed=1), TEXT) != perturb(Synonym(seed=2), TEXT)
    assert Synonym().apply(instance(TEXT, "revenue")).references[0].output == "revenue"


@needs_wordnet
def test_synonym_rate_and_eligibility(wn):
    words = "car question answer city automobile reply think quickly large doctor".split()
    text = " | ".join(words)  # a synonym may have several words, never a "|"
    counts = [sum(a != b for a, b in zip(words, perturb(Synonym(seed=s), text).split(" | "), strict=True))
              for s in range(30)]  # fmt: skip
    assert 0.3 < np.mean(counts) / len(words) < 0.7
    assert all(perturb(Synonym(rate=1.0), w) != w for w in words)
    for unchanged in ("dogs", "said", "the", "will", "can", "it", "France", "house"):
        assert perturb(Synonym(rate=1.0), unchanged) == unchanged


# --- gender ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("target", "text", "expected"),
    [
        ("female", "He gave his book to his father.", "She gave her book to her mother."),
        ("female", "The book is his. HE said so; His turn.", "The book is hers. SHE said so; Her turn."),
        ("female", "the theme of other thermal shells", "the theme of other thermal shells"),
        ("female", "Mr. Brown and his wife met the King", "Ms. Brown and her wife met the Queen"),
        ("male", "She gave her book to her mother.", "He gave his book to his father."),
        ("male", "I told her that. I saw her yesterday. Give her a pen.",
         "I told him that. I saw him yesterday. Give him a pen."),
        ("male", "Her car is hers; she did it herself, said the Waitress",
         "His car is his; he did it himself, said the Waiter"),
        ("male", "Where is she? With her.", "Where is he? With him."),
    ],
)  # fmt: skip
def test_gender(target, text, expected):
    assert perturb(Gender(target=target), text) == expected


def test_gender_maps_input_and_references_alike():
    original = instance("Who is his brother, and what did he tell his son?", "His brother", "he told his son nothing")
    out = Gender(target="female").apply(original)
    assert out.input == "Who is her sister, and what did she tell her daughter?"
    assert [r.output for r in out.references] == ["Her sister", "she told her daughter nothing"]
    assert [r.tags for r in out.references] == [("correct",), ("correct",)]
    for seed in range(30):  # at rate 0.5 each word is swapped in both or in neither
        half = Gender(target="female", rate=0.5, seed=seed).apply(original)
        input_words = WORD.findall(half.input.lower())
        swapped = {w for w in ("brother", "son", "he") if w not in input_words}
        reference_words = WORD.findall(" ".join(r.output.lower() for r in half.references))
        assert swapped == {w for w in ("brother", "son", "he") if w not in reference_words}


# --- person names ---------------------------------------------------------------------------------


def test_person_names_map_to_the_target_group_consistently():
    table = names()
    original = instance(
        "Emily asked Greg whether Emily or Sue-Ellen won; frank Frank agreed.", "Emily", "Greg and Emily"
    )
    for seed in range(10):
        p = PersonName(target="black_american", seed=seed)
        out = p.apply(original)
        found = WORD.findall(out.input)
        emily, greg, sue_ellen = found[0], found[2], out.input.split()[6].rstrip(";")
        assert (table[emily.lower()][1:], table[greg.lower()][1:]) == (
            ("black_american", "female"), ("black_american", "male")
        )  # fmt: skip
        assert table[sue_ellen.lower()][1:] == ("black_american", "female")
        assert found.count(emily) >= 2 and "frank" in found
        assert [r.output for r in out.references] == [emily, f"{greg} and {emily}"]
        assert p.apply(instance("Emily", "Emily")).input == emily  # the same in every instance
    assert perturb(PersonName(target="white_american"), "Emily met Greg") == "Emily met Greg"
    assert perturb(PersonName(target="male"), "EMILY met Lakisha").split()[0].isupper()
    assert table[perturb(PersonName(target="male"), "Lakisha").lower()][1:] == ("black_american", "male")
    chosen = {perturb(PersonName(target="female", seed=s), "Greg") for s in range(40)}
    assert len(chosen) > 5 and all(table[n.lower()][1:] == ("white_american", "female") for n in chosen)


# --- dialect --------------------------------------------------------------------------------------


def test_dialect_respells_words_and_references_alike():
    p = Dialect()
    text = "I was going with my brother; THE other thing is without doubt. Withstand this, brotherhood."
    out = perturb(p, text)
    assert out.startswith("I was goin wit my brotha; DA otha thing is witout doubt.")
    assert "Withstand" in out and "brotherhood" in out and "Dis" not in out and " dis," in out
    original = instance("Is nothing going on with this?", "nothing", "Nothing with this")
    done = Dialect(seed=3).apply(original)
    nothing = done.references[0].output
    assert nothing in spellings("aae")["nothing"]
    assert done.input.startswith(f"Is {nothing} goin")
    assert done.references[1].output == f"{nothing.capitalize()} wit dis"
    assert perturb(p, "it isn\u2019t far") == "it ain't far"


# --- data files -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name", ["contractions.tsv", "gender_terms.tsv", "person_names.tsv", "sae_to_aae.tsv", "stopwords.txt"]
)
def test_data_files_say_where_their_words_come_from(name):
    text = resources.files("tony.lm.perturbations").joinpath("data", name).read_text(encoding="utf-8")
    assert text.startswith("# ") and len(text.splitlines()) > 15
    if name.endswith(".tsv"):
        widths = {len(row) for row in data_rows(name)}
        assert widths <= {2, 3, 4} and all(all(field for field in row) for row in data_rows(name))


def test_hashed_choices_are_pinned():
    """Name and spelling choices hash (seed, word) alone: these values must not change between versions,
    machines or processes, or stored results would stop matching their specs."""
    assert perturb(PersonName(seed=0), "Emily and Greg") == perturb(PersonName(seed=0), "Emily and Greg", "other")
    assert perturb(PersonName(seed=0), "Emily and Greg") == PINNED_NAMES
    assert perturb(Dialect(seed=0), "nothing because") == PINNED_SPELLINGS


def test_word_lists_are_well_formed():
    assert len(spellings("aae")) >= 200
    assert all(sae not in options for sae, options in spellings("aae").items())
    groups = {(race, gender) for _, race, gender in names().values()}
    assert groups == {(r, g) for r in ("black_american", "white_american") for g in ("female", "male")}
    assert "kenya" not in names()
    for female, male in data_rows("gender_terms.tsv"):
        assert female.islower() and male.islower() and female != male
