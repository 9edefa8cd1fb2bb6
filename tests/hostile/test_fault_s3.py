"""S3 faults injected between the code and a moto server (tests/hostile/fault_proxy.py): each is
retried, or fails cleanly with nothing half-visible (no partial object under a final key, no
temporary key left behind)."""

from __future__ import annotations

from pathlib import Path

import pyarrow as pa
import pytest

from common.storage import StorageError, read_dataset, resolve, write_file
from dedup.index import DedupIndex, clear_cache
from tests.corpora.planted import planted_corpus
from tests.hostile.fault_proxy import Fault, FaultProxy
from tests.hostile.state_helpers import proxy
from tests.s3_server import new_bucket, objects

__all__ = ["proxy"]

TABLE = pa.table({"article_id": [f"a{i}" for i in range(2000)], "text": ["word " * 40] * 2000})


def _visible(endpoint: str, bucket: str) -> dict[str, int]:
    """Objects a reader sees (no folder markers), by key, with their sizes."""
    return {k: len(v) for k, v in objects(endpoint, bucket).items() if not k.endswith("/")}


@pytest.mark.parametrize(
    "fault",
    [
        Fault("500", method="PUT", times=1),
        Fault("503", method="PUT", times=2),  # throttled: SlowDown
        Fault("drop", method="PUT", times=1),
        Fault("half", method="PUT", times=1),  # the connection dies half-way through the body
        Fault("500", method="GET", times=1),
    ],
    ids=lambda f: f"{f.kind}-{f.method}",
)
def test_a_passing_fault_is_retried_and_the_file_is_whole(
    moto_endpoint: str, proxy: FaultProxy, fault: Fault
) -> None:
    bucket = new_bucket(moto_endpoint)
    loc = resolve(f"s3://{bucket}/t", endpoint_url=proxy.endpoint)
    proxy.inject(fault)
    write_file(TABLE, loc, "date=2026-03-01/part-0.parquet")
    back = read_dataset(loc)
    assert fault.hits == fault.times
    assert back is not None and back.drop_columns(["date"]).equals(TABLE)
    assert [k for k in _visible(moto_endpoint, bucket) if ".tmp-" in k] == []


@pytest.mark.parametrize("kind", ["500", "half", "drop"])
def test_a_write_that_keeps_failing_leaves_nothing_visible(
    moto_endpoint: str, proxy: FaultProxy, kind: str
) -> None:
    bucket = new_bucket(moto_endpoint)
    loc = resolve(f"s3://{bucket}/t", endpoint_url=proxy.endpoint)
    write_file(TABLE.slice(0, 10), loc, "date=2026-03-01/part-0.parquet")
    before = objects(moto_endpoint, bucket)
    proxy.inject(Fault(kind, method="PUT", times=-1))
    with pytest.raises(StorageError):
        write_file(TABLE, loc, "date=2026-03-01/part-0.parquet")
    proxy.clear()
    assert objects(moto_endpoint, bucket) == before  # the old file whole, no temporary key left


def test_a_copy_into_place_that_fails_leaves_the_old_file_and_no_temporary_key(
    moto_endpoint: str, proxy: FaultProxy
) -> None:
    bucket = new_bucket(moto_endpoint)
    loc = resolve(f"s3://{bucket}/t", endpoint_url=proxy.endpoint)
    write_file(TABLE.slice(0, 10), loc, "part-0.parquet")
    before = objects(moto_endpoint, bucket)
    proxy.inject(Fault("500", method="PUT", path="part-0.parquet", times=-1))  # the CopyObject
    with pytest.raises(StorageError):
        write_file(TABLE, loc, "part-0.parquet")
    assert objects(moto_endpoint, bucket) == before


def test_index_updates_under_faults_end_as_a_clean_run(
    moto_endpoint: str, proxy: FaultProxy, tmp_path: Path
) -> None:
    docs = planted_corpus(16, copy_rate=0.8, seed=8).docs
    DedupIndex(resolve(str(tmp_path / "clean"))).update(docs, run_id="clean")
    bucket = new_bucket(moto_endpoint)
    out = f"s3://{bucket}/i"
    failed = 0
    for kind in ("half", "500"):  # a fault at every write of one attempt (retries exhausted)
        clear_cache()
        proxy.clear()
        proxy.inject(Fault(kind, method="PUT", times=-1))
        with pytest.raises(StorageError):
            DedupIndex(resolve(out, endpoint_url=proxy.endpoint)).update(docs, run_id="faulty")
        failed += 1
        assert [k for k in _visible(moto_endpoint, bucket) if ".tmp-" in k] == []
    proxy.clear()
    proxy.inject(Fault("503", times=1))  # and a run throttled and cut off once, that finishes
    proxy.inject(Fault("drop", method="PUT", times=1))
    clear_cache()
    DedupIndex(resolve(out, endpoint_url=proxy.endpoint)).update(docs, run_id="finally")
    assert failed == 2

    def rows(where: str, table: str) -> list[tuple[str, ...]]:
        t = read_dataset(resolve(f"{where}/{table}", endpoint_url=moto_endpoint))
        assert t is not None
        cols = [c for c in t.column_names if c != "run_id"]
        return sorted(tuple(str(x) for x in r.values()) for r in t.select(cols).to_pylist())

    for table in ("clusters", "links"):
        assert rows(out, table) == rows(str(tmp_path / "clean"), table), table
    clear_cache()
    assert DedupIndex(resolve(out, endpoint_url=moto_endpoint)).known_ids() == {d.id for d in docs}


def test_a_temporary_key_left_by_a_killed_writer_is_swept_under_the_lease(moto_endpoint: str) -> None:
    from flows.lease import sweep_leftovers

    bucket = new_bucket(moto_endpoint)
    root = resolve(f"s3://{bucket}/t", endpoint_url=moto_endpoint)
    write_file(TABLE.slice(0, 5), root.child("clusters"), "date=2026-03-01/part-0.parquet")
    with root.fs.open_output_stream(f"{bucket}/t/index/sketches/date=2026-03-01/.tmp-dead") as out:
        out.write(b"half a sketch")  # what a SIGKILL between the temporary PUT and the copy leaves
    assert sweep_leftovers(root) == [f"{bucket}/t/index/sketches/date=2026-03-01/.tmp-dead"]
    assert [k for k in _visible(moto_endpoint, bucket) if ".tmp-" in k] == []
    assert read_dataset(root.child("clusters")) is not None
