"""The lease on an output root, without Prefect: on a local folder and on a real S3-compatible server."""

from __future__ import annotations

import json
import threading
import time
from pathlib import Path

import pytest

from common.storage import resolve
from flows.lease import (
    Lease,
    LeaseBusy,
    LeaseInfo,
    LeaseLost,
    hold,
    sweep_leftovers,
)
from flows.lease_store import LocalLeaseStore, S3LeaseStore, store_for
from tests.s3_server import new_bucket


@pytest.fixture(params=["local", "s3"])
def out(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str | None]:
    """An output root (local folder or s3://bucket/prefix) and the S3 endpoint it needs."""
    if request.param == "local":
        return str(tmp_path / "data"), None
    endpoint = request.getfixturevalue("moto_endpoint")
    return f"s3://{new_bucket(endpoint, 'lease')}/copydesk", endpoint


def lease(out: tuple[str, str | None], holder: str, *, ttl_s: float = 60.0) -> Lease:
    return Lease(store_for(out[0], endpoint_url=out[1]), holder=holder, what=f"run of {holder}", ttl_s=ttl_s)


def current(out: tuple[str, str | None]) -> LeaseInfo | None:
    found = store_for(out[0], endpoint_url=out[1]).read()
    return LeaseInfo.from_bytes(found[0]) if found else None


def test_store_is_a_file_or_an_object_under_state(out: tuple[str, str | None]) -> None:
    store = store_for(out[0], endpoint_url=out[1])
    if out[1] is None:
        assert isinstance(store, LocalLeaseStore) and store.path.endswith("/data/state/lease.json")
    else:
        assert isinstance(store, S3LeaseStore) and store.key == "copydesk/state/lease.json"


def test_second_holder_is_refused_in_one_line_until_release(out: tuple[str, str | None]) -> None:
    first, second = lease(out, "run-a"), lease(out, "run-b")
    first.acquire(wait_s=0)
    assert current(out) is not None and current(out).holder == "run-a"  # type: ignore[union-attr]
    with pytest.raises(LeaseBusy) as busy:
        second.acquire(wait_s=0)
    message = str(busy.value)
    assert "\n" not in message and "is busy" in message and "run of run-a" in message
    first.release()
    assert current(out) is None
    second.acquire(wait_s=0)
    assert current(out).holder == "run-b"  # type: ignore[union-attr]


def test_a_waiting_run_gets_the_lease_when_it_is_released(out: tuple[str, str | None]) -> None:
    first, second = lease(out, "run-a"), lease(out, "run-b")
    first.acquire(wait_s=0)
    threading.Timer(0.5, first.release).start()
    started = time.monotonic()
    second.acquire(wait_s=20, poll_s=0.1)
    assert 0.4 < time.monotonic() - started < 10
    assert current(out).holder == "run-b"  # type: ignore[union-attr]


def test_an_expired_lease_is_taken_over_and_its_old_holder_cannot_write_on(
    out: tuple[str, str | None],
) -> None:
    dead = lease(out, "run-dead", ttl_s=0.3)
    dead.acquire(wait_s=0)  # then never renewed, as when its process is killed
    time.sleep(0.5)
    alive = lease(out, "run-alive")
    alive.acquire(wait_s=0)
    assert current(out).holder == "run-alive"  # type: ignore[union-attr]
    assert not dead.renew() and dead.lost
    with pytest.raises(LeaseLost):
        dead.check()
    dead.release()  # must not delete the lease it no longer holds
    assert current(out).holder == "run-alive"  # type: ignore[union-attr]


def test_a_kept_alive_lease_outlives_its_ttl(out: tuple[str, str | None]) -> None:
    holder = lease(out, "run-a", ttl_s=0.6)
    holder.acquire(wait_s=0)
    with holder.kept_alive(every_s=0.1):
        time.sleep(1.2)
        with pytest.raises(LeaseBusy):
            lease(out, "run-b").acquire(wait_s=0)
    assert not holder.lost
    holder.release()


def test_only_one_of_many_simultaneous_runs_gets_it(out: tuple[str, str | None]) -> None:
    winners: list[str] = []
    barrier = threading.Barrier(6)

    def attempt(name: str) -> None:
        candidate = lease(out, name)
        barrier.wait()
        try:
            candidate.acquire(wait_s=0)
            winners.append(name)
        except LeaseBusy:
            pass

    threads = [threading.Thread(target=attempt, args=(f"run-{i}",)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(winners) == 1 and current(out).holder == winners[0]  # type: ignore[union-attr]


def test_the_same_run_takes_its_own_lease_back(out: tuple[str, str | None]) -> None:
    """A flow run retried after a crash keeps its id: it need not wait for its own lease to expire."""
    lease(out, "run-a").acquire(wait_s=0)
    lease(out, "run-a").acquire(wait_s=0)
    assert current(out).holder == "run-a"  # type: ignore[union-attr]


def test_hold_releases_on_error(out: tuple[str, str | None]) -> None:
    def failing_run() -> None:
        with hold(out[0], holder="r", what="w", ttl_s=30, wait_s=0, endpoint_url=out[1]):
            assert current(out) is not None
            raise RuntimeError("the run failed")

    with pytest.raises(RuntimeError, match="the run failed"):
        failing_run()
    assert current(out) is None


def test_unreadable_lease_counts_as_expired(tmp_path: Path) -> None:
    path = tmp_path / "data" / "state" / "lease.json"
    path.parent.mkdir(parents=True)
    path.write_text("{not json")
    lease((str(tmp_path / "data"), None), "run-a").acquire(wait_s=0)
    assert json.loads(path.read_text())["holder"] == "run-a"


def test_sweep_removes_only_temporary_files(tmp_path: Path) -> None:
    part = tmp_path / "data" / "clusters" / "date=2026-03-01"
    part.mkdir(parents=True)
    (part / "part-0.parquet").write_bytes(b"PAR1")
    (part / ".tmp-0123.parquet").write_bytes(b"PAR")
    (tmp_path / "data" / "raw").mkdir()
    (tmp_path / "data" / "raw" / ".tmp-raw").write_bytes(b"x")  # the archive is not swept
    gone = sweep_leftovers(resolve(str(tmp_path / "data")))
    assert [Path(p).name for p in gone] == [".tmp-0123.parquet"]
    assert (part / "part-0.parquet").exists() and (tmp_path / "data" / "raw" / ".tmp-raw").exists()
