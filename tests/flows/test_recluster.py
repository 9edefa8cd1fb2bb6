"""The `dedup` flow (re-cluster a date range) and the `reextract` flow, over a copy of a clean backfill."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from common.storage import resolve
from dedup.cluster_ids import stable_ids
from dedup.records import Assignment, Doc
from dedup.tables import clusters_table, upsert_clusters
from tests.flows.flows_helpers import Backfilled, cluster_partition, rows, table


def a(article: str, cluster: str, original: str) -> Assignment:
    return Assignment(article, cluster, original, "original" if article == original else "exact", 1.0, 1.0, 1)


def test_stable_ids_keep_what_members_had_and_give_a_split_part_a_new_id() -> None:
    docs = [Doc(i, "x") for i in ("a", "b", "c", "d")]
    rows_ = [a("a", "ca", "a"), a("b", "ca", "a"), a("c", "cc", "c"), a("d", "cc", "c")]
    old = {"a": "old-1", "b": "old-1", "c": "old-1", "d": "old-2"}  # a, b, c were one cluster: now split
    stable_ids(rows_, docs, old=old, taken={"old-9"})
    got = {r.article_id: r.cluster_id for r in rows_}
    assert got["a"] == got["b"] == "old-1"  # the part with the earliest original keeps the id
    assert got["c"] == got["d"] == "old-2"
    fresh = [a("a", "ca", "a")]
    stable_ids(fresh, docs[:1], old={"a": "old-9"}, taken={"old-9", "ca"})
    assert fresh[0].cluster_id not in {"old-9", "ca"}


def copy_of(backfilled: Backfilled, tmp_path: Path) -> Path:
    out = tmp_path / "data"
    shutil.copytree(backfilled.out, out)
    return out


def test_reclustering_everything_changes_nothing(clean_backfill: Backfilled, tmp_path: Path) -> None:
    from flows.recluster import dedup_range

    out = copy_of(clean_backfill, tmp_path)
    done = dedup_range(date(2026, 3, 1), date(2026, 3, 10), str(out))
    assert done.articles_in_range == done.articles_regrouped == clean_backfill.summary.articles_total
    assert done.articles_moved == 0 and done.clusters_after == clean_backfill.summary.clusters
    drop = ("run_id", "added_text")
    assert rows(out, "clusters", drop=drop) == rows(clean_backfill.out, "clusters", drop=drop)
    # One pass has every text at hand: each expanded copy says what it added.
    added = duckdb.sql(
        f"select added_text from {table(out, 'clusters')} where relation = 'expanded'"
    ).fetchall()
    assert added and all(text for (text,) in added)


def test_one_day_is_regrouped_with_the_clusters_it_shares_with_other_days(
    clean_backfill: Backfilled, tmp_path: Path
) -> None:
    from flows.recluster import dedup_range

    out = copy_of(clean_backfill, tmp_path)
    done = dedup_range(date(2026, 3, 5), date(2026, 3, 5), str(out))
    assert 0 < done.articles_in_range < done.articles_regrouped  # members from other days came along
    assert done.articles_moved == 0
    assert cluster_partition(out) == cluster_partition(clean_backfill.out)


def test_reclustering_repairs_broken_clusters(clean_backfill: Backfilled, tmp_path: Path) -> None:
    from flows.recluster import dedup_range

    out = copy_of(clean_backfill, tmp_path)
    root = resolve(str(out))
    broken = duckdb.sql(
        f"select article_id, cast(date as varchar) from {table(out, 'clusters')} "
        "where date between '2026-03-04' and '2026-03-06'"
    ).fetchall()
    assert broken
    upsert_clusters(
        root,
        clusters_table(
            [a(article, f"broken-{article}", article) for article, _ in broken],
            dict(broken),
            run_id="vandal",
        ),
    )
    assert cluster_partition(out) != cluster_partition(clean_backfill.out)
    done = dedup_range(date(2026, 3, 1), date(2026, 3, 10), str(out))
    assert done.articles_moved > 0
    assert cluster_partition(out) == cluster_partition(clean_backfill.out)
    assert len(rows(out, "clusters")) == clean_backfill.summary.articles_total


def test_reextract_rebuilds_the_same_articles(clean_backfill: Backfilled, tmp_path: Path) -> None:
    pytest.importorskip("ingest.reextract")
    from flows.reextract import reextract

    out = copy_of(clean_backfill, tmp_path)
    done = reextract(str(out), workers=1)
    assert done.busy is None and done.articles == done.pages_read == clean_backfill.summary.articles_total
    assert rows(out, "articles", drop=("raw_uri",)) == rows(clean_backfill.out, "articles", drop=("raw_uri",))
