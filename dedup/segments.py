"""The lookup segments of a dedup index: opened once per process, one written per batch, merged by tier.

    <root>/index/<params tag>/lookup/seg-<digest>.lookup

A segment (`dedup.lookup`) covers some sketch files (`dedup.sketches`) as flat arrays made for
range reads. Each batch writes one over its sketch files; when `_MERGE_AT` segments of a size tier
(a power of 8 rows) pile up they are merged into one, so the segments stay few. Sketch files that
no segment covers (an index written before segments existed, or a run that died between the two
writes) are read whole once and given one.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from common.storage import Location, delete_files, list_files
from dedup import lookup, lookup_format
from dedup.boilerplate import LineCounts, source_keys
from dedup.candidates import HistoryPart, Probe
from dedup.fingerprint_arrays import Fingerprints
from dedup.index_cache import IndexView, view_of
from dedup.params import DedupParams
from dedup.records import Doc
from dedup.sketches import SKETCH_SCHEMA, in_window, sketches_to_docs

log = logging.getLogger(__name__)

#: Segments of one size tier (a power of 8 rows) merged into one when there are this many.
_MERGE_AT = 8
#: No merge makes a segment larger than this (a merge holds its rows in memory).
_MERGE_MAX_ROWS = 1_000_000

#: Per sketch file: the article ids, each row's offset in the metadata blob, the blob.
Metas = Sequence[tuple[list[str], np.ndarray, bytes]]


@dataclass(slots=True)
class Part:
    """A lookup segment as a batch uses it: the rows of its files that are in the window."""

    seg: lookup.Segment
    mask: np.ndarray | None  # rows that count; None: all

    @property
    def size(self) -> int:
        return self.seg.rows if self.mask is None else int(self.mask.sum())

    def history(self) -> HistoryPart:
        seg = self.seg
        return HistoryPart(seg.anchors_near, lambda _: seg.keys, seg.doc_bits, seg.counts, self.mask)


class Segments:
    """The lookup segments over an index's sketch files, and what this process keeps of them."""

    def __init__(self, sketches: Location, folder: Location, params: DedupParams) -> None:
        self.sketches, self.folder, self.params = sketches, folder, params

    def view(self) -> IndexView:
        return view_of(self.sketches.uri, self.params.tag())

    def rel(self, path: str) -> str:
        """A sketch file's path as segments name it: relative to the sketches folder."""
        return path[len(self.sketches.path.rstrip("/")) + 1 :]

    def opened(self) -> list[lookup.Segment]:
        """The lookup segments in the store, largest first (opened once per process)."""
        view = self.view()
        paths = list_files(self.folder, suffix=lookup_format.SUFFIX)
        for path in set(view.lookups) - set(paths):
            del view.lookups[path]
        for path in paths:
            if path not in view.lookups:
                view.lookups[path] = lookup.Segment.open(self.folder.fs, path)
        return sorted(view.lookups.values(), key=lambda s: (-s.rows, s.path))

    def write(
        self,
        files: list[str],
        file_of_row: np.ndarray,
        docs: Sequence[Doc],
        fp: Fingerprints,
        metas: Metas,
        *,
        probe: Probe | None = None,
        lines: LineCounts | None = None,
    ) -> lookup.Segment:
        """Write a lookup segment over these sketch files (row i of `fp` is docs[i]) and open it."""
        offsets, meta = lookup_format.concat_meta([(m[1], m[2]) for m in metas])
        ids = lookup_format.id_hashes([d.id for d in docs])
        lines = lines if lines is not None else LineCounts.of(fp, source_keys(docs), min_texts=1)
        data = lookup_format.SegmentData(files, file_of_row, ids, fp, metas[0][0], offsets, meta, lines)
        path = lookup_format.write_segment(
            self.folder, data, index_keys=self.params.match.index_keys, probe=probe
        )
        seg = lookup.Segment.open(self.folder.fs, path)
        self.view().lookups[path] = seg
        return seg

    def build(self, paths: Sequence[str]) -> lookup.Segment:
        """Read these sketch files whole and write the lookup segment over them."""
        log.info("dedup index: building the lookup segment of %d sketch files", len(paths))
        tables = [pq.read_table(p, filesystem=self.sketches.fs) for p in paths]
        table = pa.concat_tables(tables, promote_options="default")
        docs, fp = sketches_to_docs(table, self.params.minhash.num_perm)
        file_of_row = np.repeat(np.arange(len(paths), dtype=np.int32), [t.num_rows for t in tables])
        return self.write(
            [self.rel(p) for p in paths], file_of_row, docs, fp, [lookup_format.meta_blobs(table)]
        )

    def uncovered(self) -> list[str]:
        """The sketch files that no lookup segment covers."""
        covered = {f for seg in self.opened() for f in seg.files}
        return [p for p in list_files(self.sketches) if self.rel(p) not in covered]

    def known(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` the index holds: looked up by id hash in the lookup segments, and read
        from the sketch files that no segment covers."""
        view = self.view()
        files = list_files(self.sketches)
        if all(p in view.id_files for p in files):
            return {i for i in ids if i in view.ids}
        stored = {self.rel(p) for p in files}
        covered: set[str] = set()
        found: set[str] = set()
        hashes = lookup_format.id_hashes(ids)
        for seg in self.opened():
            covered.update(seg.files)
            rows = seg.rows_of(hashes)
            hit = np.flatnonzero(rows >= 0)
            found.update(ids[i] for i in hit.tolist() if seg.files[seg.file_of_row[rows[i]]] in stored)
        for path in files:
            if self.rel(path) not in covered and path not in view.id_files:
                table = pq.read_table(path, columns=["article_id"], filesystem=self.sketches.fs)
                view.ids.update(table["article_id"].to_pylist())
                view.id_files.add(path)
        return found | {i for i in ids if i in view.ids}

    def window(self, lo: date, hi: date) -> list[Part]:
        """The rows of every stored sketch file dated in ``[lo, hi]``, from the lookup segments;
        files that no segment covers are read whole once and given one."""
        files = [p for p in list_files(self.sketches) if in_window(p, lo, hi)]
        wanted = {self.rel(p) for p in files}
        claimed: set[str] = set()
        parts: list[Part] = []
        for seg in self.opened():
            use = [k for k, f in enumerate(seg.files) if f in wanted and f not in claimed]
            if not use:
                continue
            claimed.update(seg.files[k] for k in use)
            mask = None if len(use) == len(seg.files) else np.isin(seg.file_of_row, use)
            parts.append(Part(seg, mask))
        missing = [p for p in files if self.rel(p) not in claimed]
        if missing:
            parts.append(Part(self.build(missing), None))
        return parts

    def read_rows(self, seg: lookup.Segment, rows: np.ndarray) -> tuple[list[Doc], Fingerprints]:
        """History docs (text left empty) and fingerprints of these rows of a segment."""
        table = seg.read_rows(rows, SKETCH_SCHEMA)
        return sketches_to_docs(table, self.params.minhash.num_perm)

    def compact(self) -> None:
        """Merge small segments: when a size tier (a power of 8 rows) holds `_MERGE_AT` segments,
        they become one, so the segments stay few however many batches run."""
        tiers: dict[int, list[lookup.Segment]] = {}
        for seg in self.opened():
            if seg.rows * _MERGE_AT <= _MERGE_MAX_ROWS:
                tiers.setdefault(max(seg.rows, 1).bit_length() // 3, []).append(seg)
        for tier in tiers.values():
            if len(tier) < _MERGE_AT:
                continue
            merged = lookup_format.SegmentData.concat([s.read_all() for s in tier])
            path = lookup_format.write_segment(self.folder, merged, index_keys=self.params.match.index_keys)
            self.view().lookups[path] = lookup.Segment.open(self.folder.fs, path)
            delete_files(self.folder, [s.path for s in tier if s.path != path])
