"""`copydesk dedup`: deduplicate a table of texts on disk into `clusters/` and `links/`.

The texts are streamed: fingerprinted a batch at a time and dropped, so only the sketches of the
whole table are in memory at once. A second, narrow read fetches the texts of the expanded copies
to say what each added. The sketches are stored as the dedup index, so later batches of articles
can be matched against this table incrementally (`DedupIndex.update`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import pyarrow as pa
import pyarrow.compute as pc

from common import progress
from common.storage import Location, delete_files, list_files
from dedup.engine import deduplicate_batches, fill_added_text
from dedup.fingerprint_arrays import Fingerprints
from dedup.index import DedupIndex
from dedup.inputs import iter_text_batches
from dedup.params import DedupParams
from dedup.records import EXPANDED, DedupResult, Doc
from dedup.tables import replace_all


def fresh_index(root: Location) -> int:
    """Delete the dedup index under `root` (every parameter set's), so that a dedup of a table
    starts from none: one left by an earlier dedup would keep its sketches (the next update then
    writes two rows per article) and those of another input. Returns how many files went."""
    loc = root.child("index")
    files = list_files(loc, suffix="")
    delete_files(loc, files)
    return len(files)


@dataclass(slots=True)
class OfflineRun:
    """What a dedup of a table wrote."""

    articles: int
    result: DedupResult
    links: int


def dedup_table(
    path: str,
    root: Location,
    *,
    run_id: str,
    params: DedupParams | None = None,
    batch_rows: int = 50_000,
    fingerprinted: Iterable[tuple[Sequence[Doc], Fingerprints]] | None = None,
) -> OfflineRun:
    """Deduplicate the JSONL/Parquet table at `path` and replace `root/clusters/`, `root/links/` and
    the dedup index (`fresh_index`).

    `fingerprinted`: the table's rows already fingerprinted, in reading order (by Dask workers:
    `dedup.distributed`); the rest of the run is the same.
    """
    params = params or DedupParams()
    fresh_index(root)
    batches = fingerprinted if fingerprinted is not None else iter_text_batches(path, batch_rows=batch_rows)
    one = deduplicate_batches(batches, params)
    docs, fp, result = one.docs, one.fp, one.result
    # The index first, while the candidate probe it is made of is at hand; then the probe goes, before
    # the second read and the tables (a run that dies part-way is redone whole: every file is replaced).
    DedupIndex(root, params).bootstrap(docs, fp, probe=one.probe, lines=one.lines)
    del one
    return write_tables(path, root, docs, result, run_id=run_id, batch_rows=batch_rows)


def write_tables(
    path: str,
    root: Location,
    docs: Sequence[Doc],
    result: DedupResult,
    *,
    run_id: str,
    batch_rows: int = 50_000,
) -> OfflineRun:
    """The last steps of a dedup of the table at `path`, whichever way `result` was reached: what each
    expanded copy added (a second, narrow read of the texts), then `root/clusters/` and `root/links/`."""
    expanded = pa.array(
        sorted({a.article_id for a in result.assignments if a.relation == EXPANDED}), pa.string()
    )
    if len(expanded):
        texts: dict[str, str] = {}
        for batch, column in iter_text_batches(path, batch_rows=batch_rows):
            wanted = pc.is_in(pa.array([d.id for d in batch], pa.string()), value_set=expanded)
            ids = [d.id for d, w in zip(batch, wanted.to_pylist(), strict=True) if w]
            texts.update(zip(ids, pc.filter(column, wanted).to_pylist(), strict=True))
        fill_added_text(result, texts)
    with progress.stage("write", total=len(docs)) as step:
        _, links = replace_all(result, docs, root, run_id=run_id)
        step.advance(len(docs))
    return OfflineRun(articles=len(docs), result=result, links=links)
