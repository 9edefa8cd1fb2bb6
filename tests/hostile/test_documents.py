"""Hostile feeds, sitemaps and robots.txt from a loopback server, read by `discover_refs`: XML and
gzip bombs, stacked codings, impossible dates, endless sitemap indexes. Each source must end in
refs and error rows (never an exception), with memory growth under `MEMORY_CAP_MB`.
"""

from __future__ import annotations

import random
from collections.abc import Iterator
from dataclasses import dataclass

import pytest

from ingest.attempts import is_unknown
from ingest.discover import Discovery, discover_refs
from ingest.fetch import FetchConfig
from tests.hostile.hostile_inputs import (
    MEMORY_CAP_MB,
    Peak,
    Route,
    Server,
    answer,
    gzip_bytes,
    gzip_of_zeros,
    no_tracebacks,
    rss_growth,
    serve,
)

BOMB_MB = 300
XML = "application/xml"


def doc(body: bytes | str, *, ctype: str = XML, **headers: str) -> Route:
    data = body.encode() if isinstance(body, str) else body
    return lambda h: answer(h, 200, {"Content-Type": ctype, **headers}, data)


def rss(items: list[tuple[str, str | None]]) -> str:
    """RSS 2.0 of (link, pubDate) items."""
    entries = "".join(
        f"<item><title>Item {i}</title><link>{link}</link>"
        + (f"<pubDate>{date}</pubDate>" if date else "")
        + "</item>"
        for i, (link, date) in enumerate(items)
    )
    return f'<?xml version="1.0"?><rss version="2.0"><channel><title>T</title>{entries}</channel></rss>'


def atom(items: list[tuple[str, str]]) -> str:
    entries = "".join(
        f'<entry><title>E{i}</title><id>urn:{i}</id><link href="{link}"/>'
        f"<published>{date}</published></entry>"
        for i, (link, date) in enumerate(items)
    )
    return f'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>A</title>{entries}</feed>'


def urlset(urls: list[str], *, lastmod: str | None = None, news_date: str | None = None) -> str:
    extra = f"<lastmod>{lastmod}</lastmod>" if lastmod else ""
    news = (
        "<news:news><news:publication><news:name>N</news:name><news:language>en</news:language>"
        f"</news:publication><news:publication_date>{news_date}</news:publication_date>"
        "<news:title>T</news:title></news:news>"
        if news_date
        else ""
    )
    entries = "".join(f"<url><loc>{u}</loc>{extra}{news}</url>" for u in urls)
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9" '
        f'xmlns:news="http://www.google.com/schemas/sitemap-news/0.9">{entries}</urlset>'
    )


def index(children: list[str]) -> str:
    entries = "".join(f"<sitemap><loc>{c}</loc></sitemap>" for c in children)
    return f'<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">{entries}</sitemapindex>'


LAUGHS = (
    '<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{f"&lol{i - 1};" * 10 if i > 1 else "&lol;" * 10}">' for i in range(1, 10))
    + ']><rss version="2.0"><channel><title>&lol9;</title></channel></rss>'
)
EXTERNAL = (
    '<?xml version="1.0"?><!DOCTYPE r [<!ENTITY x SYSTEM "file:///etc/passwd">]>'
    '<rss version="2.0"><channel><title>&x;</title></channel></rss>'
)


@dataclass
class Case:
    """A source and what it must give: `refs` page URLs at least / at most, error kinds expected."""

    spec: str
    routes: dict[str, Route]
    min_refs: int = 0
    max_refs: int = 0
    kinds: frozenset[str] = frozenset()
    max_sitemap_urls: int = 100_000


def _cases(base: str) -> dict[str, Case]:
    rng = random.Random(5)
    page = f"{base}/p"
    good = [(f"{page}/{i}", "Thu, 19 Mar 2026 11:00:00 GMT") for i in range(3)]
    children = [f"{base}/budget/child-{i}.xml" for i in range(30)]
    chain = {f"/deep/{i}.xml": doc(index([f"{base}/deep/{i + 1}.xml"])) for i in range(10)}
    return {
        "feed-gzip-gzip": Case(
            f"feed:{base}/f/gg",
            {"/f/gg": doc(gzip_bytes(gzip_of_zeros(BOMB_MB)), **{"Content-Encoding": "gzip, gzip"})},
            kinds=frozenset({"Refused"}),
        ),
        "feed-billion-laughs": Case(
            f"feed:{base}/f/lol", {"/f/lol": doc(LAUGHS)}, kinds=frozenset({"BadFeed"})
        ),
        "feed-external-entity": Case(
            f"feed:{base}/f/ext", {"/f/ext": doc(EXTERNAL)}, kinds=frozenset({"BadFeed"})
        ),
        "feed-utf16-laughs": Case(
            f"feed:{base}/f/lol16", {"/f/lol16": doc(LAUGHS.encode("utf-16"))}, kinds=frozenset({"BadFeed"})
        ),
        "sitemap-gz-file-bomb": Case(
            f"sitemap:{base}/s/bomb.xml.gz",
            {"/s/bomb.xml.gz": doc(gzip_of_zeros(BOMB_MB), ctype="application/gzip")},
            kinds=frozenset({"BadFeed"}),
        ),
        "sitemap-coding-bomb": Case(
            f"sitemap:{base}/s/cbomb.xml",
            {"/s/cbomb.xml": doc(gzip_of_zeros(BOMB_MB), **{"Content-Encoding": "gzip"})},
            kinds=frozenset({"Refused"}),
        ),
        "sitemap-gz-in-gzip-coding": Case(
            f"sitemap:{base}/s/nested.xml.gz",
            {
                "/s/nested.xml.gz": doc(
                    gzip_bytes(gzip_bytes(urlset([f"{page}/n"]).encode())), **{"Content-Encoding": "gzip"}
                )
            },
            min_refs=1,
            max_refs=1,
        ),
        "feed-year-9999-west": Case(
            f"feed:{base}/f/y9999",
            {
                "/f/y9999": doc(
                    atom([(f"{page}/a", "2026-03-19T10:00:00Z"), (f"{page}/b", "9999-12-31T23:00:00-05:00")])
                )
            },
            min_refs=2,
            max_refs=2,
        ),
        "feed-year-0001-east": Case(
            f"feed:{base}/f/y0001",
            {
                "/f/y0001": doc(
                    atom([(f"{page}/c", "0001-01-01T00:00:00+14:00"), (f"{page}/d", "2026-03-19T10:00:00Z")])
                )
            },
            min_refs=2,
            max_refs=2,
        ),
        "feed-rfc822-9999": Case(
            f"feed:{base}/f/r9999",
            {"/f/r9999": doc(rss([*good, (f"{page}/e", "Fri, 31 Dec 9999 23:59:59 -1200")]))},
            min_refs=4,
            max_refs=4,
        ),
        "sitemap-extreme-dates": Case(
            f"sitemap:{base}/s/dates.xml",
            {
                "/s/dates.xml": doc(
                    urlset(
                        [f"{page}/f", f"{page}/g"],
                        lastmod="9999-12-31T23:59:59-23:59",
                        news_date="0001-01-01",
                    )
                )
            },
            min_refs=2,
            max_refs=2,
        ),
        "sitemap-index-url-budget": Case(
            f"sitemap:{base}/budget/index.xml",
            {"/budget/index.xml": doc(index(children))}
            | {
                f"/budget/child-{i}.xml": doc(urlset([f"{page}/b{i}-{k}" for k in range(10)]))
                for i in range(30)
            },
            min_refs=55,
            max_refs=55,
            kinds=frozenset({"DiscoveryError"}),
            max_sitemap_urls=55,
        ),
        "sitemap-index-self": Case(
            f"sitemap:{base}/self.xml",
            {"/self.xml": doc(index([f"{base}/self.xml", f"{base}/self.xml?again"]))},
        ),
        "sitemap-index-too-deep": Case(
            f"sitemap:{base}/deep/0.xml", chain, kinds=frozenset({"DiscoveryError"})
        ),
        "sitemap-children-fail": Case(
            f"sitemap:{base}/fail/index.xml",
            {
                "/fail/index.xml": doc(
                    index([f"{base}/fail/500.xml", f"{base}/fail/ok.xml", f"{base}/fail/404.xml"])
                ),
                "/fail/500.xml": lambda h: answer(h, 500, {}, b"oops"),
                "/fail/ok.xml": doc(urlset([f"{page}/ok"])),
            },
            min_refs=1,
            max_refs=1,
            kinds=frozenset({"FetchUnavailable", "HttpStatusError"}),
        ),
        "feed-truncated": Case(
            f"feed:{base}/f/cut", {"/f/cut": doc(rss(good)[:-60])}, max_refs=3
        ),  # read leniently
        "feed-binary": Case(
            f"feed:{base}/f/bin", {"/f/bin": doc(rng.randbytes(30_000))}, kinds=frozenset({"BadFeed"})
        ),
        "feed-javascript-links": Case(
            f"feed:{base}/f/js",
            {"/f/js": doc(rss([("javascript:alert(1)", None), ("file:///etc/passwd", None), good[0]]))},
            min_refs=1,
            max_refs=1,
            kinds=frozenset({"BadFeed"}),
        ),
        "sitemap-huge-loc": Case(
            f"sitemap:{base}/s/huge-loc.xml",
            {"/s/huge-loc.xml": doc(urlset([f"{page}/{'x' * 1_000_000}", f"{page}/small"]))},
            min_refs=1,
            max_refs=2,
        ),
        "sitemap-text-garbage": Case(
            f"sitemap:{base}/s/list.txt",
            {
                "/s/list.txt": doc(
                    f"{page}/t1\n\x00\x01garbage\njavascript:x\n{page}/t2\n", ctype="text/plain"
                )
            },
            min_refs=2,
            max_refs=2,
            kinds=frozenset({"BadFeed"}),
        ),
        "sitemap-not-a-sitemap": Case(
            f"sitemap:{base}/s/html.xml",
            {"/s/html.xml": doc("<html><body>hi</body></html>")},
            kinds=frozenset({"BadFeed"}),
        ),
        "sitemap-unknown-coding": Case(
            f"sitemap:{base}/s/zstd.xml",
            {"/s/zstd.xml": doc(b"(\xb5/\xfd", **{"Content-Encoding": "zstd"})},
            kinds=frozenset({"Refused"}),
        ),
    }


@dataclass
class Run:
    found: dict[str, Discovery]
    cases: dict[str, Case]
    server: Server
    peak: Peak
    tracebacks: list[str]


def _names() -> list[str]:
    return list(_cases("http://127.0.0.1:1"))


@pytest.fixture(scope="module")
def run() -> Iterator[Run]:
    config = FetchConfig(
        user_agent="CopydeskHostile/1.0",
        timeout_s=2.0,
        max_document_bytes=5_000_000,
        per_host_delay_s=0.0,
        per_host_concurrency=16,
        allow_loopback=True,
        respect_robots=False,
        max_retries=0,
    )
    with serve() as server:
        cases = _cases(server.base)
        for case in cases.values():
            server.routes.update(case.routes)
        found: dict[str, Discovery] = {}
        with no_tracebacks() as logs, rss_growth() as peak:
            for name, case in cases.items():
                found[name] = discover_refs(
                    case.spec, fetch_config=config, run_id="hostile", max_sitemap_urls=case.max_sitemap_urls
                )
        yield Run(found, cases, server, peak, [f"{r.name}: {r.getMessage()}" for r in logs.records])


@pytest.mark.parametrize("name", _names())
def test_each_hostile_document_ends_in_refs_and_error_rows(run: Run, name: str):
    case, found = run.cases[name], run.found[name]
    assert case.min_refs <= len(found.refs) <= max(case.min_refs, case.max_refs), [r.url for r in found.refs][
        :5
    ]
    kinds = {e.kind for e in found.errors}
    assert kinds == set(case.kinds), [e.message for e in found.errors]
    assert not [e for e in found.errors if is_unknown(e.kind)]
    for ref in found.refs:
        assert ref.published_at is None or 1990 <= ref.published_at.year <= 2100


def test_documents_are_read_without_tracebacks_in_bounded_memory(run: Run):
    assert not run.tracebacks
    assert run.peak.mb < MEMORY_CAP_MB, f"grew by {run.peak.mb:.0f} MB"


def test_one_bad_date_keeps_its_feed_and_its_item(run: Run):
    refs = {r.url.rsplit("/", 1)[-1]: r for r in run.found["feed-year-9999-west"].refs}
    assert refs["b"].published_at is None and refs["a"].published_at is not None
    refs = {r.url.rsplit("/", 1)[-1]: r for r in run.found["feed-rfc822-9999"].refs}
    assert refs["e"].published_at is None


def test_a_sitemap_index_gives_at_most_its_budget_and_fetches_few_children(run: Run):
    found = run.found["sitemap-index-url-budget"]
    assert len(found.refs) == 55
    fetched = sum(n for path, n in run.server.hits.items() if path.startswith("/budget/child-"))
    assert fetched <= 8  # 4 at a time, stopping once 55 URLs are taken
    assert any("not read" in e.message for e in found.errors)


def test_a_robots_txt_bomb_is_cut_and_the_page_still_fetched():
    from ingest.fetch import fetch_document

    config = FetchConfig(timeout_s=2.0, per_host_delay_s=0.0, allow_loopback=True, respect_robots=True)
    routes = {
        "/robots.txt": doc(gzip_of_zeros(BOMB_MB), ctype="text/plain", **{"Content-Encoding": "gzip"}),
        "/feed.xml": doc(rss([("http://127.0.0.1/p/1", None)])),
    }
    with serve(routes) as server, no_tracebacks() as logs, rss_growth() as peak:
        body = fetch_document(server.url("/feed.xml"), config)
    assert b"<rss" in body
    assert server.hits["/robots.txt"] == 1
    assert not logs.records
    assert peak.mb < MEMORY_CAP_MB


def test_robots_txt_with_stacked_codings_is_no_rules():
    from ingest.fetch import fetch_document

    config = FetchConfig(timeout_s=2.0, per_host_delay_s=0.0, allow_loopback=True, respect_robots=True)
    routes = {
        "/robots.txt": doc(
            gzip_bytes(gzip_bytes(b"User-agent: *\nDisallow: /\n")),
            ctype="text/plain",
            **{"Content-Encoding": "gzip, gzip"},
        ),
        "/feed.xml": doc(rss([("http://127.0.0.1/p/1", None)])),
    }
    with serve(routes) as server:
        assert b"<rss" in fetch_document(server.url("/feed.xml"), config)
