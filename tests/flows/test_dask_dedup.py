"""`copydesk dedup --dask`: fingerprints made by two Dask workers, shard by shard, give the tables of
the single-process run row for row, on the dev sets (when ../shared/data is there) and on S3."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from common.storage import resolve
from dedup.distributed import dedup_table_on
from dedup.inputs import load_docs
from dedup.offline import dedup_table
from dedup.shards import input_shards
from tests.flows.dask_helpers import set_worker_env

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def tables(uri: str) -> dict[str, list[tuple]]:
    """clusters/ and links/ as sorted rows, without the run id (a timestamp of the run)."""
    out = {}
    for name in ("clusters", "links"):
        files = f"read_parquet('{uri}/{name}/**/*.parquet', hive_partitioning=true)"
        query = f"select * exclude (run_id) from {files}"
        out[name] = sorted(duckdb.sql(query).fetchall(), key=repr)
    return out


def as_parquet(src: Path, dest: Path, *, row_group: int) -> Path:
    """The JSONL.gz table `src` as Parquet with small row groups: many shards for the workers."""
    import pyarrow as pa

    docs = load_docs(str(src))
    table = pa.table(
        {
            "id": [d.id for d in docs],
            "text": [d.text for d in docs],
            "title": [d.title for d in docs],
            "url": [d.url for d in docs],
            "source": [d.source for d in docs],
            "published_at": pa.array([d.published_at for d in docs], pa.timestamp("us", tz="UTC")),
        }
    )
    pq.write_table(table, dest, row_group_size=row_group)
    return dest


@pytest.mark.parametrize("name", ["syndication-dev", "syndication-dev2"])
def test_two_workers_equal_one_process_on_the_dev_sets(dask_cluster: str, tmp_path: Path, name: str) -> None:
    from distributed import Client

    source = DATA / name / "articles.jsonl.gz"
    if not source.exists():
        pytest.skip(f"{source} is not here (../shared/data is the evaluation data)")
    table = as_parquet(source, tmp_path / "in.parquet", row_group=400)
    shards = input_shards(str(table), shard_rows=800)
    assert len(shards) >= 3
    alone = dedup_table(str(source), resolve(str(tmp_path / "alone")), run_id="one")
    with Client(dask_cluster, set_as_default=False) as client:
        spread = dedup_table_on(
            client, str(table), resolve(str(tmp_path / "spread")), run_id="two", shard_rows=800
        )
        assert len(client.scheduler_info()["workers"]) == 2
    assert spread.articles == alone.articles
    assert tables(str(tmp_path / "spread")) == tables(str(tmp_path / "alone"))
    assert sum(a.relation != "original" for a in spread.result.assignments) > 100  # copies were found


def test_s3_in_and_out(dask_cluster: str, s3_endpoint: str, tmp_path: Path) -> None:
    import boto3
    from distributed import Client

    from tests.corpora.planted import planted_corpus

    docs = planted_corpus(300, copy_rate=0.3, mean_words=120, seed=5).docs
    import pyarrow as pa

    local = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {"id": [d.id for d in docs], "text": [d.text for d in docs], "source": [d.source for d in docs]}
        ),
        local,
        row_group_size=100,
    )
    boto3.client("s3").upload_file(str(local), "news", "input/part-0.parquet")
    aws = {k: os.environ[k] for k in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_DEFAULT_REGION")}
    before = set_worker_env(dask_cluster, {**aws, "AWS_ENDPOINT_URL": s3_endpoint})
    try:
        with Client(dask_cluster, set_as_default=False) as client:
            spread = dedup_table_on(
                client, "s3://news/input/", resolve("s3://news/out"), run_id="s3", shard_rows=100
            )
    finally:
        set_worker_env(dask_cluster, next(iter(before.values())))
    alone = dedup_table(str(local), resolve(str(tmp_path / "alone")), run_id="one")
    assert spread.articles == alone.articles == len(docs)
    # Read back with DuckDB from a copy of what landed on S3 (no httpfs extension offline).
    out = resolve("s3://news/out")
    pafs.copy_files(out.path, str(tmp_path / "from-s3"), source_filesystem=out.fs)
    assert tables(str(tmp_path / "from-s3")) == tables(str(tmp_path / "alone"))
