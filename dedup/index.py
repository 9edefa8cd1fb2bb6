"""The incremental dedup index: sketches kept in the output store, matched batch by batch.

State lives beside the tables it feeds (a local folder or S3 alike):

    <root>/index/<params tag>/sketches/date=YYYY-MM-DD/<batch>.parquet
        article_id, dates, source, content hash, MinHash signature, anchors and their paragraphs
    <root>/clusters/   one row per article, its current grouping (also the index's membership)
    <root>/links/      verified relations, one file per batch

A batch of new articles is fingerprinted, then matched against the sketches of the history in a
window of days around it (default 30): the cost grows with the batch and the window, not with the
whole history. The clusters that the batch touches are regrouped with the same code as a one-pass
dedup, so a backfill and the same days run by run give the same clusters. Cluster ids never change
once given: a cluster that a new article joins keeps its id; when two merge, the id of the one
with the earlier original survives and the merge is logged and returned.

Writes go links, then clusters, then sketches: the sketches are the commit point, so a run that
dies part-way is redone whole by the next, which overwrites the same deterministic files.
"""

from __future__ import annotations

import hashlib
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

from dedup.boilerplate import LineCounts, source_keys, strip_boilerplate
from dedup.candidates import Probe, cross_pairs
from dedup.dataset import Location, list_files, write_partitioned
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
class Segment:
    """Stored sketches ready to be matched against, from one or more files."""

    docs: list[Doc]
    fp: Fingerprints
    probe: Probe
    row: dict[str, int]
    lines: LineCounts  # every (source, paragraph) of its texts: boilerplate is counted over the window

    @staticmethod
    def of(docs: list[Doc], fp: Fingerprints, index_keys: int) -> Segment:
        return Segment(
            docs,
            fp,
            Probe.of(fp, index_keys),
            {d.id: i for i, d in enumerate(docs)},
            LineCounts.of(fp, source_keys(docs), min_texts=1),
        )

    @staticmethod
    def merge(parts: Sequence[Segment], index_keys: int) -> Segment:
        docs = [d for p in parts for d in p.docs]
        return Segment.of(docs, Fingerprints.concat([p.fp for p in parts]), index_keys)


@dataclass(slots=True)
class _View:
    """The history a process has loaded from one index: files never change once written, so a
    long-lived process (a scheduled worker) keeps them, in a few segments merged by size."""

    files: set[str] = field(default_factory=set)  # files whose sketches are in `segments`
    segments: list[Segment] = field(default_factory=list)
    ids: set[str] = field(default_factory=set)  # every stored article id ...
    id_files: set[str] = field(default_factory=set)  # ... read from these files
    membership: pa.Table | None = None  # clusters/ (article_id, cluster_id, date) as last written ...
    clusters_state: list[tuple[str, int, int]] = field(default_factory=list)  # ... when its files were these


#: What this process has loaded, by index location and parameters.
_VIEWS: dict[tuple[str, str], _View] = {}
_MAX_SEGMENTS = 8
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
        known = self.known_ids()
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
        segments = self._window(new)
        out.history_loaded = sum(len(s.docs) for s in segments)
        # Boilerplate is what a source repeats across the window: the history's lines and the batch's.
        lines = [*(s.lines for s in segments), LineCounts.of(fp_new, source_keys(new), min_texts=1)]
        min_texts = self.params.match.boilerplate_min_texts
        clean_new = strip_boilerplate(new, fp_new, min_texts, lines)
        probe = Probe.of(clean_new, self.params.match.index_keys)
        met = {
            seg_i: cross_pairs(seg.probe, probe, clean_new, self.params.match)[:, 0]
            for seg_i, seg in enumerate(segments)
        }
        previous = self._membership()
        met_ids = {segments[i].docs[j].id for i, rows in met.items() for j in rows.tolist()}
        wanted = with_cluster_members(met_ids, previous)
        hist_docs: list[Doc] = []
        hist_fps: list[Fingerprints] = []
        for seg in segments:
            rows = [seg.row[i] for i in wanted if i in seg.row]
            if rows:
                rows.sort()
                hist_docs.extend(seg.docs[r] for r in rows)
                hist_fps.append(seg.fp.take(rows))
        sub_docs = hist_docs + new
        sub_fp = strip_boilerplate(sub_docs, Fingerprints.concat([*hist_fps, fp_new]), min_texts, lines)
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

    def bootstrap(self, docs: Sequence[Doc], fp: Fingerprints, *, batch_rows: int = 100_000) -> None:
        """Store the sketches of docs already grouped in one pass (their clusters/ and links/ written
        by the caller), so later batches continue from them incrementally."""
        for start in range(0, len(docs), batch_rows):
            part = docs[start : start + batch_rows]
            rows = list(range(start, start + len(part)))
            stem = "batch-" + hashlib.sha1("\n".join(sorted(d.id for d in part)).encode()).hexdigest()[:16]
            write_partitioned(
                docs_to_sketches(part, fp.take(rows)), self.sketches, partition_col="date", file_stem=stem
            )

    def _window(self, new: Sequence[Doc]) -> list[Segment]:
        """The history to match `new` against: every stored file within the window of its dates,
        plus whatever this process already holds (more history never changes a decision)."""
        days = [d.published_at or d.fetched_at for d in new]
        dated = [x for x in days if x is not None]
        lo = (min(dated) - self.window).date() if dated else date.min
        hi = (max(dated) + self.window).date() if dated else date.max
        view = self._view()
        missing = [p for p in list_files(self.sketches) if p not in view.files and _in_window(p, lo, hi)]
        keys = self.params.match.index_keys
        if missing:
            loaded = []
            for path in missing:
                table = pq.read_table(path, filesystem=self.sketches.fs)
                loaded.append(sketches_to_docs(table, self.params.minhash.num_perm))
            docs = [d for part, _ in loaded for d in part]
            view.segments.append(Segment.of(docs, Fingerprints.concat([fp for _, fp in loaded]), keys))
            view.files.update(missing)
        if len(view.segments) > _MAX_SEGMENTS:
            # Size-tiered: the small segments merge into one, the large ones stay as they are.
            largest = max(len(s.docs) for s in view.segments)
            small = [s for s in view.segments if 2 * len(s.docs) < largest]
            if len(small) > 1:
                view.segments = [s for s in view.segments if 2 * len(s.docs) >= largest]
                view.segments.append(Segment.merge(small, keys))
        return list(view.segments)

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
        stem = "batch-" + hashlib.sha1("\n".join(sorted(d.id for d in new)).encode()).hexdigest()[:16]
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
        write_partitioned(docs_to_sketches(new, fp_new), self.sketches, partition_col="date", file_stem=stem)


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
