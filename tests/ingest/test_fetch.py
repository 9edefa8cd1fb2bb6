from __future__ import annotations

import dataclasses
import time

import pytest

from ingest.archive import RawArchive
from ingest.batch import ingest_refs
from ingest.errors import FetchUnavailable, HttpStatusError, NotHtml, Refused
from ingest.fetch import FetchConfig, fetch_document, fetch_pages
from ingest.records import PageRef, RawPage
from ingest.urls import source_for
from tests.ingest.ingest_helpers import Site

# path -> (stage, kind) it must end as; None means it must become an article.
CASES: dict[str, tuple[str, str] | None] = {
    "/pub/articles/ferry.html": None,
    "/pub/redirect": None,
    "/pub/throttled": None,
    "/pub/cafe.html": None,
    "/pub/loop-a": ("fetch", "Refused"),
    "/pub/missing": ("fetch", "HttpStatusError"),
    "/pub/slow": ("fetch", "FetchUnavailable"),
    "/pub/huge": ("fetch", "Refused"),
    "/pub/huge-stream": ("fetch", "Refused"),
    "/pub/image.png": ("fetch", "NotHtml"),
    "/pub/unavailable": ("fetch", "FetchUnavailable"),
    "/pub/server-error": ("fetch", "FetchUnavailable"),
    "/pub/redirect-private": ("fetch", "Refused"),
    "/pub/redirect-ftp": ("fetch", "Refused"),
    "/private/secret.html": ("fetch", "Refused"),
    "/pub/empty.html": ("extract", "NoArticle"),
}


def ref(site: Site, path: str) -> PageRef:
    url = site.url(path)
    return PageRef(url=url, source=source_for(url), discovered_from="test")


def test_every_case_ends_as_an_article_or_an_error(
    site: Site, fetch_config: FetchConfig, archive: RawArchive
):
    refs = [ref(site, path) for path in CASES]
    result = ingest_refs(refs, fetch_config=fetch_config, archive=archive, run_id="run-1")

    assert len(result.articles) + len(result.errors) == len(refs)
    ended = {a.url: None for a in result.articles} | {e.url: (e.stage, e.kind) for e in result.errors}
    assert ended == {site.url(path): outcome for path, outcome in CASES.items()}, [
        e.message for e in result.errors
    ]
    assert all((e.run_id == "run-1" and e.source == "pub") or e.source == "private" for e in result.errors)
    assert result.pages_fetched == sum(1 for o in CASES.values() if o is None or o[0] != "fetch")
    moved = next(a for a in result.articles if a.url.endswith("/pub/redirect"))
    assert moved.title == "Moved story"
    assert moved.extra["final_url"].endswith("/pub/articles/moved.html")
    assert all(a.raw_uri and "/raw/" in a.raw_uri for a in result.articles)


def test_error_messages_say_why(site: Site, fetch_config: FetchConfig):
    paths = [
        "/pub/loop-a",
        "/private/secret.html",
        "/pub/huge-stream",
        "/pub/redirect-private",
        "/pub/unavailable",
    ]
    results = fetch_pages([ref(site, p) for p in paths], fetch_config)
    messages = {p: str(r[1]) for p, r in zip(paths, results, strict=True) if isinstance(r, tuple)}
    assert "redirect loop" in messages["/pub/loop-a"]
    assert "robots.txt" in messages["/private/secret.html"]
    assert "larger than" in messages["/pub/huge-stream"]
    assert "169.254.169.254" in messages["/pub/redirect-private"]
    assert "3600" in messages["/pub/unavailable"]


def test_translated_errors_keep_their_cause(site: Site, fetch_config: FetchConfig):
    [result] = fetch_pages([ref(site, "/pub/slow")], fetch_config)
    assert isinstance(result, tuple)
    assert isinstance(result[1], FetchUnavailable)
    assert result[1].__cause__ is not None


def test_429_is_retried_after_retry_after(site: Site, fetch_config: FetchConfig):
    before = site.hits["/pub/throttled"]
    started = time.monotonic()
    [page] = fetch_pages([ref(site, "/pub/throttled")], fetch_config)
    assert isinstance(page, RawPage)
    assert page.status == 200
    assert site.hits["/pub/throttled"] - before == 2
    assert time.monotonic() - started >= 0.9  # Retry-After: 1 was honoured


def test_retry_after_above_the_cap_is_not_waited_for(site: Site, fetch_config: FetchConfig):
    started = time.monotonic()
    [result] = fetch_pages([ref(site, "/pub/unavailable")], fetch_config)
    assert isinstance(result, tuple) and isinstance(result[1], FetchUnavailable)
    assert time.monotonic() - started < 1.0


def test_loopback_is_refused_unless_allowed(site: Site, fetch_config: FetchConfig):
    strict = dataclasses.replace(fetch_config, allow_loopback=False)
    before = site.hits["/pub/articles/ferry.html"]
    [result] = fetch_pages([ref(site, "/pub/articles/ferry.html")], strict)
    assert isinstance(result, tuple)
    assert isinstance(result[1], Refused)
    assert "loopback" in str(result[1])
    assert site.hits["/pub/articles/ferry.html"] == before  # never connected
    with pytest.raises(Refused):
        fetch_document(site.url("/feeds/rss.xml"), strict)


def test_localhost_name_is_checked_after_resolution(site: Site, fetch_config: FetchConfig):
    strict = dataclasses.replace(fetch_config, allow_loopback=False)
    url = site.url("/pub/articles/ferry.html").replace("127.0.0.1", "localhost")
    [result] = fetch_pages([PageRef(url=url, source="x", discovered_from="t")], strict)
    assert isinstance(result, tuple) and isinstance(result[1], Refused)


def test_only_http_and_https(fetch_config: FetchConfig):
    refs = [
        PageRef(url=u, source="x", discovered_from="t") for u in ("file:///etc/passwd", "ftp://a.example/x")
    ]
    results = fetch_pages(refs, fetch_config)
    assert [type(r[1]) for r in results if isinstance(r, tuple)] == [Refused, Refused]


def test_robots_is_fetched_once_per_call(site: Site, fetch_config: FetchConfig):
    before = site.hits["/robots.txt"]
    paths = ["/pub/articles/ferry.html", "/pub/articles/pier.html", "/pub/articles/budget.html"]
    results = fetch_pages([ref(site, p) for p in paths], fetch_config)
    assert all(isinstance(r, RawPage) for r in results)
    assert site.hits["/robots.txt"] - before == 1


def test_robots_can_be_ignored(site: Site, fetch_config: FetchConfig):
    rude = dataclasses.replace(fetch_config, respect_robots=False)
    [page] = fetch_pages([ref(site, "/private/secret.html")], rude)
    assert isinstance(page, RawPage)


def test_per_host_delay_spaces_requests(site: Site, fetch_config: FetchConfig):
    polite = dataclasses.replace(fetch_config, per_host_delay_s=0.15, respect_robots=False)
    started = time.monotonic()
    results = fetch_pages([ref(site, "/pub/articles/ferry.html") for _ in range(4)], polite)
    assert all(isinstance(r, RawPage) for r in results)
    assert time.monotonic() - started >= 0.45  # three gaps of 0.15 s


def test_results_keep_input_order(site: Site, fetch_config: FetchConfig):
    paths = ["/pub/missing", "/pub/articles/ferry.html", "/pub/image.png", "/pub/articles/pier.html"]
    results = fetch_pages([ref(site, p) for p in paths], fetch_config)
    urls = [r.ref.url if isinstance(r, RawPage) else r[0].url for r in results]
    assert urls == [site.url(p) for p in paths]
    assert isinstance(results[0], tuple) and isinstance(results[0][1], HttpStatusError)
    assert isinstance(results[2], tuple) and isinstance(results[2][1], NotHtml)


def test_fetch_document_reads_any_content_type(site: Site, fetch_config: FetchConfig):
    data = fetch_document(site.url("/sitemaps/child.xml.gz"), fetch_config)
    assert data.startswith(b"\x1f\x8b")
    with pytest.raises(HttpStatusError):
        fetch_document(site.url("/feeds/none.xml"), fetch_config)


def test_fetch_pages_works_inside_a_running_loop(site: Site, fetch_config: FetchConfig):
    import asyncio

    async def caller() -> list[RawPage | tuple[PageRef, Exception]]:
        return fetch_pages([ref(site, "/pub/articles/ferry.html")], fetch_config)

    [page] = asyncio.run(caller())
    assert isinstance(page, RawPage)


def test_config_rejects_nonsense():
    with pytest.raises(ValueError, match="must be positive"):
        FetchConfig(timeout_s=0)
    with pytest.raises(ValueError, match="must be at least 1"):
        FetchConfig(concurrency=0)
