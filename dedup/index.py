"""The incremental dedup index: sketches kept in the output store, matched batch by batch.

State lives beside the tables it feeds (a local folder or S3 alike):

    <root>/index/<params tag>/sketches/date=YYYY-MM-DD/<batch>.parquet
        article_id, dates, source, content hash, MinHash signature, anchors and their paragraphs
    <root>/index/<params tag>/lookup/seg-<digest>.lookup
        lookup segments (dedup/lookup.py): the same rows of some sketch files, as flat arrays made
        for range reads: the anchors and keys packed and sorted (as `Probe` has them, with a fence
        every 256 entries), id hashes, and each row's signature, anchors and metadata by offset
    <root>/clusters/   one row per article, its current grouping (also the index's membership)
    <root>/links/      verified relations, one file per batch

A batch of new articles is fingerprinted, then matched against the sketches of the history in a
window of days around it (default 30): the cost grows with the batch and the window, not with the
whole history. Nothing is loaded whole: the batch's keys are looked up in the pages of the
segments' sorted anchors where they fall, its anchors in the segments' sorted keys (read whole:
16 per article), and only the candidates found, with the other members of their clusters, are
read by row and verified. A process keeps the segments it opened (keys, fences, counts), so a
long-lived worker reads less still. The clusters that the batch touches are regrouped with the
same code as a one-pass dedup, so a backfill and the same days run by run give the same clusters.
Cluster ids never change once given: a cluster that a new article joins keeps its id; when two
merge, the id of the one with the earlier original survives and the merge is logged and returned.

Each batch writes one segment over its sketch files; when 8 segments of a size tier (a power of
8 rows) pile up they are merged into one, so the segments stay few. `bootstrap` writes one over
the whole table. Sketch files that no segment covers (an index written before segments existed,
or a run that died between the two writes) are read whole once and given one (`build_lookups`).

Writes go links, then clusters, then sketches, then the segment: the sketches are the commit
point, so a run that dies part-way is redone whole by the next, which overwrites the same
deterministic files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence, Set
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.storage import Location, delete_files, list_files, stable_name, write_partitioned
from dedup import lookup
from dedup.boilerplate import Counted, LineCounts, source_keys, strip_boilerplate
from dedup.candidates import HistoryPart, Probe, cross_pairs_parts
from dedup.engine import cluster_id_for, fill_added_text, group, precedence
from dedup.fingerprint import Fingerprints, fingerprint, hashes_from_hex, hashes_to_hex
from dedup.params import DedupParams
from dedup.records import EXPANDED, Assignment, DedupResult, Doc, Link
from dedup.tables import (
    NULL_PARTITION,
    clusters_table,
    doc_date,
    links_table,
    read_membership,
    upsert_clusters,
    write_links,
)

log = logging.getLogger(__name__)

#: Reads stored texts: {article id: its date partition or None} -> {article id: text}.
TextSource = Callable[[Mapping[str, str | None]], Mapping[str, str]]

SKETCH_SCHEMA = pa.schema(
    [
        ("article_id", pa.string()),
        ("source", pa.string()),
        ("url", pa.string()),
        ("canonical_url", pa.string()),
        ("published_at", pa.timestamp("us", tz="UTC")),
        ("fetched_at", pa.timestamp("us", tz="UTC")),
        ("n_shingles", pa.int32()),
        ("content_hash", pa.string()),
        ("signature", pa.binary()),
        ("anchors", pa.binary()),
        ("anchor_paras", pa.binary()),
        ("para_keys", pa.binary()),
        ("date", pa.string()),
        ("source_priority", pa.int32()),  # added later: older sketch files lack it (read as None)
    ]
)


@dataclass(slots=True)
class IndexUpdate:
    """What one batch changed."""

    new_articles: int = 0
    skipped: int = 0
    assignments: list[Assignment] = field(default_factory=list)  # every row rewritten in clusters/
    links: list[Link] = field(default_factory=list)
    merges: list[tuple[str, str]] = field(default_factory=list)  # (surviving id, absorbed id)
    history_loaded: int = 0
    seconds: float = 0.0


@dataclass(slots=True)
class _View:
    """What a process has read of one index: files never change once written, so a long-lived
    process (a scheduled worker) keeps the lookup segments it opened (their keys and fences)."""

    lookups: dict[str, lookup.Segment] = field(default_factory=dict)  # open segment files by path
    ids: set[str] = field(default_factory=set)  # every stored article id ...
    id_files: set[str] = field(default_factory=set)  # ... read from these files
    membership: pa.Table | None = None  # clusters/ (article_id, cluster_id, date) as last written ...
    clusters_state: list[tuple[str, int, int]] = field(default_factory=list)  # ... when its files were these


@dataclass(slots=True)
class _Part:
    """A lookup segment as a batch uses it: the rows of its files that are in the window."""

    seg: lookup.Segment
    mask: np.ndarray | None  # rows that count; None: all

    @property
    def size(self) -> int:
        return self.seg.rows if self.mask is None else int(self.mask.sum())

    def history(self) -> HistoryPart:
        seg = self.seg
        return HistoryPart(seg.anchors_near, lambda _: seg.keys, seg.doc_bits, seg.counts, self.mask)


#: What this process has loaded, by index location and parameters.
_VIEWS: dict[tuple[str, str], _View] = {}
#: Segments of one size tier (a power of 8 rows) merged into one when there are this many.
_MERGE_AT = 8
#: No merge makes a segment larger than this (a merge holds its rows in memory).
_MERGE_MAX_ROWS = 1_000_000
_MAX_BINARY = (1 << 31) - 1  # bytes in one chunk of a binary column


def clear_cache() -> None:
    """Forget the sketches this process has loaded."""
    _VIEWS.clear()


class DedupIndex:
    """The dedup state under an output root; `update(docs)` adds a batch of articles."""

    def __init__(
        self,
        root: Location,
        params: DedupParams | None = None,
        *,
        window_days: int = 30,
        texts: TextSource | None = None,
    ) -> None:
        """Args:
        texts: reads the texts of stored articles, given their ids and date partitions, for the
            rare history article that becomes an expanded copy when its original arrives later
            (the sketches keep no text). Without it, such a row's `added_text` stays empty.
        """
        self.root = root
        self.params = params or DedupParams()
        self.window = timedelta(days=window_days)
        self.sketches = root.child("index", self.params.tag(), "sketches")
        self.lookup = root.child("index", self.params.tag(), "lookup")
        self.texts = texts

    def _view(self) -> _View:
        return _VIEWS.setdefault((self.sketches.uri, self.params.tag()), _View())

    def known_ids(self) -> set[str]:
        """Ids of every article in the index (kept, and extended by each file this process reads)."""
        view = self._view()
        for path in list_files(self.sketches):
            if path not in view.id_files:
                table = pq.read_table(path, columns=["article_id"], filesystem=self.sketches.fs)
                view.ids.update(table["article_id"].to_pylist())
                view.id_files.add(path)
        return view.ids

    def update(self, docs: Sequence[Doc], *, run_id: str) -> IndexUpdate:
        """Match a batch against the history, regroup what it touches, and store the result."""
        t0 = time.perf_counter()
        known = self._known(list(dict.fromkeys(d.id for d in docs)))
        seen: set[str] = set()
        new: list[Doc] = []
        for d in docs:
            if d.id not in known and d.id not in seen:
                seen.add(d.id)
                new.append(d)
        out = IndexUpdate(skipped=len(docs) - len(new))
        if not new:
            return out
        fp_new = fingerprint([d.text for d in new], self.params.minhash)
        parts = self._window(new)
        out.history_loaded = sum(p.size for p in parts)
        # Boilerplate is what a source repeats across the window: the history's lines and the batch's.
        lines: list[Counted] = [p.seg for p in parts]
        lines.append(LineCounts.of(fp_new, source_keys(new), min_texts=1))
        min_texts = self.params.match.boilerplate_min_texts
        clean_new = strip_boilerplate(new, fp_new, min_texts, lines)
        probe = Probe.of(clean_new, self.params.match.index_keys)
        pairs = cross_pairs_parts([p.history() for p in parts], probe, clean_new, self.params.match)
        ends = np.cumsum([p.seg.rows for p in parts])
        met_rows = np.unique(pairs[:, 0])
        met_part = np.searchsorted(ends, met_rows, side="right")
        met: list[tuple[list[Doc], Fingerprints]] = []
        for k, part in enumerate(parts):
            rows = met_rows[met_part == k] - (int(ends[k - 1]) if k else 0)
            met.append(self._read_rows(part.seg, rows))
        previous = self._membership()
        met_ids = {d.id for part_docs, _ in met for d in part_docs}
        wanted = with_cluster_members(met_ids, previous)
        hist_docs: list[Doc] = []
        hist_fps: list[Fingerprints] = []
        extra = sorted(wanted - met_ids)
        hashes = lookup.id_hashes(extra)
        for part, (part_docs, part_fp) in zip(parts, met, strict=True):
            hist_docs.extend(part_docs)
            hist_fps.append(part_fp)
            if not extra:
                continue
            rows = part.seg.rows_of(hashes)
            found = rows >= 0
            if part.mask is not None:
                found &= part.mask[np.maximum(rows, 0)]
            if found.any():
                more_docs, more_fp = self._read_rows(part.seg, rows[found])
                kept = [i for i, d in enumerate(more_docs) if d.id in wanted]
                hist_docs.extend(more_docs[i] for i in kept)
                hist_fps.append(more_fp.take(kept))
                taken = {more_docs[i].id for i in kept}
                hashes = hashes[[i not in taken for i in extra]]
                extra = [i for i in extra if i not in taken]
        sub_docs = hist_docs + new
        sub_fp = strip_boilerplate(
            sub_docs, Fingerprints.concat([f for f in hist_fps if len(f)] + [fp_new]), min_texts, lines
        )
        result = group(sub_docs, sub_fp, self.params)
        self._fill_added_text(result, sub_docs, sub_fp, previous)
        known = previous.filter(
            pc.is_in(previous["article_id"], value_set=pa.array(sorted(d.id for d in sub_docs), pa.string()))
        )
        old = dict(zip(known["article_id"].to_pylist(), known["cluster_id"].to_pylist(), strict=True))
        assignments = result.assignments
        merges = stable_ids(assignments, sub_docs, old=old)
        out.new_articles, out.assignments, out.links, out.merges = len(new), assignments, result.links, merges
        self._store(new, fp_new, assignments, result.links, sub_docs, previous, run_id=run_id)
        out.seconds = time.perf_counter() - t0
        for keep, gone in merges:
            log.info("dedup index: cluster %s merged into %s", gone, keep)
        log.info(
            "dedup index: %d new articles against %d in the window: %d rows regrouped in %.2fs",
            len(new),
            out.history_loaded,
            len(assignments),
            out.seconds,
        )
        return out

    def bootstrap(
        self,
        docs: Sequence[Doc],
        fp: Fingerprints,
        *,
        batch_rows: int = 100_000,
        probe: Probe | None = None,
        lines: LineCounts | None = None,
    ) -> None:
        """Store the sketches of docs already grouped in one pass (their clusters/ and links/ written
        by the caller), and one lookup segment over them, so later batches continue from them
        incrementally. `probe` (`Probe.of(fp)`) and `lines` (`LineCounts.of` every line of the docs),
        when the caller has them, save making them again."""
        files: dict[str, int] = {}
        file_of_row = np.zeros(len(docs), dtype=np.int32)
        metas: list[tuple[list[str], np.ndarray, bytes]] = []
        for start in range(0, len(docs), batch_rows):
            part = docs[start : start + batch_rows]
            rows = list(range(start, start + len(part)))
            stem = "batch-" + stable_name(d.id for d in part)
            table = docs_to_sketches(part, fp.take(rows))
            write_partitioned(table, self.sketches, partition_col="date", file_stem=stem)
            file_of_row[start : start + len(part)] = _file_numbers(table, stem, files)
            metas.append(lookup.meta_blobs(table))
        if docs:
            self._write_lookup(list(files), file_of_row, docs, fp, metas, probe=probe, lines=lines)

    def _write_lookup(
        self,
        files: list[str],
        file_of_row: np.ndarray,
        docs: Sequence[Doc],
        fp: Fingerprints,
        metas: Sequence[tuple[list[str], np.ndarray, bytes]],
        *,
        probe: Probe | None = None,
        lines: LineCounts | None = None,
    ) -> lookup.Segment:
        """Write a lookup segment over these sketch files (row i of `fp` is docs[i]) and open it."""
        offsets, meta = lookup.concat_meta([(m[1], m[2]) for m in metas])
        ids = lookup.id_hashes([d.id for d in docs])
        lines = lines if lines is not None else LineCounts.of(fp, source_keys(docs), min_texts=1)
        data = lookup.SegmentData(files, file_of_row, ids, fp, metas[0][0], offsets, meta, lines)
        path = lookup.write_segment(self.lookup, data, index_keys=self.params.match.index_keys, probe=probe)
        seg = lookup.Segment.open(self.lookup.fs, path)
        self._view().lookups[path] = seg
        return seg

    def _segments(self) -> list[lookup.Segment]:
        """The lookup segments in the store, largest first (opened once per process)."""
        view = self._view()
        paths = list_files(self.lookup, suffix=lookup.SUFFIX)
        for path in set(view.lookups) - set(paths):
            del view.lookups[path]
        for path in paths:
            if path not in view.lookups:
                view.lookups[path] = lookup.Segment.open(self.lookup.fs, path)
        return sorted(view.lookups.values(), key=lambda s: (-s.rows, s.path))

    def _rel(self, path: str) -> str:
        return path[len(self.sketches.path.rstrip("/")) + 1 :]

    def _known(self, ids: Sequence[str]) -> set[str]:
        """Which of `ids` the index holds: looked up by id hash in the lookup segments, and read
        from the sketch files that no segment covers."""
        view = self._view()
        files = list_files(self.sketches)
        if all(p in view.id_files for p in files):
            return {i for i in ids if i in view.ids}
        stored = {self._rel(p) for p in files}
        covered: set[str] = set()
        known: set[str] = set()
        hashes = lookup.id_hashes(ids)
        for seg in self._segments():
            covered.update(seg.files)
            rows = seg.rows_of(hashes)
            hit = np.flatnonzero(rows >= 0)
            known.update(ids[i] for i in hit.tolist() if seg.files[seg.file_of_row[rows[i]]] in stored)
        for path in files:
            if self._rel(path) not in covered and path not in view.id_files:
                table = pq.read_table(path, columns=["article_id"], filesystem=self.sketches.fs)
                view.ids.update(table["article_id"].to_pylist())
                view.id_files.add(path)
        return known | {i for i in ids if i in view.ids}

    def _window(self, new: Sequence[Doc]) -> list[_Part]:
        """The history to match `new` against: the rows of every stored file within the window of
        its dates, from the lookup segments; files that no segment covers (an index written before
        segments existed) are read whole once and given one."""
        days = [d.published_at or d.fetched_at for d in new]
        dated = [x for x in days if x is not None]
        lo = (min(dated) - self.window).date() if dated else date.min
        hi = (max(dated) + self.window).date() if dated else date.max
        files = [p for p in list_files(self.sketches) if _in_window(p, lo, hi)]
        window = {self._rel(p) for p in files}
        claimed: set[str] = set()
        parts: list[_Part] = []
        for seg in self._segments():
            use = [k for k, f in enumerate(seg.files) if f in window and f not in claimed]
            if not use:
                continue
            claimed.update(seg.files[k] for k in use)
            mask = None if len(use) == len(seg.files) else np.isin(seg.file_of_row, use)
            parts.append(_Part(seg, mask))
        missing = [p for p in files if self._rel(p) not in claimed]
        if missing:
            parts.append(_Part(self._lookup_of(missing), None))
        return parts

    def build_lookups(self) -> int:
        """Give the sketch files that no lookup segment covers (an index written before segments
        existed) one segment; returns how many files it covers. `update` does the same for the
        files of its window, so calling this is optional: it moves the cost out of the first batch."""
        covered = {f for seg in self._segments() for f in seg.files}
        missing = [p for p in list_files(self.sketches) if self._rel(p) not in covered]
        if missing:
            self._lookup_of(missing)
        return len(missing)

    def _lookup_of(self, paths: Sequence[str]) -> lookup.Segment:
        """Read these sketch files whole and write the lookup segment over them."""
        log.info("dedup index: building the lookup segment of %d sketch files", len(paths))
        tables = [pq.read_table(p, filesystem=self.sketches.fs) for p in paths]
        table = pa.concat_tables(tables, promote_options="default")
        docs, fp = sketches_to_docs(table, self.params.minhash.num_perm)
        file_of_row = np.repeat(np.arange(len(paths), dtype=np.int32), [t.num_rows for t in tables])
        return self._write_lookup(
            [self._rel(p) for p in paths], file_of_row, docs, fp, [lookup.meta_blobs(table)]
        )

    def _read_rows(self, seg: lookup.Segment, rows: np.ndarray) -> tuple[list[Doc], Fingerprints]:
        table = seg.read_rows(rows, SKETCH_SCHEMA)
        return sketches_to_docs(table, self.params.minhash.num_perm)

    def _compact(self) -> None:
        """Merge small segments: when a size tier (a power of 8 rows) holds `_MERGE_AT` segments,
        they become one, so the segments stay few however many batches run."""
        tiers: dict[int, list[lookup.Segment]] = {}
        for seg in self._segments():
            if seg.rows * _MERGE_AT <= _MERGE_MAX_ROWS:
                tiers.setdefault(max(seg.rows, 1).bit_length() // 3, []).append(seg)
        for group_ in tiers.values():
            if len(group_) < _MERGE_AT:
                continue
            merged = lookup.SegmentData.concat([s.read_all() for s in group_])
            path = lookup.write_segment(self.lookup, merged, index_keys=self.params.match.index_keys)
            self._view().lookups[path] = lookup.Segment.open(self.lookup.fs, path)
            delete_files(self.lookup, [s.path for s in group_ if s.path != path])

    def _fill_added_text(
        self, result: DedupResult, docs: Sequence[Doc], fp: Fingerprints, previous: pa.Table
    ) -> None:
        """Added text for history articles that are expanded copies now (their text is not at hand)."""
        textless = {d.id for d in docs if not d.text}
        need = [
            a.article_id
            for a in result.assignments
            if a.relation == EXPANDED and a.added_text is None and a.article_id in textless
        ]
        if not need or self.texts is None:
            return
        rows = previous.filter(pc.is_in(previous["article_id"], value_set=pa.array(need, pa.string())))
        where = dict(zip(rows["article_id"].to_pylist(), rows["date"].to_pylist(), strict=True))
        texts = self.texts({i: where.get(i) for i in need})
        fill_added_text(result, fp, [d.id for d in docs], texts, self.params)

    def _clusters_files(self) -> list[tuple[str, int, int]]:
        loc = self.root.child("clusters")
        infos = loc.fs.get_file_info(list_files(loc))
        return [(i.path, i.size or 0, i.mtime_ns or 0) for i in infos]

    def _membership(self) -> pa.Table:
        """clusters/ membership: kept from this process's last write unless the files changed since."""
        view = self._view()
        if view.membership is None or view.clusters_state != self._clusters_files():
            view.membership = read_membership(self.root)
        return view.membership

    def _store(
        self,
        new: Sequence[Doc],
        fp_new: Fingerprints,
        assignments: list[Assignment],
        links: list[Link],
        sub_docs: Sequence[Doc],
        previous: pa.Table,
        *,
        run_id: str,
    ) -> None:
        stem = "batch-" + stable_name(d.id for d in new)
        dates = {d.id: doc_date(d) for d in sub_docs}
        fresh = {d.id for d in new}
        # Links between history articles were written by the batch that found them.
        links = [x for x in links if x.article_id in fresh or x.other_id in fresh]
        if links:
            write_links(self.root, links_table(links, dates, run_id=run_id), file_stem=stem)
        rows = clusters_table(assignments, dates, run_id=run_id)
        upsert_clusters(self.root, rows, previous)
        view = self._view()
        changed = pc.is_in(previous["article_id"], value_set=rows["article_id"])
        view.membership = pa.concat_tables(
            [previous.filter(pc.invert(changed)), rows.select(["article_id", "cluster_id", "date"])]
        )
        view.clusters_state = self._clusters_files()
        table = docs_to_sketches(new, fp_new)
        write_partitioned(table, self.sketches, partition_col="date", file_stem=stem)
        files: dict[str, int] = {}
        file_of_row = _file_numbers(table, stem, files)
        self._write_lookup(list(files), file_of_row, new, fp_new, [lookup.meta_blobs(table)])
        self._compact()


def stable_ids(
    rows: list[Assignment], docs: Sequence[Doc], *, old: Mapping[str, str], taken: Set[str] = frozenset()
) -> list[tuple[str, str]]:
    """Give regrouped clusters the ids their members had (rows are changed in place); returns the
    merges, (surviving id, absorbed id).

    Clusters with the earliest originals choose first, and a cluster takes the old id of its earliest
    member, so an id stays with its original and the older id survives a merge; a part split off
    gets an id derived from its original.

    Args:
        rows: one assignment per doc, with the ids a one-pass dedup derives.
        old: each article's cluster id before.
        taken: ids held by clusters that are not regrouped, which no regrouped cluster may take.
    """
    rank = dict(zip([d.id for d in docs], precedence(docs), strict=True))
    by_cluster: dict[str, list[Assignment]] = {}
    for a in rows:
        by_cluster.setdefault(a.cluster_id, []).append(a)
    used = set(taken)
    merges: list[tuple[str, str]] = []
    for derived, members in sorted(by_cluster.items(), key=lambda kv: rank[kv[1][0].original_id]):
        members.sort(key=lambda m: rank[m.article_id])
        olds = list(dict.fromkeys(old[m.article_id] for m in members if m.article_id in old))
        free = [c for c in olds if c not in used]
        final = free[0] if free else derived
        if final in used:  # a split left the derived id to another cluster
            final = cluster_id_for(f"{derived}#{members[0].article_id}")
        used.add(final)
        merges.extend((final, c) for c in free[1:])
        for m in members:
            m.cluster_id = final
    return merges


def with_cluster_members(ids: set[str], previous: pa.Table) -> set[str]:
    """`ids` and every article in the same cluster as one of them."""
    if not ids or previous.num_rows == 0:
        return set(ids)
    hit = previous.filter(pc.is_in(previous["article_id"], value_set=pa.array(sorted(ids), pa.string())))
    clusters = pa.array(sorted(set(hit["cluster_id"].to_pylist())), pa.string())
    members = previous.filter(pc.is_in(previous["cluster_id"], value_set=clusters))["article_id"]
    return set(ids) | set(members.to_pylist())


def _file_numbers(table: pa.Table, stem: str, files: dict[str, int]) -> np.ndarray:
    """The number in `files` (extended as needed) of the sketch file that `write_partitioned`
    writes each row of `table` to."""
    out = np.zeros(table.num_rows, dtype=np.int32)
    for k, value in enumerate(table["date"].to_pylist()):
        out[k] = files.setdefault(f"date={value}/{stem}.parquet", len(files))
    return out


def _in_window(path: str, lo: date, hi: date) -> bool:
    part = next((p for p in path.split("/") if p.startswith("date=")), None)
    if part is None or part == f"date={NULL_PARTITION}":
        return True
    try:
        day = date.fromisoformat(part[5:])
    except ValueError:
        return True
    return lo <= day <= hi


def docs_to_sketches(docs: Sequence[Doc], fp: Fingerprints) -> pa.Table:
    """Sketch rows of `docs` (row i of `fp` is docs[i])."""
    return pa.table(
        {
            "article_id": [d.id for d in docs],
            "source": [d.source for d in docs],
            "url": [d.url for d in docs],
            "canonical_url": [d.canonical_url for d in docs],
            "published_at": [d.published_at for d in docs],
            "fetched_at": [d.fetched_at for d in docs],
            "n_shingles": fp.n_shingles.astype(np.int32),
            "content_hash": hashes_to_hex(fp.content_hashes),
            "signature": _binary_rows(
                fp.signatures.reshape(-1), np.arange(len(docs) + 1) * fp.signatures.shape[1]
            ),
            "anchors": _binary_rows(fp.anchors, fp.anchor_offsets),
            "anchor_paras": _binary_rows(fp.anchor_paras, fp.anchor_offsets),
            "para_keys": _para_keys_column(fp),
            "date": [doc_date(d) for d in docs],
            "source_priority": [d.source_priority for d in docs],
        },
        schema=SKETCH_SCHEMA,
    )


def _para_keys_column(fp: Fingerprints) -> pa.ChunkedArray:
    if fp.para_offsets is None or fp.para_keys is None:
        return pa.chunked_array([pa.nulls(len(fp), pa.binary())])
    return _binary_rows(fp.para_keys, fp.para_offsets)


def _binary_rows(values: np.ndarray, offsets: np.ndarray) -> pa.ChunkedArray:
    """A binary column whose row i is `values[offsets[i]:offsets[i + 1]]`, made on the array's memory
    rather than from a bytes object per row; in chunks under binary's 2 GB offset limit."""
    size = values.dtype.itemsize
    n = offsets.size - 1
    bounds = [0]
    while bounds[-1] < n:
        stop = int(np.searchsorted(offsets, offsets[bounds[-1]] + _MAX_BINARY // size, side="right")) - 1
        bounds.append(min(max(stop, bounds[-1] + 1), n))
    chunks = []
    for lo, hi in pairwise(bounds):
        data = np.ascontiguousarray(values[offsets[lo] : offsets[hi]])
        offs = ((offsets[lo : hi + 1] - offsets[lo]) * size).astype(np.int32)
        buffers = [None, pa.py_buffer(offs), pa.py_buffer(data)]
        chunks.append(pa.Array.from_buffers(pa.binary(), hi - lo, buffers))
    return pa.chunked_array(chunks, pa.binary())


def _binary_values(col: pa.ChunkedArray, itemsize: int) -> tuple[np.ndarray, np.ndarray]:
    """(flat values, offsets in items) of a binary column, without a Python loop per row."""
    arr = col.combine_chunks() if isinstance(col, pa.ChunkedArray) else col
    if not isinstance(arr, pa.LargeBinaryArray):
        arr = arr.cast(pa.large_binary())
    _, off_buf, data_buf = arr.buffers()
    offsets = np.frombuffer(off_buf, dtype=np.int64)[arr.offset : arr.offset + len(arr) + 1]
    data = np.frombuffer(data_buf, dtype=np.uint8) if data_buf is not None else np.zeros(0, np.uint8)
    start, end = int(offsets[0]), int(offsets[-1])
    values = data[start:end].view(np.uint8).copy().view(f"<u{itemsize}")
    return values, (offsets - start) // itemsize


def sketches_to_docs(table: pa.Table, num_perm: int) -> tuple[list[Doc], Fingerprints]:
    """History docs (text left empty) and their fingerprints, from sketch rows."""
    sig, _ = _binary_values(table["signature"], 4)
    anchors, offsets = _binary_values(table["anchors"], 8)
    paras, _ = _binary_values(table["anchor_paras"], 2)
    para_offsets, para_keys = None, None
    if "para_keys" in table.column_names and table["para_keys"].null_count == 0:
        para_keys, para_offsets = _binary_values(table["para_keys"], 4)
        para_offsets = para_offsets.astype(np.int64)
    ids = table["article_id"].to_pylist()
    cols = [table[c].to_pylist() for c in ("source", "url", "canonical_url", "published_at", "fetched_at")]
    prio = (
        table["source_priority"].to_pylist() if "source_priority" in table.column_names else [None] * len(ids)
    )
    docs = [
        Doc(
            i,
            "",
            source=s,
            url=u,
            canonical_url=cu,
            published_at=_utc(p),
            fetched_at=_utc(f),
            source_priority=r,
        )
        for i, s, u, cu, p, f, r in zip(ids, *cols, prio, strict=True)
    ]
    fp = Fingerprints(
        signatures=sig.reshape(len(ids), num_perm),
        n_shingles=table["n_shingles"].to_numpy().astype(np.int32),
        anchor_offsets=offsets.astype(np.int64),
        anchors=anchors,
        anchor_paras=paras,
        content_hashes=hashes_from_hex(table["content_hash"].to_pylist()),
        para_offsets=para_offsets,
        para_keys=para_keys,
    )
    return docs, fp


def _utc(value: datetime | None) -> datetime | None:
    if value is None:
        return None
    return value if value.tzinfo is not None else value.replace(tzinfo=UTC)
