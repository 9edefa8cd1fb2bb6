"""The pipeline flow end to end, under Prefect's test harness, against the demo newsroom.

`demo_run` (tests/flows/conftest.py) runs the flow once into a temporary folder, then a second
time over the same sources; tests read the Parquet back with DuckDB.
"""

from __future__ import annotations

from pathlib import Path

import ingest.errors
from flows.pipeline import pipeline
from ingest.urls import article_id_for
from tests.flows.flows_helpers import DemoRun


def test_every_manifest_url_is_an_article_or_its_expected_error(demo_run: DemoRun) -> None:
    articles = {url for (url,) in demo_run.sql("select url from {articles}")}
    errors = {
        url: (stage, kind) for url, stage, kind in demo_run.sql("select url, stage, kind from {errors}")
    }
    missing, wrong = [], []
    for page in demo_run.expected["pages"]:
        url = page["url"]
        if page["error_stage"] is None:
            if url not in articles:
                missing.append(url)
            continue
        stage, kind = errors.get(url, (None, None))
        expected_class = getattr(ingest.errors, page["error_class"])
        actual_class = getattr(ingest.errors, kind, None) if kind else None
        if (
            stage != page["error_stage"]
            or actual_class is None
            or not issubclass(actual_class, expected_class)
        ):
            wrong.append((url, page["error_stage"], page["error_class"], stage, kind))
    assert missing == []
    assert wrong == []
    assert len(articles) == demo_run.expected["summary"]["articles"]


def test_articles_have_ids_from_their_urls(demo_run: DemoRun) -> None:
    rows = demo_run.sql("select article_id, url from {articles}")
    assert rows and all(article_id == article_id_for(url) for article_id, url in rows)


def test_clusters_hold_one_row_per_article(demo_run: DemoRun) -> None:
    articles = {a for (a,) in demo_run.sql("select article_id from {articles}")}
    clusters = demo_run.sql("select article_id, cluster_id, original_id, relation, date from {clusters}")
    assert sorted(r[0] for r in clusters) == sorted(articles)
    assert all(r[1] and r[2] in articles and r[3] for r in clusters)
    assert demo_run.first.clusters == len({r[1] for r in clusters})
    assert all(r[4] is not None for r in clusters)  # hive partition read back as a date


def test_summary_counts(demo_run: DemoRun) -> None:
    summary = demo_run.expected["summary"]
    first = demo_run.first
    assert first.articles_new == first.articles_total == summary["articles"]
    assert sum(first.errors_by_kind.values()) == first.errors_new == summary["errors"]
    assert first.pages_skipped == 0
    assert first.out == str(demo_run.out)


def test_second_run_adds_no_rows(demo_run: DemoRun) -> None:
    assert demo_run.counts_after_second == demo_run.counts_after_first
    assert demo_run.second.articles_new == 0
    assert demo_run.second.errors_new == 0
    # Feeds and sitemaps unchanged since the first run are not read again; those with a page that
    # failed in a way worth retrying (a 503) are, and their pages already ingested are skipped.
    assert demo_run.second.documents_unchanged > 0
    assert 0 < demo_run.second.pages_skipped < demo_run.expected["summary"]["articles"]
    assert demo_run.second.pages_fetched == 0
    assert demo_run.second.articles_total == demo_run.first.articles_total


def test_raw_pages_are_archived_under_out_raw(demo_run: DemoRun) -> None:
    uris = [u for (u,) in demo_run.sql("select raw_uri from {articles}")]
    assert uris and all(u.startswith(f"{demo_run.out}/raw/") and Path(u).is_file() for u in uris)
    assert not (demo_run.out / "raw" / "raw").exists()


def test_folder_sources_into_s3_twice(prefect_harness: None, s3_endpoint: str, tmp_path: Path) -> None:
    import httpx
    import pyarrow.dataset as pads
    import pyarrow.fs as pafs

    from flows.demo import DemoNewsroom

    one, two = tmp_path / "saved-one", tmp_path / "saved-two"
    one.mkdir()
    two.mkdir()
    with DemoNewsroom() as site, httpx.Client() as http:
        wanted = [p for p in site.expected()["pages"] if p["error_stage"] is None][:4]
        for page in wanted:
            body = http.get(page["url"]).content
            (one / f"{page['id']}.html").write_bytes(body)
            (two / f"{page['id']}.html").write_bytes(body)  # the same pages in a second source
    fs = pafs.S3FileSystem(endpoint_override=s3_endpoint.removeprefix("http://"), scheme="http")

    def count(table: str) -> int:
        return pads.dataset(f"news/copydesk/{table}", filesystem=fs, partitioning="hive").count_rows()

    sources = [f"dir:{one}", f"dir:{two}"]
    first = pipeline(sources, "s3://news/copydesk")
    assert first.articles_new == first.articles_total == len(wanted)
    assert first.pages_skipped == len(wanted)  # the second folder's copies
    assert first.errors_by_kind == {}
    assert count("articles") == count("clusters") == len(wanted)
    second = pipeline(sources, "s3://news/copydesk")
    assert second.articles_new == 0 and second.articles_total == len(wanted)
    assert count("articles") == count("clusters") == len(wanted)


def test_each_page_is_fetched_once_and_known_pages_not_again(demo_run: DemoRun) -> None:
    article_paths = {p["path"] for p in demo_run.expected["pages"] if p["error_stage"] is None}
    first = [r for r in demo_run.requests_first if r in article_paths]
    assert sorted(first) == sorted(article_paths)  # listed in a feed and a sitemap, fetched once
    assert [r for r in demo_run.requests_second if r in article_paths] == []


def test_clusters_and_relations_equal_the_manifest_article_by_article(demo_run: DemoRun) -> None:
    """Every article lands in the manifest's cluster, with the manifest's relation and original."""
    rows = demo_run.sql(
        "select a.url, c.cluster_id, c.relation, o.url from {clusters} c "
        "join {articles} a using (article_id) join {articles} o on o.article_id = c.original_id"
    )
    got = {url: (cluster, relation, original) for url, cluster, relation, original in rows}
    pages = [p for p in demo_run.expected["pages"] if p["relation"] is not None]
    assert set(got) == {p["url"] for p in pages}
    # The same partition of articles into clusters ...
    expected_groups: dict[str, set[str]] = {}
    got_groups: dict[str, set[str]] = {}
    for p in pages:
        expected_groups.setdefault(p["cluster"], set()).add(p["url"])
        got_groups.setdefault(got[p["url"]][0], set()).add(p["url"])
    assert sorted(map(sorted, got_groups.values())) == sorted(map(sorted, expected_groups.values()))
    # ... and, article by article, the relation to the cluster's original and which one that is.
    mismatches = [
        (p["url"], p["relation"], got[p["url"]][1])
        for p in pages
        if got[p["url"]][1] != p["relation"] or got[p["url"]][2] != p["original_url"]
    ]
    assert mismatches == []


def test_every_relation_of_the_manifest_is_in_clusters(demo_run: DemoRun) -> None:
    relations = {r for (r,) in demo_run.sql("select distinct relation from {clusters}")}
    assert relations == {p["relation"] for p in demo_run.expected["pages"] if p["relation"]}


def test_expanded_copy_says_what_it_added_and_excerpt_what_it_kept(demo_run: DemoRun) -> None:
    [(added,)] = demo_run.sql("select added_text from {clusters} where relation = 'expanded'")
    assert added and len(added.split()) > 200
    [(kept,)] = demo_run.sql("select kept_fraction from {clusters} where relation = 'excerpt'")
    assert 0.2 < kept < 0.5
