"""Plain records passed between the ingestion stages: discover -> fetch -> archive -> extract."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime


@dataclass(slots=True)
class PageRef:
    """A page discovered in a feed, sitemap, URL list, archive or folder, not fetched yet.

    Feed and sitemap metadata (title, date, language) fill in what extraction misses.
    """

    url: str
    source: str
    discovered_from: str
    title: str | None = None
    published_at: datetime | None = None
    language: str | None = None
    guid: str | None = None
    priority: int = 0


@dataclass(slots=True)
class RawPage:
    """A fetched (or archived) HTTP response, kept whole in the raw archive before extraction."""

    ref: PageRef
    final_url: str
    status: int
    headers: dict[str, str]
    body: bytes
    fetched_at: datetime
    raw_uri: str | None = None


@dataclass(slots=True)
class Article:
    """One extracted article: a row of `articles/` (README "Output tables")."""

    article_id: str
    url: str
    canonical_url: str | None
    source: str
    title: str | None
    author: str | None
    published_at: datetime | None
    fetched_at: datetime
    language: str | None
    text: str
    word_count: int
    content_hash: str
    raw_uri: str | None
    site_name: str | None = None
    description: str | None = None
    extra: dict[str, str] = field(default_factory=dict)
    #: the publisher's priority from the sources file (higher wins ties when picking an original)
    source_priority: int | None = None
    #: the extraction stage that gave the text (`ingest.chain.STAGES`: "fast", "full", ...)
    extractor: str | None = None


@dataclass(slots=True)
class ErrorRecord:
    """An input that could not become an article: a row of `errors/`."""

    url: str
    source: str
    stage: str
    kind: str
    message: str
    run_id: str
    at: datetime
