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


def test_pages_are_archived_at_once_and_handed_on_in_order(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    archive = RawArchive(resolve(str(tmp_path)))
    store = archive.put
    # Every write waits until all four are under way: one page at a time, this would never pass.
    all_started = threading.Barrier(4, timeout=PATIENCE_S)
    lock = threading.Lock()
    written: list[str] = []
    others_written = threading.Event()

    def slow_put(raw: RawPage) -> str:
        all_started.wait()
        if raw.ref.url.endswith("/0"):  # the first page's write ends last
            assert others_written.wait(PATIENCE_S)
        uri = store(raw)
        with lock:
            written.append(raw.ref.url[-1])
            if len(written) == 3:
                others_written.set()
        return uri

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
