"""A batch of pages through fetch -> archive -> extract: the unit a Prefect task maps over.

Every input ends as exactly one `Article` or one `ErrorRecord` (stage = where it failed,
kind = the exception's class name): a bad page is counted and reported, never raised, never lost.

Fetching runs async in this process; each page is archived as it arrives (a few at a time, in
threads out of the fetch event loop, `ingest.archiver`) and handed to the extraction pool
(`ingest.pool`), so fetching, archiving and extracting overlap and extraction uses every core.
``workers=1`` extracts in this process.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import TypeVar

from common import progress
from ingest.archive import RawArchive
from ingest.archiver import Archiver
from ingest.errors import IngestError
from ingest.extract import MIN_WORDS, extract_page
from ingest.failures import Stage, error_record
from ingest.fetch import FetchConfig, FetchOutcome, fetch_pages
from ingest.pool import ExtractJobs, Failure
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
    workers: int | None = None,
) -> BatchResult:
    """Fetch, archive and extract `refs`; one article or one error row per ref.

    Args:
        workers: extraction processes (None: one per CPU, `ingest.pool.default_workers`; 1: this process).
    """
    started = time.monotonic()
    result = BatchResult()
    refs = _unique(refs, list(refs), result, run_id=run_id)
    jobs = _jobs(workers, min_words, len(refs))

    # Archiving (gzip, an fsync'd write or a PUT) runs in threads, so that the fetch event loop never
    # waits on it; leaving the `with` waits for the last page to be archived.
    with _archiver(archive, jobs, result, run_id=run_id) as archiver:

        def arrived(outcome: FetchOutcome) -> None:
            progress.advance("fetch")
            if isinstance(outcome, RawPage):
                result.pages_fetched += 1
                archiver.submit(outcome)

        outcomes = fetch_pages(refs, fetch_config, on_result=arrived) if refs else []
    for outcome in outcomes:
        if not isinstance(outcome, RawPage):
            _fail(result, outcome[0], "fetch", outcome[1], run_id=run_id)
    collect_outcomes(jobs, result, run_id=run_id)
    _log_summary("refs", len(refs), result, started)
    return result


def ingest_pages(
    pages: list[RawPage],
    *,
    archive: RawArchive,
    run_id: str,
    min_words: int = MIN_WORDS,
    workers: int | None = None,
) -> BatchResult:
    """Archive and extract pages read from a WARC or a folder; one article or one error row per page.

    Args:
        workers: extraction processes (None: one per CPU; 1: this process).
    """
    started = time.monotonic()
    result = BatchResult(pages_fetched=len(pages))
    progress.advance("fetch", len(pages))
    pages = _unique(pages, [p.ref for p in pages], result, run_id=run_id)
    jobs = _jobs(workers, min_words, len(pages))
    with _archiver(archive, jobs, result, run_id=run_id) as archiver:
        for page in pages:
            archiver.submit(page)
    collect_outcomes(jobs, result, run_id=run_id)
    _log_summary("pages", len(pages), result, started)
    return result


def _jobs(workers: int | None, min_words: int, expected: int) -> ExtractJobs:
    # extract_page is looked up here, at call time, so that tests may replace it (in-process only)
    return ExtractJobs(workers=workers, min_words=min_words, expected=expected, extract=extract_page)


def _archiver(archive: RawArchive, jobs: ExtractJobs, result: BatchResult, *, run_id: str) -> Archiver:
    """Archive pages, then queue them for extraction; a page that cannot be kept is an error row."""

    def failed(page: RawPage, exc: BaseException) -> None:
        if not isinstance(exc, IngestError):  # a library bug on one page must not stop the batch
            log.warning("unexpected error archiving %s: %r", page.ref.url, exc, exc_info=exc)
        _fail(result, page.ref, "archive", exc, run_id=run_id)

    return Archiver(archive, handed=jobs.add, failed=failed)


def collect_outcomes(jobs: ExtractJobs, result: BatchResult, *, run_id: str) -> None:
    """Wait for the extraction of every page queued in `jobs`; its articles and error rows go to `result`."""
    for page, outcome in jobs.results():
        progress.advance("extract")
        if isinstance(outcome, Failure):
            if not outcome.expected:
                log.warning(
                    "unexpected error extracting %s: %s: %s", page.ref.url, outcome.kind, outcome.message
                )
            result.errors.append(
                error_record(
                    url=page.ref.url,
                    source=page.ref.source,
                    stage="extract",
                    error=outcome.message,
                    run_id=run_id,
                    kind=outcome.kind,
                )
            )
        else:
            result.articles.append(outcome)


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
