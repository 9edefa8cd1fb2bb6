"""Losing the lease stops the writer before its next write; odd lease files and stores that
ignore conditional writes do not make a run spin or run overlapped."""

from __future__ import annotations

import os
import threading
import time
from pathlib import Path

import pyarrow as pa
import pytest

from common.storage import guard_writes, list_files, resolve, write_file
from flows.lease import (
    Lease,
    LeaseError,
    LeaseInfo,
    LeaseLost,
    hold,
)
from flows.lease_store import LocalLeaseStore, StoreIgnoresConditions, store_for
from tests.hostile.fault_proxy import Fault, FaultProxy
from tests.hostile.state_helpers import proxy
from tests.s3_server import new_bucket

__all__ = ["proxy"]

ROWS = pa.table({"article_id": ["a", "b"]})


def _lease(out: str, holder: str, *, ttl_s: float, endpoint: str | None = None) -> Lease:
    return Lease(store_for(out, endpoint_url=endpoint), holder=holder, what=f"run {holder}", ttl_s=ttl_s)


def _holder(out: str) -> str | None:
    found = store_for(out).read()
    info = LeaseInfo.from_bytes(found[0]) if found else None
    return info.holder if info else None


def test_a_paused_run_whose_lease_was_taken_over_stops_before_its_next_write(tmp_path: Path) -> None:
    out = str(tmp_path / "data")
    root = resolve(out)
    paused = _lease(out, "paused", ttl_s=0.4)
    paused.acquire(wait_s=0)
    with guard_writes(root.uri, paused.check):  # no renewal thread: the process is stopped
        write_file(ROWS, root.child("clusters"), "date=2024-01-01/part-0.parquet")
        time.sleep(0.6)
        _lease(out, "other", ttl_s=60).acquire(wait_s=0)
        with pytest.raises(LeaseLost):
            write_file(ROWS, root.child("clusters"), "date=2024-01-02/part-0.parquet")
    assert [p.rsplit("/", 2)[-2] for p in list_files(root.child("clusters"))] == ["date=2024-01-01"]
    assert _holder(out) == "other"


def test_an_expired_lease_that_nobody_took_is_renewed_by_the_next_write(tmp_path: Path) -> None:
    out = str(tmp_path / "data")
    root = resolve(out)
    lease = _lease(out, "slow", ttl_s=0.4)
    lease.acquire(wait_s=0)
    first = lease.expires_at
    with guard_writes(root.uri, lease.check):
        time.sleep(0.6)
        write_file(ROWS, root.child("links"), "date=2024-01-01/x.parquet")
    assert lease.expires_at > first and not lease.lost and _holder(out) == "slow"


def test_writes_elsewhere_are_not_guarded(tmp_path: Path) -> None:
    lease = _lease(str(tmp_path / "data"), "a", ttl_s=60)
    lease.acquire(wait_s=0)
    lease.lost = True
    with guard_writes(resolve(str(tmp_path / "data")).uri, lease.check):
        write_file(ROWS, resolve(str(tmp_path / "data-2")), "x.parquet")  # another root: fine
        with pytest.raises(LeaseLost):
            write_file(ROWS, resolve(str(tmp_path / "data")), "x.parquet")


class _Breakable(LocalLeaseStore):
    """A local lease store whose reads fail with a plain RuntimeError once `broken` is set."""

    broken = False

    def read(self) -> tuple[bytes, str] | None:
        if self.broken:
            raise RuntimeError("connection reset by a proxy nobody expected")
        return super().read()


def test_renewals_that_keep_failing_mark_the_lease_lost(tmp_path: Path) -> None:
    store = _Breakable(str(tmp_path / "data" / "state" / "lease.json"))
    lease = Lease(store, holder="a", what="run a", ttl_s=0.5)
    lease.acquire(wait_s=0)
    with lease.kept_alive(every_s=0.05) as kept:
        store.broken = True
        for _ in range(400):  # the renewal thread must outlive the error and give up at expiry
            if kept.lost:
                break
            time.sleep(0.05)
        assert kept.lost
        with pytest.raises(LeaseLost):
            kept.check()


def test_a_dangling_symlink_at_the_lease_path_is_taken_over(tmp_path: Path) -> None:
    out = str(tmp_path / "data")
    path = Path(out) / "state" / "lease.json"
    path.parent.mkdir(parents=True)
    os.symlink(tmp_path / "nowhere", path)
    lease = _lease(out, "a", ttl_s=60)
    done: list[BaseException | None] = []

    def take() -> None:
        try:
            lease.acquire(wait_s=2, poll_s=0.1)
            done.append(None)
        except BaseException as exc:
            done.append(exc)

    thread = threading.Thread(target=take, daemon=True)
    thread.start()
    thread.join(60)
    assert done == [None], "acquire spun on a dangling symlink"
    assert not path.is_symlink() and _holder(out) == "a"


def test_a_folder_at_the_lease_path_is_a_clear_error(tmp_path: Path) -> None:
    out = str(tmp_path / "data")
    (Path(out) / "state" / "lease.json").mkdir(parents=True)
    with pytest.raises(LeaseError, match="is a folder"):
        _lease(out, "a", ttl_s=60).acquire(wait_s=1, poll_s=0.1)


def test_a_lease_that_keeps_changing_gives_up_at_the_deadline(tmp_path: Path) -> None:
    class Flapping(LocalLeaseStore):
        """Never lets the create through, and the lease is gone again whenever it is read."""

        calls = 0

        def create(self, data: bytes) -> bool:
            self.calls += 1
            return False

        def read(self) -> tuple[bytes, str] | None:
            return None

    store = Flapping(str(tmp_path / "state" / "lease.json"))
    with pytest.raises(LeaseError, match="busy"):
        Lease(store, holder="a", what="a", ttl_s=60).acquire(wait_s=0.5, poll_s=0.1)
    assert store.calls < 200  # slept between tries instead of spinning


def test_a_store_that_ignores_conditional_writes_is_refused(moto_endpoint: str, proxy: FaultProxy) -> None:
    bucket = new_bucket(moto_endpoint)
    out = f"s3://{bucket}/copydesk"
    proxy.inject(Fault("strip-conditions", times=-1))
    with (
        pytest.raises(StoreIgnoresConditions, match="ignores conditional writes"),
        hold(out, holder="a", what="a", ttl_s=60, wait_s=0, endpoint_url=proxy.endpoint),
    ):
        pass
    proxy.clear()
    with hold(out, holder="b", what="b", ttl_s=60, wait_s=0, endpoint_url=proxy.endpoint) as lease:
        assert not lease.lost
