"""Class hierarchies from WordNet 3.0 for any list of noun wnids (Debian's `wordnet-base` through nltk).

A wnid is "n" and the synset's 8-digit offset in `data.noun` (ImageNet's ids are these). The hierarchy
holds every hypernym path of every class up to `entity` (n00001740), instance hypernyms included,
so it is a DAG where WordNet gives a synset two parents. The BREEDS authors calibrated their ImageNet
hierarchy by hand from this one, so its superclasses differ from the published benchmarks'; it is the
hierarchy to use for a dataset that has none.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Iterable
from typing import TYPE_CHECKING

from tony.core import wordnet
from tony.vision.hierarchy import Hierarchy, HierarchyError

if TYPE_CHECKING:
    from nltk.corpus.reader.wordnet import Synset

WNID = re.compile(r"n(\d{8})")


def wnid_of(synset: Synset) -> str:
    """The id of a noun synset: "n" and its offset, zero-padded to 8 digits."""
    return f"{synset.pos()}{synset.offset():08d}"


def synset_of(wnid: str) -> Synset:
    """The noun synset of a wnid such as n02084071 (dog)."""
    match = WNID.fullmatch(wnid.strip())
    if not match:
        raise HierarchyError(f"{wnid!r} is not a WordNet noun id: expected 'n' and 8 digits, like n02084071")
    reader = wordnet.load()
    with warnings.catch_warnings():  # nltk warns, then returns None, for an offset with no synset
        warnings.simplefilter("ignore", UserWarning)
        synset = reader.synset_from_pos_and_offset("n", int(match.group(1)))
    if synset is None:
        raise HierarchyError(f"unknown wnid {wnid}: WordNet 3.0 has no noun synset at that offset")
    return synset


def wordnet_hierarchy(wnids: Iterable[str]) -> Hierarchy:
    """The WordNet hierarchy above the given classes, which become its leaves (names: the synsets' lemmas)."""
    classes = list(dict.fromkeys(w.strip() for w in wnids))
    if not classes:
        raise HierarchyError("no wnids given: list the dataset's classes, one WordNet noun id each")
    edges: list[tuple[str, str]] = []
    names: dict[str, str] = {}
    seen: set[str] = set()
    stack = [synset_of(w) for w in classes]
    while stack:
        synset = stack.pop()
        node = wnid_of(synset)
        if node in seen:
            continue
        seen.add(node)
        names[node] = ", ".join(lemma.replace("_", " ") for lemma in synset.lemma_names())
        for parent in sorted(synset.hypernyms() + synset.instance_hypernyms(), key=wnid_of):
            edges.append((wnid_of(parent), node))
            stack.append(parent)
    if not edges:
        raise HierarchyError(f"{classes[0]} is WordNet's root: give classes below it")
    hierarchy = Hierarchy(sorted(edges), names)
    inner = [w for w in classes if hierarchy.children(w)]
    if inner:
        below = hierarchy.leaf_descendants(inner[0])[0]
        raise HierarchyError(f"class {inner[0]} is a WordNet ancestor of class {below}: classes must be leaves, "
                             "so drop one of them")
    return hierarchy
