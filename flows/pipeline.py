"""The Copydesk flow: sources -> articles/ and errors/ -> clusters/ and links/.

    run-state ─> discover ×sources ─> plan batches ─> ingest-batch ×batches ─┐
    (seen URLs,  (feeds, sitemaps,    (skip known ids,  (fetch, archive,       │
     feed state)  URL lists; 304s)     seen URLs)        extract, articles/)   │
    WARC / folder sources ──────────────────────────> ingest-pages ×sources ──┤
                                                       (streamed in batches,  │
                                                        one source at a time) │
         ┌────────────────────────────────────────────────────────────────────┘
         └─> write-errors ─> save-run-state ─> deduplicate
             (errors/)       (state/)          (clusters/, links/)

Sources are the specs given plus the feeds and sitemaps of the publishers of a sources file
(`COPYDESK_SOURCES_FILE`, `ingest.config`): each publisher's documents and pages are fetched with
its overrides, and its name becomes their articles' ``source``, its priority their
``source_priority``.

State kept under ``<out>/state/`` between runs: the URLs already ingested (`ingest.seen`), which
are not fetched again, and, for the scheduled and one-off runs but not backfills, the feed and
sitemap validators (`ingest.state`), so unchanged ones cost a 304. Both are saved once the run's
articles and errors are written, the feed state only for documents none of whose pages failed in
a way worth retrying: a run that dies before takes nothing for read.

Batches run one at a time: each fetches with its own concurrency and per-host limits, and two
batches at once would double the rate at which a host is asked. Every input ends as an article or
an `errors/` row, failed tasks included.

A run holds the output root's lease (`flows.lease`) from its first read to its last write, so two
runs never update the dedup index at once; a run that cannot take it in `COPYDESK_LEASE_WAIT_S`
logs one line and ends without writing (`RunSummary.busy`). `ingest_and_dedup` is the body the
backfill flow runs once per day.
"""

from __future__ import annotations

import time
from datetime import datetime
from typing import Any

from prefect import flow, get_run_logger, unmapped

from common import progress
from flows.artifacts import publish, write_run_report
from flows.exposure import check_run_parameters
from flows.ingest_pass import (
    PassPlan,
    ingest_batches,
    ingest_page_sources,
    write_errors_and_state,
)
from flows.lease import Lease, LeaseBusy
from flows.runtime import (
    ONE_AT_A_TIME,
    current_run_id,
    leased,
    library_log_levels,
    outcome,
    retrying,
    settings_with,
)
from flows.settings import Settings
from flows.summary import RunSummary
from flows.tasks import (
    DedupOutcome,
    Discovered,
    deduplicate_articles,
    discover_source,
    failure_rows,
    known_articles,
    load_run_state,
)
from ingest.config import Publisher, load_sources
from ingest.errors import DiscoveryError
from ingest.fetch import FetchConfig
from ingest.plan import plan_batches
from ingest.records import ErrorRecord, PageRef
from ingest.state import DocumentState
from ingest.urls import source_for

__all__ = ["RunSummary", "fetch_config", "ingest_and_dedup", "leased", "pipeline"]


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


def run_name_of_sources(sources: list[str]) -> str:
    """``pipeline feed:https://a.example/rss +2``: the first source and how many more."""
    first = sources[0] if sources else "no sources"
    first = first if len(first) <= 80 else first[:77] + "..."
    return f"pipeline {first}" + (f" +{len(sources) - 1}" if len(sources) > 1 else "")


def _pipeline_run_name() -> str:
    from prefect.runtime import flow_run

    return run_name_of_sources(list(flow_run.parameters.get("sources") or []))


@flow(name="copydesk-pipeline", flow_run_name=_pipeline_run_name, task_runner=ONE_AT_A_TIME)
def pipeline(
    sources: list[str],
    out: str | None = None,
    *,
    allow_loopback: bool | None = None,
    per_host_delay_s: float | None = None,
    batch_size: int | None = None,
    sources_file: str | None = None,
    report_dir: str | None = None,
) -> RunSummary:
    """Ingest `sources` into `out` and deduplicate everything there.

    Args:
        sources: ``feed:URL``, ``sitemap:URL``, ``urls:FILE``, ``warc:PATH`` or ``dir:PATH`` specs.
        out: output root, a folder or ``s3://bucket/prefix``; default ``COPYDESK_OUT``.
        allow_loopback, per_host_delay_s, batch_size, sources_file, report_dir: override the
            ``COPYDESK_*`` settings.
    """
    started = time.monotonic()
    check_run_parameters(
        {
            "sources": sources,
            "out": out,
            "allow_loopback": allow_loopback,
            "sources_file": sources_file,
            "report_dir": report_dir,
        }
    )
    library_log_levels()
    settings = settings_with(
        out=out,
        allow_loopback=allow_loopback,
        fetch_per_host_delay_s=per_host_delay_s,
        batch_size=batch_size,
        sources_file=sources_file,
        report_dir=report_dir,
    )
    run_id = current_run_id()
    name = run_name_of_sources(sources or [f"sources file {settings.sources_file}"])
    summary = RunSummary(run_id=run_id, out=settings.out, sources=len(sources))
    try:
        with leased(settings, run_id=run_id, what=name) as lease:
            ingest_and_dedup(sources, settings, summary, lease=lease, fetch_state=True)
    except LeaseBusy as exc:
        summary.busy = str(exc)
        get_run_logger().warning("nothing done: %s", exc)
    report = None if summary.busy else write_run_report(settings.out, settings.report_dir)
    summary.seconds = round(time.monotonic() - started, 1)
    publish("pipeline", summary, description=name, extra=_extra_rows(summary), report=report)
    return summary


def ingest_and_dedup(
    sources: list[str],
    settings: Settings,
    summary: RunSummary,
    *,
    lease: Lease | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    fetch_state: bool = False,
    lanes: int = 1,
) -> RunSummary:
    """One pass over `sources` and the sources file's publishers (only what they date in
    ``[since, until)`` when given), inside a flow; `lanes`: see `ingest_batches`.

    Fills `summary` in; `lease.check()` is asked before the run's state and the dedup index are
    written. With `fetch_state`, feeds and sitemaps unchanged since the last run are not read again
    (a backfill leaves it off: its windows must not take a feed for read).
    """
    plan = plan_pass(sources, settings, summary, since=since, until=until, fetch_state=fetch_state)
    ingested = ingest_batches(plan, settings, lanes=lanes)
    ingested.add(ingest_page_sources(plan, settings, since=since, until=until))
    errors = [*plan.errors, *ingested.failed, *ingested.total.errors]
    write_errors_and_state(plan, ingested.total, errors, settings, summary, lease=lease)
    dedup = retrying(deduplicate_articles, settings)(
        settings.out, run_id=plan.run_id, window_days=settings.dedup_window_days, endpoint_url=plan.endpoint
    )
    summarise(summary, dedup)
    return summary


def plan_pass(
    sources: list[str],
    settings: Settings,
    summary: RunSummary,
    *,
    since: datetime | None,
    until: datetime | None,
    fetch_state: bool,
) -> PassPlan:
    """Discover the pages of every source and publisher, drop those already ingested, batch the rest."""
    run_id, out_root, endpoint = summary.run_id, settings.out, settings.s3_endpoint_url
    publishers, errors = publishers_of(settings, run_id=run_id)
    base_config = fetch_config(settings)
    configs = {p.name: p.fetch_config(base_config) for p in publishers}
    jobs: list[tuple[str, Publisher | None]] = [(s, None) for s in sources]
    jobs += [(str(spec), p) for p in publishers for spec in p.sources()]
    summary.sources = len(jobs)

    known = retrying(known_articles, settings).submit(out_root, endpoint_url=endpoint)
    state = outcome(
        retrying(load_run_state, settings).submit(out_root, fetch_state=fetch_state, endpoint_url=endpoint)
    )
    if isinstance(state, BaseException):
        raise state
    discovered = retrying(discover_source, settings).map(
        [spec for spec, _ in jobs],
        fetch_config=unmapped(base_config),
        run_id=unmapped(run_id),
        since=unmapped(since),
        until=unmapped(until),
        publisher=[p for _, p in jobs],
        fetch_state=unmapped(state.fetch_state),
        max_sitemap_urls=unmapped(settings.max_sitemap_urls),
    )
    refs: list[PageRef] = []
    page_sources: list[str] = []
    state_updates: dict[str, DocumentState] = {}
    for (source, publisher), future in zip(jobs, discovered, strict=True):
        found = outcome(future)
        if isinstance(found, Discovered):
            refs.extend(found.refs)
            errors.extend(found.errors)
            state_updates.update(found.fetch_state)
            summary.documents_unchanged += found.unchanged
            if found.reads_pages:
                page_sources.append(source)
        else:
            where = publisher.name if publisher is not None else source_for(source)
            errors.extend(failure_rows([(source, where)], "discover", found, run_id=run_id))
    known_ids = outcome(known)
    if isinstance(known_ids, BaseException):
        raise known_ids
    batches, skipped = plan_batches(
        refs,
        known_ids=known_ids,
        batch_size=settings.batch_size,
        seen=state.seen,
        group=lambda ref: ref.source if ref.source in configs else "",
    )
    summary.pages_skipped += skipped
    for stage in ("fetch", "extract"):  # WARC and folder pages add to the counts as they are read
        progress.start(stage, total=sum(len(b) for b in batches))
    get_run_logger().info(
        "%d sources (%d feeds and sitemaps unchanged): %d pages to fetch in %d batches "
        "(%d already ingested), %d WARC or folder sources",
        len(jobs),
        summary.documents_unchanged,
        sum(len(b) for b in batches),
        len(batches),
        skipped,
        len(page_sources),
    )
    return PassPlan(
        run_id=run_id,
        endpoint=endpoint,
        base_config=base_config,
        configs=configs,
        state=state,
        known_ids=known_ids,
        refs=refs,
        batches=batches,
        page_sources=page_sources,
        state_updates=state_updates,
        errors=errors,
    )


def summarise(summary: RunSummary, dedup: DedupOutcome) -> None:
    """Put what the dedup step found into `summary`, and log the pass in one line."""
    summary.articles_total = dedup.articles
    summary.clusters = dedup.clusters
    summary.clusters_new = dedup.new_clusters
    summary.copies_by_relation = dedup.copies_by_relation
    summary.copies_new = dedup.new_copies
    summary.links = dedup.links
    summary.top_clusters = dedup.top_clusters
    get_run_logger().info(
        "%d new articles, %d in all, %d clusters (%d new), %d error rows (%d new)",
        summary.articles_new,
        summary.articles_total,
        summary.clusters,
        summary.clusters_new,
        sum(summary.errors_by_kind.values()),
        summary.errors_new,
    )


def publishers_of(settings: Settings, *, run_id: str) -> tuple[list[Publisher], list[ErrorRecord]]:
    """The publishers of the settings' sources file; one that cannot be read is an error row, not a crash."""
    if not settings.sources_file:
        return [], []
    try:
        return load_sources(settings.sources_file), []
    except DiscoveryError as exc:
        get_run_logger().error("sources file not read: %s", exc)
        path = settings.sources_file
        return [], failure_rows([(path, "sources-file")], "discover", exc, run_id=run_id)


def _extra_rows(summary: RunSummary) -> list[tuple[str, Any]]:
    rows: list[tuple[str, Any]] = [("sources", summary.sources)]
    if summary.busy:
        rows.append(("skipped, store busy", summary.busy))
    return rows
