from __future__ import annotations

import threading
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.storage import resolve
from ingest.archive import RawArchive
from ingest.archiver import Archiver
from ingest.errors import ArchiveError
from ingest.records import PageRef, RawPage

#: How long a test waits for another thread before calling the archiver broken (never reached when it works).
PATIENCE_S = 30


def page(n: int) -> RawPage:
    url = f"https://herald.example/{n}"
    return RawPage(
        ref=PageRef(url=url, source="herald.example", discovered_from="test"),
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=f"<html><body><p>story {n}</p></body></html>".encode(),
        fetched_at=datetime(2026, 3, 20, tzinfo=UTC),
    )


class FirstEndsLast:
    """An archive `put` whose write of page 0 ends only once the `behind` pages after it are written
    (then it fails, with `fail`); with `together`, no write starts before that many are under way."""

    def __init__(self, archive: RawArchive, behind: int, *, together: int = 0, fail: bool = False) -> None:
        self.store = archive.put
        self.behind = behind
        self.fail = fail
        self.started = threading.Barrier(together, timeout=PATIENCE_S) if together else None
        self.lock = threading.Lock()
        self.written: list[str] = []
        self.others_written = threading.Event()

    def __call__(self, raw: RawPage) -> str:
        if self.started is not None:
            self.started.wait()
        if raw.ref.url.endswith("/0"):
            assert self.others_written.wait(PATIENCE_S)
            if self.fail:
                raise ArchiveError("disk full")
        uri = self.store(raw)
        with self.lock:
            self.written.append(raw.ref.url[-1])
            if len(self.written) == self.behind:
                self.others_written.set()
        return uri


def test_pages_are_archived_at_once_and_handed_on_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    archive = RawArchive(resolve(str(tmp_path)))
    # Every write waits until all four are under way: one page at a time, this would never pass.
    slow_put = FirstEndsLast(archive, 3, together=4)
    written = slow_put.written
    monkeypatch.setattr(archive, "put", slow_put)
    handed: list[RawPage] = []
    with Archiver(
        archive, handed=handed.append, failed=lambda p, e: pytest.fail(repr(e)), threads=4
    ) as archiver:
        for n in range(4):
            archiver.submit(page(n))
    assert written[-1] == "0"
    assert [p.ref.url for p in handed] == [f"https://herald.example/{n}" for n in range(4)]
    assert all(p.raw_uri and archive.get(p.raw_uri).body == page(n).body for n, p in enumerate(handed))


def test_a_page_not_kept_is_failed_in_its_turn(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    archive = RawArchive(resolve(str(tmp_path)))
    store = archive.put

    def put(raw: RawPage) -> str:
        if raw.ref.url.endswith("/1"):
            raise ArchiveError("disk full")
        return store(raw)

    monkeypatch.setattr(archive, "put", put)
    events: list[str] = []
    with Archiver(
        archive,
        handed=lambda p: events.append(f"kept {p.ref.url[-1]}"),
        failed=lambda p, e: events.append(f"failed {p.ref.url[-1]}: {e}"),
    ) as archiver:
        for n in range(3):
            archiver.submit(page(n))
    assert events == ["kept 0", "failed 1: disk full", "kept 2"]


def test_a_failing_hand_on_does_not_lose_the_pages_behind_it(tmp_path: Path):
    archive = RawArchive(resolve(str(tmp_path)))
    events: list[str] = []

    def hand(raw: RawPage) -> None:
        if raw.ref.url.endswith("/0"):
            raise RuntimeError("queue broke")
        events.append(f"kept {raw.ref.url[-1]}")

    with Archiver(
        archive, handed=hand, failed=lambda p, e: events.append(f"failed {p.ref.url[-1]}: {e}")
    ) as archiver:
        for n in range(3):
            archiver.submit(page(n))
    assert events == ["failed 0: queue broke", "kept 1", "kept 2"]


def test_a_failing_error_callback_neither_strands_the_pages_behind_it_nor_goes_unseen(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    archive = RawArchive(resolve(str(tmp_path)))
    put = FirstEndsLast(archive, 2, fail=True)  # page 0 fails after the pages behind it are written

    def failed(raw: RawPage, exc: BaseException) -> None:
        raise RuntimeError(f"cannot record the error of {raw.ref.url}")

    monkeypatch.setattr(archive, "put", put)
    kept: list[str] = []
    archiver = Archiver(archive, handed=lambda p: kept.append(p.ref.url[-1]), failed=failed, threads=3)
    for n in range(3):
        archiver.submit(page(n))
    with pytest.raises(RuntimeError, match=r"cannot record the error of https://herald\.example/0"):
        archiver.close()
    assert kept == ["1", "2"]
