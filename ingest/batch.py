"""A batch of pages through fetch -> archive -> extract: the unit a Prefect task maps over.

Every input ends as exactly one `Article` or one `ErrorRecord` (stage = where it failed,
kind = the exception's class name): a bad page is counted and reported, never raised, never lost.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from ingest.archive import RawArchive
from ingest.errors import IngestError
from ingest.extract import MIN_WORDS, extract_page
from ingest.failures import Stage, error_record
from ingest.fetch import FetchConfig, fetch_pages
from ingest.records import Article, ErrorRecord, PageRef, RawPage
from ingest.urls import article_id_for

log = logging.getLogger(__name__)

T = TypeVar("T")


@dataclass(slots=True)
class BatchResult:
    """What a batch made: articles, error rows, and how many pages were fetched (or read)."""

    articles: list[Article] = field(default_factory=list)
    errors: list[ErrorRecord] = field(default_factory=list)
    pages_fetched: int = 0

    def extend(self, other: BatchResult) -> None:
        self.articles.extend(other.articles)
        self.errors.extend(other.errors)
        self.pages_fetched += other.pages_fetched

    def error_counts(self) -> Counter[tuple[str, str]]:
        """Errors counted by (stage, kind)."""
        return Counter((e.stage, e.kind) for e in self.errors)


def skip_known(refs: Iterable[PageRef], known_ids: set[str]) -> list[PageRef]:
    """`refs` whose article id is not in `known_ids` (see `ingest.tables.read_article_ids`)."""
    return [ref for ref in refs if article_id_for(ref.url) not in known_ids]


def ingest_refs(
    refs: list[PageRef],
    *,
    fetch_config: FetchConfig,
    archive: RawArchive,
    run_id: str,
    min_words: int = MIN_WORDS,
) -> BatchResult:
    """Fetch, archive and extract `refs`; one article or one error row per ref."""
    started = time.monotonic()
    result = BatchResult()
    refs = _unique(refs, list(refs), result, run_id=run_id)
    pages: list[RawPage] = []
    for ref, outcome in zip(refs, fetch_pages(refs, fetch_config) if refs else [], strict=True):
        if isinstance(outcome, RawPage):
            pages.append(outcome)
        else:
            _fail(result, ref, "fetch", outcome[1], run_id=run_id)
    result.pages_fetched = len(pages)
    _archive_and_extract(pages, result, archive=archive, run_id=run_id, min_words=min_words)
    _log_summary("refs", len(refs), result, started)
    return result


def ingest_pages(
    pages: list[RawPage],
    *,
    archive: RawArchive,
    run_id: str,
    min_words: int = MIN_WORDS,
) -> BatchResult:
    """Archive and extract pages read from a WARC or a folder; one article or one error row per page."""
    started = time.monotonic()
    result = BatchResult(pages_fetched=len(pages))
    pages = _unique(pages, [p.ref for p in pages], result, run_id=run_id)
    _archive_and_extract(pages, result, archive=archive, run_id=run_id, min_words=min_words)
    _log_summary("pages", len(pages), result, started)
    return result


def _archive_and_extract(
    pages: list[RawPage], result: BatchResult, *, archive: RawArchive, run_id: str, min_words: int
) -> None:
    for page in pages:
        stage: Stage = "archive"
        try:
            archived = dataclasses.replace(page, raw_uri=archive.put(page))
            stage = "extract"
            result.articles.append(extract_page(archived, min_words=min_words))
        except IngestError as exc:
            _fail(result, page.ref, stage, exc, run_id=run_id)
        except Exception as exc:  # a library bug on one page must not stop the batch
            log.warning("unexpected error at %s of %s: %r", stage, page.ref.url, exc, exc_info=True)
            _fail(result, page.ref, stage, exc, run_id=run_id)


def _unique(items: list[T], refs: list[PageRef], result: BatchResult, *, run_id: str) -> list[T]:
    """`items` with one per article id; each later duplicate becomes an error row (stage discover)."""
    seen: set[str] = set()
    kept: list[T] = []
    for item, ref in zip(items, refs, strict=True):
        article_id = article_id_for(ref.url)
        if article_id in seen:
            message = f"{ref.url} was given twice in one batch; the first was kept"
            result.errors.append(
                error_record(
                    url=ref.url,
                    source=ref.source,
                    stage="discover",
                    error=message,
                    run_id=run_id,
                    kind="DiscoveryError",
                )
            )
            continue
        seen.add(article_id)
        kept.append(item)
    return kept


def _fail(
    result: BatchResult,
    ref: PageRef,
    stage: Stage,
    exc: BaseException,
    *,
    run_id: str,
    kind: str | None = None,
) -> None:
    log.debug("%s failed for %s: %s: %s", stage, ref.url, type(exc).__name__, exc)
    result.errors.append(
        error_record(url=ref.url, source=ref.source, stage=stage, error=exc, run_id=run_id, kind=kind)
    )


def _log_summary(what: str, total: int, result: BatchResult, started: float) -> None:
    counts = ", ".join(f"{stage}/{kind}: {n}" for (stage, kind), n in sorted(result.error_counts().items()))
    log.info(
        "batch of %d %s: %d articles, %d errors (%s) in %.1f s",
        total,
        what,
        len(result.articles),
        len(result.errors),
        counts or "none",
        time.monotonic() - started,
    )
