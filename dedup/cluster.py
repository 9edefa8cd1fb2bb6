"""Clusters from verified links: connected components over copy links, with their originals.

Only copy relations join clusters; `version` links are kept but join nothing (docs/architecture.md). A text
that holds two stories that are not copies of each other is a merge of them, not an expanded copy
of either: its `expanded` links become `version` links, so it cannot chain two stories together.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence

import numpy as np

from dedup.records import EXCERPT, EXPANDED, VERSION, Link


class UnionFind:
    """Disjoint sets over 0..n-1, merging towards the smaller rank (the earlier text)."""

    def __init__(self, rank: Sequence[int]) -> None:
        self.parent = list(range(len(rank)))
        self.rank = rank

    def find(self, x: int) -> int:
        root = x
        while self.parent[root] != root:
            root = self.parent[root]
        while self.parent[x] != root:
            self.parent[x], x = root, self.parent[x]
        return root

    def union(self, a: int, b: int) -> None:
        ra, rb = self.find(a), self.find(b)
        if ra == rb:
            return
        if self.rank[rb] < self.rank[ra]:
            ra, rb = rb, ra
        self.parent[rb] = ra


def components(
    n: int, rank: Sequence[int], links: list[tuple[int, int, str]]
) -> tuple[np.ndarray, list[tuple[int, int, str]]]:
    """Root (earliest member) of each text's cluster, and the links with merges demoted to versions.

    `links` holds (later, earlier, relation) triples with relation a copy relation or `version`.
    """
    uf = UnionFind(rank)
    expanded_of: dict[int, list[int]] = defaultdict(list)
    for a, o, rel in links:
        if rel == EXPANDED:
            expanded_of[a].append(o)
        elif rel != VERSION:
            uf.union(a, o)
    demoted: set[tuple[int, int]] = set()
    for a, targets in expanded_of.items():
        roots = {uf.find(o) for o in targets}
        if len(roots) > 1 and not _inside_one(a, targets, links):
            demoted.update((a, o) for o in targets)
    for a, targets in expanded_of.items():
        for o in targets:
            if (a, o) not in demoted:
                uf.union(a, o)
    final = [(a, o, VERSION if (a, o) in demoted else rel) for a, o, rel in links]
    return np.array([uf.find(i) for i in range(n)], dtype=np.int64), final


def _inside_one(a: int, targets: list[int], links: list[tuple[int, int, str]]) -> bool:
    """Whether every target of `a` is itself an excerpt of one of them (one story, not a merge)."""
    tset = set(targets)
    inside: dict[int, set[int]] = defaultdict(set)
    for x, y, rel in links:
        if x in tset and y in tset and rel == EXCERPT:
            inside[y].add(x)
        if x in tset and y in tset and rel == EXPANDED:
            inside[x].add(y)
    return any(tset - {t} <= inside[t] for t in targets)


def link_rows(
    ids: Sequence[str],
    links: list[tuple[int, int, str]],
    feats: dict[tuple[int, int], tuple[float, float, float]],
) -> list[Link]:
    """`links/` rows: the later text first, measures from the verified features."""
    out = []
    for a, o, rel in links:
        jac, ca, co = feats[(a, o)]
        out.append(Link(ids[a], ids[o], rel, round(jac, 4), round(ca, 4), round(co, 4)))
    return out
