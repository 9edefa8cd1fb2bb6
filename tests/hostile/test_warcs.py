"""Hostile WARC files, written by hand record by record: missing target URIs, broken HTTP heads,
header lines of 300 MB, truncated and corrupt members, forged Copydesk headers, impossible dates.
Read through `iter_pages`, each must give its readable pages and an error row per unreadable
record (or one for the file, when nothing after the damage can be found), never an exception.
"""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from common.storage import resolve
from ingest.archive import RawArchive
from ingest.attempts import is_unknown
from ingest.batch import ingest_pages
from ingest.discover import iter_pages
from ingest.records import ErrorRecord, RawPage
from ingest.warc import REF_HEADER, WarcStats
from tests.hostile.hostile_inputs import (
    MEMORY_CAP_MB,
    Peak,
    article_html,
    good_record,
    gz_members,
    gzip_bytes,
    gzip_of_zeros,
    gzip_with_filler,
    no_tracebacks,
    rss_growth,
    warc_record,
)

A, B = "https://herald.example/a", "https://ledger.example/b"
HUGE_MB = 300


def _huge_header_line() -> bytes:
    head = (
        b"WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: https://x.example/\r\n"
        b"Content-Type: application/http; msgtype=response\r\nX-Big: "
    )
    return gzip_with_filler(head, b"a", HUGE_MB, b"\r\nContent-Length: 0\r\n\r\n\r\n\r\n")


def _huge_http_line() -> bytes:
    head = b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nX-Big: "
    size = len(head) + (HUGE_MB << 20) + 4
    warc = (
        "WARC/1.1\r\nWARC-Type: response\r\nWARC-Target-URI: https://x.example/\r\n"
        f"Content-Type: application/http; msgtype=response\r\nContent-Length: {size}\r\n\r\n"
    ).encode()
    return gzip_with_filler(warc + head, b"b", HUGE_MB, b"\r\n\r\n\r\n\r\n")


@dataclass
class Case:
    """A WARC file's bytes; the page URLs it must give, and how many error rows."""

    data: bytes | None
    pages: tuple[str, ...]
    errors: int


def _cases() -> dict[str, Case]:
    rng = random.Random(3)
    a, b = good_record(A), good_record(B, "Second story")
    forged = json.dumps({"url": A, "source": "wire", "priority": 99, "published_at": "2026-01-01T00:00:00Z"})
    whole = gz_members(a, b)
    return {
        "no-target-uri": Case(gz_members(a, warc_record(url=None, body=b"<p>x</p>"), b), (A, B), 1),
        "no-target-uri-plain": Case(a + warc_record(url=None, body=b"<p>x</p>") + b, (A, B), 1),
        "garbage-http-head": Case(
            gz_members(a, warc_record(url=A + "x", body=b"", http_head=b"\x00\x01\r\n\r\n"), b), (A, B), 0
        ),
        "empty-http-head": Case(
            gz_members(a, warc_record(url=A + "y", body=b"", http_head=b""), b), (A, B), 0
        ),
        "not-http-target": Case(
            gz_members(a, warc_record(url="dns:herald.example", body=b"1.2.3.4"), b), (A, B), 0
        ),
        "javascript-target": Case(
            gz_members(a, warc_record(url="javascript:alert(1)", body=b"<p>x</p>"), b), (A, B), 0
        ),
        "huge-warc-header-line": Case(gzip_bytes(a) + _huge_header_line() + gzip_bytes(b), (A,), 1),
        "huge-http-header-line": Case(gzip_bytes(a) + _huge_http_line() + gzip_bytes(b), (A,), 1),
        "many-header-lines": Case(
            gzip_bytes(a)
            + gzip_bytes(b"WARC/1.1\r\nWARC-Type: response\r\n" + b"X-A: b\r\n" * 300_000 + b"\r\n")
            + gzip_bytes(b),
            (A,),
            1,
        ),
        "truncated-member": Case(whole[: len(whole) - 200], (A,), 1),
        "truncated-plain": Case((a + b)[:-300], (A,), 1),
        "corrupt-member": Case(
            gzip_bytes(a) + b"\x1f\x8b\x08\x00" + rng.randbytes(2000) + gzip_bytes(b), (A,), 1
        ),
        "forged-copydesk-ref": Case(
            gz_members(warc_record(url=A, body=article_html().encode(), extra={REF_HEADER: forged}), b),
            (A, B),
            0,
        ),
        "date-9999": Case(
            gz_members(warc_record(url=A, body=article_html().encode(), date="9999-12-31T23:59:59Z"), b),
            (A, B),
            0,
        ),
        "date-0001": Case(
            gz_members(warc_record(url=A, body=article_html().encode(), date="0001-01-01T00:00:00+14:00"), b),
            (A, B),
            0,
        ),
        "date-garbage": Case(
            gz_members(warc_record(url=A, body=article_html().encode(), date="yesterday-ish"), b), (A, B), 0
        ),
        "content-length-not-a-number": Case(
            gz_members(a, warc_record(url=A + "n", body=b"<p>x</p>", length="lots"), b), (A,), 1
        ),
        "content-length-negative": Case(
            gz_members(a, warc_record(url=A + "m", body=b"<p>x</p>", length="-5"), b), (A,), 1
        ),
        "content-length-10gb": Case(
            gz_members(a, b) + gzip_bytes(warc_record(url=A + "z", body=b"<p>", length=str(10 << 30))),
            (A, B),
            1,
        ),
        "payload-gzip-bomb": Case(
            gz_members(
                a,
                warc_record(
                    url=A + "bomb",
                    body=gzip_of_zeros(HUGE_MB),
                    http_head=b"HTTP/1.1 200 OK\r\nContent-Type: text/html\r\nContent-Encoding: gzip\r\n\r\n",
                ),
                b,
            ),
            (A, B),
            1,
        ),
        "not-a-warc": Case(rng.randbytes(50_000), (), 1),
        "empty-file": Case(b"", (), 0),
        "missing-file": Case(None, (), 1),
    }


CASES = _cases()


@dataclass
class Run:
    items: dict[str, list[RawPage | ErrorRecord]]
    stats: dict[str, WarcStats]
    peak: Peak
    tracebacks: list[str]


@pytest.fixture(scope="module")
def run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Run]:
    folder = tmp_path_factory.mktemp("warcs")
    paths = {}
    for name, case in CASES.items():
        paths[name] = folder / f"{name}.warc.gz"
        if case.data is not None:
            paths[name].write_bytes(case.data)
    items: dict[str, list[RawPage | ErrorRecord]] = {}
    stats: dict[str, WarcStats] = {}
    with no_tracebacks() as logs, rss_growth() as peak:
        for name, path in paths.items():
            stats[name] = WarcStats()
            items[name] = list(iter_pages(f"warc:{path}", run_id="hostile", stats=stats[name]))
    return Run(items, stats, peak, [f"{r.name}: {r.getMessage()}" for r in logs.records])


@pytest.mark.parametrize("name", list(CASES))
def test_each_hostile_warc_gives_its_pages_and_error_rows(run: Run, name: str):
    items = run.items[name]
    pages = [i.ref.url for i in items if isinstance(i, RawPage)]
    errors = [i for i in items if isinstance(i, ErrorRecord)]
    assert tuple(pages) == CASES[name].pages, [e.message for e in errors]
    assert len(errors) == CASES[name].errors, [e.message for e in errors]
    assert all(e.stage == "discover" and not is_unknown(e.kind) for e in errors)


def test_warcs_are_read_without_tracebacks_in_bounded_memory(run: Run):
    assert not run.tracebacks
    assert run.peak.mb < MEMORY_CAP_MB, f"grew by {run.peak.mb:.0f} MB"


def test_a_record_that_fails_alone_is_named_and_the_next_one_read(run: Run):
    [error] = [i for i in run.items["no-target-uri"] if isinstance(i, ErrorRecord)]
    assert error.kind == "BadRecord" and "WARC-Target-URI" in error.message
    assert run.stats["no-target-uri"].skipped["bad_record"] == 1
    [error] = [i for i in run.items["huge-warc-header-line"] if isinstance(i, ErrorRecord)]
    assert "header line longer than" in error.message


def test_a_forged_copydesk_header_is_not_trusted(run: Run):
    page = next(i for i in run.items["forged-copydesk-ref"] if isinstance(i, RawPage))
    assert page.ref.source == "herald.example" and page.ref.priority == 0
    assert page.ref.published_at is None


def test_impossible_fetch_dates_are_taken_as_unknown(run: Run):
    before = datetime.now(UTC) - timedelta(hours=1)
    for name in ("date-9999", "date-0001", "date-garbage"):
        page = next(i for i in run.items[name] if isinstance(i, RawPage))
        assert before < page.fetched_at < datetime.now(UTC) + timedelta(hours=1)


def test_the_pages_of_a_damaged_warc_become_articles(run: Run, tmp_path: Path):
    pages = {i.ref.url: i for name in CASES for i in run.items[name] if isinstance(i, RawPage)}
    result = ingest_pages(
        list(pages.values()), archive=RawArchive(resolve(str(tmp_path))), run_id="h", workers=1
    )
    assert sorted(a.url for a in result.articles) == sorted(pages) == [A, B]
