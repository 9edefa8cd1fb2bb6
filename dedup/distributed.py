"""`copydesk dedup --dask`: a dedup of a table in stages run by a cluster's workers, with no
all-to-all shuffle of texts, equal to `dedup.offline.dedup_table` row for row.

    1 fingerprint  ×input shards     read the texts, write sketches and line keys   (work files)
    2 line counts  ×line buckets     the boilerplate: lines a source repeats        → driver (small)
    3 partition    ×input shards     strip it, write anchors and keys by value range  → counts per text
    4 match        ×value ranges     sort and group: (holder, other) hits             (work files)
    5 pairs        ×holder buckets   hits summed, judged: candidate pairs             → driver
    6 verify       ×pair shards      links, from the sketches of the texts they name  → driver
    7 driver       cluster (connected components and the per-cluster decisions), describe, and
                   clusters/, links/ and the dedup index written as `dedup_table` writes them

Texts are read twice, as in one process: by the workers (stage 1), each its own shards, and by the
driver for the few expanded copies whose added text the tables carry. What moves between stages
are sketches and integer keys, written to a work folder (`<out>/_work-<run id>-<random>/` unless given:
local or S3, every worker must reach it), deleted at the end, or by the next run on that output
root when this one is killed part-way. The stage tasks are
`dedup.distributed_stages`; each stage is the engine's own stage cut where the cut changes nothing
(that module says why), and verification, clustering and describing call the engine's functions.

`dedup_stages` is the computation alone, in a `work_folder`: the docs and their grouping, no
table and no index written (`flows.recluster` regroups a date range's articles with it).

`executor` is anything with `submit(fn, *args) -> future` and `future.result()`: a
`distributed.Client` (`flows.dask_runner.dask_client`), or a `concurrent.futures` pool. Tasks are
shards of thousands of texts or pairs (a task costs a scheduler round trip; under Prefect, about
200 ms). What still runs on the driver and how far it goes: docs/benchmarks.md, *End to end*.
"""

from __future__ import annotations

import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from common import progress
from common.storage import Location
from dedup.boilerplate import LineCounts
from dedup.candidates import exact_pairs
from dedup.cluster import cluster
from dedup.describe import describe
from dedup.distributed_files import Work, work_under
from dedup.distributed_rows import holding_rows, spread_rows
from dedup.distributed_stages import (
    bucket_pairs,
    count_lines,
    fingerprint_shard,
    gather_rows,
    match_range,
    partition_shard,
    verify_pairs,
)
from dedup.engine import precedence
from dedup.errors import InputError
from dedup.fingerprint_arrays import Fingerprints
from dedup.index import DedupIndex
from dedup.offline import OfflineRun, fresh_index, write_tables
from dedup.params import DedupParams
from dedup.records import DedupResult, Doc
from dedup.shards import Shard, input_shards
from dedup.verify import Verified

log = logging.getLogger(__name__)


def dedup_table_on(
    executor: Any,
    path: str,
    root: Location,
    *,
    run_id: str,
    params: DedupParams | None = None,
    shard_rows: int = 50_000,
    pair_rows: int = 100_000,
    work_uri: str | None = None,
    endpoint_url: str | None = None,
    index: bool = True,
) -> OfflineRun:
    """`dedup_table(path, root)` in stages on `executor`'s workers (see the module doc): `dedup_stages`
    in a `work_folder` under `root` (or at `work_uri`), then the tables as `dedup_table` writes them.

    `index`: store the dedup index as `dedup_table` does (its bootstrap reads every sketch into
    the driver: the one step left that holds the whole table).

    Raises:
        InputError: as `dedup_table`, and for an id found in two shards.
    """
    params = params or DedupParams()
    with work_folder(root, run_id, endpoint_url=endpoint_url, work_uri=work_uri) as work:
        staged = dedup_stages(executor, path, work, params=params, shard_rows=shard_rows, pair_rows=pair_rows)
        fresh_index(root)
        if index:
            DedupIndex(root, params).bootstrap(staged.docs, staged.sketches())
    return write_tables(path, root, staged.docs, staged.result, run_id=run_id)


@contextlib.contextmanager
def work_folder(
    root: Location, run_id: str, *, endpoint_url: str | None = None, work_uri: str | None = None
) -> Iterator[Work]:
    """A run's work folder for the block: a fresh one directly under `root` (once the folders of runs
    killed part-way are deleted: `work_under`; the caller holds the root's lease), or `work_uri`.
    Deleted when the block ends, however it ends."""
    work = Work(work_uri, endpoint_url) if work_uri else work_under(root, run_id, endpoint_url)
    try:
        yield work
    finally:
        work.remove()


@dataclass(slots=True)
class Staged:
    """What the stages decided: the docs (without text, in the input's reading order) and their
    grouping, with `added_text` left empty (`engine.fill_added_text` fills it from the texts)."""

    docs: list[Doc]
    result: DedupResult
    work: Work
    starts: list[int]  # each shard's first row, and the table's size last
    lines: LineCounts  # the boilerplate counts of the whole table
    params: DedupParams

    def sketches(self) -> Fingerprints:
        """Every doc's sketch, boilerplate stripped, read back from the work folder (while it lasts)."""
        every = np.arange(len(self.docs), dtype=np.int64)
        return gather_rows(self.work, every, self.starts, self.params, self.lines)[1]


def dedup_stages(
    executor: Any,
    path: str,
    work: Work,
    *,
    params: DedupParams | None = None,
    shard_rows: int = 50_000,
    pair_rows: int = 100_000,
) -> Staged:
    """Group the table at `path` in stages on `executor`'s workers, their files in `work` (which
    the caller deletes: `work_folder`); writes no table and no index.

    `shard_rows` texts make an input shard, and the number of shards sets the number of line
    buckets, value ranges and holder buckets too; `pair_rows` candidate pairs make a verify task.

    Raises:
        InputError: as `dedup_table`, and for an id found in two shards.
    """
    params = params or DedupParams()
    shards = input_shards(path, shard_rows=shard_rows, endpoint_url=work.endpoint_url)
    if not shards:
        raise InputError(f"{path}: no rows to deduplicate")
    parts = len(shards)
    log.info("dedup: %s in %d shards, work files in %s", path, parts, work.uri)
    t0 = time.perf_counter()
    with progress.stage("fingerprint", total=parts) as step:
        calls = [(fingerprint_shard, work, s, sh, params, parts) for s, sh in enumerate(shards)]
        docs_of = _run(executor, calls, lambda _: step.advance(1))
    docs = _joined(docs_of, shards)
    n = len(docs)
    starts = np.concatenate([[0], np.cumsum([len(d) for d in docs_of])]).astype(np.int64).tolist()
    del docs_of
    t1 = time.perf_counter()
    min_texts = params.match.counted_min_texts()
    lines = _merged(_run(executor, [(count_lines, work, b, parts, min_texts) for b in range(parts)]))
    split = _run(
        executor, [(partition_shard, work, s, starts[s], n, params, lines, parts) for s in range(parts)]
    )
    counts = np.concatenate([c for c, _ in split])
    hashes = np.concatenate([h for _, h in split])
    del split
    t2 = time.perf_counter()
    with progress.stage("match", total=parts) as step:
        _run(executor, [(match_range, work, r, parts, n, parts, params) for r in range(parts)])
        step.advance(parts)
        first = [-(-h * n // parts) for h in range(parts + 1)]  # each holder bucket's first row
        proposed = _run(
            executor,
            [
                (bucket_pairs, work, h, parts, n, counts[first[h] : first[h + 1]], first[h], params)
                for h in range(parts)
            ],
        )
    pairs = _candidates(proposed, exact_pairs(hashes), n)
    del proposed, hashes
    t3 = time.perf_counter()
    rank = np.asarray(precedence(docs), dtype=np.int64)
    slices = [pairs[lo : lo + pair_rows] for lo in range(0, len(pairs), pair_rows)]
    with progress.stage("verify", total=len(pairs)) as step:
        checks = [(verify_pairs, work, p, rank[np.unique(p)], starts, params, lines) for p in slices]
        found = _run(executor, checks, lambda k: step.advance(len(slices[k])))
    verified = _verified(found)
    t4 = time.perf_counter()
    held = holding_rows(verified.links)
    held_docs, held_fp = gather_rows(work, held, starts, params, lines)
    spread = spread_rows(held_fp, held, n)
    m = params.match
    clusters = cluster(n, rank.tolist(), verified.links, spread, m.main_story, m.version_min)
    result = describe(docs, clusters, verified)
    del held_fp, held_docs, spread
    t5 = time.perf_counter()
    log.info(
        "dedup on dask: %d docs, %d candidate pairs, %d links; fingerprint %.2fs, strip %.2fs, "
        "candidates %.2fs, verify %.2fs, cluster %.2fs",
        *(n, len(pairs), len(verified.links)),
        *(t1 - t0, t2 - t1, t3 - t2, t4 - t3, t5 - t4),
    )
    return Staged(docs, result, work, starts, lines, params)


def _run(
    executor: Any, calls: Sequence[tuple[Any, ...]], done: Callable[[int], object] | None = None
) -> list[Any]:
    """Submit every call (a function and its arguments) at once and wait for all: the results in
    call order; `done(k)` once call k's result is in (in call order)."""
    futures = [executor.submit(fn, *args) for fn, *args in calls]
    out = []
    for k, f in enumerate(futures):
        out.append(f.result())
        if done is not None:
            done(k)
    return out


def _joined(docs_of: list[list[Doc]], shards: list[Shard]) -> list[Doc]:
    """The docs of every shard in reading order, ids checked unique across shards."""
    seen: set[str] = set()
    docs: list[Doc] = []
    for part in docs_of:
        for d in part:
            if d.id in seen:
                raise InputError(f"{path_of(shards)}: duplicate id {d.id!r} (it appears in two shards)")
            seen.add(d.id)
        docs.extend(part)
    if not docs:
        raise InputError(f"{path_of(shards)}: no rows to deduplicate")
    return docs


def _merged(parts: list[LineCounts]) -> LineCounts:
    """The line counts of disjoint buckets as one sorted table."""
    keys = np.concatenate([p.keys for p in parts]) if parts else np.zeros(0, np.uint64)
    counts = np.concatenate([p.counts for p in parts]) if parts else np.zeros(0, np.int32)
    order = np.argsort(keys, kind="stable")
    return LineCounts(keys[order], counts[order])


def _candidates(proposed: list[np.ndarray], exact: np.ndarray, n: int) -> np.ndarray:
    """Every candidate pair (i < j) once, sorted: as `candidates.candidate_pairs` makes them."""
    codes = np.concatenate([*proposed, exact[:, 0] * n + exact[:, 1], np.zeros(0, np.int64)])
    code = np.unique(codes.astype(np.int64))
    return np.stack([code // n, code % n], axis=1) if code.size else np.zeros((0, 2), np.int64)


def _verified(found: list[Verified]) -> Verified:
    """The links of every pair shard, in the order of the pairs."""
    out = Verified()
    for part in found:
        out.links.extend(part.links)
        out.measures.update(part.measures)
        out.holder_kept.update(part.holder_kept)
    return out


def path_of(shards: list[Shard]) -> str:
    return shards[0].uri if len(shards) == 1 else f"{shards[0].uri} and {len(shards) - 1} more"
