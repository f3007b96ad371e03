"""Hierarchies built from WordNet (Debian's wordnet-base through nltk), checked against nltk's own hypernym paths."""

from __future__ import annotations

import json

import pytest

from tony.cli import main
from tony.core import wordnet
from tony.vision.breeds import make_task
from tony.vision.breeds.wordnet import synset_of, wnid_of, wordnet_hierarchy
from tony.vision.hierarchy import HierarchyError

pytestmark = [
    pytest.mark.skipif(not wordnet.available(), reason="WordNet not installed: sudo apt-get install wordnet-base"),
    pytest.mark.slow,  # nltk reads WordNet's index once for the module: a few seconds
]

# ImageNet classes: golden retriever, Labrador retriever, beagle, tabby, tiger cat, Persian cat, goldfish,
# tench, coffee mug, teapot.
CLASSES = ["n02099601", "n02099712", "n02088364", "n02123045", "n02123159", "n02123394", "n01443537", "n01440764",
           "n03063599", "n04398044"]


@pytest.fixture(scope="module")
def hierarchy(tmp_path_factory):
    """The hierarchy over CLASSES, with WordNet copied into a temporary cache folder."""
    mp = pytest.MonkeyPatch()
    mp.setenv("TONY_CACHE_DIR", str(tmp_path_factory.mktemp("cache")))
    wordnet.load.cache_clear()
    yield wordnet_hierarchy(CLASSES)
    wordnet.load.cache_clear()
    mp.undo()


def test_classes_are_the_leaves_under_entity_with_their_lemmas_as_names(hierarchy):
    assert hierarchy.root == "n00001740" and hierarchy.name("n00001740") == "entity"
    assert hierarchy.leaves == sorted(CLASSES)
    assert hierarchy.name("n02099601") == "golden retriever"
    assert hierarchy.name("n02084071") == "dog, domestic dog, Canis familiaris"
    assert "n02084071" in hierarchy.ancestors("n02088364") and "n02121620" in hierarchy.ancestors("n02123045")


def test_levels_and_ancestors_agree_with_nltks_hypernym_paths(hierarchy):
    """nltk's hypernym_paths lists every root-to-synset path; the level is the longest, the ancestors their union."""
    for node in hierarchy.nodes:
        paths = synset_of(node).hypernym_paths()
        assert hierarchy.level(node) == max(len(path) for path in paths) - 1
        assert hierarchy.ancestors(node) == {wnid_of(s) for path in paths for s in path[:-1]}


def test_splits_work_on_a_wordnet_hierarchy(hierarchy):
    # the deepest level whose nodes split these classes into more than one superclass of at least 2
    task = make_task(hierarchy, hierarchy.level("n02084071"), 2, "rand", ancestor="n01317541")  # under domestic animal
    names = [sc.name.split(",")[0] for sc in task.superclasses]
    assert names == ["dog"] and set(task.superclasses[0].source + task.superclasses[0].target) <= set(CLASSES[:3])


def test_bad_wnids_are_clear_errors(hierarchy):
    with pytest.raises(HierarchyError, match="'n0209960' is not a WordNet noun id"):
        wordnet_hierarchy(["n0209960"])
    with pytest.raises(HierarchyError, match="unknown wnid n99999999"):
        wordnet_hierarchy(["n02099601", "n99999999"])
    with pytest.raises(HierarchyError, match="class n02084071 is a WordNet ancestor of class n02099601"):
        wordnet_hierarchy(["n02084071", "n02099601"])
    with pytest.raises(HierarchyError, match="no wnids given"):
        wordnet_hierarchy([])


def test_the_cli_builds_the_hierarchy_from_a_wnid_list(hierarchy, tmp_path, capsys):
    """`tony breeds splits --wnids FILE` (the module's fixture has WordNet loaded already)."""
    listed = tmp_path / "classes.txt"
    listed.write_text("n02099601 golden retriever\nn02088364\nn02123045\nn02123159\n\n")
    code = main(["breeds", "splits", "--level", "11", "--wnids", str(listed), "--format", "json"])
    out, _ = capsys.readouterr()
    assert code == 0
    found = {sc["name"].split(",")[0]: sorted(sc["source"] + sc["target"]) for sc in json.loads(out)["superclasses"]}
    assert found == {"carnivore": ["n02088364", "n02099601", "n02123045", "n02123159"]}
    listed.write_text("n02099601\nn99999999\n")
    assert main(["breeds", "splits", "--level", "3", "--wnids", str(listed)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "unknown wnid n99999999" in err[0]
