"""The `dedup` flow: group the articles of a date range again, from scratch, and rewrite their rows.

What it does, for the range ``[start, end]`` (days of the ``date=`` partition, both included):

1. takes the articles of those days from `articles/`, and with them every member of the clusters
   they are in now (so a cluster that crosses the range's edge is regrouped whole);
2. deduplicates them in one pass (`dedup.engine.deduplicate`): the same code the incremental index
   uses, over all of them at once, with no window of days; or, given a Dask cluster (`dask`: the
   `copydesk recluster --dask` value, else ``COPYDESK_DASK_ADDRESS``), in stages on its workers
   (`dedup.distributed.dedup_stages`, the same grouping row for row), from a Parquet copy of those
   articles in a work folder under the output root (``_work-<run id>-<random>/``, which every
   worker must reach; deleted at the end, or by the next staged run when this one is killed);
3. rewrites their rows of `clusters/` (`dedup.tables.upsert_clusters`): each new cluster keeps the
   id its members had (the id of the member with the earliest original wins), so a cluster that
   comes out as it was keeps its id; a cluster that is split gives its id to the part with the
   earliest original, and the other parts get new ids.

What it leaves alone: the articles outside that set (an article of the day after the range is not
matched against it unless it already shared a cluster with it), `links/` (the relations the
incremental index recorded), and the index's sketches (fingerprints of the texts as they were
indexed). Use it after a change of the dedup code or parameters, or after `reextract`, over the
days concerned; it holds the output root's lease like any run.
"""

from __future__ import annotations

import time
from dataclasses import asdict, dataclass
from datetime import date
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc
from prefect import flow, get_run_logger, task

from common.storage import Location, resolve, write_file
from dedup.cluster_ids import stable_ids, with_cluster_members
from dedup.engine import deduplicate, fill_added_text
from dedup.inputs import docs_from_table
from dedup.params import DedupParams
from dedup.records import EXPANDED, DedupResult, Doc
from dedup.tables import clusters_table, doc_date, read_membership, upsert_clusters
from flows.backfill import days_between
from flows.dask_runner import spec_from
from flows.dedup_reads import DEDUP_COLUMNS
from flows.exposure import check_run_parameters
from flows.lease import LeaseBusy
from flows.runtime import current_run_id, leased, library_log_levels, retrying, settings_with
from flows.tasks import TASK_DEFAULTS, first_of_each
from ingest.tables import read_articles


@dataclass(slots=True)
class ReclusterOutcome:
    """What a re-clustering changed."""

    start: str
    end: str
    articles_in_range: int = 0
    articles_regrouped: int = 0
    clusters_before: int = 0
    clusters_after: int = 0
    articles_moved: int = 0
    seconds: float = 0.0
    busy: str | None = None


def recluster_range(
    root: Location,
    start: date,
    end: date,
    *,
    run_id: str,
    params: DedupParams | None = None,
    dask: str | None = None,
    endpoint_url: str | None = None,
    shard_rows: int = 50_000,
) -> ReclusterOutcome:
    """Deduplicate again the articles dated `start`..`end` (and their clusters' members); see the module.

    `dask`: a ``--dask`` value (`flows.dask_runner.parse_spec`) to group them in stages on that
    cluster, `shard_rows` articles to a stage task; None groups them in this process.
    `endpoint_url`: the S3 endpoint the workers reach the work folder by.

    Raises:
        DaskSetupError: as `flows.dask_runner.dask_client`.
    """
    started = time.monotonic()
    outcome = ReclusterOutcome(start=str(start), end=str(end))
    days = {d.isoformat() for d in days_between(start, end)}
    in_range = _articles(root, days=days)
    if in_range is None or in_range.num_rows == 0:
        return outcome
    ids = set(in_range["article_id"].to_pylist())
    previous = read_membership(root)
    outside_ids = sorted(with_cluster_members(ids, previous) - ids)
    outside = previous.filter(pc.is_in(previous["article_id"], value_set=pa.array(outside_ids, pa.string())))
    tables = [in_range]
    if outside.num_rows:
        more = _articles(
            root, days=set(outside["date"].to_pylist()), ids=set(outside["article_id"].to_pylist())
        )
        if more is not None:
            tables.append(more)
    table = _first_of_each_id(pa.concat_tables(tables))
    if dask:
        docs, result = _grouped_on(
            dask, table, root, run_id=run_id, params=params, endpoint_url=endpoint_url, shard_rows=shard_rows
        )
    else:
        docs = docs_from_table(table, where=root.child("articles").uri)
        result = deduplicate(docs, params)
    old = dict(zip(previous["article_id"].to_pylist(), previous["cluster_id"].to_pylist(), strict=True))
    regrouped = {d.id for d in docs}
    held_elsewhere = {c for a, c in old.items() if a not in regrouped}
    rows = result.assignments
    stable_ids(rows, docs, old=old, taken=held_elsewhere)
    upsert_clusters(root, clusters_table(rows, {d.id: doc_date(d) for d in docs}, run_id=run_id))
    outcome.articles_in_range = len(ids)
    outcome.articles_regrouped = len(docs)
    outcome.clusters_before = len({old[d.id] for d in docs if d.id in old})
    outcome.clusters_after = len({r.cluster_id for r in rows})
    outcome.articles_moved = sum(1 for r in rows if old.get(r.article_id) != r.cluster_id)
    outcome.seconds = round(time.monotonic() - started, 2)
    return outcome


def _first_of_each_id(table: pa.Table) -> pa.Table:
    """The rows of `table` with the first of each article id (an article a run wrote twice)."""
    ids = table["article_id"].to_pylist()
    return table.take(first_of_each(range(len(ids)), lambda i: ids[i]))


def _grouped_on(
    spec: str,
    table: pa.Table,
    root: Location,
    *,
    run_id: str,
    params: DedupParams | None,
    endpoint_url: str | None,
    shard_rows: int,
) -> tuple[list[Doc], DedupResult]:
    """The docs of `table` (without text) and their grouping, by `dedup.distributed.dedup_stages`
    on the cluster `spec` names, its input a copy of `table` in the work folder, a file per shard."""
    from dedup.distributed import dedup_stages, work_folder
    from flows.dask_runner import dask_client

    with dask_client(spec) as client, work_folder(root, run_id, endpoint_url=endpoint_url) as work:
        for k, lo in enumerate(range(0, table.num_rows, shard_rows)):
            write_file(table.slice(lo, shard_rows), work.loc, f"input/part-{k:05d}.parquet")
        staged = dedup_stages(client, work.loc.child("input").uri, work, params=params, shard_rows=shard_rows)
    wanted = {a.article_id for a in staged.result.assignments if a.relation == EXPANDED}
    texts = {
        i: t
        for i, t in zip(table["article_id"].to_pylist(), table["text"].to_pylist(), strict=True)
        if i in wanted
    }
    fill_added_text(staged.result, texts)
    return staged.docs, staged.result


def _articles(root: Location, *, days: set[str], ids: set[str] | None = None) -> pa.Table | None:
    """Rows of `articles/` in the given ``date=`` partitions (and among `ids` when given)."""
    return read_articles(root, columns=DEDUP_COLUMNS, days=days, ids=ids)


@task(name="recluster", task_run_name="recluster {start}..{end}", **TASK_DEFAULTS)
def recluster_task(
    out: str,
    start: date,
    end: date,
    *,
    run_id: str,
    endpoint_url: str | None = None,
    dask: str | None = None,
) -> ReclusterOutcome:
    """`recluster_range` as a task (retried on transient store errors)."""
    root = resolve(out, endpoint_url=endpoint_url)
    return recluster_range(root, start, end, run_id=run_id, dask=dask, endpoint_url=endpoint_url)


@flow(name="copydesk-dedup", flow_run_name="dedup {start}..{end}")
def dedup_range(start: date, end: date, out: str | None = None, dask: str | None = None) -> ReclusterOutcome:
    """Group the articles dated `start`..`end` again from scratch and rewrite their `clusters/` rows;
    in stages on the Dask cluster at `dask` (default ``COPYDESK_DASK_ADDRESS``; ``local[:N]`` starts a
    LocalCluster for the run) when one is given, else in this process."""
    from prefect.artifacts import create_table_artifact

    check_run_parameters({"out": out, "dask": dask})
    library_log_levels()
    logger = get_run_logger()
    settings = settings_with(out=out)
    run_id = current_run_id()
    name = f"dedup {start}..{end}"
    try:
        with leased(settings, run_id=run_id, what=name):
            outcome = retrying(recluster_task, settings)(
                settings.out,
                start,
                end,
                run_id=run_id,
                endpoint_url=settings.s3_endpoint_url,
                dask=spec_from(dask),
            )
    except LeaseBusy as exc:
        logger.warning("nothing done: %s", exc)
        outcome = ReclusterOutcome(start=str(start), end=str(end), busy=str(exc))
    logger.info(
        "%s: %d articles regrouped (%d in the range), %d clusters before, %d after, %d moved",
        name,
        outcome.articles_regrouped,
        outcome.articles_in_range,
        outcome.clusters_before,
        outcome.clusters_after,
        outcome.articles_moved,
    )
    table: list[dict[str, Any]] = [
        {"count": k, "value": v} for k, v in asdict(outcome).items() if k not in ("start", "end")
    ]
    create_table_artifact(table, key="copydesk-dedup-counts", description=name)
    return outcome
