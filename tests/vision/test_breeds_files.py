"""The BREEDS hierarchy format: reading, writing, and the malformed files a user can give."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tony.core.errors import DataError
from tony.vision.breeds import DatasetClass, read_breeds, write_breeds
from tony.vision.hierarchy import Hierarchy, HierarchyError

BREEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "breeds-hierarchy"

TREE = Hierarchy([("root", "animal"), ("root", "thing"), ("animal", "dog"), ("animal", "cat"), ("thing", "cup"),
                  ("dog", "n1"), ("dog", "n2"), ("cat", "n3"), ("cup", "n4")],
                 {"root": "entity", "n1": "beagle", "n2": "pug"})


def write(folder: Path, edges: str, classes: list, names: str = "") -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "class_hierarchy.txt").write_text(edges)
    (folder / "dataset_class_info.json").write_text(json.dumps(classes))
    (folder / "node_names.txt").write_text(names)
    return folder


def test_written_files_read_back_to_the_same_hierarchy(tmp_path):
    write_breeds(tmp_path, TREE)
    read = read_breeds(tmp_path)
    assert sorted(read.hierarchy.edges) == sorted(TREE.edges) and read.hierarchy.root == "root"
    assert read.classes == tuple(DatasetClass(i, w, TREE.name(w)) for i, w in enumerate(["n1", "n2", "n3", "n4"]))
    assert read.hierarchy.name("n1") == "beagle" and read.hierarchy.name("root") == "entity"
    assert read.index_of("n3") == 2
    with pytest.raises(HierarchyError, match="unknown class 'n9'"):
        read.index_of("n9")
    assert (tmp_path / "class_hierarchy.txt").read_text().splitlines()[0] == "root animal"


def test_only_nodes_leading_to_a_dataset_class_are_kept(tmp_path):
    """As in the published reader: the cup branch has no dataset class; a class outside the hierarchy is kept."""
    edges = "root animal\nroot thing\nthing cup\nanimal dog\ndog n1\ndog n2\ncup n4\n"
    classes = [[0, "n1", "beagle"], [1, "n2", "pug"], [2, "n7", "not in the hierarchy"]]
    read = read_breeds(write(tmp_path, edges, classes, "dog\tdog, domestic dog\n"))
    assert set(read.hierarchy.nodes) == {"root", "animal", "dog", "n1", "n2"}
    assert [c.wnid for c in read.classes] == ["n1", "n2", "n7"] and read.hierarchy.leaves == ["n1", "n2"]
    assert read.hierarchy.name("dog") == "dog, domestic dog" and read.hierarchy.name("n1") == "beagle"


def test_malformed_files_are_one_line_errors(tmp_path):
    with pytest.raises(DataError, match="lacks class_hierarchy.txt, dataset_class_info.json, node_names.txt"):
        read_breeds(tmp_path / "nowhere")
    with pytest.raises(DataError, match=r"class_hierarchy.txt:2: expected 'parent child', got 'a b c'"):
        read_breeds(write(tmp_path / "edges", "root a\na b c\n", [[0, "a", "a"]]))
    with pytest.raises(DataError, match="is not a list of \\[class_index, wnid, class_name\\]"):
        read_breeds(write(tmp_path / "json", "root a\n", [[0, "a"]]))
    (tmp_path / "json" / "dataset_class_info.json").write_text("{not json")
    with pytest.raises(DataError, match="is not a list of"):
        read_breeds(tmp_path / "json")
    with pytest.raises(DataError, match=r"node_names.txt:1: expected 'wnid<TAB>name'"):
        read_breeds(write(tmp_path / "names", "root a\n", [[0, "a", "a"]], "root entity\n"))
    with pytest.raises(DataError, match="lists no classes"):
        read_breeds(write(tmp_path / "empty", "root a\n", []))


def test_a_cycle_and_a_class_with_children_are_hierarchy_errors(tmp_path):
    cyclic = write(tmp_path / "cycle", "root a\na b\nb c\nc a\nc leaf\n", [[0, "leaf", "leaf"]])
    with pytest.raises(HierarchyError, match=r"cycle through '(a|b|c)'") as caught:
        read_breeds(cyclic)
    assert caught.value.exit_code == 2
    inner = write(tmp_path / "inner", "root a\na leaf\n", [[0, "a", "a"], [1, "leaf", "leaf"]])
    with pytest.raises(HierarchyError, match="dataset class a has children"):
        read_breeds(inner)


@pytest.mark.skipif(not BREEDS_DIR.is_dir(), reason=f"BREEDS hierarchy files not in {BREEDS_DIR}")
def test_the_breeds_imagenet_files():
    read = read_breeds(BREEDS_DIR)
    assert len(read.classes) == 1000 and len(read.hierarchy.leaves) == 890  # BREEDS leaves 110 classes out
    assert read.hierarchy.root == "n00001740" and read.hierarchy.name("n00001740") == "entity"
    assert read.classes[0] == DatasetClass(0, "n01440764", "tench, Tinca tinca")
    assert read.hierarchy.name("n02084071") == "dog, domestic dog, Canis familiaris"
