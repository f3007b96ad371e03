"""BREEDS tasks: superclasses at one level of a hierarchy, their subclasses split into source and target.

The procedure is the published one (Santurkar, Tsipras, Madry, "BREEDS: benchmarks for subpopulation
shift", ICLR 2021; MadryLab's `robustness.tools.breeds_helpers`), reproduced fact for fact so that the
four ImageNet benchmarks come out exactly as published:

1. Candidates are the nodes at `level` (longest-path level) that are the ancestor or lie below it,
   sorted by id.
2. Without an explicit count, the number of subclasses is the smallest candidate's leaf count, made
   even (minus one, at least 2). Candidates with fewer leaves are dropped; the rest, in sorted order,
   are the superclasses.
3. One `numpy.random.RandomState(seed)` serves every superclass in that order.
4. To split a superclass, walk down while the node has exactly one child; the children there (sorted)
   each bring their sorted leaves, and these groups are ordered largest first (ties keep id order).
   - "rand": draw 2h of the superclass's leaves (sorted) with `rng.choice(..., replace=False)`; the
     first h are the source, the rest the target.
   - "good": each group, largest first, gives its first half (at least one leaf for a single-leaf
     group while the source has room) to the source and its next leaves to the target, so every
     subtree is spread over both sides.
   - "bad": each group goes whole to the side with fewer subclasses (the source on ties) up to h;
     what does not fit is spare, and the side left short at the end is filled from the spare, so
     subtrees stay on one side.
   - no split (`split=None`): `rng.choice` of the subclasses from all the superclass's leaves.

Two deliberate extensions for hierarchies other than ImageNet's tree, neither of which changes a
published split: in a DAG a leaf reachable through two groups counts in the first only; and where the
published "good" procedure stops on an assertion (its halves can come out uneven, e.g. two groups
of 3 for h = 3), the short side is topped up from the leaves no side took, in group order.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np

from tony.core.errors import SpecError
from tony.vision.hierarchy import Hierarchy, HierarchyError

SPLITS = ("rand", "good", "bad")
PUBLISHED_SEED = 2
"""The seed every published BREEDS benchmark was drawn with."""


@dataclass(frozen=True)
class Definition:
    """Where a published BREEDS benchmark's superclasses come from."""

    level: int
    ancestor: str | None
    subclasses: int
    """Subclasses per superclass (half source, half target)."""


PUBLISHED = {
    "entity13": Definition(level=3, ancestor=None, subclasses=20),
    "entity30": Definition(level=4, ancestor=None, subclasses=8),
    "living17": Definition(level=5, ancestor="n00004258", subclasses=4),  # living thing
    "nonliving26": Definition(level=5, ancestor="n00021939", subclasses=4),  # non-living thing
}
"""The four ImageNet benchmarks of the BREEDS paper, defined on its modified hierarchy."""


@dataclass(frozen=True)
class Superclass:
    """One superclass of a task and the subclasses (leaf ids) on each side of the shift."""

    wnid: str
    """The superclass's node id (a WordNet id for ImageNet)."""
    name: str
    source: tuple[str, ...]
    """Subclasses seen in training, in the order the procedure picked them."""
    target: tuple[str, ...]
    """Subclasses held out for the shifted test; empty when the task was made without a split."""


@dataclass(frozen=True)
class Task:
    """A BREEDS task: superclasses (in label order) with their source and target subclasses."""

    superclasses: tuple[Superclass, ...]
    level: int
    ancestor: str | None
    subclasses: int
    """Subclasses per superclass, both sides together."""
    split: str | None
    seed: int

    def source_labels(self) -> dict[str, int]:
        """Source subclass -> superclass label (its index in `superclasses`)."""
        return {leaf: label for label, sc in enumerate(self.superclasses) for leaf in sc.source}

    def target_labels(self) -> dict[str, int]:
        """Target subclass -> superclass label."""
        return {leaf: label for label, sc in enumerate(self.superclasses) for leaf in sc.target}

    def to_json(self) -> dict[str, Any]:
        """{"superclasses": [{"wnid", "name", "source": [...], "target": [...]}, ...]}"""
        return {"superclasses": [{"wnid": sc.wnid, "name": sc.name, "source": list(sc.source),
                                  "target": list(sc.target)} for sc in self.superclasses]}


def candidates(hierarchy: Hierarchy, level: int, ancestor: str | None = None) -> list[str]:
    """The nodes at `level` that are `ancestor` or below it (every node at the level without one), sorted."""
    if level < 0 or level > hierarchy.depth:
        raise HierarchyError(f"level {level} is outside the class hierarchy: its levels run 0..{hierarchy.depth}")
    nodes = sorted(hierarchy.nodes_at_level(level))
    if ancestor is None:
        return nodes
    within = hierarchy.descendants(ancestor) | {ancestor}
    nodes = [n for n in nodes if n in within]
    if not nodes:
        raise HierarchyError(f"no node at level {level} lies under {ancestor!r} (its own level is "
                             f"{hierarchy.level(ancestor)}): pick a deeper level")
    return nodes


def make_task(hierarchy: Hierarchy, level: int, subclasses: int | None = None, split: str | None = "rand",
              ancestor: str | None = None, seed: int = PUBLISHED_SEED) -> Task:
    """Superclasses at `level` (under `ancestor`) with `subclasses` each, split into source and target."""
    if split is not None and split not in SPLITS:
        raise SpecError(f"unknown split {split!r}: use one of {', '.join(SPLITS)}")
    nodes = candidates(hierarchy, level, ancestor)
    leaves = [hierarchy.leaf_descendants(n) for n in nodes]
    if subclasses is None:
        smallest = min(len(group) for group in leaves)
        subclasses = smallest if smallest % 2 == 0 else max(2, smallest - 1)
    if split is not None and (subclasses < 2 or subclasses % 2):
        raise SpecError(f"{subclasses} subclasses cannot be split half source, half target: ask for an even number")
    if subclasses < 1:
        raise SpecError(f"{subclasses} subclasses per superclass: ask for at least 1")
    chosen = [(node, group) for node, group in zip(nodes, leaves, strict=True) if len(group) >= subclasses]
    if not chosen:
        where = f"level {level}" + (f" under {ancestor}" if ancestor else "")
        raise HierarchyError(f"no superclass at {where} has {subclasses} subclasses (the largest has "
                             f"{max(map(len, leaves))}): ask for fewer subclasses or a level nearer the root")
    rng = np.random.RandomState(seed)  # the legacy generator: the published splits were drawn with it
    result = []
    for node, group in chosen:
        target: list[str] = []
        if split is None:
            source = [str(x) for x in rng.choice(group, subclasses, replace=False)]
        else:
            source, target = split_superclass(hierarchy, node, subclasses // 2, split, rng)
        result.append(Superclass(node, hierarchy.name(node), tuple(source), tuple(target)))
    return Task(tuple(result), level, ancestor, subclasses, split, seed)


def published_task(name: str, hierarchy: Hierarchy, split: str = "rand", seed: int = PUBLISHED_SEED) -> Task:
    """ENTITY-13, ENTITY-30, LIVING-17 or NONLIVING-26 on the BREEDS ImageNet hierarchy."""
    key = name.lower().replace("-", "").replace("_", "")
    if key not in PUBLISHED:
        raise SpecError(f"unknown BREEDS benchmark {name!r}: use one of {', '.join(PUBLISHED)}")
    definition = PUBLISHED[key]
    if definition.ancestor is not None and definition.ancestor not in hierarchy:
        raise HierarchyError(f"{name} needs node {definition.ancestor} in the class hierarchy: give the BREEDS "
                             "ImageNet files (imagenet_class_hierarchy/modified of MadryLab/BREEDS-Benchmarks)")
    return make_task(hierarchy, definition.level, definition.subclasses, split, definition.ancestor, seed)


def subtree_groups(hierarchy: Hierarchy, node: str) -> list[list[str]]:
    """The leaves of the superclass grouped by child subtree, largest group first.

    The children are taken where the node first branches (below any chain of single children)."""
    children = sorted(hierarchy.children(node))
    while len(children) == 1:
        children = sorted(hierarchy.children(children[0]))
    groups, seen = [], set()
    for child in children:
        group = [leaf for leaf in hierarchy.leaf_descendants(child) if leaf not in seen]
        seen.update(group)
        groups.append(group)
    return sorted(groups, key=len, reverse=True)  # stable: equal sizes keep id order


def split_superclass(hierarchy: Hierarchy, node: str, half: int, split: str,
                     rng: np.random.RandomState) -> tuple[list[str], list[str]]:
    """`half` source and `half` target subclasses of `node`, by the "rand", "good" or "bad" strategy."""
    groups = subtree_groups(hierarchy, node)
    if split == "rand":
        pool = sorted(leaf for group in groups for leaf in group)
        drawn = [str(x) for x in rng.choice(pool, 2 * half, replace=False)]
        return drawn[:half], drawn[half:]
    source: list[str] = []
    target: list[str] = []
    spare: list[str] = []
    for group in groups:
        if split == "good":
            cut = (1 if len(source) < half else 0) if len(group) == 1 else min(len(group) // 2, half - len(source))
            if len(source) < half:
                source.extend(group[:cut])
            if len(target) < half:
                target.extend(group[cut:cut + half - len(target)])
            continue
        if len(source) <= len(target) and len(source) < half:
            side = source
        elif len(target) < half:
            side = target
        else:
            continue
        room = half - len(side)
        side.extend(group[:room])
        spare.extend(group[room:])
    if split == "good":  # where the published procedure would stop on uneven halves
        used = set(source) | set(target)
        spare = [leaf for group in groups for leaf in group if leaf not in used]
        for side in (source, target):
            taken = spare[:half - len(side)]
            side.extend(taken)
            spare = spare[len(taken):]
    else:
        for side in (source, target):
            side.extend(spare[:half - len(side)])
    return source, target
