"""BREEDS tasks: the rand/good/bad splits on hand-worked hierarchies, and the published ImageNet benchmarks."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tony.core.errors import SpecError
from tony.vision.breeds import PUBLISHED, make_task, published_task, read_breeds
from tony.vision.breeds.splits import candidates, subtree_groups
from tony.vision.hierarchy import Hierarchy, HierarchyError

BREEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "breeds-hierarchy"
needs_breeds = pytest.mark.skipif(not BREEDS_DIR.is_dir(), reason=f"BREEDS hierarchy files not in {BREEDS_DIR}")
PUBLISHED_SPLITS = Path(__file__).parent / "data" / "breeds_published.json"

# A: subtrees of 4, 2 and 1 leaves; B: one child, then two subtrees of 3; C: 2 leaves.
TREE = Hierarchy(
    [("root", "A"), ("root", "B"), ("root", "C"), ("A", "A1"), ("A", "A2"), ("A", "a7"), ("B", "Bx"),
     ("Bx", "B1"), ("Bx", "B2"), ("C", "c1"), ("C", "c2")]
    + [("A1", f"a{i}") for i in range(1, 5)] + [("A2", "a5"), ("A2", "a6")]
    + [("B1", f"b{i}") for i in range(1, 4)] + [("B2", f"b{i}") for i in range(4, 7)],
    {"A": "group A"},
)


def sides(task, index):
    return list(task.superclasses[index].source), list(task.superclasses[index].target)


def test_superclasses_are_balanced_and_the_default_count_is_the_smallest_made_even():
    assert candidates(TREE, 1) == ["A", "B", "C"]
    task = make_task(TREE, 1)  # smallest superclass (C) has 2 leaves
    assert task.subclasses == 2 and [s.wnid for s in task.superclasses] == ["A", "B", "C"]
    assert task.superclasses[0].name == "group A" and task.superclasses[1].name == "B"
    task = make_task(TREE, 1, 6, "bad")  # C is too small
    assert [s.wnid for s in task.superclasses] == ["A", "B"]
    assert make_task(TREE, 1, None, "rand", ancestor="B").superclasses[0].wnid == "B"
    assert subtree_groups(TREE, "B") == [["b1", "b2", "b3"], ["b4", "b5", "b6"]]  # below the single child Bx


def test_good_spreads_every_subtree_over_both_sides():
    task = make_task(TREE, 1, 6, "good")
    # A: the 4-leaf subtree gives 2 + 2, the 2-leaf one 1 + 1; the single leaf a7 finds both sides full.
    assert sides(task, 0) == (["a1", "a2", "a5"], ["a3", "a4", "a6"])
    # B: 1 + 2 then 1 + 1 leaves the source one short (the published procedure stops there); b6 tops it up.
    assert sides(task, 1) == (["b1", "b4", "b6"], ["b2", "b3", "b5"])


def test_bad_keeps_subtrees_on_one_side():
    task = make_task(TREE, 1, 6, "bad")
    assert sides(task, 0) == (["a1", "a2", "a3"], ["a5", "a6", "a7"])  # a4 is spare, not needed
    assert sides(task, 1) == (["b1", "b2", "b3"], ["b4", "b5", "b6"])


def test_rand_is_seeded_and_every_split_is_disjoint_and_full():
    for split in ("rand", "good", "bad"):
        for seed in range(6):
            task = make_task(TREE, 1, 6, split, seed=seed)
            for sc in task.superclasses:
                assert len(sc.source) == len(sc.target) == 3 and not set(sc.source) & set(sc.target)
                assert set(sc.source) | set(sc.target) <= set(TREE.leaf_descendants(sc.wnid))
    draws = {tuple(make_task(TREE, 1, 6, "rand", seed=s).superclasses[0].source) for s in range(6)}
    assert len(draws) > 1
    assert make_task(TREE, 1, 6, "rand", seed=3) == make_task(TREE, 1, 6, "rand", seed=3)
    labels = make_task(TREE, 1, 6, "bad")
    assert labels.source_labels() == {"a1": 0, "a2": 0, "a3": 0, "b1": 1, "b2": 1, "b3": 1}
    assert labels.target_labels()["b6"] == 1


def test_no_split_picks_subclasses_and_a_shared_leaf_counts_once():
    task = make_task(TREE, 1, 2, None)
    assert all(len(sc.source) == 2 and sc.target == () for sc in task.superclasses)
    dag = Hierarchy([("root", "S"), ("S", "G1"), ("S", "G2"), ("G1", "x"), ("G1", "y"), ("G2", "y"), ("G2", "z"),
                     ("root", "T"), ("T", "t1"), ("T", "t2")])
    assert subtree_groups(dag, "S") == [["x", "y"], ["z"]]
    assert sides(make_task(dag, 1, 2, "bad"), 0) == (["x"], ["z"])


def test_json_has_the_documented_shape():
    doc = make_task(TREE, 1, 2, "bad").to_json()
    assert doc["superclasses"][0] == {"wnid": "A", "name": "group A", "source": ["a1"], "target": ["a5"]}
    assert json.loads(json.dumps(doc)) == doc


def test_bad_requests_are_clear_errors():
    with pytest.raises(SpecError, match="3 subclasses cannot be split half source, half target"):
        make_task(TREE, 1, 3, "rand")
    with pytest.raises(HierarchyError, match=r"no superclass at level 1 has 8 subclasses \(the largest has 7\)"):
        make_task(TREE, 1, 8)
    with pytest.raises(HierarchyError, match="level 7 is outside the class hierarchy: its levels run 0..4"):
        make_task(TREE, 7)
    with pytest.raises(SpecError, match="unknown split 'worst'"):
        make_task(TREE, 1, 2, "worst")
    with pytest.raises(HierarchyError, match="unknown node 'n99999999'"):
        make_task(TREE, 1, 2, ancestor="n99999999")
    with pytest.raises(HierarchyError, match="no node at level 1 lies under 'A1' .its own level is 2."):
        make_task(TREE, 1, 2, ancestor="A1")
    with pytest.raises(HierarchyError, match="living17 needs node n00004258"):
        published_task("living17", TREE)
    with pytest.raises(SpecError, match="unknown BREEDS benchmark 'imagenet'"):
        published_task("imagenet", TREE)


# --- the published ImageNet benchmarks -------------------------------------------------------------


@pytest.fixture(scope="module")
def imagenet():
    if not BREEDS_DIR.is_dir():
        pytest.skip(f"BREEDS hierarchy files not in {BREEDS_DIR}")
    return read_breeds(BREEDS_DIR)


@needs_breeds
@pytest.mark.parametrize("key", json.loads(PUBLISHED_SPLITS.read_text())["splits"])
def test_every_benchmark_and_strategy_matches_the_reference_library(imagenet, key):
    """All four benchmarks, rand/good/bad, against MadryLab's robustness library's output (see the file's note)."""
    name, split = key.split("/")
    want = json.loads(PUBLISHED_SPLITS.read_text())["splits"][key]
    got = published_task(name, imagenet.hierarchy, split).to_json()["superclasses"]
    assert [{k: sc[k] for k in ("wnid", "source", "target")} for sc in got] == want


@needs_breeds
def test_sizes_and_superclasses_of_the_published_benchmarks(imagenet):
    sizes = {name: (len(t.superclasses), t.subclasses) for name in PUBLISHED
             for t in [published_task(name, imagenet.hierarchy)]}
    assert sizes == {"entity13": (13, 20), "entity30": (30, 8), "living17": (17, 4), "nonliving26": (26, 4)}
    entity13 = published_task("entity13", imagenet.hierarchy)
    assert sum(len(sc.source) + len(sc.target) for sc in entity13.superclasses) == 260
    assert [sc.name.split(",")[0] for sc in entity13.superclasses] == [  # the BREEDS paper's ENTITY-13 table
        "garment", "bird", "reptile", "arthropod", "mammal", "accessory", "craft", "equipment", "furniture",
        "instrument", "man-made structure", "wheeled vehicle", "produce"]


# LIVING-17 (split="rand") as the BREEDS authors' notebook prints it: superclass, source and target class indices.
LIVING17_NOTEBOOK = [
    ("salamander", [27, 29], [26, 28]), ("turtle", [37, 34], [33, 35]), ("lizard", [41, 44], [47, 38]),
    ("snake", [60, 57], [65, 61]), ("spider", [76, 72], [74, 77]), ("grouse", [81, 83], [82, 80]),
    ("parrot", [88, 90], [87, 89]), ("crab", [118, 120], [119, 121]), ("dog", [163, 154], [257, 157]),
    ("wolf", [272, 271], [270, 269]), ("fox", [280, 279], [277, 278]), ("domestic cat", [282, 285], [283, 284]),
    ("bear", [297, 295], [296, 294]), ("beetle", [305, 306], [302, 303]), ("butterfly", [325, 321], [324, 322]),
    ("ape", [368, 365], [366, 367]), ("monkey", [377, 380], [381, 379]),
]


@needs_breeds
def test_living17_matches_the_published_notebook(imagenet):
    task = published_task("living17", imagenet.hierarchy)
    index = {c.wnid: c.index for c in imagenet.classes}
    name = {c.index: c.name for c in imagenet.classes}
    assert name[72].startswith("black and gold garden spider") and name[89].startswith("sulphur-crested cockatoo")
    got = [(sc.name.split(",")[0], [index[w] for w in sc.source], [index[w] for w in sc.target])
           for sc in task.superclasses]
    assert got == LIVING17_NOTEBOOK


@needs_breeds
def test_level_two_without_a_split_matches_the_published_notebook(imagenet):
    """get_superclasses(level=2, Nsubclasses=2, split=None) in the notebook: the draw order of the seeded RNG."""
    task = make_task(imagenet.hierarchy, 2, 2, None)
    index = {c.wnid: c.index for c in imagenet.classes}
    assert [[index[w] for w in sc.source] for sc in task.superclasses] == [
        [995, 992], [649, 634], [574, 786], [982, 981], [37, 39], [986, 985], [929, 946], [502, 615], [751, 866],
        [423, 532]]
    assert task.superclasses[0].name == "fungus" and task.superclasses[9].name == "furnishing"
