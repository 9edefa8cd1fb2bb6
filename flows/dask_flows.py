"""Copydesk's flows on a Dask cluster: the backfill, its ingest shards run by Dask workers, and
the dedup of a table, its stages run by them (`dedup.distributed`).

`backfill_on(spec, ...)` is what ``copydesk backfill --dask SPEC`` runs; `backfill_dask` is the same
as a flow of its own, for a deployment (infra/prefect.yaml) whose runs find the cluster in
``COPYDESK_DASK_ADDRESS`` or their `dask` parameter. The backfill itself is unchanged: the days run
in order, each under the output root's lease, its fetch batches in lanes by host across the
workers (`flows.lanes`); WARC and folder sources are read one after the other as in one process,
and dedup runs in the flow's own process, the index's single writer.

`dedup_table_dask` is ``copydesk dedup INPUT --out OUT --dask SPEC`` as a flow, for a deployment:
the same stages on the same cluster, under the output root's lease.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

from prefect import flow

from flows.backfill import backfill
from flows.dask_dedup import dedup_on, refuse_pipeline_root
from flows.dask_runner import DaskSetupError, dask_task_runner, spec_from
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
    from flows.exposure import check_run_parameters

    check_run_parameters({"dask": dask})  # the rest is checked by `backfill`
    return backfill_on(
        dask, sources, start, end, out, redo=redo, batch_size=batch_size, sources_file=sources_file
    )


@flow(name="copydesk-dedup-table-dask", flow_run_name="dedup {input} on dask")
def dedup_table_dask(input: str, out: str, *, dask: str | None = None) -> dict[str, int]:
    """Deduplicate the JSONL/Parquet table `input` into `out` (clusters/, links/, the dedup index)
    with its stages on the Dask cluster at `dask` (default ``COPYDESK_DASK_ADDRESS``)."""
    from flows.exposure import check_run_parameters
    from flows.lease import hold, lease_times_from_env

    check_run_parameters({"input": input, "out": out, "dask": dask})
    spec = spec_from(dask)
    if not spec:
        raise DaskSetupError("dedup_table_dask needs a cluster: give `dask` or set COPYDESK_DASK_ADDRESS")
    run_id = "dedup-" + datetime.now(UTC).strftime("%Y%m%dT%H%M%SZ")
    ttl_s, wait_s = lease_times_from_env()
    with hold(out, holder=run_id, what=f"dedup {input} on dask", ttl_s=ttl_s, wait_s=wait_s):
        refuse_pipeline_root(out)
        done = dedup_on(spec, input, out, run_id=run_id)
    return {
        "articles": done.articles,
        "clusters": len({a.cluster_id for a in done.result.assignments}),
        "links": done.links,
    }
