from __future__ import annotations

import gzip
from datetime import UTC, datetime
from pathlib import Path

import pytest

from ingest.discover import discover_refs, iter_pages
from ingest.errors import BadFeed, DiscoveryError
from ingest.feeds import parse_feed
from ingest.fetch import FetchConfig
from ingest.sitemaps import parse_sitemap
from tests.ingest.ingest_helpers import BILLION_LAUGHS, Site, atom_feed, news_sitemap, rss_feed


def by_path(site: Site, refs: list) -> dict:
    return {r.url.removeprefix(site.base): r for r in refs}


def test_rss_feed(site: Site, fetch_config: FetchConfig):
    found = discover_refs(f"feed:{site.url('/feeds/rss.xml')}", fetch_config=fetch_config, run_id="r")
    refs = by_path(site, found.refs)
    assert set(refs) == {"/pub/articles/ferry.html", "/pub/articles/relative.html"}
    ferry = refs["/pub/articles/ferry.html"]
    assert ferry.title == "Ferry service extended"
    assert ferry.guid == "herald-1"
    assert ferry.published_at == datetime(2026, 3, 19, 16, 38, tzinfo=UTC)
    assert ferry.language == "en"
    assert ferry.source == "pub"
    assert ferry.discovered_from == site.url("/feeds/rss.xml")
    # the item without a link is reported, not dropped
    assert [(e.stage, e.kind) for e in found.errors] == [("discover", "BadFeed")]
    assert "no http(s) link" in found.errors[0].message


def test_atom_feed_keeps_entry_language_and_published_time():
    parsed = parse_feed(atom_feed("https://ledger.example"), url="https://ledger.example/atom.xml")
    first, second = parsed.refs
    assert first.url == "https://ledger.example/ledger/a/1.html"
    assert first.title == "Der Fährdienst"
    assert first.published_at == datetime(2026, 3, 18, 8, 15, tzinfo=UTC)  # published, not updated
    assert first.guid == "urn:ledger:1"
    assert second.language == "fr"
    assert second.published_at == datetime(2026, 3, 19, 10, 0, tzinfo=UTC)  # only updated given


def test_rss1_and_gzipped_feeds(site: Site, fetch_config: FetchConfig):
    rdf = discover_refs(f"feed:{site.url('/feeds/rss1.xml')}", fetch_config=fetch_config, run_id="r")
    [old] = rdf.refs
    assert old.url == site.url("/old/1.html")
    assert old.published_at == datetime(2026, 3, 17, 6, 0, tzinfo=UTC)
    assert old.language == "nl"
    gz = discover_refs(f"feed:{site.url('/feeds/rss.xml.gz')}", fetch_config=fetch_config, run_id="r")
    assert len(gz.refs) == 2


def test_feed_bomb_and_non_feeds_are_refused(site: Site, fetch_config: FetchConfig):
    with pytest.raises(BadFeed, match="entities"):
        parse_feed(BILLION_LAUGHS.replace(b"urlset", b"rss"), url="x")
    for path in ("/feeds/bomb.xml", "/feeds/not-a-feed.html", "/feeds/none.xml"):
        found = discover_refs(f"feed:{site.url(path)}", fetch_config=fetch_config, run_id="r")
        assert found.refs == []
        assert len(found.errors) == 1 and found.errors[0].stage == "discover"
    kinds = [
        discover_refs(f"feed:{site.url(p)}", fetch_config=fetch_config, run_id="r").errors[0].kind
        for p in ("/feeds/bomb.xml", "/feeds/not-a-feed.html", "/feeds/none.xml")
    ]
    assert kinds == ["BadFeed", "BadFeed", "HttpStatusError"]


def test_sitemap_index_with_gzip_child_news_and_bomb(site: Site, fetch_config: FetchConfig):
    found = discover_refs(f"sitemap:{site.url('/sitemaps/index.xml')}", fetch_config=fetch_config, run_id="r")
    refs = by_path(site, found.refs)
    assert set(refs) == {"/pub/articles/ferry.html", "/pub/articles/pier.html", "/pub/articles/budget.html"}
    assert found.duplicates == 1  # ferry is in the gzip child and in the news sitemap
    budget = refs["/pub/articles/budget.html"]
    assert budget.title == "Port budget approved"
    assert budget.language == "en"
    assert budget.published_at == datetime(2026, 3, 19, 12, 30, tzinfo=UTC)
    # merged: lastmod from the plain sitemap came first, the news title filled in
    assert refs["/pub/articles/ferry.html"].title == "Ferry service extended"
    assert refs["/pub/articles/pier.html"].published_at == datetime(2026, 3, 10, tzinfo=UTC)
    errors = {e.url.removeprefix(site.base): (e.stage, e.kind) for e in found.errors}
    assert errors == {
        "/sitemaps/bomb.xml": ("discover", "BadFeed"),
        "/sitemaps/missing.xml": ("discover", "HttpStatusError"),
        "not a url": ("discover", "BadFeed"),
    }
    assert found.documents == 5


def test_sitemap_depth_and_count_are_bounded(site: Site, fetch_config: FetchConfig):
    shallow = discover_refs(
        f"sitemap:{site.url('/sitemaps/self.xml')}",
        fetch_config=fetch_config,
        run_id="r",
        max_sitemap_depth=2,
    )
    assert shallow.refs == []
    assert [e.kind for e in shallow.errors] == ["DiscoveryError"]
    assert "deeper than 2" in shallow.errors[0].message
    deep = discover_refs(f"sitemap:{site.url('/sitemaps/self.xml')}", fetch_config=fetch_config, run_id="r")
    assert len(deep.refs) == 2
    few = discover_refs(
        f"sitemap:{site.url('/sitemaps/index.xml')}", fetch_config=fetch_config, run_id="r", max_sitemaps=2
    )
    assert sum("more than 2 sitemaps" in e.message for e in few.errors) == 3


def test_since_and_until_filter_dated_refs(site: Site, fetch_config: FetchConfig):
    found = discover_refs(
        f"sitemap:{site.url('/sitemaps/index.xml')}",
        fetch_config=fetch_config,
        run_id="r",
        since=datetime(2026, 3, 19, tzinfo=UTC),
        until=datetime(2026, 3, 19, 14, tzinfo=UTC),
    )
    assert set(by_path(site, found.refs)) == {"/pub/articles/budget.html"}
    assert found.filtered == 2


def test_sitemap_parser_refuses_bombs_and_non_sitemaps():
    with pytest.raises(BadFeed):
        parse_sitemap(BILLION_LAUGHS, url="x")
    with pytest.raises(BadFeed):
        parse_sitemap(gzip.compress(BILLION_LAUGHS), url="x")
    with pytest.raises(BadFeed, match="not a sitemap"):
        parse_sitemap(b"<html><body/></html>", url="x")
    with pytest.raises(BadFeed, match="well-formed"):
        parse_sitemap(b"<urlset><url>", url="x")
    with pytest.raises(BadFeed, match="gzip"):
        parse_sitemap(b"\x1f\x8b\x08\x00garbage", url="x")
    external = (
        b'<?xml version="1.0"?><!DOCTYPE u [<!ENTITY x SYSTEM "file:///etc/passwd">]><urlset>&x;</urlset>'
    )
    with pytest.raises(BadFeed):
        parse_sitemap(external, url="x")


def test_news_sitemap_fields_and_text_sitemaps():
    parsed = parse_sitemap(news_sitemap("https://herald.example"), url="https://herald.example/news.xml")
    assert [r.title for r in parsed.refs] == ["Port budget approved", "Ferry service extended"]
    assert parsed.refs[0].source == "herald.example"
    text = parse_sitemap(
        b"https://a.example/1\n\nhttps://a.example/2\nnonsense\n", url="https://a.example/s.txt"
    )
    assert [r.url for r in text.refs] == ["https://a.example/1", "https://a.example/2"]
    assert text.skipped == [
        ("nonsense", "line of text sitemap https://a.example/s.txt is not an http(s) URL")
    ]


def test_local_feed_and_sitemap_files(tmp_path: Path, fetch_config: FetchConfig):
    (tmp_path / "feed.xml").write_bytes(rss_feed("https://herald.example"))
    (tmp_path / "news.xml.gz").write_bytes(gzip.compress(news_sitemap("https://herald.example")))
    feed = discover_refs(f"feed:{tmp_path / 'feed.xml'}", fetch_config=fetch_config, run_id="r")
    assert [r.source for r in feed.refs] == ["herald.example"]
    # a relative link has no base in a local file: reported with the item that has no link at all
    assert [e.kind for e in feed.errors] == ["BadFeed", "BadFeed"]
    news = discover_refs(f"sitemap:{tmp_path / 'news.xml.gz'}", fetch_config=fetch_config, run_id="r")
    assert len(news.refs) == 2


def test_url_list(tmp_path: Path, fetch_config: FetchConfig):
    listing = tmp_path / "urls.txt"
    listing.write_text(
        "\ufeff# today's picks\nhttps://a.example/1\n\n  https://b.example/2  # from the desk\n"
        "https://a.example/1\nftp://nope.example/x\nnot a url\n",
        encoding="utf-8",
    )
    found = discover_refs(f"urls:{listing}", fetch_config=fetch_config, run_id="r")
    assert [r.url for r in found.refs] == ["https://a.example/1", "https://b.example/2"]
    assert found.duplicates == 1
    assert [(e.url, e.kind) for e in found.errors] == [
        ("ftp://nope.example/x", "DiscoveryError"),
        ("not a url", "DiscoveryError"),
    ]
    missing = discover_refs(f"urls:{tmp_path / 'nope.txt'}", fetch_config=fetch_config, run_id="r")
    assert missing.refs == [] and [e.kind for e in missing.errors] == ["DiscoveryError"]


def test_kinds_go_to_the_right_function(fetch_config: FetchConfig):
    with pytest.raises(DiscoveryError, match="iter_pages"):
        discover_refs("warc:/x.warc.gz", fetch_config=fetch_config, run_id="r")
    with pytest.raises(DiscoveryError, match="discover_refs"):
        list(iter_pages("feed:https://a.example/rss", run_id="r"))
