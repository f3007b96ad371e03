"""A class hierarchy: a DAG whose leaves are a dataset's classes.

A node's level is the length of the longest path from the root to it (BREEDS' definition, which keeps
a class that is reachable by a short and a long route at the deeper level). Children are kept in the
order their edges were given, because BREEDS' published splits depend on it; leaves and leaf
descendants are sorted.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from functools import cached_property

from tony.core.errors import DataError


class HierarchyError(DataError):
    """A class hierarchy is malformed (a cycle, several roots) or a node is not in it."""


class Hierarchy:
    """A rooted DAG over string node ids (WordNet ids for ImageNet), with optional human names."""

    def __init__(self, edges: Iterable[tuple[str, str]], names: Mapping[str, str] | None = None):
        self._children: dict[str, list[str]] = {}
        self._parents: dict[str, list[str]] = {}
        for parent, child in edges:
            parent, child = str(parent), str(child)
            self._children.setdefault(parent, [])
            self._parents.setdefault(parent, [])
            self._children.setdefault(child, [])
            self._parents.setdefault(child, [])
            if child not in self._children[parent]:  # a repeated edge adds nothing
                self._children[parent].append(child)
                self._parents[child].append(parent)
        if not self._children:
            raise HierarchyError("the class hierarchy has no edges: give at least one 'parent child' pair")
        self._names = {node: str(names[node]) for node in self._children if names and node in names}
        self._order = self._topological_order()
        roots = [node for node in self._order if not self._parents[node]]
        if len(roots) != 1:
            shown = ", ".join(roots[:5]) + (", ..." if len(roots) > 5 else "")
            raise HierarchyError(f"the class hierarchy has {len(roots)} roots ({shown}): connect them under one root")
        self._root = roots[0]
        self._levels = self._longest_path_levels()

    def _topological_order(self) -> list[str]:
        """Kahn's algorithm; nodes left over lie on or below a cycle, which is reported by one of its nodes."""
        indegree = {node: len(parents) for node, parents in self._parents.items()}
        ready = [node for node, degree in indegree.items() if degree == 0]
        order: list[str] = []
        while ready:
            node = ready.pop()
            order.append(node)
            for child in self._children[node]:
                indegree[child] -= 1
                if indegree[child] == 0:
                    ready.append(child)
        if len(order) < len(self._children):
            node = self._node_on_cycle({n for n, degree in indegree.items() if degree > 0})
            raise HierarchyError(f"the class hierarchy has a cycle through {node!r}: remove one of its edges")
        return order

    def _node_on_cycle(self, left: set[str]) -> str:
        """Among nodes Kahn could not order, every one has a parent that is also left; walking up parents
        must revisit a node, and that node is on a cycle."""
        node = min(left)
        seen: set[str] = set()
        while node not in seen:
            seen.add(node)
            node = next(p for p in self._parents[node] if p in left)
        return node

    def _longest_path_levels(self) -> dict[str, int]:
        levels = {self._root: 0}
        for node in self._order:  # parents come before children, so each parent's level is final
            for child in self._children[node]:
                levels[child] = max(levels.get(child, 0), levels[node] + 1)
        return levels

    def _check(self, node: str) -> str:
        if node not in self._children:
            raise HierarchyError(f"unknown node {node!r}: it is not in the class hierarchy (check the wnid)")
        return node

    def __contains__(self, node: object) -> bool:
        return node in self._children

    def __len__(self) -> int:
        return len(self._children)

    def __repr__(self) -> str:
        return f"Hierarchy(root={self._root!r}, nodes={len(self)}, leaves={len(self.leaves)}, depth={self.depth})"

    @property
    def root(self) -> str:
        """The one node without parents."""
        return self._root

    @property
    def nodes(self) -> list[str]:
        """Every node, parents before children (a topological order)."""
        return list(self._order)

    @cached_property
    def leaves(self) -> list[str]:
        """The nodes without children (the dataset's classes), sorted."""
        return sorted(node for node, children in self._children.items() if not children)

    @property
    def depth(self) -> int:
        """The largest level of any node."""
        return max(self._levels.values())

    @property
    def edges(self) -> list[tuple[str, str]]:
        """Every (parent, child) edge, parents in topological order, children in given order."""
        return [(node, child) for node in self._order for child in self._children[node]]

    def children(self, node: str) -> list[str]:
        """The node's children, in the order their edges were given."""
        return list(self._children[self._check(node)])

    def parents(self, node: str) -> list[str]:
        """The node's parents, in the order their edges were given."""
        return list(self._parents[self._check(node)])

    def level(self, node: str) -> int:
        """The length of the longest path from the root to the node."""
        return self._levels[self._check(node)]

    def nodes_at_level(self, level: int) -> list[str]:
        """The nodes whose level is `level`, in topological order."""
        return [node for node in self._order if self._levels[node] == level]

    def descendants(self, node: str) -> set[str]:
        """Every node below `node` (not the node itself)."""
        found: set[str] = set()
        stack = list(self._children[self._check(node)])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self._children[current])
        return found

    def leaf_descendants(self, node: str) -> list[str]:
        """The leaves below `node`, sorted (a leaf's only leaf descendant is itself)."""
        if not self._children[self._check(node)]:
            return [node]
        return sorted(n for n in self.descendants(node) if not self._children[n])

    def ancestors(self, node: str) -> set[str]:
        """Every node above `node` (not the node itself)."""
        found: set[str] = set()
        stack = list(self._parents[self._check(node)])
        while stack:
            current = stack.pop()
            if current not in found:
                found.add(current)
                stack.extend(self._parents[current])
        return found

    def is_ancestor(self, ancestor: str, node: str) -> bool:
        """Whether `ancestor` is above `node` (or is the node)."""
        return ancestor == node or self._check(ancestor) in self.ancestors(node)

    def name(self, node: str) -> str:
        """The node's human name, or its id when none was given."""
        return self._names.get(self._check(node), node)

    def subtree(self, node: str) -> Hierarchy:
        """The hierarchy below `node`, with `node` as its root (a leaf has no subtree)."""
        keep = self.descendants(node) | {node}
        if len(keep) == 1:
            raise HierarchyError(f"node {node!r} is a leaf: it has no subtree; pick an inner node")
        return Hierarchy([(p, c) for p, c in self.edges if p in keep], self._names)
