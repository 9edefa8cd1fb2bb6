"""Clusters from verified links: an original and every copy of it, copies of copies included.

A cluster is a connected component over copy links: a chain of live-page snapshots,
each inside the next, is one cluster, and so is a family of outlets running several write-throughs
of one wire story. `version` links are kept but join nothing.

A text that holds texts of two stories (A holds B when B is inside A: A is `expanded` of B, or B
an `excerpt` of A) must not join those stories: a digest of briefs holds several. So a text that
holds texts lying in different clusters is looked at closely: the texts it holds are grouped by
story (two of them are one story when they are already joined, linked to each other, even as
versions, or when the parts of the holder they cover overlap), and the holder joins the story that
covers at least `main_story` of it (an expanded copy with another wire's paragraph appended joins
its story, not the other wire's), or more than half of it and nearly all (4/5) of what it shares
with the texts it holds (a live page that adds new entries of its own to the story, one of them an
item also posted alone); when no story covers that much (a digest, a merge of two stories), it
joins none of them.
A cluster all of whose texts the holder holds is a part of it (a preview of its new top, an item of
its live page), not a story that competes: when only one cluster is more than that, the holder
joins it with its parts, however much text of its own it adds, and the parts join along with the
main story otherwise; when every cluster it holds is such a part, those published before it are
stories and those after it are parts (copied from it). Texts it holds that all make one story join
it however little of it they cover: there is nothing to bridge. A text that a text unrelated to
the holder (not linked to it as a copy: a version of the holder is another story) holds too is no
part of either: it could bridge them, so the main story decides. The links it does not follow
become `version` links. Every decision reads the links and the sketches only, never the order of
input.

A text that holds a copy of V while it is a version of V itself does not join V through that copy:
when it shares with V a passage beyond the copy of at least `version_min` of V (a write-through
that kept the paragraphs of V's preview), the link to the copy is not followed.

Each member is then reached from its cluster's original by a breadth-first walk over the links
followed (earliest texts first): the text it was reached from is the one it was matched to, its
`copy_of`.
"""

from __future__ import annotations

from collections import Counter, defaultdict, deque
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from dedup.fingerprint_arrays import Fingerprints
from dedup.records import EXACT, EXCERPT, EXPANDED, NEAR_DUPLICATE, VERSION, Link
from dedup.verify import Triple

_MUTUAL = (EXACT, NEAR_DUPLICATE)


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


@dataclass(slots=True)
class Clusters:
    """What the cluster stage hands on."""

    roots: np.ndarray  # (n,) the original (earliest member) of each text's cluster
    copy_of: np.ndarray  # (n,) the text each member was matched to; -1 for originals
    links: list[Triple]  # the verified links, those not followed from a merge point as `version`


def holding(a: int, o: int, rel: str) -> tuple[int, int] | None:
    """(holder, held) of a link where one text holds the other."""
    if rel == EXPANDED:
        return a, o
    if rel == EXCERPT:
        return o, a
    return None


def cluster(
    n: int,
    rank: Sequence[int],
    links: list[Triple],
    fp: Fingerprints,
    main_story: float,
    version_min: float = 0.3,
) -> Clusters:
    """Group `n` texts by their verified `links` (later, earlier, relation); `main_story` and
    `version_min` are those of `MatchParams`."""
    uf = UnionFind(rank)
    held: dict[int, list[int]] = defaultdict(list)
    dropped = _through_a_version(links, rank, fp, version_min)
    for a, o, rel in links:
        if rel in _MUTUAL:
            uf.union(a, o)
        elif (h := holding(a, o, rel)) is not None and h not in dropped:
            held[h[0]].append(h[1])
    pending = sorted(held)
    changed = True
    while changed:  # holders whose texts all lie in one cluster join it; that may settle others
        changed, waiting = False, []
        for x in pending:
            if len({uf.find(t) for t in held[x]}) == 1:
                for t in held[x]:
                    uf.union(x, t)
                changed = True
            else:
                waiting.append(x)
        pending = waiting
    # The rest hold texts of several clusters: decided from one snapshot of the clusters, so the
    # outcome does not depend on which holder is looked at first.
    root_of = {t: uf.find(t) for x in pending for t in held[x]}
    members = Counter(uf.find(i) for i in range(n)) if pending else Counter()
    linked = {(min(a, o), max(a, o)) for a, o, _ in links}
    copied = {(min(a, o), max(a, o)) for a, o, rel in links if rel != VERSION}
    holders: dict[int, list[int]] = defaultdict(list)
    for x in pending:
        for t in held[x]:
            holders[t].append(x)
    for x in pending:
        # A cluster all of whose texts x holds is a part of x (an item of its live page, a
        # preview of its new top), not another story: when one cluster alone is more than that,
        # x joins it with its parts. When every cluster is such a part, those published after x
        # are parts (copied from it) and those before it are stories. That holds only when no text
        # x holds is also held by a text unrelated to x (no copy of it, nor x of it: two texts that
        # each add a passage to their own story are versions of each other): such a text could
        # bridge two stories. Otherwise the main story decides, and x's parts join along.
        own = [all(h == x or (min(h, x), max(h, x)) in copied for h in holders[t]) for t in held[x]]
        inside = Counter(root_of[t] for t in held[x])
        whole = {t for t in held[x] if members[root_of[t]] == inside[root_of[t]]}
        stories = {root_of[t] for t in held[x]} - {root_of[t] for t in whole}
        if not stories:
            stories = {root_of[t] for t in whole if rank[root_of[t]] < rank[x]}
        if all(own) and len(stories) == 1:
            keep = set(held[x])
        else:
            keep = _main_story(x, held[x], root_of, linked, fp, main_story)
            if keep:
                keep |= {t for t, mine in zip(held[x], own, strict=True) if mine and t in whole}
        for t in held[x]:
            if t in keep:
                uf.union(x, t)
            else:
                dropped.add((x, t))
    final: list[Triple] = []
    for a, o, rel in links:
        h = holding(a, o, rel)
        final.append((a, o, VERSION) if h is not None and h in dropped else (a, o, rel))
    roots = np.array([uf.find(i) for i in range(n)], dtype=np.int64)
    return Clusters(roots, _copy_of(n, rank, roots, final), final)


def _through_a_version(
    links: list[Triple], rank: Sequence[int], fp: Fingerprints, beyond: float
) -> set[tuple[int, int]]:
    """(holder, held) links that would join a text to its own version through a copy it holds.

    X holds T; V, published before X, holds T too (or T is V's near duplicate); X and V are
    versions of each other. When X and V share no more than T (two outlets expanded T each their
    own way), X joins T. When they share a passage beyond T of at least `beyond` of V, X kept V's
    own text too and is a version of V itself (a write-through that kept the paragraphs of V's
    preview): following X to T would join X to V, which a version link never does. (Of the two,
    the later is the one that does not follow: whichever it is, the two stay apart.)
    """
    versions: dict[int, list[int]] = defaultdict(list)
    holds: set[tuple[int, int]] = set()
    for a, o, rel in links:
        if rel == VERSION:
            versions[a].append(o)
            versions[o].append(a)
        elif (h := holding(a, o, rel)) is not None:
            holds.add(h)
        else:
            holds.update({(a, o), (o, a)})
    out: set[tuple[int, int]] = set()
    for x, t in sorted(holds):
        if (t, x) in holds or x not in versions:
            continue
        for v in versions[x]:
            if (v, t) not in holds or rank[v] > rank[x]:
                continue
            ax, av, at = fp.anchors_of(x)[0], fp.anchors_of(v)[0], fp.anchors_of(t)[0]
            both = np.intersect1d(ax, av, assume_unique=True)
            extra = np.setdiff1d(both, at, assume_unique=True).size
            if av.size and extra >= beyond * av.size:
                out.add((x, t))
                break
    return out


def _main_story(
    x: int,
    targets: list[int],
    root_of: dict[int, int],
    linked: set[tuple[int, int]],
    fp: Fingerprints,
    share: float,
) -> set[int]:
    """The texts held by `x` that belong to the story covering at least `share` of x, or more than
    half of x and nearly all it shares with the texts it holds (empty if none)."""
    anchors_x, _ = fp.anchors_of(x)
    if anchors_x.size == 0:
        return set()
    inside = {t: np.intersect1d(anchors_x, fp.anchors_of(t)[0], assume_unique=True) for t in targets}
    story = {t: root_of[t] for t in targets}  # texts already joined are one story
    order = sorted(targets)
    for i, t in enumerate(order):
        for u in order[i + 1 :]:
            if story[t] != story[u] and ((t, u) in linked or _overlap(inside[t], inside[u])):
                old, new = max(story[t], story[u]), min(story[t], story[u])
                story = {k: new if s == old else s for k, s in story.items()}
    if len(set(story.values())) == 1:  # one story, however much x adds to it: nothing to bridge
        return set(targets)
    best, best_cover = None, 0.0
    for s in sorted(set(story.values())):
        covered = np.unique(np.concatenate([inside[t] for t in targets if story[t] == s])).size
        if covered / anchors_x.size > best_cover:
            best, best_cover = s, covered / anchors_x.size
    if best is None:
        return set()
    if best_cover < share:
        # A story that is most of x and nearly all x shares with the texts it holds keeps x: the
        # rest x holds is small beside it (an item of a live page also posted alone), not a
        # second story of a merge or a digest, whose stories each are a large part of what it holds.
        held = np.unique(np.concatenate(list(inside.values()))).size
        if not (best_cover > _MAJORITY and best_cover * anchors_x.size >= _NEARLY_ALL * held):
            return set()
    return {t for t in targets if story[t] == best}


#: A story covering more than this share of a holder ...
_MAJORITY = 0.5
#: ... and at least this share of what the holder shares with the texts it holds is its main story.
_NEARLY_ALL = 0.8


def _overlap(a: np.ndarray, b: np.ndarray) -> bool:
    """Whether two parts of one text share enough anchors to be the same passage."""
    common = np.intersect1d(a, b, assume_unique=True).size
    return common >= max(2, 0.2 * min(a.size, b.size))


def _copy_of(n: int, rank: Sequence[int], roots: np.ndarray, links: list[Triple]) -> np.ndarray:
    """Breadth-first from each original over the followed links, earliest neighbours first."""
    adj: dict[int, list[int]] = defaultdict(list)
    for a, o, rel in links:
        if rel != VERSION and roots[a] == roots[o]:
            adj[a].append(o)
            adj[o].append(a)
    parent = np.full(n, -1, dtype=np.int64)
    for r in np.flatnonzero(roots == np.arange(n)).tolist():
        if r not in adj:
            continue
        seen, queue = {r}, deque([r])
        while queue:
            x = queue.popleft()
            for y in sorted(adj[x], key=lambda k: rank[k]):
                if y not in seen:
                    seen.add(y)
                    parent[y] = x
                    queue.append(y)
    return parent


def link_rows(
    ids: Sequence[str], links: list[Triple], measures: dict[tuple[int, int], tuple[float, float, float]]
) -> list[Link]:
    """`links/` rows: the later text first, measures from the verified features."""
    out = []
    for a, o, rel in links:
        jac, ca, co = measures[(a, o)]
        out.append(Link(ids[a], ids[o], rel, round(jac, 4), round(ca, 4), round(co, 4)))
    return out
