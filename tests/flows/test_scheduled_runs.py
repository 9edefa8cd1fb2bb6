"""Runs after the first, against a real HTTP server on 127.0.0.1: unchanged feeds cost a 304, pages
already ingested (under any tracking or AMP variant of their URL) are not fetched again, and a
sources file's publishers bring their fetch settings, names and priority to the original's pick.

Requests are counted on the server side (`local_site.LocalSite.requests`).
"""

from __future__ import annotations

from datetime import date
from pathlib import Path
from typing import Any

import duckdb

from flows.cli import EXIT_BAD_INPUT, main
from flows.summary import RunSummary
from ingest.fetch_config import DEFAULT_USER_AGENT
from ingest.urls import article_id_for
from tests.flows.local_site import LocalSite, Route, Serving, page_html, rss, sitemap, story

MODIFIED = "Thu, 19 Mar 2026 12:00:00 GMT"


def run(sources: list[str], out: Path, **kw: Any) -> RunSummary:
    from flows.pipeline import pipeline

    return pipeline(sources, str(out), allow_loopback=True, per_host_delay_s=0.0, **kw)


def rows(out: Path, table: str, columns: str) -> list[tuple[Any, ...]]:
    files = f"{out}/{table}/**/*.parquet"
    return duckdb.sql(f"select {columns} from read_parquet('{files}', hive_partitioning=true)").fetchall()


def add_pages(site: LocalSite, prefix: str, count: int) -> list[str]:
    paths = [f"{prefix}/{i}.html" for i in range(count)]
    for i, path in enumerate(paths):
        site.routes[path] = Route(page_html(f"{prefix} {i}", story(i), published=f"2026-03-19T10:0{i}:00Z"))
    return paths


def test_second_run_sends_validators_gets_304s_and_fetches_no_page(prefect_harness: None, tmp_path: Path):
    out = tmp_path / "out"
    with Serving() as site:
        pages = add_pages(site, "/herald", 3)
        items = [(p, site.url(p)) for p in pages]
        site.routes["/feed.xml"] = Route(rss(items), "application/rss+xml", {"ETag": '"feed-1"'})
        site.routes["/sitemap.xml"] = Route(
            sitemap([site.url(p) for p in pages]), "application/xml", {"Last-Modified": MODIFIED}
        )
        sources = [f"feed:{site.url('/feed.xml')}", f"sitemap:{site.url('/sitemap.xml')}"]

        first = run(sources, out)
        assert first.articles_new == 3 and first.documents_unchanged == 0
        assert sorted(site.hits("/herald/")) == sorted(pages)  # in the feed and the sitemap, fetched once
        assert (out / "state" / "http_cache.parquet").is_file()
        before = len(site.requests)

        second = run(sources, out)
        later = [p for p, _ in site.requests[before:]]
        assert [p for p in later if p.startswith("/herald/")] == []
        assert later.count("/feed.xml") == later.count("/sitemap.xml") == 1
        assert site.headers_of("/feed.xml")[-1]["if-none-match"] == '"feed-1"'
        assert site.headers_of("/sitemap.xml")[-1]["if-modified-since"] == MODIFIED
        assert second.documents_unchanged == 2
        assert second.pages_skipped == second.pages_fetched == second.articles_new == 0
        assert second.articles_total == 3

        # A backfill neither sends the validators nor changes the state the scheduled runs keep.
        from flows.backfill import backfill

        state = (out / "state" / "http_cache.parquet").read_bytes()
        before = len(site.requests)
        day = date(2026, 3, 19)
        done = backfill(sources, day, day, str(out), allow_loopback=True, per_host_delay_s=0.0)
        assert done.days_done == ["2026-03-19"] and done.articles_new == 0
        feed_requests = [h for p, h in site.requests[before:] if p == "/feed.xml"]
        assert feed_requests and all("if-none-match" not in h for h in feed_requests)
        assert (out / "state" / "http_cache.parquet").read_bytes() == state


def test_a_feed_whose_page_failed_for_now_is_read_again(prefect_harness: None, tmp_path: Path):
    out = tmp_path / "out"
    with Serving() as site:
        pages = add_pages(site, "/flaky", 2)
        site.routes[pages[1]].status = 503
        site.routes[pages[1]].headers["Retry-After"] = "0"
        site.routes["/feed.xml"] = Route(
            rss([(p, site.url(p)) for p in pages]), "application/rss+xml", {"ETag": '"f"'}
        )
        sources = [f"feed:{site.url('/feed.xml')}"]
        first = run(sources, out)
        assert first.articles_new == 1 and first.errors_by_kind == {"FetchUnavailable": 1}

        site.routes[pages[1]].status = 200  # the server is back
        before = len(site.requests)
        second = run(sources, out)
        assert "if-none-match" not in site.headers_of("/feed.xml")[-1]  # not taken for read
        later = [p for p, _ in site.requests[before:]]
        assert pages[1] in later and pages[0] not in later
        assert second.articles_new == 1 and second.pages_skipped == 1

        third = run(sources, out)  # now every page of the feed is in: a 304 settles it
        assert third.documents_unchanged == 1 and third.pages_fetched == 0


def test_tracking_and_amp_variants_of_ingested_pages_are_not_fetched(prefect_harness: None, tmp_path: Path):
    out = tmp_path / "out"
    with Serving() as site:
        site.routes["/ledger/a.html"] = Route(page_html("A", story(1), published="2026-03-19T08:00:00Z"))
        site.routes["/ledger/amp/b.html"] = Route(
            page_html("B", story(2), published="2026-03-19T08:30:00Z", canonical=site.url("/ledger/b.html"))
        )
        site.routes["/ledger/c.html"] = Route(page_html("C", story(3), published="2026-03-19T09:00:00Z"))
        site.routes["/one.xml"] = Route(
            rss([("A", site.url("/ledger/a.html")), ("B", site.url("/ledger/amp/b.html"))]),
            "application/rss+xml",
        )
        first = run([f"feed:{site.url('/one.xml')}"], out)
        assert first.articles_new == 2
        assert (out / "state" / "seen_urls").is_dir()

        # Another feed names the same articles under other URLs, and one new article.
        site.routes["/two.xml"] = Route(
            rss(
                [
                    ("A", site.url("/ledger/a.html?utm_source=rss&utm_medium=feed&fbclid=x1")),
                    ("B", site.url("/ledger/b.html")),  # the canonical URL of the AMP page read before
                    ("C", site.url("/ledger/c.html?utm_campaign=spring")),
                ]
            ),
            "application/rss+xml",
        )
        before = len(site.requests)
        second = run([f"feed:{site.url('/two.xml')}"], out)
        assert [p for p, _ in site.requests[before:] if p.startswith("/ledger/")] == [
            "/ledger/c.html?utm_campaign=spring"
        ]
        assert second.pages_skipped == 2 and second.articles_new == 1
        assert len(rows(out, "articles", "article_id")) == 3


SOURCES = """
[[publisher]]
name = "Wire Service"
feeds = ["{base}/wire/feed.xml"]

[[publisher]]
name = "Harbor Herald"
feeds = ["{base}/herald/feed.xml"]
priority = 10

[publisher.overrides]
user_agent = "HeraldBot/2.0 (+https://herald.example/agreement)"
"""


def test_sources_file_publishers_fetch_with_their_overrides_and_priority_picks_the_original(
    prefect_harness: None, tmp_path: Path
):
    out = tmp_path / "out"
    with Serving() as site:
        same = page_html("Ferry extended", story(7), published="2026-03-19T09:00:00Z")
        for name in ("wire", "herald"):
            site.routes[f"/{name}/story.html"] = Route(same)
            site.routes[f"/{name}/feed.xml"] = Route(
                rss([("Ferry extended", site.url(f"/{name}/story.html"))]), "application/rss+xml"
            )
        path = tmp_path / "sources.toml"
        path.write_text(SOURCES.format(base=site.base))

        summary = run([], out, sources_file=str(path))
        assert summary.sources == 2 and summary.articles_new == 2 and summary.errors_by_kind == {}
        herald_agent = "HeraldBot/2.0 (+https://herald.example/agreement)"
        for route in ("/herald/feed.xml", "/herald/story.html"):
            assert site.headers_of(route)[-1]["user-agent"] == herald_agent
        for route in ("/wire/feed.xml", "/wire/story.html"):
            assert site.headers_of(route)[-1]["user-agent"] == DEFAULT_USER_AGENT

    articles = dict(rows(out, "articles", "url, source"))
    priorities = dict(rows(out, "articles", "source, source_priority"))
    assert set(articles.values()) == {"Wire Service", "Harbor Herald"}
    assert priorities == {"Wire Service": 0, "Harbor Herald": 10}
    herald = article_id_for(next(u for u, s in articles.items() if s == "Harbor Herald"))
    clusters = rows(out, "clusters", "article_id, original_id, relation")
    # Published at the same time; the wire's page was fetched first, the herald's priority wins.
    assert {(a, o) for a, o, _ in clusters} == {(a, herald) for a, _, _ in clusters}
    assert sorted(r for _, _, r in clusters) == ["exact", "original"]


def test_a_bad_sources_file_is_an_error_row_in_a_run_and_one_line_on_the_command_line(
    prefect_harness: None, tmp_path: Path, capsys: Any
):
    bad = tmp_path / "bad.toml"
    bad.write_text("[[publisher]]\nname = 'A'\nfeeds = 'not a list'\n")
    assert main(["run", "--sources-file", str(bad), "--out", str(tmp_path / "cli")]) == EXIT_BAD_INPUT
    assert "key 'feeds' must be a list of strings" in capsys.readouterr().err
    assert main(["run", "--out", str(tmp_path / "cli")]) == EXIT_BAD_INPUT
    assert "give SOURCE arguments or --sources-file" in capsys.readouterr().err

    out = tmp_path / "out"
    summary = run([], out, sources_file=str(bad))
    assert summary.errors_by_kind == {"DiscoveryError": 1} and summary.articles_total == 0
    assert rows(out, "errors", "url, stage") == [(str(bad), "discover")]
