"""Cluster-id policy of the dedup index: ids never change once given, and the older id survives a merge.

A batch regroups only the clusters it touches (`with_cluster_members`), with the ids a one-pass
dedup derives; `stable_ids` then gives each regrouped cluster back the id its members had.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence, Set

import pyarrow as pa
import pyarrow.compute as pc

from dedup.engine import cluster_id_for, precedence
from dedup.records import Assignment, Doc


def stable_ids(
    rows: list[Assignment], docs: Sequence[Doc], *, old: Mapping[str, str], taken: Set[str] = frozenset()
) -> list[tuple[str, str]]:
    """Give regrouped clusters the ids their members had (rows are changed in place); returns the
    merges, (surviving id, absorbed id).

    Clusters with the earliest originals choose first, and a cluster takes the old id of its earliest
    member, so an id stays with its original and the older id survives a merge; a part split off
    gets an id derived from its original.

    Args:
        rows: one assignment per doc, with the ids a one-pass dedup derives.
        old: each article's cluster id before.
        taken: ids held by clusters that are not regrouped, which no regrouped cluster may take.
    """
    rank = dict(zip([d.id for d in docs], precedence(docs), strict=True))
    by_cluster: dict[str, list[Assignment]] = {}
    for a in rows:
        by_cluster.setdefault(a.cluster_id, []).append(a)
    used = set(taken)
    merges: list[tuple[str, str]] = []
    for derived, members in sorted(by_cluster.items(), key=lambda kv: rank[kv[1][0].original_id]):
        members.sort(key=lambda m: rank[m.article_id])
        olds = list(dict.fromkeys(old[m.article_id] for m in members if m.article_id in old))
        free = [c for c in olds if c not in used]
        final = free[0] if free else derived
        if final in used:  # a split left the derived id to another cluster
            final = cluster_id_for(f"{derived}#{members[0].article_id}")
        used.add(final)
        merges.extend((final, c) for c in free[1:])
        for m in members:
            m.cluster_id = final
    return merges


def with_cluster_members(ids: set[str], previous: pa.Table) -> set[str]:
    """`ids` and every article in the same cluster as one of them."""
    if not ids or previous.num_rows == 0:
        return set(ids)
    hit = previous.filter(pc.is_in(previous["article_id"], value_set=pa.array(sorted(ids), pa.string())))
    clusters = pa.array(sorted(set(hit["cluster_id"].to_pylist())), pa.string())
    members = previous.filter(pc.is_in(previous["cluster_id"], value_set=clusters))["article_id"]
    return set(ids) | set(members.to_pylist())
