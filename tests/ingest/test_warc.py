from __future__ import annotations

import io
from datetime import UTC, datetime
from pathlib import Path

from ingest.archive import RawArchive
from ingest.batch import ingest_pages
from ingest.discover import iter_pages
from ingest.records import ErrorRecord, RawPage
from ingest.warc import WarcStats, iter_warc, read_warc_record
from tests.ingest.ingest_helpers import STORY, article_html


def write_warc(path: Path, records: list[tuple[str, str, int, str, bytes]]) -> None:
    """Write a WARC.gz: one (kind, url, status, content type, body) per record, with a WARC-Date each."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for day, (kind, url, status, ctype, body) in enumerate(records, start=1):
            date = f"2026-03-{day:02d}T12:00:00Z"
            if kind == "request":
                headers = StatusAndHeaders("GET / HTTP/1.1", [("Host", "x")], is_http_request=True)
                record = writer.create_warc_record(
                    url,
                    "request",
                    payload=io.BytesIO(b""),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": date},
                )
            else:
                headers = StatusAndHeaders(f"{status} X", [("Content-Type", ctype)], protocol="HTTP/1.1")
                record = writer.create_warc_record(
                    url,
                    "response",
                    payload=io.BytesIO(body),
                    length=len(body),
                    http_headers=headers,
                    warc_headers_dict={"WARC-Date": date},
                )
            writer.write_record(record)


RECORDS = [
    (
        "response",
        "https://herald.example/a",
        200,
        "text/html; charset=utf-8",
        article_html("Story A").encode(),
    ),
    ("request", "https://herald.example/a", 0, "", b""),
    ("response", "https://herald.example/logo.png", 200, "image/png", b"\x89PNG\r\n\x1a\n"),
    (
        "response",
        "https://www.ledger.example/b",
        200,
        "text/html",
        article_html("Story B", STORY[1:]).encode(),
    ),
    ("response", "https://herald.example/gone", 404, "text/html", b"<html>not found</html>"),
    ("response", "https://herald.example/c", 200, "text/html", article_html("Story C", STORY[::-1]).encode()),
]


def test_warc_pages_are_read_back(tmp_path: Path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, RECORDS)
    stats = WarcStats()
    pages = list(iter_warc(str(warc), stats=stats))
    assert [p.ref.url for p in pages] == [
        "https://herald.example/a",
        "https://www.ledger.example/b",
        "https://herald.example/c",
    ]
    assert [p.ref.source for p in pages] == ["herald.example", "ledger.example", "herald.example"]
    assert stats.records == 6 and stats.pages == 3
    assert stats.skipped == {"request": 1, "not_html": 1, "status_4xx": 1}
    assert pages[0].fetched_at == datetime(2026, 3, 1, 12, tzinfo=UTC)
    assert pages[0].raw_uri == f"{warc}#offset=0"
    assert all(p.raw_uri and "#offset=" in p.raw_uri for p in pages)
    for original in pages:  # every page can be found again from its raw_uri
        assert original.raw_uri is not None
        again = read_warc_record(original.raw_uri)
        assert again.body == original.body and again.final_url == original.final_url


def test_warc_date_window(tmp_path: Path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, RECORDS)
    pages = list(
        iter_warc(str(warc), start=datetime(2026, 3, 2, tzinfo=UTC), end=datetime(2026, 3, 6, tzinfo=UTC))
    )
    assert [p.ref.url for p in pages] == ["https://www.ledger.example/b"]


def test_warc_pages_become_articles(tmp_path: Path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, RECORDS)
    archive = RawArchive.at(str(tmp_path / "out"))
    items = list(iter_pages(f"warc:{warc}", run_id="r"))
    pages = [i for i in items if isinstance(i, RawPage)]
    result = ingest_pages(pages, archive=archive, run_id="r")
    assert [a.title for a in result.articles] == ["Story A", "Story B", "Story C"]
    assert result.errors == [] and result.pages_fetched == 3
    # the archived copy remembers where it came from, and reads back whole
    again = archive.get(result.articles[1].raw_uri or "")
    assert again.ref.url == "https://www.ledger.example/b"
    assert again.body == pages[1].body


def test_a_url_captured_twice_is_one_page_and_one_error(tmp_path: Path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, [*RECORDS, RECORDS[0]])
    items = list(iter_pages(f"warc:{warc}", run_id="r"))
    pages = [i for i in items if isinstance(i, RawPage)]
    errors = [i for i in items if isinstance(i, ErrorRecord)]
    assert [p.ref.url for p in pages].count("https://herald.example/a") == 1
    assert [(e.url, e.stage, e.kind) for e in errors] == [
        ("https://herald.example/a", "discover", "DiscoveryError")
    ]
    assert "first was kept" in errors[0].message


def test_broken_and_missing_warcs_end_as_errors(tmp_path: Path):
    warc = tmp_path / "crawl.warc.gz"
    write_warc(warc, RECORDS)
    data = warc.read_bytes()
    broken = tmp_path / "broken.warc.gz"
    broken.write_bytes(data[: len(data) - 200])  # the last record is cut
    items = list(iter_pages(f"warc:{broken}", run_id="r"))
    assert [type(i) for i in items] == [RawPage, RawPage, ErrorRecord]
    error = items[-1]
    assert isinstance(error, ErrorRecord) and (error.stage, error.kind) == ("discover", "DiscoveryError")
    [missing] = list(iter_pages(f"warc:{tmp_path / 'nope.warc.gz'}", run_id="r"))
    assert isinstance(missing, ErrorRecord) and missing.kind == "DiscoveryError"
