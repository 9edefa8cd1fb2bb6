from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

import ingest.batch
from ingest.archive import RawArchive
from ingest.batch import ingest_pages, ingest_refs, skip_known
from ingest.errors import ArchiveError
from ingest.fetch import FetchConfig
from ingest.records import PageRef, RawPage
from ingest.urls import article_id_for, source_for
from tests.ingest.ingest_helpers import STORY, Site, article_html


def raw(url: str, body: bytes, ctype: str = "text/html") -> RawPage:
    return RawPage(
        ref=PageRef(url=url, source=source_for(url), discovered_from="test"),
        final_url=url,
        status=200,
        headers={"content-type": ctype},
        body=body,
        fetched_at=datetime(2026, 3, 20, tzinfo=UTC),
    )


def test_ingest_pages_accounts_for_every_page(archive: RawArchive):
    pages = [
        raw("https://a.example/1", article_html("One").encode()),
        raw("https://a.example/2", b"\x89PNG\r\n\x1a\n\x00\x00", "image/png"),
        raw("https://a.example/3", b"<html><body><p>tiny</p></body></html>"),
        raw("https://a.example/4", article_html("Four", STORY[1:]).encode()),
    ]
    result = ingest_pages(pages, archive=archive, run_id="r")
    assert [a.url for a in result.articles] == ["https://a.example/1", "https://a.example/4"]
    assert [(e.url, e.stage, e.kind) for e in result.errors] == [
        ("https://a.example/2", "extract", "NotHtml"),
        ("https://a.example/3", "extract", "NoArticle"),
    ]
    assert result.pages_fetched == 4
    assert result.error_counts() == {("extract", "NotHtml"): 1, ("extract", "NoArticle"): 1}


def test_unexpected_failures_are_recorded_not_raised(archive: RawArchive, monkeypatch: pytest.MonkeyPatch):
    def explode(page: RawPage, *, min_words: int) -> None:
        raise IndexError("a bug deep in a library")

    monkeypatch.setattr(ingest.batch, "extract_page", explode)  # reaches this process only: workers=1
    result = ingest_pages(
        [raw("https://a.example/1", article_html("One").encode())], archive=archive, run_id="r", workers=1
    )
    assert result.articles == []
    assert [(e.stage, e.kind, e.message) for e in result.errors] == [
        ("extract", "IndexError", "a bug deep in a library")
    ]


def test_archive_failure_is_an_archive_error(tmp_path: Path, monkeypatch: pytest.MonkeyPatch):
    archive = RawArchive.at(str(tmp_path / "out"))

    def refuse(page: RawPage) -> str:
        raise ArchiveError("disk full")

    monkeypatch.setattr(archive, "put", refuse)
    result = ingest_pages(
        [raw("https://a.example/1", article_html("One").encode())], archive=archive, run_id="r"
    )
    assert [(e.stage, e.kind) for e in result.errors] == [("archive", "ArchiveError")]


def test_ingest_refs_end_to_end_and_skip_known(site: Site, fetch_config: FetchConfig, archive: RawArchive):
    urls = [site.url("/pub/articles/ferry.html"), site.url("/pub/missing")]
    refs = [PageRef(url=u, source=source_for(u), discovered_from="t", title="From the feed") for u in urls]
    result = ingest_refs(refs, fetch_config=fetch_config, archive=archive, run_id="r")
    [article] = result.articles
    assert article.article_id == article_id_for(urls[0])
    assert article.source == "pub"
    assert [(e.stage, e.kind) for e in result.errors] == [("fetch", "HttpStatusError")]
    assert skip_known(refs, {article.article_id}) == [refs[1]]
    # the archived page reads back and extracts to the same article
    again = archive.get(article.raw_uri or "")
    assert again.ref.title == "From the feed"
    assert ingest.batch.extract_page(again).content_hash == article.content_hash


def test_empty_and_repeated_inputs(site: Site, fetch_config: FetchConfig, archive: RawArchive):
    assert (
        ingest_refs([], fetch_config=fetch_config, archive=archive, run_id="r") == ingest.batch.BatchResult()
    )
    url = site.url("/pub/articles/ferry.html")
    refs = [
        PageRef(url=url, source="pub", discovered_from="t"),
        PageRef(url=url + "#top", source="pub", discovered_from="t"),
    ]
    result = ingest_refs(refs, fetch_config=fetch_config, archive=archive, run_id="r")
    assert len(result.articles) == 1
    assert [(e.stage, e.kind) for e in result.errors] == [("discover", "DiscoveryError")]
    assert result.pages_fetched == 1
