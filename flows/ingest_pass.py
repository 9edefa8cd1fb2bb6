"""Running one pass of the pipeline once it is planned: the fetch batches (in lanes on a Dask
cluster), the WARC and folder sources, then the error rows and the state the next run reads."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, cast

from prefect import unmapped
from prefect.utilities.annotations import quote

from flows.dask_runner import Opaque
from flows.lanes import plan_lanes, run_lanes
from flows.lease import Lease
from flows.runtime import outcome, retrying
from flows.settings import Settings
from flows.summary import RunSummary
from flows.tasks import (
    BatchOutcome,
    RunState,
    failure_rows,
    ingest_batch,
    ingest_source_pages,
    save_run_state,
    write_error_rows,
)
from ingest.fetch import FetchConfig
from ingest.plan import is_final, settled_documents
from ingest.records import ErrorRecord, PageRef
from ingest.seen import SeenUrls
from ingest.state import DocumentState, FetchState
from ingest.urls import article_id_for, source_for


@dataclass(slots=True)
class PassPlan:
    """What one pass will ingest: the pages to fetch in batches, the WARC and folder sources to read,
    with the fetch rules of each publisher, what earlier runs recorded and what discovery got wrong."""

    run_id: str
    endpoint: str | None
    base_config: FetchConfig
    #: fetch rules by publisher name (a sources file's overrides)
    configs: dict[str, FetchConfig]
    state: RunState
    known_ids: set[str]
    refs: list[PageRef]
    batches: list[list[PageRef]]
    page_sources: list[str]
    #: feed and sitemap state the discovery changed (kept only for documents whose pages settled)
    state_updates: dict[str, DocumentState]
    errors: list[ErrorRecord]


@dataclass(slots=True)
class Ingested:
    """What the ingest tasks did, and error rows for the inputs lost with a task that failed for good."""

    total: BatchOutcome = field(default_factory=BatchOutcome)
    failed: list[ErrorRecord] = field(default_factory=list)

    def add(self, other: Ingested) -> None:
        self.total.add(other.total)
        self.failed.extend(other.failed)


def ingest_batches(plan: PassPlan, settings: Settings, *, lanes: int = 1) -> Ingested:
    """Fetch, archive and extract the planned batches, each with its publisher's fetch rules.

    With `lanes` > 1 (a flow on a Dask cluster, `flows.dask_runner`), that many batches run at once,
    each host's pages in one lane (`flows.lanes`) so that no host is fetched by two workers.
    """
    ingest = retrying(ingest_batch, settings)
    finished: Iterable[tuple[list[PageRef], Any]]
    if lanes > 1:
        planned = plan_lanes(
            [r for b in plan.batches for r in b],
            lanes=lanes,
            batch_size=settings.batch_size,
            group=lambda ref: ref.source if ref.source in plan.configs else "",
        )
        finished = run_lanes(
            planned,
            lambda batch: ingest.submit(
                batch,
                fetch_config=plan.configs.get(batch[0].source, plan.base_config),
                out=settings.out,
                raw_store=settings.raw_store_uri,
                run_id=plan.run_id,
                endpoint_url=plan.endpoint,
            ),
            outcome,
        )
    else:
        outcomes = ingest.map(
            plan.batches,
            fetch_config=[plan.configs.get(b[0].source, plan.base_config) for b in plan.batches],
            out=unmapped(settings.out),
            raw_store=unmapped(settings.raw_store_uri),
            run_id=unmapped(plan.run_id),
            endpoint_url=unmapped(plan.endpoint),
        )
        finished = ((b, outcome(f)) for b, f in zip(plan.batches, outcomes, strict=True))
    ingested = Ingested()
    for batch, done in finished:
        if isinstance(done, BatchOutcome):
            ingested.total.add(done)
        else:
            rows = failure_rows([(r.url, r.source) for r in batch], "fetch", done, run_id=plan.run_id)
            ingested.failed.extend(rows)
    return ingested


def ingest_page_sources(
    plan: PassPlan, settings: Settings, *, since: datetime | None, until: datetime | None
) -> Ingested:
    """Read the WARC and folder sources one after the other: a page two of them hold is taken once."""
    seen = plan.known_ids | {article_id_for(r.url) for b in plan.batches for r in b}
    ingested = Ingested()
    for source in plan.page_sources:
        page_future = retrying(ingest_source_pages, settings).submit(
            source,
            skip_ids=cast(set[str], Opaque(seen)),  # Prefect and Dask need not walk a million ids
            batch_size=settings.batch_size,
            out=settings.out,
            raw_store=settings.raw_store_uri,
            run_id=plan.run_id,
            endpoint_url=plan.endpoint,
            since=since,
            until=until,
        )
        done = outcome(page_future)
        if isinstance(done, BatchOutcome):
            ingested.total.add(done)
            seen = seen | set(done.article_ids)
        else:
            rows = failure_rows([(source, source_for(source))], "discover", done, run_id=plan.run_id)
            ingested.failed.extend(rows)
    return ingested


def write_errors_and_state(
    plan: PassPlan,
    total: BatchOutcome,
    errors: list[ErrorRecord],
    settings: Settings,
    summary: RunSummary,
    *,
    lease: Lease | None,
) -> None:
    """Write the pass's error rows, then (still holding the lease) the seen URLs, settled feed state
    and failure counts. An unknown error met in too many runs becomes final (GaveUp), so its feed
    settles instead of being retried forever."""
    plan.state.attempts.forget(total.urls)
    errors = plan.state.attempts.record(errors)
    summary.pages_fetched += total.pages_fetched
    summary.pages_skipped += total.pages_skipped
    summary.articles_new += len(total.article_ids)
    summary.errors_by_kind = dict(sorted(Counter(e.kind for e in errors).items()))
    summary.errors_retryable = sum(not is_final(e) for e in errors)
    summary.errors_new += retrying(write_error_rows, settings)(
        errors, out=settings.out, endpoint_url=plan.endpoint
    )
    if lease is not None:
        lease.check()
    state = plan.state
    state.seen.add(total.urls)
    if state.fetch_state is not None:
        state.fetch_state.documents.update(settled_documents(plan.state_updates, plan.refs, errors))
    retrying(save_run_state, settings)(
        settings.out,
        seen=cast(SeenUrls, quote(state.seen)),
        fetch_state=cast(FetchState | None, quote(state.fetch_state)),
        attempts=state.attempts,
        endpoint_url=plan.endpoint,
    )
