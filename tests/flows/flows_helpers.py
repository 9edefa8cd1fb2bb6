"""Helpers of the flow tests: a WARC of news pages with planted copies spread over ten days, and
reading the tables back with DuckDB."""

from __future__ import annotations

import html
import io
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import duckdb

from flows.summary import BackfillSummary, RunSummary
from tests.corpora.planted import planted_corpus

TABLES = ("articles", "errors", "clusters", "links")
FIRST_DAY = date(2026, 3, 1)
DAYS = 10


@dataclass
class DemoRun:
    out: Path
    expected: dict[str, Any]
    first: RunSummary
    second: RunSummary
    counts_after_first: dict[str, int]
    counts_after_second: dict[str, int]
    requests_first: list[str]
    requests_second: list[str]

    def sql(self, query: str) -> list[tuple[Any, ...]]:
        """Run `query` with `{articles}`, `{errors}`, `{clusters}`, `{links}` naming the tables."""
        return duckdb.sql(query.format(**self.tables)).fetchall()

    @property
    def tables(self) -> dict[str, str]:
        return {
            name: f"read_parquet('{self.out}/{name}/**/*.parquet', hive_partitioning=true)" for name in TABLES
        }


@dataclass(frozen=True, slots=True)
class Page:
    """A news page of the planted corpus: where it is, when it was published, what it says."""

    doc_id: str
    url: str
    title: str
    published: datetime
    paragraphs: tuple[str, ...]
    planted_cluster: str

    @property
    def day(self) -> date:
        return self.published.date()

    def html(self) -> str:
        data = {
            "@context": "https://schema.org",
            "@type": "NewsArticle",
            "headline": self.title,
            "datePublished": self.published.isoformat().replace("+00:00", "Z"),
        }
        body = "\n".join(f"<p>{html.escape(p)}</p>" for p in self.paragraphs)
        title = html.escape(self.title)
        return (
            f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8"><title>{title}</title>'
            f'<script type="application/ld+json">{json.dumps(data)}</script></head><body>'
            f'<header><nav><a href="/">Home</a></nav></header><main><article><h1>{title}</h1>'
            f"{body}</article></main><footer><p>Contact us</p></footer></body></html>"
        )


@dataclass
class PlantedWarc:
    path: Path
    pages: list[Page]

    @property
    def source(self) -> str:
        return f"warc:{self.path}"


@dataclass
class Backfilled:
    out: Path
    summary: BackfillSummary


def planted_pages(
    n_stories: int = 8, *, seed: int = 7, first_day: date = FIRST_DAY, days: int = DAYS
) -> list[Page]:
    """Stories spread over `days` days, their planted copies one to four days later (the last day at most).

    Sorted by publication time. Copies across days are what makes the order of ingestion matter.
    """
    planted = planted_corpus(n_stories, copy_rate=0.9, mean_words=220, seed=seed)
    start = datetime.combine(first_day, datetime.min.time(), tzinfo=UTC)
    pages = []
    for doc in planted.docs:
        story, _, copy = doc.id.partition("-")
        s, c = int(story[1:]), int(copy) + 1 if copy else 0
        day = min((s * 3) % days + c, days - 1)
        published = start + timedelta(days=day, hours=9 + c, minutes=s)
        host = f"{doc.source}.example"
        title = f"Story {s} about {doc.text.split()[3]}" + (f", as told again ({c})" if c else "")
        pages.append(
            Page(
                doc_id=doc.id,
                url=f"https://{host}/news/{doc.id}",
                title=title,
                published=published,
                paragraphs=tuple(doc.text.split("\n\n")),
                planted_cluster=planted.cluster[doc.id],
            )
        )
    return sorted(pages, key=lambda p: (p.published, p.url))


def write_warc(path: Path, pages: list[Page]) -> Path:
    """A WARC.gz of one response record per page, its WARC-Date the page's publication time."""
    from warcio.statusandheaders import StatusAndHeaders
    from warcio.warcwriter import WARCWriter

    with path.open("wb") as out:
        writer = WARCWriter(out, gzip=True)
        for page in pages:
            body = page.html().encode()
            headers = StatusAndHeaders(
                "200 OK", [("Content-Type", "text/html; charset=utf-8")], protocol="HTTP/1.1"
            )
            record = writer.create_warc_record(
                page.url,
                "response",
                payload=io.BytesIO(body),
                length=len(body),
                http_headers=headers,
                warc_headers_dict={"WARC-Date": page.published.isoformat().replace("+00:00", "Z")},
            )
            writer.write_record(record)
    return path


def table(out: Path, name: str) -> str:
    return f"read_parquet('{out}/{name}/**/*.parquet', hive_partitioning=true)"


def rows(out: Path, name: str, *, drop: tuple[str, ...] = ()) -> list[tuple[Any, ...]]:
    """Every row of a table, its columns but `drop`, sorted."""
    if not list((out / name).rglob("*.parquet")):
        return []
    rel = duckdb.sql(f"select * from {table(out, name)}")
    keep = [c for c in rel.columns if c not in drop]
    found = duckdb.sql(f"select {', '.join(keep)} from {table(out, name)}").fetchall()
    return sorted(found, key=repr)


def row_counts(out: Path) -> dict[str, int]:
    counts = {}
    for name in TABLES:
        if not list((out / name).rglob("*.parquet")):
            counts[name] = 0
            continue
        [(n,)] = duckdb.sql(f"select count(*) from {table(out, name)}").fetchall()
        counts[name] = n
    return counts


def cluster_partition(out: Path) -> list[list[str]]:
    """The clusters as sets of article URLs (cluster ids aside), sorted."""
    found = duckdb.sql(
        f"select c.cluster_id, a.url from {table(out, 'clusters')} c join {table(out, 'articles')} a "
        "using (article_id)"
    ).fetchall()
    groups: dict[str, list[str]] = {}
    for cluster, url in found:
        groups.setdefault(cluster, []).append(url)
    return sorted(sorted(g) for g in groups.values())


def cluster_roles(out: Path) -> list[tuple[str, str, str]]:
    """(article URL, relation, original's URL) of every article, sorted."""
    found = duckdb.sql(
        f"select a.url, c.relation, o.url from {table(out, 'clusters')} c "
        f"join {table(out, 'articles')} a using (article_id) "
        f"join {table(out, 'articles')} o on o.article_id = c.original_id"
    ).fetchall()
    return sorted(found)
