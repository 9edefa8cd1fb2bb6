"""The groups of more than one article, from an engine's assignments or a stored `clusters/` table."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from pathlib import Path

import pyarrow.parquet as pq

from dedup.records import Assignment


def clusters_of(assignments: Iterable[Assignment]) -> set[frozenset[str]]:
    return _groups((a.article_id, a.cluster_id) for a in assignments)


def stored_clusters(root: Path) -> set[frozenset[str]]:
    table = pq.read_table(root / "clusters")
    return _groups(zip(table["article_id"].to_pylist(), table["cluster_id"].to_pylist(), strict=True))


def _groups(pairs: Iterable[tuple[str, str]]) -> set[frozenset[str]]:
    groups: dict[str, set[str]] = defaultdict(set)
    for article, cluster in pairs:
        groups[cluster].add(article)
    return {frozenset(m) for m in groups.values() if len(m) > 1}
