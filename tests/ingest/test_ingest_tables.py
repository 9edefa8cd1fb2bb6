from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from pathlib import Path

import duckdb
import pyarrow.parquet as pq

from common.storage import SCHEMA_VERSION_KEY, resolve
from ingest.failures import error_record
from ingest.records import Article
from ingest.tables import ARTICLES_SCHEMA, read_article_ids, write_articles, write_errors

FETCHED = datetime(2026, 3, 20, 9, 0, tzinfo=UTC)


def article(article_id: str, published: datetime | None) -> Article:
    return Article(
        article_id=article_id,
        url=f"https://herald.example/{article_id}",
        canonical_url=None,
        source="herald.example",
        title=f"Title {article_id}",
        author=None,
        published_at=published,
        fetched_at=FETCHED,
        language="en",
        text="some text here",
        word_count=3,
        content_hash="h" * 64,
        raw_uri=f"s3://bucket/raw/{article_id}.warc.gz",
        site_name="Herald",
    )


def test_articles_round_trip_through_duckdb(tmp_path: Path):
    root = resolve(str(tmp_path / "out"))
    late_evening_in_chicago = datetime(2026, 3, 18, 21, 30, tzinfo=timezone(timedelta(hours=-5)))
    articles = [
        article("a1", late_evening_in_chicago),  # 2026-03-19 02:30 UTC
        article("a2", datetime(2026, 3, 18, 8, 0, tzinfo=UTC)),
        article("a3", None),  # partitioned by its fetch day
    ]
    written = write_articles(articles, root, file_stem="run-1-batch-0")
    assert len(written) == 3
    glob = f"{tmp_path}/out/articles/**/*.parquet"
    rows = duckdb.sql(
        f"select article_id, cast(date as varchar) as d, published_at, fetched_at, word_count "
        f"from read_parquet('{glob}', hive_partitioning=true) order by article_id"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [("a1", "2026-03-19"), ("a2", "2026-03-18"), ("a3", "2026-03-20")]
    assert rows[0][2] == datetime(2026, 3, 19, 2, 30, tzinfo=UTC)
    assert rows[2][2] is None and rows[2][3] == FETCHED
    # the same batch written again replaces its files: no duplicate rows
    write_articles(articles, root, file_stem="run-1-batch-0")
    count = duckdb.sql(f"select count(*) from read_parquet('{glob}', hive_partitioning=true)").fetchall()
    assert count == [(3,)]
    assert read_article_ids(root) == {"a1", "a2", "a3"}
    schema = pq.read_schema(written[0])
    assert schema.field("published_at").type == ARTICLES_SCHEMA.field("published_at").type
    assert str(schema.field("published_at").type) == "timestamp[us, tz=UTC]"
    assert schema.metadata[SCHEMA_VERSION_KEY] == b"1"
    assert "date" not in schema.names


def test_no_articles_yet(tmp_path: Path):
    root = resolve(str(tmp_path / "empty"))
    assert read_article_ids(root) == set()
    assert write_articles([], root, file_stem="x") == []


def test_errors_table(tmp_path: Path):
    root = resolve(str(tmp_path / "out"))
    errors = [
        error_record(
            url="https://a.example/x",
            source="a.example",
            stage="fetch",
            error=TimeoutError("slow"),
            run_id="r1",
        ),
        error_record(
            url="feed:x", source="x", stage="discover", error="no link", run_id="r1", kind="BadFeed"
        ),
    ]
    write_errors(errors, root, file_stem="r1")
    rows = duckdb.sql(
        'select url, stage, kind, message, run_id, "at" '  # "at" is a keyword in DuckDB: quote it
        f"from read_parquet('{tmp_path}/out/errors/**/*.parquet', hive_partitioning=true) order by url desc"
    ).fetchall()
    assert [(r[1], r[2], r[3]) for r in rows] == [
        ("fetch", "TimeoutError", "slow"),
        ("discover", "BadFeed", "no link"),
    ]
    assert all(r[5].tzinfo is not None for r in rows)


def test_files_written_before_source_priority_read_back_as_null(tmp_path: Path):
    from ingest.tables import articles_table, read_articles

    root = resolve(str(tmp_path / "out"))
    new = article("new", datetime(2026, 3, 18, 8, 0, tzinfo=UTC))
    new.source_priority = 7
    write_articles([new], root, file_stem="new")
    old = articles_table([article("old", datetime(2026, 3, 18, 9, 0, tzinfo=UTC))])
    old = old.drop_columns(["source_priority", "date"])
    (tmp_path / "out" / "articles" / "date=2026-03-18").mkdir(parents=True, exist_ok=True)
    pq.write_table(old, tmp_path / "out" / "articles" / "date=2026-03-18" / "a-old.parquet")
    table = read_articles(root, columns=["article_id", "source_priority", "date"], days=["2026-03-18"])
    assert table is not None
    assert sorted(zip(*(table[c].to_pylist() for c in ("article_id", "source_priority")), strict=True)) == [
        ("new", 7),
        ("old", None),
    ]
