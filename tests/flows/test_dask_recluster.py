"""The re-clustering of a date range (`flows.recluster`) in stages on a Dask cluster: the same
clusters/ rows as in one process, over a copy of a clean backfill whose clusters were broken, its
work files gone afterwards; and the `copydesk-dedup` flow with its `dask` parameter, or
``COPYDESK_DASK_ADDRESS``, under Prefect's test harness."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import date
from pathlib import Path

import duckdb
import pytest

from common.storage import resolve
from dedup.records import Assignment
from dedup.tables import clusters_table, upsert_clusters
from flows.recluster import ReclusterOutcome
from tests.flows.dask_helpers import STAGES, stages_run
from tests.flows.flows_helpers import Backfilled, cluster_partition, rows, table

FIRST, LAST = date(2026, 3, 1), date(2026, 3, 10)
DROP = ("run_id",)


def broken_copy(backfilled: Backfilled, dest: Path) -> Path:
    """A copy of the backfill where every article of 2026-03-04..06 is a cluster of its own."""
    shutil.copytree(backfilled.out, dest)
    found = duckdb.sql(
        f"select article_id, cast(date as varchar) from {table(dest, 'clusters')} "
        "where date between '2026-03-04' and '2026-03-06'"
    ).fetchall()
    assert found
    assignments = [Assignment(a, f"broken-{a}", a, "original", 1.0, 1.0, 1) for a, _ in found]
    upsert_clusters(resolve(str(dest)), clusters_table(assignments, dict(found), run_id="vandal"))
    assert cluster_partition(dest) != cluster_partition(backfilled.out)
    return dest


def no_work_left(out: Path) -> bool:
    return not [p for p in out.iterdir() if p.name.startswith("_work-")]


def counts(outcome: ReclusterOutcome) -> dict[str, object]:
    return {k: v for k, v in dataclasses.asdict(outcome).items() if k != "seconds"}


def test_two_workers_regroup_a_range_as_one_process_does(
    clean_backfill: Backfilled, dask_cluster: str, tmp_path: Path
) -> None:
    from distributed import Client, get_task_stream

    from flows.recluster import recluster_range

    here = broken_copy(clean_backfill, tmp_path / "here")
    there = broken_copy(clean_backfill, tmp_path / "there")
    stale = there / "_work-killed-0123abcd" / "input" / "part-00000.parquet"  # a run killed part-way
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over")
    shards = 0
    with Client(dask_cluster, set_as_default=False) as client, get_task_stream(client) as stream:
        for start, end in ((FIRST, LAST), (date(2026, 3, 5), date(2026, 3, 5))):
            alone = recluster_range(resolve(str(here)), start, end, run_id=f"one-{start}")
            spread = recluster_range(
                resolve(str(there)), start, end, run_id=f"two-{start}", dask=dask_cluster, shard_rows=7
            )
            assert counts(spread) == counts(alone)
            shards += -(-spread.articles_regrouped // 7)
            assert rows(there, "clusters", drop=DROP) == rows(here, "clusters", drop=DROP)
            assert no_work_left(there)
    assert stages_run(stream.data) == STAGES  # the grouping ran on the workers
    assert sum(str(t["key"]).startswith("fingerprint_shard") for t in stream.data) == shards > 2
    assert not stale.parent.parent.exists()
    # The whole range repaired what was broken; the one day brought its clusters' other members along.
    assert cluster_partition(there) == cluster_partition(clean_backfill.out)
    assert 0 < spread.articles_in_range < spread.articles_regrouped
    added = duckdb.sql(
        f"select added_text from {table(there, 'clusters')} where relation = 'expanded'"
    ).fetchall()
    assert added and all(text for (text,) in added)  # filled from the regrouped texts


def test_an_output_root_on_s3(
    clean_backfill: Backfilled, dask_cluster: str, s3_endpoint: str, tmp_path: Path
) -> None:
    import os

    import pyarrow.fs as pafs

    from common.storage import list_files
    from flows.recluster import recluster_range
    from tests.flows.dask_helpers import set_worker_env

    here = broken_copy(clean_backfill, tmp_path / "here")
    there = broken_copy(clean_backfill, tmp_path / "to-s3")
    root = resolve("s3://news/data")
    pafs.copy_files(str(there), root.path, destination_filesystem=root.fs)
    aws = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    before = set_worker_env(dask_cluster, {**aws, "AWS_ENDPOINT_URL": s3_endpoint})
    try:
        spread = recluster_range(root, FIRST, LAST, run_id="s3", dask=dask_cluster, shard_rows=7)
    finally:
        set_worker_env(dask_cluster, next(iter(before.values())))
    alone = recluster_range(resolve(str(here)), FIRST, LAST, run_id="one")
    assert counts(spread) == counts(alone) and spread.articles_moved > 0
    assert not [f for f in list_files(root, suffix="") if "/_work-" in f]  # the work files went on S3 too
    # Read back with DuckDB from a copy of what is on S3 (no httpfs extension offline).
    pafs.copy_files(root.path, str(tmp_path / "from-s3"), source_filesystem=root.fs)
    assert rows(tmp_path / "from-s3", "clusters", drop=DROP) == rows(here, "clusters", drop=DROP)


def test_the_flow_runs_on_the_cluster_its_parameter_or_the_environment_names(
    clean_backfill: Backfilled, dask_cluster: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from distributed import Client, get_task_stream

    from flows.recluster import dedup_range

    out = broken_copy(clean_backfill, tmp_path / "data")
    with Client(dask_cluster, set_as_default=False) as client, get_task_stream(client) as stream:
        done = dedup_range(FIRST, LAST, str(out), dask=dask_cluster)
    assert done.busy is None and done.articles_moved > 0
    assert stages_run(stream.data) == STAGES
    assert cluster_partition(out) == cluster_partition(clean_backfill.out)
    assert len(rows(out, "clusters")) == clean_backfill.summary.articles_total
    assert no_work_left(out)

    monkeypatch.setenv("COPYDESK_DASK_ADDRESS", dask_cluster)
    with Client(dask_cluster, set_as_default=False) as client, get_task_stream(client) as stream:
        again = dedup_range(FIRST, LAST, str(out))
    assert again.articles_moved == 0 and stages_run(stream.data) == STAGES
    assert cluster_partition(out) == cluster_partition(clean_backfill.out)


def test_a_bad_dask_value_is_refused_before_anything_runs(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    from flows.cli import main

    out = tmp_path / "data"
    code = main(
        ["recluster", "--start", "2026-03-01", "--end", "2026-03-02", "--out", str(out), "--dask", "local:0"]
    )
    assert code != 0
    assert "local:N must be a positive number of workers" in capsys.readouterr().err
    assert not out.exists()
