from __future__ import annotations

import dataclasses
from datetime import UTC, datetime
from pathlib import Path

import pytest

from common.storage import resolve
from ingest.archive import RawArchive
from ingest.errors import ArchiveError
from ingest.records import PageRef, RawPage
from ingest.warc import iter_warc
from tests.ingest.ingest_helpers import article_html


def raw_page(url: str = "https://herald.example/a", body: bytes | None = None) -> RawPage:
    return RawPage(
        ref=PageRef(
            url=url,
            source="herald.example",
            discovered_from="feed:https://herald.example/rss",
            title="Feed title",
            published_at=datetime(2026, 3, 19, 16, 38, tzinfo=UTC),
            language="en",
            guid="g-1",
        ),
        final_url=url + "?final",
        status=200,
        headers={"content-type": "text/html; charset=utf-8", "content-encoding": "gzip", "x-ünicode": "ja"},
        body=body if body is not None else article_html("Story").encode(),
        fetched_at=datetime(2026, 3, 20, 9, 1, 2, 345678, tzinfo=UTC),
    )


def test_put_get_round_trip(tmp_path: Path):
    archive = RawArchive(resolve(str(tmp_path)))
    page = raw_page()
    uri = archive.put(page)
    assert uri.startswith(str(tmp_path / "raw")) and uri.endswith(".warc.gz")
    again = archive.get(uri)
    assert again.body == page.body
    assert again.ref == page.ref  # feed metadata survives
    assert again.final_url == page.final_url
    assert again.status == 200
    assert again.fetched_at == page.fetched_at
    assert again.headers["content-type"] == "text/html; charset=utf-8"
    assert "content-encoding" not in again.headers  # the body is kept decoded
    assert again.raw_uri == uri


def test_archive_objects_are_plain_warc(tmp_path: Path):
    archive = RawArchive(resolve(str(tmp_path)))
    uri = archive.put(raw_page())
    [page] = list(iter_warc(uri))  # any WARC reader can read it
    assert isinstance(page, RawPage)
    # read as a WARC from anywhere, its Copydesk header is not trusted: the ref is the record's target
    assert page.ref.url == "https://herald.example/a?final"
    assert page.ref.title is None


def test_put_is_idempotent_and_content_addressed(tmp_path: Path):
    archive = RawArchive(resolve(str(tmp_path)))
    first = archive.put(raw_page())
    later = dataclasses.replace(raw_page(), fetched_at=datetime(2026, 3, 21, tzinfo=UTC))
    assert archive.put(later) == first
    other_url = archive.put(raw_page(url="https://mirror.example/a"))
    changed = archive.put(raw_page(body=b"<html>changed</html>"))
    assert len({first, other_url, changed}) == 3
    files = [p for p in (tmp_path / "raw").rglob("*") if p.is_file()]
    assert len(files) == 3
    assert not any(p.name.startswith(".tmp-") for p in files)


def test_get_reads_warc_pointers_too(tmp_path: Path):
    archive = RawArchive(resolve(str(tmp_path)))
    uri = archive.put(raw_page())
    assert archive.get(f"{uri}#offset=0").body == raw_page().body
    with pytest.raises(ArchiveError):
        archive.get(str(tmp_path / "raw" / "nope.warc.gz"))


def test_archive_and_warc_on_s3(s3_endpoint: str):
    archive = RawArchive.at("s3://news/run-1")
    page = raw_page()
    uri = archive.put(page)
    assert uri.startswith("s3://news/run-1/raw/")
    assert archive.put(page) == uri
    again = archive.get(uri)
    assert again.body == page.body and again.ref == page.ref
    # a WARC on S3 is streamed like a local one, and its pointers read back
    [streamed] = list(iter_warc(uri))
    assert streamed.body == page.body
    assert archive.get(streamed.raw_uri or "").body == page.body
