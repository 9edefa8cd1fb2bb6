"""``copydesk dedup --dask``'s part in flows: the cluster for `dedup.distributed.dedup_table_on`,
without importing Prefect (the command line's dedup imports neither Prefect nor ingest)."""

from __future__ import annotations

from typing import Any

from common.errors import CopydeskError
from common.storage import list_files, resolve
from flows.dask_runner import dask_client


class PipelineRoot(CopydeskError):
    """An output root that holds `articles/` of pipeline runs: a dedup of a table there would replace
    their grouping."""


def refuse_pipeline_root(out: str) -> None:
    """Raises `PipelineRoot` when `out` holds articles/ of pipeline runs."""
    root = resolve(out)
    if list_files(root.child("articles")):
        raise PipelineRoot(
            f"{root.uri} holds articles/ of pipeline runs: copydesk dedup replaces clusters/, "
            "links/ and the dedup index there, which would lose their grouping; use another --out"
        )


def dedup_on(spec: str, path: str, out: str, *, run_id: str) -> Any:
    """`dedup.distributed.dedup_table_on` of the table at `path` into `out`, on the cluster `spec`
    names (`flows.dask_runner.dask_client`); the caller holds `out`'s lease. Returns its `OfflineRun`.

    Raises:
        DaskSetupError: as `dask_client`.
    """
    from dedup.distributed import dedup_table_on

    with dask_client(spec) as client:
        return dedup_table_on(client, path, resolve(out), run_id=run_id)
