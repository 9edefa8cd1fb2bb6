"""`copydesk dedup --dask`: the fingerprint stage of `dedup.offline.dedup_table` on a cluster.

Fingerprinting (normalise, shingle, MinHash, anchors) is the stage that reads every text and costs
most of a run; its result per text depends on that text only. So the input is cut into shards
(`dedup.shards`: row groups of Parquet, whole JSONL files), each worker reads and fingerprints
its shards, and the fingerprints (a few hundred bytes per text, never the texts) come back in
reading order to `dedup_table`, which goes on exactly as in one process: boilerplate, candidates,
verification, clusters, the index and the tables are made by the same functions from the same
arrays, so the result is the single-process result, row for row. Ids are checked unique across
shards here, as the single-process reader checks them across batches.

`executor` is anything with `submit(fn, *args, **kwargs) -> future` and `future.result()`: a
`distributed.Client` (`flows.dask_runner.dask_client`), or a `concurrent.futures` pool. At most
`in_flight` shards are out at once, so the workers never hold more than that many results.

Not distributed (yet): candidates, verification and clustering run in the calling process, on
the whole table's fingerprints, as in one process (docs/benchmarks.md says what that costs).
"""

from __future__ import annotations

import logging
from collections import deque
from collections.abc import Iterator
from typing import Any

from common.storage import Location
from dedup.errors import InputError
from dedup.fingerprint import Fingerprints, fingerprint
from dedup.offline import OfflineRun, dedup_table
from dedup.params import DedupParams, MinHashParams
from dedup.records import Doc
from dedup.shards import Shard, input_shards, read_shard

log = logging.getLogger(__name__)


def fingerprint_shard(
    shard: Shard, params: MinHashParams, *, endpoint_url: str | None = None
) -> tuple[list[Doc], Fingerprints]:
    """The docs (without text) and fingerprints of one shard: the task a worker runs."""
    docs: list[Doc] = []
    parts: list[Fingerprints] = []
    for batch, texts in read_shard(shard, endpoint_url=endpoint_url):
        parts.append(fingerprint(texts, params))
        docs.extend(batch)
    if not parts:
        return [], fingerprint([], params)
    return docs, Fingerprints.concat(parts, consume=True)


def dedup_table_on(
    executor: Any,
    path: str,
    root: Location,
    *,
    run_id: str,
    params: DedupParams | None = None,
    shard_rows: int = 50_000,
    in_flight: int = 8,
    endpoint_url: str | None = None,
) -> OfflineRun:
    """`dedup_table(path, root)` with the fingerprints made by `executor`'s workers."""
    params = params or DedupParams()
    shards = input_shards(path, shard_rows=shard_rows, endpoint_url=endpoint_url)
    log.info("dedup: %s in %d shards", path, len(shards))
    batches = _fingerprinted(executor, shards, params.minhash, in_flight, endpoint_url)
    return dedup_table(path, root, run_id=run_id, params=params, fingerprinted=batches)


def _fingerprinted(
    executor: Any, shards: list[Shard], params: MinHashParams, in_flight: int, endpoint_url: str | None
) -> Iterator[tuple[list[Doc], Fingerprints]]:
    pending: deque[Any] = deque()
    todo = iter(shards)
    seen: set[str] = set()
    for shard in todo:
        pending.append(executor.submit(fingerprint_shard, shard, params, endpoint_url=endpoint_url))
        if len(pending) >= in_flight:
            break
    while pending:
        docs, fp = pending.popleft().result()
        nxt = next(todo, None)
        if nxt is not None:
            pending.append(executor.submit(fingerprint_shard, nxt, params, endpoint_url=endpoint_url))
        for d in docs:
            if d.id in seen:
                raise InputError(f"{path_of(shards)}: duplicate id {d.id!r} (it appears in two shards)")
            seen.add(d.id)
        yield docs, fp
    if not seen:
        raise InputError(f"{path_of(shards)}: no rows to deduplicate")


def path_of(shards: list[Shard]) -> str:
    return shards[0].uri if len(shards) == 1 else f"{shards[0].uri} and {len(shards) - 1} more"
