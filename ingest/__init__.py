"""Ingestion of news: discover pages (feeds, sitemaps, URL lists, WARC archives, folders), fetch them
politely, archive the raw bytes, extract the article text, and write the `articles/` and `errors/` tables.

    from ingest import discover_refs, ingest_refs

The names below are the public API; they are loaded on first use, so ``import ingest`` stays cheap.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from common.lazy import lazy_exports

if TYPE_CHECKING:
    from ingest.archive import RawArchive
    from ingest.batch import BatchResult, ingest_pages, ingest_refs
    from ingest.config import Publisher, load_sources
    from ingest.discover import Discovery, discover_refs, iter_pages
    from ingest.errors import DiscoveryError, ExtractError, FetchError, IngestError
    from ingest.extract import ExtractOptions, extract_page
    from ingest.fetch import Document, FetchConfig, Fetcher, afetch_pages, fetch_pages
    from ingest.folder import iter_folder
    from ingest.records import Article, ErrorRecord, PageRef, RawPage
    from ingest.reextract import reextract
    from ingest.sources import SourceSpec, parse_source
    from ingest.tables import (
        articles_table,
        errors_table,
        read_article_ids,
        read_articles,
        write_articles,
        write_errors,
    )
    from ingest.warc import iter_warc

_WHERE = {
    "RawArchive": "ingest.archive",
    "BatchResult": "ingest.batch",
    "ingest_refs": "ingest.batch",
    "ingest_pages": "ingest.batch",
    "Publisher": "ingest.config",
    "load_sources": "ingest.config",
    "Discovery": "ingest.discover",
    "discover_refs": "ingest.discover",
    "iter_pages": "ingest.discover",
    "IngestError": "ingest.errors",
    "DiscoveryError": "ingest.errors",
    "FetchError": "ingest.errors",
    "ExtractError": "ingest.errors",
    "ExtractOptions": "ingest.extract",
    "extract_page": "ingest.extract",
    "FetchConfig": "ingest.fetch",
    "Fetcher": "ingest.fetch",
    "Document": "ingest.fetch",
    "fetch_pages": "ingest.fetch",
    "afetch_pages": "ingest.fetch",
    "iter_folder": "ingest.folder",
    "PageRef": "ingest.records",
    "RawPage": "ingest.records",
    "Article": "ingest.records",
    "ErrorRecord": "ingest.records",
    "reextract": "ingest.reextract",
    "SourceSpec": "ingest.sources",
    "parse_source": "ingest.sources",
    "articles_table": "ingest.tables",
    "errors_table": "ingest.tables",
    "write_articles": "ingest.tables",
    "write_errors": "ingest.tables",
    "read_articles": "ingest.tables",
    "read_article_ids": "ingest.tables",
    "iter_warc": "ingest.warc",
}

__all__ = [
    "Article",
    "BatchResult",
    "Discovery",
    "DiscoveryError",
    "Document",
    "ErrorRecord",
    "ExtractError",
    "ExtractOptions",
    "FetchConfig",
    "FetchError",
    "Fetcher",
    "IngestError",
    "PageRef",
    "Publisher",
    "RawArchive",
    "RawPage",
    "SourceSpec",
    "afetch_pages",
    "articles_table",
    "discover_refs",
    "errors_table",
    "extract_page",
    "fetch_pages",
    "ingest_pages",
    "ingest_refs",
    "iter_folder",
    "iter_pages",
    "iter_warc",
    "load_sources",
    "parse_source",
    "read_article_ids",
    "read_articles",
    "reextract",
    "write_articles",
    "write_errors",
]


__getattr__, __dir__ = lazy_exports(__name__, _WHERE, globals())
