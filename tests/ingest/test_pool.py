"""Extraction in the process pool: same articles as in-process, in order, and a dying worker loses nothing."""

from __future__ import annotations

import os
from datetime import UTC, datetime

import pytest

from ingest import pool
from ingest.archive import RawArchive
from ingest.batch import ingest_pages
from ingest.pool import ExtractJobs, Failure
from ingest.records import Article, PageRef, RawPage
from ingest.urls import source_for
from tests.ingest.ingest_helpers import STORY, article_html, crashing_extract


def raw(url: str, body: bytes) -> RawPage:
    return RawPage(
        ref=PageRef(url=url, source=source_for(url), discovered_from="test"),
        final_url=url,
        status=200,
        headers={"content-type": "text/html"},
        body=body,
        fetched_at=datetime(2026, 3, 20, tzinfo=UTC),
    )


def pages(n: int) -> list[RawPage]:
    out = []
    for i in range(n):
        paragraphs = STORY[i % 4 :] + STORY[: i % 4] if i % 5 else ["Too short."]
        out.append(raw(f"https://a.example/{i}", article_html(f"Story {i}", paragraphs).encode()))
    return out


def test_pool_gives_the_in_process_outcomes_in_order(archive: RawArchive):
    batch = pages(23)
    here = ingest_pages(batch, archive=archive, run_id="r", workers=1)
    pooled = ingest_pages(batch, archive=archive, run_id="r", workers=2)
    assert [a.url for a in pooled.articles] == [a.url for a in here.articles]
    assert [a.content_hash for a in pooled.articles] == [a.content_hash for a in here.articles]
    assert [(e.url, e.kind) for e in pooled.errors] == [(e.url, e.kind) for e in here.errors]
    assert len(pooled.articles) + len(pooled.errors) == 23 and len(pooled.errors) == 5
    assert all(a.raw_uri and a.raw_uri.startswith(archive.root.uri) for a in pooled.articles)


def test_pool_outlives_a_batch_and_its_workers_are_other_processes():
    jobs = ExtractJobs(workers=2, expected=4)
    for page in pages(4):
        jobs.add(page)
    assert len(jobs.results()) == 4
    first = pool._executor
    assert first is not None
    jobs = ExtractJobs(workers=2, expected=4, extract=_pid_extract)
    for page in pages(4):
        jobs.add(page)
    pids = {o.extra["pid"] for _, o in jobs.results() if isinstance(o, Article)}
    assert pool._executor is first  # kept between batches, not started again
    assert pids and os.getpid() not in {int(p) for p in pids}


def _pid_extract(page: RawPage, *, min_words: int) -> Article:
    from ingest.extract import extract_page

    article = extract_page(page, min_words=0)
    article.extra["pid"] = str(os.getpid())
    return article


def test_a_worker_that_dies_costs_only_its_page():
    batch = pages(12)
    batch[5] = raw("https://a.example/crash-here", article_html("Crash", STORY).encode())
    jobs = ExtractJobs(workers=2, expected=len(batch), extract=crashing_extract)
    for page in batch:
        jobs.add(page)
    results = jobs.results()
    assert [p.ref.url for p, _ in results] == [p.ref.url for p in batch]
    died = [(p.ref.url, o.kind) for p, o in results if isinstance(o, Failure) and not o.expected]
    assert died == [("https://a.example/crash-here", "WorkerDied")]
    assert sum(isinstance(o, Article) for _, o in results) == 12 - 1 - 2  # pages 0 and 10 are too short
    # and the next batch gets a working pool
    jobs = ExtractJobs(workers=2, expected=3)
    for page in pages(3)[1:]:
        jobs.add(page)
    assert all(isinstance(o, Article) for _, o in jobs.results())


def test_without_processes_pages_are_extracted_here(monkeypatch: pytest.MonkeyPatch):
    def refuse(workers: int) -> None:
        raise AssertionError("daemonic processes are not allowed to have children")

    monkeypatch.setattr(pool, "_executor_for", refuse)
    jobs = ExtractJobs(workers=2, expected=6)
    for page in pages(6):
        jobs.add(page)
    outcomes = [o for _, o in jobs.results()]
    assert len(outcomes) == 6 and sum(isinstance(o, Article) for o in outcomes) == 4  # 0 and 5 too short


def test_without_processes_pages_handed_from_another_thread_are_extracted_by_results(
    monkeypatch: pytest.MonkeyPatch,
):
    # The archiver hands pages on from its own threads: extracting there would hold its lock and
    # run without the CPU limit, which only the main thread can set.
    import threading

    from ingest.extract import extract_page

    def refuse(workers: int) -> None:
        raise OSError("no semaphores")

    where: list[str] = []

    def extract(page: RawPage, *, min_words: int) -> Article:
        where.append(threading.current_thread().name)
        return extract_page(page, min_words=min_words)

    monkeypatch.setattr(pool, "_executor_for", refuse)
    jobs = ExtractJobs(workers=2, expected=2, extract=extract)
    handing = threading.Thread(target=lambda: [jobs.add(p) for p in pages(5)], name="archiver")
    handing.start()
    handing.join()
    assert where == []
    assert len(jobs.results()) == 5 and where == [threading.current_thread().name] * 5


def _spinning_extract(page: RawPage, *, min_words: int) -> Article:
    """`extract_page`, except on a page whose URL says spin (burns CPU for ever) or hang (sleeps)."""
    import time

    from ingest.extract import extract_page

    if "spin" in page.final_url:
        while True:
            pass
    if "hang" in page.final_url:
        time.sleep(3600)
    return extract_page(page, min_words=min_words)


def test_a_page_over_the_cpu_limit_is_a_permanent_error_and_the_pool_goes_on():
    batch = pages(9)
    batch[3] = raw("https://a.example/spin-here", article_html("Spin", STORY).encode())
    jobs = ExtractJobs(workers=2, expected=len(batch), extract=_spinning_extract, cpu_limit_s=0.5)
    for page in batch:
        jobs.add(page)
    first = pool._executor
    results = jobs.results()
    assert [p.ref.url for p, _ in results] == [p.ref.url for p in batch]
    failed = {p.ref.url: o for p, o in results if isinstance(o, Failure)}
    assert failed["https://a.example/spin-here"].kind == "ExtractTimeout"
    assert failed["https://a.example/spin-here"].expected  # an IngestError: an errors/ row, not a crash
    assert sum(isinstance(o, Article) for _, o in results) == 9 - 1 - 2  # pages 0 and 5 are too short
    assert pool._executor is first and first is not None  # the workers were not killed


def test_a_page_stuck_where_no_signal_reaches_is_given_up_and_the_batch_goes_on():
    batch = pages(5)
    batch[2] = raw("https://a.example/hang-here", article_html("Hang", STORY).encode())
    jobs = ExtractJobs(
        workers=2, expected=len(batch), extract=_spinning_extract, cpu_limit_s=0.2, wait_margin_s=2
    )
    for page in batch:
        jobs.add(page)
    results = jobs.results()
    kinds = {p.ref.url: (o.kind if isinstance(o, Failure) else "Article") for p, o in results}
    assert kinds["https://a.example/hang-here"] == "ExtractTimeout"
    assert [k for u, k in kinds.items() if u != "https://a.example/hang-here"] == [
        "NoArticle",
        "Article",
        "Article",
        "Article",
    ]
    jobs = ExtractJobs(workers=2, expected=2)  # and the next batch gets a working pool
    for page in pages(3)[1:]:
        jobs.add(page)
    assert all(isinstance(o, Article) for _, o in jobs.results())


def test_a_slow_page_becomes_an_error_row_of_its_batch(archive: RawArchive, monkeypatch: pytest.MonkeyPatch):
    """Through `ingest_pages`: a page too big to extract within a tiny limit is one permanent error row."""
    from ingest.errors import ExtractTimeout, PermanentError

    monkeypatch.setattr(pool, "PAGE_CPU_LIMIT_S", 0.05)
    huge = article_html("Huge", [" ".join(STORY)] * 3000).encode()  # about 3 MB of story
    batch = [*pages(4)[1:], raw("https://a.example/huge", huge)]
    result = ingest_pages(batch, archive=archive, run_id="r", workers=2)
    assert [e.kind for e in result.errors] == ["ExtractTimeout"]
    assert result.errors[0].url == "https://a.example/huge" and len(result.articles) == 3
    assert issubclass(ExtractTimeout, PermanentError)


_OWNER = """
import sys, time
from ingest import pool
pool.warm_up(2)
print(" ".join(map(str, pool.worker_pids())), flush=True)
time.sleep(600)
"""


@pytest.mark.parametrize("pidfd", [True, False])
def test_workers_end_when_the_process_that_started_them_is_killed(pidfd: bool) -> None:
    # SIGKILL (the OOM killer, a deployment's kill) runs no clean-up in the owner: its workers and
    # the fork server they keep alive must go by themselves, not wait on the task queue for ever.
    import signal
    import subprocess
    import sys
    import time

    code = _OWNER if pidfd else "import os\ndel os.pidfd_open\n" + _OWNER
    owner = subprocess.Popen([sys.executable, "-c", code], stdout=subprocess.PIPE, text=True)
    try:
        assert owner.stdout is not None
        workers = [int(p) for p in owner.stdout.readline().split()]
        assert len(workers) == 2 and owner.pid not in workers
        servers = {_parent(pid) for pid in workers}  # the fork server
        assert owner.pid not in servers
        assert all(_running(pid) for pid in [*workers, *servers])  # alive while their owner is
    finally:
        owner.send_signal(signal.SIGKILL)
        owner.wait()
    deadline = time.monotonic() + 60  # a liveness bound, not a timing: they go within a second or two
    alive = [*workers, *servers]
    while alive and time.monotonic() < deadline:
        time.sleep(0.1)
        alive = [pid for pid in alive if _running(pid)]
    assert alive == []


def _stat(pid: int) -> list[str]:
    """The fields of /proc/PID/stat after the command name (state, parent, ...); [] once it is gone."""
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()
    except FileNotFoundError:
        return []


def _parent(pid: int) -> int:
    return int(_stat(pid)[1])


def _running(pid: int) -> bool:
    """Whether `pid` is a live process (not gone, not a zombie awaiting its reaper)."""
    return _stat(pid)[:1] not in ([], ["Z"])
