"""`copydesk dedup --dask`: the staged dedup (`dedup.distributed`: fingerprint, line counts, strip
and partition, match per value range, pairs per holder bucket, verify per pair shard, on the
workers) gives the tables of the single-process run row for row: on both dev sets whole (when
../shared/data is there) on a 2-worker LocalCluster, on S3 (moto) in and out, and on a planted corpus
with boilerplate cut into many small shards, ranges and pair shards (a thread pool as the executor)."""

from __future__ import annotations

import os
from pathlib import Path

import duckdb
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from common.storage import list_files, resolve
from dedup.distributed import dedup_table_on
from dedup.errors import InputError
from dedup.inputs import load_docs
from dedup.offline import dedup_table
from dedup.shards import input_shards
from tests.flows.dask_helpers import STAGES, set_worker_env, stages_run

DATA = Path(__file__).resolve().parents[2] / ".." / "shared" / "data"


def no_work_left(uri: str) -> bool:
    loc = resolve(uri)
    return not [f for f in list_files(loc, suffix="") if "/_work-" in f]


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
    from distributed import Client, get_task_stream

    source = DATA / name / "articles.jsonl.gz"
    if not source.exists():
        pytest.skip(f"{source} is not here (../shared/data is the evaluation data)")
    table = as_parquet(source, tmp_path / "in.parquet", row_group=400)
    shards = input_shards(str(table), shard_rows=800)
    assert len(shards) >= 3
    alone = dedup_table(str(source), resolve(str(tmp_path / "alone")), run_id="one")
    with Client(dask_cluster, set_as_default=False) as client, get_task_stream(client) as stream:
        spread = dedup_table_on(
            client,
            str(table),
            resolve(str(tmp_path / "spread")),
            run_id="two",
            shard_rows=800,
            pair_rows=1000,
        )
        assert len(client.scheduler_info()["workers"]) == 2
    assert stages_run(stream.data) == STAGES  # every stage ran on the workers
    assert sum(str(t["key"]).startswith("verify_pairs") for t in stream.data) >= 3
    assert no_work_left(str(tmp_path / "spread"))
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
                client,
                "s3://news/input/",
                resolve("s3://news/out"),
                run_id="s3",
                shard_rows=100,
                pair_rows=50,
            )
    finally:
        set_worker_env(dask_cluster, next(iter(before.values())))
    alone = dedup_table(str(local), resolve(str(tmp_path / "alone")), run_id="one")
    assert spread.articles == alone.articles == len(docs)
    # Read back with DuckDB from a copy of what landed on S3 (no httpfs extension offline).
    out = resolve("s3://news/out")
    pafs.copy_files(out.path, str(tmp_path / "from-s3"), source_filesystem=out.fs)
    assert tables(str(tmp_path / "from-s3")) == tables(str(tmp_path / "alone"))
    assert no_work_left(str(tmp_path / "from-s3"))  # the work files went to S3 and were deleted there
    assert list_files(resolve("s3://news/out/index"))  # the dedup index too


def test_many_small_stages_with_boilerplate(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    from tests.corpora.planted import planted_corpus

    docs = planted_corpus(160, copy_rate=0.4, mean_words=150, seed=11).docs
    # A long standing block under two thirds of the texts: kept, it would link unrelated stories.
    footer = "\n\n".join(
        f"About this newsroom, part {k}: our reporters cover city hall, the courts, schools, transit "
        "and the weather, and every correction we publish is listed on the corrections page with the "
        "date it was made and the reason, so that readers can follow how a story changed over time."
        for k in range(3)
    )
    texts = [f"{d.text}\n\n{footer}" if i % 3 else d.text for i, d in enumerate(docs)]
    local = tmp_path / "in.parquet"
    pq.write_table(
        pa.table(
            {
                "id": [d.id for d in docs],
                "text": texts,
                "source": ["wire" if i % 2 else "daily" for i in range(len(docs))],
            }
        ),
        local,
        row_group_size=23,
    )
    alone = dedup_table(str(local), resolve(str(tmp_path / "alone")), run_id="one")
    stale = tmp_path / "spread" / "_work-killed-0123abcd" / "fp" / "s00000.parquet"  # a run killed part-way
    stale.parent.mkdir(parents=True)
    stale.write_bytes(b"left over")
    with ThreadPoolExecutor(3) as pool:
        spread = dedup_table_on(
            pool, str(local), resolve(str(tmp_path / "spread")), run_id="t", shard_rows=23, pair_rows=7
        )
    assert spread.articles == alone.articles == len(docs)
    assert tables(str(tmp_path / "spread")) == tables(str(tmp_path / "alone"))
    assert sum(a.relation != "original" for a in alone.result.assignments) > 20
    assert no_work_left(str(tmp_path / "spread"))
    assert not stale.parent.parent.exists()


def test_an_id_in_two_shards_is_refused(tmp_path: Path) -> None:
    from concurrent.futures import ThreadPoolExecutor

    import pyarrow as pa

    ids = ["a", "b", "c", "a"]
    pq.write_table(
        pa.table({"id": ids, "text": [f"text number {i} " * 20 for i in range(4)]}),
        tmp_path / "in.parquet",
        row_group_size=2,
    )
    with ThreadPoolExecutor(2) as pool, pytest.raises(InputError, match="duplicate id 'a'"):
        dedup_table_on(
            pool, str(tmp_path / "in.parquet"), resolve(str(tmp_path / "out")), run_id="t", shard_rows=2
        )
    assert no_work_left(str(tmp_path / "out"))


def test_the_flow_runs_the_stages_on_the_cluster_and_refuses_a_local_input_through_the_api(
    prefect_harness: None, dask_cluster: str, tmp_path: Path
) -> None:
    import pyarrow as pa

    from flows.dask_flows import dedup_table_dask
    from flows.exposure import widened
    from tests.corpora.planted import planted_corpus

    docs = planted_corpus(120, copy_rate=0.4, mean_words=150, seed=3).docs
    local = tmp_path / "in.parquet"
    pq.write_table(pa.table({"id": [d.id for d in docs], "text": [d.text for d in docs]}), local)
    summary = dedup_table_dask(str(local), str(tmp_path / "spread"), dask=dask_cluster)
    alone = dedup_table(str(local), resolve(str(tmp_path / "alone")), run_id="one")
    assert summary["articles"] == len(docs) and summary["links"] == alone.links > 0
    assert tables(str(tmp_path / "spread")) == tables(str(tmp_path / "alone"))
    # Through the API, a deployment run may not point the workers at their own disk.
    assert widened({"input": "/etc/passwd"}, {"out": "s3://copydesk/dedup"}) == ["input '/etc/passwd'"]
    assert widened({"input": "s3://news/table/"}, {"out": "s3://copydesk/dedup"}) == []


def test_local_workers_start_without_malloc_trim_even_when_this_process_has_it(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from flows.dask_runner import dask_client

    # What a nanny started earlier in this process with Dask's default config leaves behind.
    monkeypatch.setenv("MALLOC_TRIM_THRESHOLD_", "65536")
    with dask_client("local:1") as client:
        seen = client.run(lambda: os.environ.get("MALLOC_TRIM_THRESHOLD_"))
    assert list(seen.values()) == [None]
    assert os.environ["MALLOC_TRIM_THRESHOLD_"] == "65536"  # this process keeps its own
