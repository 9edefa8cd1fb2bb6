"""The Copydesk flow: sources -> articles/ and errors/ -> clusters/ and links/.

    discover ×sources ─> plan batches ─> ingest-batch ×batches ─┐
      (feeds, sitemaps,   (skip known     (fetch, archive,       ├─> write-errors ─> deduplicate
       URL lists)          ids, repeats)   extract, articles/)   │     (errors/)      (clusters/, links/)
    WARC / folder sources ─────────────> ingest-pages ×sources ──┘
                                          (streamed in batches,
                                           one source at a time)

Batches run one at a time: each fetches with its own concurrency and per-host limits, and two
batches at once would double the rate at which a host is asked. Every input ends as an article or
an `errors/` row, failed tasks included.
"""

from __future__ import annotations

import logging
import time
import uuid
from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import Any, ParamSpec, TypeVar, cast

from prefect import Task, flow, get_run_logger, unmapped
from prefect.futures import PrefectFuture
from prefect.task_runners import TaskRunner, ThreadPoolTaskRunner
from prefect.utilities.annotations import quote

from flows.settings import Settings
from flows.tasks import (
    BatchOutcome,
    Discovered,
    deduplicate_articles,
    discover_source,
    failure_rows,
    ingest_batch,
    ingest_source_pages,
    known_articles,
    plan_batches,
    write_error_rows,
)
from ingest.fetch import FetchConfig
from ingest.records import ErrorRecord
from ingest.urls import article_id_for, source_for

P = ParamSpec("P")
R = TypeVar("R")


@dataclass(slots=True)
class RunSummary:
    """What a pipeline run did, for the command line's table and the flow run's result."""

    run_id: str
    out: str
    sources: int = 0
    pages_fetched: int = 0
    pages_skipped: int = 0
    articles_new: int = 0
    articles_total: int = 0
    clusters: int = 0
    copies_by_relation: dict[str, int] = field(default_factory=dict)
    links: int = 0
    errors_by_kind: dict[str, int] = field(default_factory=dict)
    errors_new: int = 0
    seconds: float = 0.0

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


# One task at a time (see the module docstring). Prefect's TaskRunner is invariant in its future
# type, so its own ThreadPoolTaskRunner needs a cast to satisfy the decorator's annotation.
_ONE_AT_A_TIME = cast("TaskRunner[PrefectFuture[Any]]", ThreadPoolTaskRunner(max_workers=1))


def fetch_config(settings: Settings) -> FetchConfig:
    """The fetch rules the settings ask for."""
    return FetchConfig(
        user_agent=settings.user_agent,
        timeout_s=settings.fetch_timeout_s,
        max_bytes=settings.fetch_max_bytes,
        max_redirects=settings.fetch_max_redirects,
        concurrency=settings.fetch_concurrency,
        per_host_concurrency=settings.fetch_per_host_concurrency,
        per_host_delay_s=settings.fetch_per_host_delay_s,
        allow_loopback=settings.allow_loopback,
        respect_robots=settings.respect_robots,
    )


@flow(name="copydesk-pipeline", task_runner=_ONE_AT_A_TIME)
def pipeline(
    sources: list[str],
    out: str | None = None,
    *,
    allow_loopback: bool | None = None,
    per_host_delay_s: float | None = None,
    batch_size: int | None = None,
) -> RunSummary:
    """Ingest `sources` into `out` and deduplicate everything there.

    Args:
        sources: ``feed:URL``, ``sitemap:URL``, ``urls:FILE``, ``warc:PATH`` or ``dir:PATH`` specs.
        out: output root, a folder or ``s3://bucket/prefix``; default ``COPYDESK_OUT``.
        allow_loopback, per_host_delay_s, batch_size: override the ``COPYDESK_*`` settings.
    """
    started = time.monotonic()
    _library_log_levels()
    settings = _settings(
        out=out, allow_loopback=allow_loopback, fetch_per_host_delay_s=per_host_delay_s, batch_size=batch_size
    )
    logger = get_run_logger()
    run_id = _run_id()
    out_root, endpoint = settings.out, settings.s3_endpoint_url
    summary = RunSummary(run_id=run_id, out=settings.out, sources=len(sources))
    errors: list[ErrorRecord] = []

    known = _retrying(known_articles, settings).submit(out_root, endpoint_url=endpoint)
    discovered = _retrying(discover_source, settings).map(
        sources, fetch_config=unmapped(fetch_config(settings)), run_id=unmapped(run_id)
    )
    refs = []
    page_sources: list[str] = []
    for source, future in zip(sources, discovered, strict=True):
        found = _outcome(future)
        if isinstance(found, Discovered):
            refs.extend(found.refs)
            errors.extend(found.errors)
            if found.reads_pages:
                page_sources.append(source)
        else:
            errors.extend(failure_rows([(source, source_for(source))], "discover", found, run_id=run_id))
    known_ids = _outcome(known)
    if isinstance(known_ids, BaseException):
        raise known_ids
    batches, summary.pages_skipped = plan_batches(refs, known_ids=known_ids, batch_size=settings.batch_size)
    logger.info(
        "%d sources: %d pages to fetch in %d batches (%d already in articles/), %d WARC or folder sources",
        len(sources),
        sum(len(b) for b in batches),
        len(batches),
        summary.pages_skipped,
        len(page_sources),
    )

    outcomes = _retrying(ingest_batch, settings).map(
        batches,
        fetch_config=unmapped(fetch_config(settings)),
        out=unmapped(out_root),
        raw_store=unmapped(settings.raw_store_uri),
        run_id=unmapped(run_id),
        endpoint_url=unmapped(endpoint),
    )
    total = BatchOutcome()
    for batch, batch_future in zip(batches, outcomes, strict=True):
        done = _outcome(batch_future)
        if isinstance(done, BatchOutcome):
            total.add(done)
        else:
            errors.extend(failure_rows([(r.url, r.source) for r in batch], "fetch", done, run_id=run_id))

    # WARC and folder sources, one after the other: a page two of them hold is taken once.
    seen = known_ids | {article_id_for(r.url) for b in batches for r in b}
    for source in page_sources:
        page_future = _retrying(ingest_source_pages, settings).submit(
            source,
            skip_ids=cast(set[str], quote(seen)),  # quote: Prefect need not walk a million ids
            batch_size=settings.batch_size,
            out=out_root,
            raw_store=settings.raw_store_uri,
            run_id=run_id,
            endpoint_url=endpoint,
        )
        done = _outcome(page_future)
        if isinstance(done, BatchOutcome):
            total.add(done)
            seen = seen | set(done.article_ids)
        else:
            errors.extend(failure_rows([(source, source_for(source))], "discover", done, run_id=run_id))

    errors.extend(total.errors)
    summary.pages_fetched = total.pages_fetched
    summary.pages_skipped += total.pages_skipped
    summary.articles_new = len(total.article_ids)
    summary.errors_by_kind = dict(sorted(Counter(e.kind for e in errors).items()))
    summary.errors_new = _retrying(write_error_rows, settings)(errors, out=out_root, endpoint_url=endpoint)
    dedup = _retrying(deduplicate_articles, settings)(
        out_root, run_id=run_id, window_days=settings.dedup_window_days, endpoint_url=endpoint
    )
    summary.articles_total = dedup.articles
    summary.clusters = dedup.clusters
    summary.copies_by_relation = dedup.copies_by_relation
    summary.links = dedup.links
    summary.seconds = round(time.monotonic() - started, 1)
    logger.info(
        "%d new articles, %d in all, %d clusters, %d error rows (%d new) in %.1f s",
        summary.articles_new,
        summary.articles_total,
        summary.clusters,
        sum(summary.errors_by_kind.values()),
        summary.errors_new,
        summary.seconds,
    )
    return summary


def _library_log_levels() -> None:
    """Let `ingest` and `dedup` report progress (INFO) through Prefect's handlers.

    Prefect attaches its handlers to them (``PREFECT_LOGGING_EXTRA_LOGGERS``, set by
    `flows.prefect_env`) but leaves their level to the root logger's WARNING.
    """
    for name in ("ingest", "dedup"):
        library = logging.getLogger(name)
        if library.level == logging.NOTSET:
            library.setLevel(logging.INFO)


def _settings(**overrides: Any) -> Settings:
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def _retrying(task: Task[P, R], settings: Settings) -> Task[P, R]:
    """`task` with the retries the settings ask for (on transient errors only, see `flows.tasks`)."""
    return task.with_options(retries=settings.task_retries, retry_delay_seconds=settings.task_retry_delay_s)


def _run_id() -> str:
    from prefect.runtime import flow_run

    return str(flow_run.get_id() or uuid.uuid4())


def _outcome(future: PrefectFuture[Any]) -> Any:
    """A task's return value, or the exception it failed with for good (after its retries)."""
    return future.result(raise_on_failure=False)
