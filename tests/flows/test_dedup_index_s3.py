"""The dedup index on S3 (a moto server on 127.0.0.1): batches in fresh processes read only the
store, and give the clusters of one pass."""

from __future__ import annotations

import random
from collections import defaultdict

import pyarrow.dataset as pads
import pytest

from common.storage import list_files, resolve
from dedup.engine import deduplicate
from dedup.index import DedupIndex, clear_cache
from tests.corpora.planted import planted_corpus


def test_batches_against_an_index_on_s3_give_the_clusters_of_one_pass(
    s3_endpoint: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    import dedup.lookup

    monkeypatch.setattr(dedup.lookup, "_WHOLE", 0)  # range reads, as of a large segment ...
    monkeypatch.setattr(dedup.lookup, "_GAP", 0)  # ... many of them, side by side
    docs = planted_corpus(60, copy_rate=0.6, seed=23, spread_days=2).docs  # few partitions: few PUTs
    shuffled = list(docs)
    random.Random(9).shuffle(shuffled)
    root = resolve("s3://news/out")
    for k in range(0, len(shuffled), 20):
        clear_cache()
        DedupIndex(root).update(shuffled[k : k + 20], run_id=f"run{k}")
    assert list_files(root.child("index"), suffix=".lookup")
    table = pads.dataset(
        f"{root.path}/clusters", filesystem=root.fs, format="parquet", partitioning="hive"
    ).to_table(columns=["article_id", "cluster_id"])
    got: dict[str, set[str]] = defaultdict(set)
    for a, c in zip(table["article_id"].to_pylist(), table["cluster_id"].to_pylist(), strict=True):
        got[c].add(a)
    want: dict[str, set[str]] = defaultdict(set)
    for a in deduplicate(docs).assignments:
        want[a.cluster_id].add(a.article_id)
    assert {frozenset(m) for m in got.values()} == {frozenset(m) for m in want.values()}
    clear_cache()
    again = DedupIndex(root).update(shuffled[:20], run_id="again")
    assert again.new_articles == 0
