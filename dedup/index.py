"""The incremental dedup index: sketches kept in the output store, matched batch by batch.

State lives beside the tables it feeds (a local folder or S3 alike):

    <root>/index/<params tag>/sketches/date=YYYY-MM-DD/<batch>.parquet
        article_id, dates, source, content hash, MinHash signature, anchors and their paragraphs
    <root>/index/<params tag>/lookup/seg-<digest>.lookup
        lookup segments (written by dedup/lookup_format.py, read by dedup/lookup.py): the same rows
        of some sketch files, as flat arrays made for range reads: the anchors and keys packed and
        sorted (as `Probe` has them, with a fence every 256 entries), id hashes, and each row's
        signature, anchors and metadata by offset
    <root>/clusters/   one row per article, its current grouping (also the index's membership)
    <root>/links/      verified relations, one file per batch

A batch of new articles is fingerprinted, then matched against the sketches of the history in a
window of days around it (default 30): the cost grows with the batch and the window, not with the
whole history. Nothing is loaded whole: the batch's keys are looked up in the pages of the
segments' sorted anchors where they fall, its anchors in the segments' sorted keys (read whole:
16 per article), and only the candidates found, with the other members of their clusters, are
read by row and verified. A process keeps the segments it opened (keys, fences, counts), so a
long-lived worker reads less still. The clusters that the batch touches are regrouped with the
same code as a one-pass dedup, together with the texts that their members hold or are held by and
those texts' clusters (found by one more lookup, with the regrouped history texts): a decision
that a regrouped text makes over what it holds then sees what one pass would, so a backfill and the
same days run by run give the same clusters.
Cluster ids never change once given: a cluster that a new article joins keeps its id; when two
merge, the id of the one with the earlier original survives and the merge is logged and returned.

Each batch writes one segment over its sketch files; when 8 segments of a size tier (a power of
8 rows) pile up they are merged into one, so the segments stay few. `bootstrap` writes one over
the whole table. Sketch files that no segment covers (an index written before segments existed,
or a run that died between the two writes) are read whole once and given one (`build_lookups`).

The parts: the sketch rows' Parquet codec is `dedup.sketches`, the segments and their compaction
`dedup.segments`, the cluster-id policy `dedup.cluster_ids`, what a process keeps between batches
`dedup.index_cache`; this module is the update step that uses them.

Writes go links, then clusters, then sketches, then the segment: the sketches are the commit
point, so a run that dies part-way is redone whole by the next, which overwrites the same
deterministic files.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from common.storage import Location, list_files, stable_name, write_partitioned
from dedup import lookup_format
from dedup.boilerplate import Counted, LineCounts, source_keys, strip_boilerplate
from dedup.candidates import Probe, cross_pairs_parts
from dedup.cluster_ids import stable_ids, with_cluster_members
from dedup.engine import fill_added_text, group
from dedup.fingerprint import fingerprint
from dedup.fingerprint_arrays import Fingerprints
from dedup.index_cache import IndexView, clear_cache, view_of
from dedup.params import DedupParams
from dedup.records import EXPANDED, Assignment, DedupResult, Doc, Link
from dedup.segments import Part, Segments
from dedup.sketches import docs_to_sketches, file_numbers, sketches_to_docs
from dedup.tables import (
    clusters_table,
    doc_date,
    links_table,
    read_membership,
    upsert_clusters,
    write_links,
)

__all__ = [
    "DEFAULT_WINDOW_DAYS",
    "DedupIndex",
    "IndexUpdate",
    "TextSource",
    "clear_cache",
    "docs_to_sketches",
    "sketches_to_docs",
    "stable_ids",
    "with_cluster_members",
]

log = logging.getLogger(__name__)

#: Reads stored texts: {article id: its date partition or None} -> {article id: text}.
TextSource = Callable[[Mapping[str, str | None]], Mapping[str, str]]

#: How far back, in days of publication, new articles are matched against (the index's window).
DEFAULT_WINDOW_DAYS = 30


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


class DedupIndex:
    """The dedup state under an output root; `update(docs)` adds a batch of articles."""

    def __init__(
        self,
        root: Location,
        params: DedupParams | None = None,
        *,
        window_days: int = DEFAULT_WINDOW_DAYS,
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
        self.segments = Segments(self.sketches, self.lookup, self.params)
        self.texts = texts

    def _view(self) -> IndexView:
        return view_of(self.sketches.uri, self.params.tag())

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
        new = self._not_stored(docs)
        out = IndexUpdate(skipped=len(docs) - len(new))
        if not new:
            return out
        fp_new = fingerprint([d.text for d in new], self.params.minhash)
        parts = self._window(new)
        out.history_loaded = sum(p.size for p in parts)
        # Boilerplate is what a source repeats across the window: the history's lines and the batch's.
        lines: list[Counted] = [p.seg for p in parts]
        lines.append(LineCounts.of(fp_new, source_keys(new), min_texts=1))
        match = self.params.match
        clean_new = strip_boilerplate(new, fp_new, match, lines)
        previous = self._membership()
        met_rows = self._met_rows(parts, clean_new)
        hist_docs, hist_fp = self._with_their_clusters(parts, self._read(parts, met_rows), previous)
        sub_docs = hist_docs + new
        sub_fp = clean_new
        if hist_docs:  # stripping goes row by row for the same counts: the batch's rows are done
            clean_hist = strip_boilerplate(hist_docs, Fingerprints.concat(hist_fp), match, lines)
            # One step further: the texts that a regrouped text holds or is held by, with their
            # clusters. A live page regrouped without the item it runs (posted alone: a cluster of
            # its own) would decide without it, and the item would not be looked at again; one
            # pass and batch by batch must give the same clusters.
            near = np.setdiff1d(self._met_rows(parts, clean_hist), met_rows)
            have = {d.id for d in hist_docs}
            more_docs, more_fp = self._with_their_clusters(parts, self._read(parts, near), previous, have)
            if more_docs:
                clean_more = strip_boilerplate(more_docs, Fingerprints.concat(more_fp), match, lines)
                clean_hist = _joined_stripped(clean_hist, clean_more)
                sub_docs = hist_docs + more_docs + new
            sub_fp = _joined_stripped(clean_hist, clean_new)
        result = group(sub_docs, sub_fp, self.params)
        self._fill_added_text(result, sub_docs, sub_fp, previous)
        assignments = result.assignments
        merges = stable_ids(assignments, sub_docs, old=_cluster_ids_of(previous, sub_docs))
        self._store(new, fp_new, assignments, result.links, sub_docs, previous, run_id=run_id)
        out.new_articles, out.assignments, out.links, out.merges = len(new), assignments, result.links, merges
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

    def _not_stored(self, docs: Sequence[Doc]) -> list[Doc]:
        """`docs` the index does not hold yet, the first of each id."""
        stored = self.segments.known(list(dict.fromkeys(d.id for d in docs)))
        seen: set[str] = set()
        new: list[Doc] = []
        for d in docs:
            if d.id not in stored and d.id not in seen:
                seen.add(d.id)
                new.append(d)
        return new

    def _window(self, new: Sequence[Doc]) -> list[Part]:
        """The history to match `new` against: the stored rows within the window of its dates."""
        days = [d.published_at or d.fetched_at for d in new]
        dated = [x for x in days if x is not None]
        lo = _shift_day(min(dated), -self.window) if dated else date.min
        hi = _shift_day(max(dated), self.window) if dated else date.max
        return self.segments.window(lo, hi)

    def _met_rows(self, parts: list[Part], clean: Fingerprints) -> np.ndarray:
        """The history rows (numbered over `parts`, one after the other) that share candidate
        pairs with the texts of `clean` (fingerprints without boilerplate)."""
        probe = Probe.of(clean, self.params.match.index_keys)
        pairs = cross_pairs_parts([p.history() for p in parts], probe, clean, self.params.match)
        return np.unique(pairs[:, 0])

    def _read(self, parts: list[Part], met_rows: np.ndarray) -> list[tuple[list[Doc], Fingerprints]]:
        """History rows `met_rows` (as `_met_rows` numbers them), read by row, per part."""
        ends = np.cumsum([p.seg.rows for p in parts])
        met_part = np.searchsorted(ends, met_rows, side="right")
        met: list[tuple[list[Doc], Fingerprints]] = []
        for k, part in enumerate(parts):
            rows = met_rows[met_part == k] - (int(ends[k - 1]) if k else 0)
            met.append(self.segments.read_rows(part.seg, rows))
        return met

    def _with_their_clusters(
        self,
        parts: list[Part],
        met: list[tuple[list[Doc], Fingerprints]],
        previous: pa.Table,
        have: set[str] | None = None,
    ) -> tuple[list[Doc], list[Fingerprints]]:
        """The history docs met, and the other members of their clusters (regrouped with them),
        but for those of ids in `have` (already at hand)."""
        have = have or set()
        if have:
            kept_met = []
            for part_docs, part_fp in met:
                keep = [i for i, d in enumerate(part_docs) if d.id not in have]
                kept_met.append(([part_docs[i] for i in keep], part_fp.take(keep)))
            met = kept_met
        met_ids = {d.id for part_docs, _ in met for d in part_docs}
        wanted = with_cluster_members(met_ids, previous) - have
        hist_docs: list[Doc] = []
        hist_fps: list[Fingerprints] = []
        extra = sorted(wanted - met_ids)
        hashes = lookup_format.id_hashes(extra)
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
                more_docs, more_fp = self.segments.read_rows(part.seg, rows[found])
                kept = [i for i, d in enumerate(more_docs) if d.id in wanted]
                hist_docs.extend(more_docs[i] for i in kept)
                hist_fps.append(more_fp.take(kept))
                taken = {more_docs[i].id for i in kept}
                hashes = hashes[[i not in taken for i in extra]]
                extra = [i for i in extra if i not in taken]
        return hist_docs, [f for f in hist_fps if len(f)]

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
            stem = _batch_stem(part)
            table = docs_to_sketches(part, fp.take(rows))
            write_partitioned(table, self.sketches, partition_col="date", file_stem=stem)
            file_of_row[start : start + len(part)] = file_numbers(table, stem, files)
            metas.append(lookup_format.meta_blobs(table))
        if docs:
            self.segments.write(list(files), file_of_row, docs, fp, metas, probe=probe, lines=lines)

    def build_lookups(self) -> int:
        """Give the sketch files that no lookup segment covers (an index written before segments
        existed) one segment; returns how many files it covers. `update` does the same for the
        files of its window, so calling this is optional: it moves the cost out of the first batch."""
        missing = self.segments.uncovered()
        if missing:
            self.segments.build(missing)
        return len(missing)

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
        fill_added_text(result, texts)

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
        """Write clusters, then links, then sketches, then the segment (the commit point).

        New articles already in clusters/ are a redo of a batch that died after it, whose links
        may be stored already (under a file named after that batch): those pairs are left out.
        """
        stem = _batch_stem(new)
        dates = {d.id: doc_date(d) for d in sub_docs}
        fresh = {d.id for d in new}
        # Links between history articles were written by the batch that found them.
        links = [x for x in links if x.article_id in fresh or x.other_id in fresh]
        in_clusters = pc.is_in(previous["article_id"], value_set=pa.array(sorted(fresh), pa.string()))
        redone = set(previous["article_id"].filter(in_clusters).to_pylist())
        rows = clusters_table(assignments, dates, run_id=run_id)
        upsert_clusters(self.root, rows, previous)
        if links:
            write_links(self.root, links_table(links, dates, run_id=run_id), file_stem=stem, redone=redone)
        view = self._view()
        changed = pc.is_in(previous["article_id"], value_set=rows["article_id"])
        view.membership = pa.concat_tables(
            [previous.filter(pc.invert(changed)), rows.select(["article_id", "cluster_id", "date"])]
        )
        view.clusters_state = self._clusters_files()
        table = docs_to_sketches(new, fp_new)
        write_partitioned(table, self.sketches, partition_col="date", file_stem=stem)
        files: dict[str, int] = {}
        file_of_row = file_numbers(table, stem, files)
        self.segments.write(list(files), file_of_row, new, fp_new, [lookup_format.meta_blobs(table)])
        self.segments.compact()


def _joined_stripped(first: Fingerprints, then: Fingerprints) -> Fingerprints:
    """Two stripped fingerprints one after the other, with their boilerplate masks (which
    `Fingerprints.concat` drops: `group` would strip again what comes without one)."""
    joined = Fingerprints.concat([first, then])
    if joined.para_keys is None:
        return joined
    masks = [
        p.boiler if p.boiler is not None else np.zeros(0 if p.para_keys is None else p.para_keys.size, bool)
        for p in (first, then)
    ]
    return replace(joined, boiler=np.concatenate(masks))


def _cluster_ids_of(previous: pa.Table, docs: Sequence[Doc]) -> dict[str, str]:
    """{article id: its cluster id before this batch} for the `docs` that had one."""
    ids = pa.array(sorted(d.id for d in docs), pa.string())
    before = previous.filter(pc.is_in(previous["article_id"], value_set=ids))
    return dict(zip(before["article_id"].to_pylist(), before["cluster_id"].to_pylist(), strict=True))


def _batch_stem(docs: Sequence[Doc]) -> str:
    """The file name of a batch's sketch and links files: it depends only on the batch's ids."""
    return "batch-" + stable_name(d.id for d in docs)


def _shift_day(when: datetime, delta: timedelta) -> date:
    """The day of `when` + `delta`, held at the calendar's ends (a date of 9999-12-31 or 0001-01-01
    in an input must not overflow every later run)."""
    try:
        return (when + delta).date()
    except OverflowError:
        return date.max if delta > timedelta(0) else date.min
