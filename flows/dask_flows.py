"""Copydesk's flows on a Dask cluster: the backfill, its ingest shards run by Dask workers.

`backfill_on(spec, ...)` is what ``copydesk backfill --dask SPEC`` runs; `backfill_dask` is the same
as a flow of its own, for a deployment (infra/prefect.yaml) whose runs find the cluster in
``COPYDESK_DASK_ADDRESS`` or their `dask` parameter. The backfill itself is unchanged: the days run
in order, each under the output root's lease, its fetch batches in lanes by host across the
workers (`flows.lanes`); WARC and folder sources are read one after the other as in one process,
and dedup runs in the flow's own process, the index's single writer.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from prefect import flow

from flows.backfill import backfill
from flows.dask_runner import dask_task_runner, spec_from
from flows.summary import BackfillSummary


def backfill_on(
    spec: str | None, sources: list[str], start: date, end: date, out: str | None = None, **options: Any
) -> BackfillSummary:
    """`flows.backfill.backfill` with its tasks on the Dask cluster `spec` names (`flows.dask_runner`),
    or in this process when `spec` and ``COPYDESK_DASK_ADDRESS`` are both empty."""
    spec = spec_from(spec)
    if not spec:
        summary: BackfillSummary = backfill(sources, start, end, out, **options)
        return summary
    with dask_task_runner(spec) as target:
        run = backfill.with_options(task_runner=target.runner)
        summary = run(sources, start, end, out, lanes=target.lanes, **options)
        return summary


@flow(name="copydesk-backfill-dask", flow_run_name="backfill on dask {start}..{end}")
def backfill_dask(
    sources: list[str],
    start: date,
    end: date,
    out: str | None = None,
    *,
    dask: str | None = None,
    redo: bool = False,
    batch_size: int | None = None,
    sources_file: str | None = None,
) -> BackfillSummary:
    """Backfill `start`..`end` with the ingest shards on the Dask cluster at `dask` (default
    ``COPYDESK_DASK_ADDRESS``; ``local:N`` starts a LocalCluster for the run)."""
    return backfill_on(
        dask, sources, start, end, out, redo=redo, batch_size=batch_size, sources_file=sources_file
    )
