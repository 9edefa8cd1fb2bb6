from __future__ import annotations

import pytest

from ingest.errors import DiscoveryError
from ingest.sources import SourceSpec, parse_source
from ingest.urls import article_id_for, normalize_url, source_for


@pytest.mark.parametrize(
    ("spec", "kind", "target", "fetches"),
    [
        ("feed:https://news.example/rss.xml", "feed", "https://news.example/rss.xml", True),
        ("sitemap:http://news.example/sitemap.xml.gz", "sitemap", "http://news.example/sitemap.xml.gz", True),
        ("urls:lists/today.txt", "urls", "lists/today.txt", True),
        ("warc:s3://bucket/crawl/part-1.warc.gz", "warc", "s3://bucket/crawl/part-1.warc.gz", False),
        ("dir:/data/saved pages", "dir", "/data/saved pages", False),
        ("  FEED: https://news.example/rss  ", "feed", "https://news.example/rss", True),
    ],
)
def test_parse_source(spec: str, kind: str, target: str, fetches: bool):
    parsed = parse_source(spec)
    assert parsed == SourceSpec(kind=kind, target=target)  # type: ignore[arg-type]
    assert parsed.fetches is fetches
    assert str(parsed) == f"{kind}:{target}"


@pytest.mark.parametrize(
    "spec",
    [
        "https://news.example/rss.xml",  # no kind
        "rss:https://news.example/rss.xml",  # unknown kind
        "feed:",  # no target
        "urls:https://news.example/list.txt",  # urls takes a file
        "warc:ftp://host/file.warc",  # unsupported scheme
        "feed:http://",  # no host
        "",
    ],
)
def test_parse_source_rejects(spec: str):
    with pytest.raises(DiscoveryError):
        parse_source(spec)


def test_parse_source_error_names_the_kinds():
    with pytest.raises(DiscoveryError, match=r"feed:URL.*sitemap:URL.*urls:PATH.*warc:PATH.*dir:PATH"):
        parse_source("atom:x")


@pytest.mark.parametrize(
    ("url", "source"),
    [
        ("https://www.Reuters.com/world/story-1", "reuters.com"),
        ("https://apnews.com/article/x", "apnews.com"),
        ("http://news.bbc.co.uk/2/hi/x.stm", "news.bbc.co.uk"),
        ("https://www.example.com:8443/a", "example.com:8443"),
        ("https://user:secret@www.example.com/a", "example.com"),
        ("http://127.0.0.1:8000/valley-ledger/2026/03/19/story", "valley-ledger"),
        ("http://localhost:8000/Harbor-Herald/rss.xml", "harbor-herald"),
        ("http://[::1]:8000/civic-dispatch/a", "civic-dispatch"),
        ("http://127.0.0.1:8000/", "127.0.0.1:8000"),
        ("file:///data/pages/a.html", "local"),
        ("not a url", "unknown"),
    ],
)
def test_source_for(url: str, source: str):
    assert source_for(url) == source


def test_article_id_is_stable_and_distinguishes_urls():
    a = article_id_for("https://news.example/a?id=1")
    assert a == article_id_for("HTTPS://NEWS.example:443/a?id=1#comments")
    assert len(a) == 16 and int(a, 16) >= 0
    assert a != article_id_for("https://news.example/a?id=2")
    assert a != article_id_for("https://mirror.example/a?id=1")


def test_normalize_url_keeps_path_and_query():
    assert normalize_url("HTTP://Example.COM:80/Path?Q=1#frag") == "http://example.com/Path?Q=1"
    assert normalize_url("https://example.com") == "https://example.com/"
