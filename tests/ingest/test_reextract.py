"""`reextract`: articles/ rebuilt from the raw archive replace the old rows and follow the extractor."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from common.storage import list_files, resolve
from ingest.archive import RawArchive
from ingest.batch import ingest_refs
from ingest.fetch import FetchConfig
from ingest.records import PageRef
from ingest.reextract import reextract
from ingest.tables import write_articles
from ingest.urls import source_for
from tests.ingest.ingest_helpers import Site

PAGES = ["ferry.html", "budget.html", "pier.html", "moved.html", "relative.html"]


def rows(root: Path, what: str = "article_id, word_count") -> list[tuple[object, ...]]:
    query = (
        f"select {what} from read_parquet('{root}/articles/**/*.parquet', hive_partitioning=true) order by 1"
    )
    return duckdb.sql(query).fetchall()


def test_reextract_replaces_articles_and_follows_the_extractor(
    site: Site, fetch_config: FetchConfig, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
):
    out = tmp_path / "out"
    root = resolve(str(out))
    urls = [site.url(f"/pub/articles/{name}") for name in PAGES]
    refs = [PageRef(url=u, source=source_for(u), discovered_from="t") for u in urls]
    first = ingest_refs(refs, fetch_config=fetch_config, archive=RawArchive(root), run_id="r1", workers=2)
    assert len(first.articles) == 5
    write_articles(first.articles, root, file_stem="batch-one")
    before = rows(out)
    before_text = rows(out, "article_id, content_hash, raw_uri, published_at")

    same = reextract(root, run_id="re1", workers=2)
    assert (same.pages_fetched, len(same.articles), same.errors) == (5, 5, [])
    assert rows(out) == before  # same ids, no duplicates
    assert rows(out, "article_id, content_hash, raw_uri, published_at") == before_text
    assert not any("batch-one" in f for f in list_files(root.child("articles")))
    files = list_files(root.child("articles"))
    reextract(root, run_id="re2", workers=1)
    assert list_files(root.child("articles")) == files and rows(out) == before  # a rerun is a no-op

    # a stricter extractor: the shortest page is no article any more; its row is kept as it was
    # (clusters/ and the index still hold it), with an error row saying it no longer extracts
    # (in this process: a page declaring an article is otherwise kept below min_words, as a brief)
    monkeypatch.setattr("ingest.extract.MIN_BRIEF_WORDS", 10**6)
    _, shortest_words = min(before, key=lambda r: r[1])
    stricter = reextract(root, run_id="re3", workers=1, min_words=int(str(shortest_words)) + 1)
    assert [(e.stage, e.kind) for e in stricter.errors] == [("extract", "NoArticle")]
    assert rows(out) == before
    errors = duckdb.sql(
        f"select url, kind, run_id from read_parquet('{out}/errors/**/*.parquet', hive_partitioning=true)"
    ).fetchall()
    assert [(kind, run) for _, kind, run in errors] == [("NoArticle", "re3")]
    # and back with the usual threshold: the page is an article again, from its raw copy
    reextract(root, run_id="re4", workers=2)
    assert rows(out) == before


def test_articles_without_a_raw_page_are_kept(site: Site, fetch_config: FetchConfig, tmp_path: Path):
    out = tmp_path / "out"
    root = resolve(str(out))
    urls = [site.url("/pub/articles/ferry.html"), site.url("/pub/articles/pier.html")]
    refs = [PageRef(url=u, source=source_for(u), discovered_from="t") for u in urls]
    made = ingest_refs(refs, fetch_config=fetch_config, archive=RawArchive(root), run_id="r1", workers=1)
    write_articles(made.articles, root, file_stem="batch-one")
    before = rows(out, "article_id, text")
    lost = next(a for a in made.articles if a.url.endswith("pier.html"))
    (out / "raw" / Path(str(lost.raw_uri)).relative_to(out / "raw")).unlink()
    result = reextract(root, run_id="re", workers=1)
    assert len(result.articles) == 1
    assert rows(out, "article_id, text") == before
