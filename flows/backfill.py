"""The backfill flow: past days from archives (WARC, CC-NEWS) or dated sitemaps, one day at a time.

Days run in date order, each one pass of the pipeline (`flows.pipeline.ingest_and_dedup`) over
what the sources date in that UTC day, ``[D, D+1)``: WARC records by their WARC-Date, saved pages
by their file time, sitemap entries by lastmod or news publication date, feed entries by their
date. Undated sitemap and feed entries cannot be placed before they are fetched: they come with
the first day that runs. Each article is then dated by its published time (its fetch time where it
has none), which is the ``date=`` partition it lands in.

A finished day is recorded once its articles, errors, clusters and links are written, and only if
none of its inputs failed in a way worth retrying (a timeout, a 5xx, a task lost): a day read
during an outage is run again by the next backfill, which fetches only what it still lacks.

    <out>/state/backfill/<sources key>/<YYYY-MM-DD>.done     JSON: the day's counts and run id

written whole (`common.storage.write_bytes`). A rerun skips the days
recorded (unless asked to redo them) and redoes a day that died part-way: its articles already
written are not fetched again, and the dedup index takes the rest, so the tables end as those of
a run that was never interrupted. The sources key is a digest of the sorted source specs: the same
days over other sources are other work.

Each day holds the output root's lease while it runs, so scheduled runs can take turns between days.
"""

from __future__ import annotations

import json
import time
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import pyarrow as pa
import pyarrow.fs as pafs
from prefect import flow, get_run_logger

from common.storage import Location, StorageUnavailable, resolve, stable_name, write_bytes
from flows.artifacts import publish, write_run_report
from flows.exposure import check_run_parameters
from flows.lease import LeaseBusy
from flows.pipeline import ingest_and_dedup
from flows.runtime import ONE_AT_A_TIME, current_run_id, leased, library_log_levels, settings_with
from flows.summary import BackfillSummary, RunSummary

STATE_DIR = "state/backfill"


def days_between(start: date, end: date) -> list[date]:
    """Every day from `start` to `end`, both included, in order."""
    if end < start:
        raise ValueError(f"the backfill ends ({end}) before it starts ({start})")
    return [start + timedelta(days=n) for n in range((end - start).days + 1)]


def day_window(day: date) -> tuple[datetime, datetime]:
    """``[since, until)`` of a UTC day."""
    since = datetime.combine(day, dtime.min, tzinfo=UTC)
    return since, since + timedelta(days=1)


def sources_key(sources: list[str]) -> str:
    """A name for a set of sources (order and repeats aside) under which their finished days are kept."""
    return stable_name({s.strip() for s in sources})


def marker(root: Location, key: str, day: date) -> Location:
    """Where the marker of a finished day lives."""
    return root.child(*STATE_DIR.split("/"), key, f"{day.isoformat()}.done")


def is_done(root: Location, key: str, day: date) -> bool:
    """Whether the day's marker is there."""
    loc = marker(root, key, day)
    try:
        return bool(loc.fs.get_file_info(loc.path).type == pafs.FileType.File)
    except (OSError, pa.ArrowException) as exc:
        raise StorageUnavailable(f"cannot look for {loc.uri}: {exc}") from exc


def mark_done(root: Location, key: str, day: date, record: dict[str, Any]) -> str:
    """Write the day's marker whole (`common.storage.write_bytes`)."""
    data = json.dumps(record, sort_keys=True, default=str).encode()
    return write_bytes(data, marker(root, key, day))


@flow(name="copydesk-backfill", flow_run_name="backfill {start}..{end}", task_runner=ONE_AT_A_TIME)
def backfill(
    sources: list[str],
    start: date,
    end: date,
    out: str | None = None,
    *,
    redo: bool = False,
    allow_loopback: bool | None = None,
    per_host_delay_s: float | None = None,
    batch_size: int | None = None,
    sources_file: str | None = None,
    lanes: int = 1,
) -> BackfillSummary:
    """Ingest and deduplicate what `sources` date in each day from `start` to `end`, in date order.

    Args:
        sources: ``warc:PATH``, ``dir:PATH``, ``sitemap:URL``, ``feed:URL`` or ``urls:FILE`` specs.
        start, end: the first and last day (UTC), both included.
        out: output root, a folder or ``s3://bucket/prefix``; default ``COPYDESK_OUT``.
        redo: run the days already recorded as finished again (adds no rows: known articles are skipped).
        allow_loopback, per_host_delay_s, batch_size, sources_file: override the ``COPYDESK_*`` settings.
        lanes: fetch batches run at once, each host in one of them (the flow runs on a Dask cluster:
            `flows.dask_flows`); 1 runs them one after the other.

    Feed and sitemap state (`ingest.state`) is neither used nor advanced: a past day must read
    every document, and must not make the scheduled run take one for read.
    """
    started = time.monotonic()
    check_run_parameters(
        {"sources": sources, "out": out, "allow_loopback": allow_loopback, "sources_file": sources_file}
    )
    library_log_levels()
    logger = get_run_logger()
    settings = settings_with(
        out=out,
        allow_loopback=allow_loopback,
        fetch_per_host_delay_s=per_host_delay_s,
        batch_size=batch_size,
        sources_file=sources_file,
    )
    run_id = current_run_id()
    root = resolve(settings.out, endpoint_url=settings.s3_endpoint_url)
    key = sources_key(sources + ([f"sources-file:{settings.sources_file}"] if settings.sources_file else []))
    name = f"backfill {start}..{end}"
    summary = BackfillSummary(
        run_id=run_id, out=settings.out, sources=len(sources), start=str(start), end=str(end)
    )
    for day in days_between(start, end):
        if not redo and is_done(root, key, day):
            summary.days_skipped.append(day.isoformat())
            logger.info("%s: done before, skipped", day)
            continue
        since, until = day_window(day)
        part = RunSummary(run_id=run_id, out=settings.out, sources=len(sources))
        try:
            with leased(settings, run_id=run_id, what=f"{name}: {day}") as lease:
                ingest_and_dedup(sources, settings, part, lease=lease, since=since, until=until, lanes=lanes)
                if not part.errors_retryable:
                    mark_done(root, key, day, _record(day, part, sources))
        except LeaseBusy as exc:
            summary.busy = str(exc)
            logger.warning("stopped before %s: %s", day, exc)
            break
        summary.add(part)
        if part.errors_retryable:
            summary.days_unfinished.append(day.isoformat())
            logger.warning(
                "%s: %d inputs failed in a way worth retrying: not recorded as done, a rerun retries them",
                day,
                part.errors_retryable,
            )
        else:
            summary.days_done.append(day.isoformat())
        logger.info("%s: %d new articles, %d new clusters", day, part.articles_new, part.clusters_new)
    summary.seconds = round(time.monotonic() - started, 1)
    extra: list[tuple[str, Any]] = [
        ("sources", len(sources)),
        ("days done", len(summary.days_done)),
        ("days skipped (done before)", len(summary.days_skipped)),
    ]
    if summary.days_unfinished:
        extra.append(("days left to retry", len(summary.days_unfinished)))
    if summary.busy:
        extra.append(("stopped, store busy", summary.busy))
    report = None if summary.busy else write_run_report(settings.out, settings.report_dir)
    publish("backfill", summary, description=name, extra=extra, report=report)
    return summary


def _record(day: date, part: RunSummary, sources: list[str]) -> dict[str, Any]:
    return {
        "day": day.isoformat(),
        "run_id": part.run_id,
        "sources": sorted(set(sources)),
        "articles_new": part.articles_new,
        "pages_fetched": part.pages_fetched,
        "errors_new": part.errors_new,
        "finished_at": datetime.now(UTC).isoformat(),
    }
