"""The class hierarchy: levels as longest paths, descendants, and the malformed hierarchies a user can give."""

from __future__ import annotations

import random
from functools import cache
from pathlib import Path

import pytest

from tony.core.errors import TonyError
from tony.vision.hierarchy import Hierarchy, HierarchyError

BREEDS_DIR = Path(__file__).resolve().parents[2].parent / "shared" / "data" / "breeds-hierarchy"
needs_breeds = pytest.mark.skipif(not BREEDS_DIR.is_dir(), reason=f"BREEDS hierarchy files not in {BREEDS_DIR}")

# root -> a -> c -> e, root -> b -> e, root -> d: e is reachable by a short and a long route.
EDGES = [("root", "b"), ("root", "a"), ("a", "c"), ("c", "e"), ("b", "e"), ("root", "d"), ("b", "f")]


def test_levels_are_longest_paths_and_children_keep_their_order():
    h = Hierarchy(EDGES, {"root": "everything", "e": "the shared leaf"})
    assert h.root == "root" and len(h) == 7
    assert [h.level(n) for n in ["root", "a", "b", "c", "d", "e", "f"]] == [0, 1, 1, 2, 1, 3, 2]
    assert h.children("root") == ["b", "a", "d"] and h.parents("e") == ["c", "b"]
    assert h.leaves == ["d", "e", "f"] and h.depth == 3
    assert h.nodes_at_level(1) == [n for n in h.nodes if n in {"a", "b", "d"}] and h.nodes_at_level(3) == ["e"]
    assert h.leaf_descendants("b") == ["e", "f"] and h.leaf_descendants("e") == ["e"]
    assert h.leaf_descendants("root") == ["d", "e", "f"]
    assert h.ancestors("e") == {"root", "a", "b", "c"} and h.descendants("a") == {"c", "e"}
    assert h.is_ancestor("a", "e") and not h.is_ancestor("d", "e") and h.is_ancestor("e", "e")
    assert h.name("root") == "everything" and h.name("c") == "c"
    order = h.nodes
    assert all(order.index(p) < order.index(c) for p, c in EDGES)  # topological
    assert sorted(h.edges) == sorted(EDGES)


def test_repeated_edges_count_once_and_a_subtree_is_rooted_at_its_node():
    h = Hierarchy([*EDGES, ("a", "c"), ("a", "c")])
    assert h.children("a") == ["c"] and h.parents("c") == ["a"]
    sub = h.subtree("b")
    assert sub.root == "b" and sub.leaves == ["e", "f"] and sub.level("e") == 1
    with pytest.raises(HierarchyError, match="is a leaf"):
        h.subtree("d")


@pytest.mark.parametrize("seed", range(5))
def test_random_dags_agree_with_the_recursive_definitions(seed):
    """Longest-path levels and descendants against their recursive definitions, on random DAGs."""
    rng = random.Random(seed)
    nodes = [f"n{i}" for i in range(40)]
    edges = {(nodes[0], nodes[i]) for i in range(1, 4)}
    for i in range(4, 40):  # each later node gets one to three earlier parents
        edges |= {(nodes[j], nodes[i]) for j in rng.sample(range(1, i), rng.randint(1, min(3, i - 1)))}
    h = Hierarchy(sorted(edges))
    parents = {n: [p for p, c in edges if c == n] for n in nodes}
    children = {n: [c for p, c in edges if p == n] for n in nodes}

    @cache
    def level(n: str) -> int:
        return 0 if not parents[n] else 1 + max(level(p) for p in parents[n])

    @cache
    def below(n: str) -> frozenset[str]:
        return frozenset(children[n]).union(*(below(c) for c in children[n]))

    assert all(h.level(n) == level(n) for n in nodes)
    assert all(h.descendants(n) == below(n) for n in nodes)
    assert all(h.leaf_descendants(n) == sorted(x for x in below(n) if not children[x]) for n in nodes if children[n])
    assert all(h.ancestors(n) == {m for m in nodes if n in below(m)} for n in nodes)
    assert sorted(h.nodes_at_level(2)) == sorted(n for n in nodes if level(n) == 2)


def test_a_cycle_is_reported_by_a_node_on_it():
    with pytest.raises(HierarchyError, match=r"cycle through '(a|b|c)'") as caught:
        Hierarchy([("root", "a"), ("a", "b"), ("b", "c"), ("c", "a"), ("c", "leaf")])
    assert isinstance(caught.value, TonyError) and caught.value.exit_code == 2
    assert "\n" not in str(caught.value)
    with pytest.raises(HierarchyError, match="cycle through 'x'"):  # no root at all: still a cycle
        Hierarchy([("x", "x")])
    with pytest.raises(HierarchyError, match=r"cycle through '(p|q)'"):  # below the cycle, nodes are not on it
        Hierarchy([("root", "p"), ("p", "q"), ("q", "p"), ("q", "z1"), ("z1", "z2")])


def test_several_roots_no_edges_and_unknown_nodes_are_errors():
    with pytest.raises(HierarchyError, match=r"2 roots \((r1, r2|r2, r1)\): connect them under one root"):
        Hierarchy([("r1", "a"), ("r2", "b")])
    with pytest.raises(HierarchyError, match="no edges"):
        Hierarchy([])
    h = Hierarchy(EDGES)
    for call in (h.children, h.parents, h.level, h.leaf_descendants, h.ancestors, h.name):
        with pytest.raises(HierarchyError, match="unknown node 'n02084071'"):
            call("n02084071")


@needs_breeds
def test_breeds_imagenet_levels_match_the_published_counts():
    """Nodes per level of the BREEDS ImageNet hierarchy, as its authors' notebook prints them."""
    edges = [tuple(line.split()) for line in (BREEDS_DIR / "class_hierarchy.txt").read_text().splitlines()]
    h = Hierarchy(edges)
    assert h.root == "n00001740"
    assert [len(h.nodes_at_level(level)) for level in range(h.depth + 1)] == [1, 2, 10, 29, 128, 466, 591, 98, 3]
