"""The tasks of a distributed dedup, one function per stage; each reads and writes work files
(`dedup.distributed_files`) and hands the driver only what is small. `dedup.distributed` runs them.

    fingerprint ×shards ──> line counts ×buckets ──> strip, partition ×shards ──> match ×ranges
        ──> pairs ×holder buckets ──> verify ×pair shards ──> (driver) cluster, describe, write

Every stage computes what the single-process stage computes, cut at a seam where the cut changes
nothing:

- fingerprints and the boilerplate strip of a text depend on that text alone, once the counts of
  its source's lines over the whole table are known; those counts are summed per line, so each
  bucket of line keys is counted on its own (`dedup.boilerplate.distinct_lines` per shard,
  `LineCounts.tally` per bucket: the two halves of `LineCounts.of`);
- a candidate (`dedup.candidates.anchor_pairs`) is a holder with enough of its keys among another
  text's anchors: each key meets the anchors equal to it (compared on their top bits, as `Probe`
  packs them) in one range of values, so a task per range finds every (holder, other) hit there;
  the hits of a holder are summed over the ranges in its holder bucket and judged by the engine's
  rule (`candidates._enough`);
- `dedup.verify.verify` judges a pair from the two texts' sketches alone, so a slice of the pairs
  is verified from the sketches of the texts it names, in the order the single process visits it.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

from dedup.boilerplate import LineCounts, bucket_of_lines, distinct_lines, source_keys, strip_boilerplate
from dedup.candidates import _enough, doc_bits_for, hit_counts
from dedup.distributed_files import Work, anchors_file, fp_file, hits_file, keys_file, lines_file
from dedup.fingerprint import fingerprint
from dedup.fingerprint_arrays import Fingerprints
from dedup.params import DedupParams
from dedup.records import Doc
from dedup.shards import Shard, read_shard
from dedup.verify import Verified, verify


def bucket_of(values: np.ndarray, buckets: int) -> np.ndarray:
    """The bucket (0..buckets-1) of hashed 64-bit values."""
    return (values % np.uint64(buckets)).astype(np.int64)


def fingerprint_shard(
    work: Work, index: int, shard: Shard, params: DedupParams, line_buckets: int
) -> list[Doc]:
    """Fingerprint one shard of the input; write its sketches and its distinct (line, content)
    keys, cut into `line_buckets`. Returns its docs, without text."""
    docs: list[Doc] = []
    parts: list[Fingerprints] = []
    for batch, texts in read_shard(shard, endpoint_url=work.endpoint_url):
        parts.append(fingerprint(texts, params.minhash))
        docs.extend(batch)
    fp = Fingerprints.concat(parts, consume=True) if parts else fingerprint([], params.minhash)
    work.write_sketches(fp_file(index), docs, fp)
    keys, pair = distinct_lines(fp, source_keys(docs))
    where = bucket_of_lines(keys, line_buckets)
    for b in range(line_buckets):
        mine = where == b
        work.write_arrays(lines_file(b, index), key=keys[mine], pair=pair[mine])
    return docs


def count_lines(work: Work, bucket: int, shards: int, min_texts: int) -> LineCounts:
    """The counts of the lines of one bucket over the whole table (`LineCounts.tally` of the
    distinct (line, text content) pairs of every shard), keeping those held by at least
    `min_texts` texts: the boilerplate."""
    keys, pair = work.read_many([lines_file(bucket, s) for s in range(shards)], "key", "pair")
    _, first = np.unique(pair, return_index=True)
    return LineCounts.tally(keys[first], min_texts)


def stripped_rows(
    work: Work, shard: int, rows: np.ndarray | None, params: DedupParams, lines: LineCounts
) -> tuple[list[Doc], Fingerprints]:
    """Sketches of some rows (None: all) of a shard, taken from its work file, and boilerplate
    stripped by the counts of the whole table: as the single-process run strips them."""
    docs, fp = work.read_sketches(fp_file(shard), params.minhash.num_perm)
    if rows is not None:
        fp = fp.take(rows.tolist())
        docs = [docs[i] for i in rows.tolist()]
    return docs, strip_boilerplate(docs, fp, params.match, [lines])


def partition_shard(
    work: Work, index: int, start: int, n: int, params: DedupParams, lines: LineCounts, ranges: int
) -> tuple[np.ndarray, np.ndarray]:
    """Strip one shard's boilerplate and write its anchors and keys by range of value, each with
    its text's row in the whole table (`start` is the shard's first). Returns the anchors per text
    and the content hashes, both after the strip (a text left with nothing has none).

    Values are compared on their top `64 - doc_bits` bits, `doc_bits` that of `n` texts, as
    `candidates.Probe` packs them (so two values that meet there meet here too)."""
    _, fp = stripped_rows(work, index, None, params, lines)
    shift = np.uint64(doc_bits_for(n))
    counts = np.diff(fp.anchor_offsets)
    docs = np.repeat(np.arange(start, start + len(fp), dtype=np.int64), counts)
    top = fp.anchors >> shift
    # A text's keys are its `index_keys` smallest anchors (anchors are sorted within a text).
    k = params.match.index_keys
    within = np.arange(top.size, dtype=np.int64) - np.repeat(fp.anchor_offsets[:-1], counts)
    is_key = within < k
    where = bucket_of(top, ranges)
    for r in range(ranges):
        mine = where == r
        work.write_arrays(anchors_file(r, index), top=top[mine], doc=docs[mine])
        mine &= is_key
        work.write_arrays(keys_file(r, index), top=top[mine], doc=docs[mine])
    return counts, fp.content_hashes


def match_range(work: Work, part: int, shards: int, n: int, holder_buckets: int, params: DedupParams) -> int:
    """Every (holder, other) hit of one range of values: a key of the holder equal to an anchor of
    the other, the value held by 2 to `max_anchor_df` texts, found by the engine's lookup
    (`candidates.hit_counts`) in this range's anchors packed as `Probe` packs them. Writes the
    hits counted per directed pair, by holder bucket; returns how many pairs it wrote."""
    a_top, a_doc = work.read_many([anchors_file(part, s) for s in range(shards)], "top", "doc")
    k_top, k_doc = work.read_many([keys_file(part, s) for s in range(shards)], "top", "doc")
    doc_bits = doc_bits_for(n)
    shift = np.uint64(doc_bits)
    packed = (a_top.astype(np.uint64) << shift) | a_doc.astype(np.uint64)
    del a_top, a_doc
    packed.sort()
    # Keys come shard by shard, each shard's text by text: sorted by text, as the lookup wants.
    found = list(
        hit_counts(k_doc, k_top.astype(np.uint64) << shift, packed, doc_bits, n, params.match, same_set=True)
    )
    code = np.concatenate([np.zeros(0, np.int64), *(c for c, _ in found)])
    hits = np.concatenate([np.zeros(0, np.int64), *(h for _, h in found)])
    bucket = code // n * holder_buckets // max(n, 1)
    for h in range(holder_buckets):
        mine = bucket == h
        work.write_arrays(hits_file(h, part), code=code[mine], hits=hits[mine].astype(np.int64))
    return int(code.size)


def bucket_pairs(
    work: Work, bucket: int, ranges: int, n: int, holder_counts: np.ndarray, first: int, params: DedupParams
) -> np.ndarray:
    """The candidate pairs proposed by the holders of one bucket (rows `first`.. of the table,
    `holder_counts` their anchors): their hits summed over every range, judged as the engine judges
    them. Returns each pair once as its code `min * n + max`, sorted."""
    code, hits = work.read_many([hits_file(bucket, r) for r in range(ranges)], "code", "hits")
    if code.size == 0:
        return np.zeros(0, np.int64)
    uniq, inverse = np.unique(code, return_inverse=True)
    total = np.bincount(inverse.ravel(), weights=hits).astype(np.int64)
    holder, other = uniq // n, uniq % n
    good = _enough(total, holder_counts[holder - first], params.match)
    holder, other = holder[good], other[good]
    return np.unique(np.minimum(holder, other) * n + np.maximum(holder, other))


def gather_rows(
    work: Work, rows: np.ndarray, starts: Sequence[int], params: DedupParams, lines: LineCounts
) -> tuple[list[Doc], Fingerprints]:
    """The stripped sketches of the table's `rows` (sorted, unique), read from the shards holding
    them (`starts`: each shard's first row, and the table's size last)."""
    bounds = np.asarray(starts, dtype=np.int64)
    shard_of = np.searchsorted(bounds, rows, side="right") - 1
    docs: list[Doc] = []
    parts: list[Fingerprints] = []
    for s in np.unique(shard_of).tolist():
        local = rows[shard_of == s] - bounds[s]
        d, fp = work.read_sketches(fp_file(s), params.minhash.num_perm)
        parts.append(fp.take(local))
        docs.extend(d[i] for i in local.tolist())
    if not parts:
        return [], fingerprint([], params.minhash)
    fp = Fingerprints.concat(parts, consume=True)
    return docs, strip_boilerplate(docs, fp, params.match, [lines])


def verify_pairs(
    work: Work,
    pairs: np.ndarray,
    rank: np.ndarray,
    starts: Sequence[int],
    params: DedupParams,
    lines: LineCounts,
) -> Verified:
    """`dedup.verify.verify` of a slice of the candidate pairs (rows of the whole table; `rank`
    the precedence of every text they name, in row order of `np.unique(pairs)`), from the sketches
    of those texts only. The links come back in the order of `pairs`, named by table rows."""
    rows, local = np.unique(pairs, return_inverse=True)
    _, fp = gather_rows(work, rows, starts, params, lines)
    found = verify(fp, local.reshape(pairs.shape), rank, params)
    out = Verified()
    out.links = [(int(rows[a]), int(rows[o]), rel) for a, o, rel in found.links]
    out.measures = {(int(rows[a]), int(rows[o])): m for (a, o), m in found.measures.items()}
    out.holder_kept = {(int(rows[a]), int(rows[o])): k for (a, o), k in found.holder_kept.items()}
    return out
