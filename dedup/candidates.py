"""Candidate pairs: texts that share anchors (sampled shingles) or their whole normalised text.

Anchors are a fixed-rate sample of shingles, the same sample in every text, so a short excerpt and
the long story it came from share anchors in proportion to the excerpt's length: the search is
size-aware without partitioning by size. Each text is looked up by a small sample of its anchors
(its keys) in the anchors of all others; a key held by very many texts (a stock phrase,
boilerplate) proposes no pairs, and its texts still meet through their other keys.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass

import numpy as np

from dedup.fingerprint_arrays import Fingerprints
from dedup.params import MatchParams

_EXPAND_CHUNK = 1 << 22  # hits expanded at once: bounds the memory of common keys
_KEY_SLICE = 1 << 20  # keys looked up at once


def doc_bits_for(n: int) -> int:
    """Low bits of a packed anchor that hold its text's row, for a table of `n` texts."""
    return max(1, (n - 1).bit_length())


@dataclass(slots=True)
class Probe:
    """A set of texts ready to be looked up in and to look up with.

    Its anchors are packed with the text holding each, `value << doc_bits | text` truncated to 64
    bits, and sorted in place: one array, no argsort, so a million texts fit in a few GB. Looking a
    value up compares its top `64 - doc_bits` bits only; the odd collision of two shingles there
    adds one stray hit to a pair, far below the hits a candidate needs. Its keys are each text's
    `index_keys` smallest anchors.
    """

    packed: np.ndarray  # uint64, (anchor >> doc_bits) << doc_bits | text, sorted
    doc_bits: int
    key_vals: np.ndarray  # uint64, keys, text by text
    key_docs: np.ndarray  # int64
    counts: np.ndarray  # int64, anchors per text
    _keys_packed: np.ndarray | None = None

    @staticmethod
    def of(fp: Fingerprints, index_keys: int) -> Probe:
        n = len(fp)
        counts = np.diff(fp.anchor_offsets)
        doc_bits = doc_bits_for(n)
        shift = np.uint64(doc_bits)
        packed = fp.anchors >> shift
        packed <<= shift
        for lo in range(0, n, 1 << 16):  # a slice of texts at a time: no second full-size array
            hi = min(n, lo + (1 << 16))
            a, b = fp.anchor_offsets[lo], fp.anchor_offsets[hi]
            packed[a:b] |= np.repeat(np.arange(lo, hi, dtype=np.uint64), counts[lo:hi])
        packed.sort()
        # Anchors are sorted within each text: its keys are the first `index_keys` of them.
        key_pos = (fp.anchor_offsets[:-1, None] + np.arange(index_keys)[None, :]).ravel()
        key_docs = np.repeat(np.arange(n, dtype=np.int64), index_keys)
        real = key_pos < fp.anchor_offsets[1:][key_docs]
        key_vals, key_docs = fp.anchors[key_pos[real]], key_docs[real]
        del key_pos, real
        return Probe(packed, doc_bits, key_vals, key_docs, counts)

    @property
    def keys_packed(self) -> np.ndarray:
        """The keys packed and sorted like `packed` (made on first use: only lookups into a
        history need them)."""
        if self._keys_packed is None:
            shift = np.uint64(self.doc_bits)
            keys = ((self.key_vals >> shift) << shift) | self.key_docs.astype(np.uint64)
            keys.sort()
            self._keys_packed = keys
        return self._keys_packed


def anchor_pairs(
    fp: Fingerprints, params: MatchParams, *, new_from: int = 0, probe: Probe | None = None
) -> np.ndarray:
    """Pairs (i, j), i < j, of texts that may hold one another; shape (m, 2), int64.

    Each text's `index_keys` smallest anchors are a uniform sample of its anchors. A key of text A
    found among the anchors of text B is evidence that A is (partly) inside B, and the share of A's
    keys found estimates that containment, so a pair is proposed when either text has at least
    `min_candidate_containment` of its keys in the other (and `min_shared_anchors` of them). The
    work follows the number of related pairs times the sample size, not the square of how often
    a shingle occurs. A key found in more than `max_anchor_df` texts proposes nothing.

    With `new_from`, only pairs with at least one text at index >= new_from are proposed: the
    texts before it are history already matched among themselves. `probe` is `Probe.of(fp)`, when
    the caller has it already.
    """
    n = len(fp)
    if fp.anchors.size == 0 or n < 2:
        return np.zeros((0, 2), dtype=np.int64)
    probe = probe or Probe.of(fp, params.index_keys)
    holder, other = _hits(
        probe.key_docs, probe.key_vals, probe, probe.counts, params, same_set=True, new_from=new_from
    )
    code = np.unique(np.minimum(holder, other) * n + np.maximum(holder, other))
    return np.stack([code // n, code % n], axis=1)


def cross_pairs(history: Probe, new: Probe, new_fp: Fingerprints, params: MatchParams) -> np.ndarray:
    """Pairs (history text, new text) that may hold one another, looked up both ways; each lookup
    goes from the small new batch into the large history, so it costs little however large that is.
    """
    return cross_pairs_parts([HistoryPart.of(history)], new, new_fp, params)


@dataclass(slots=True)
class HistoryPart:
    """A piece of the history to look a batch up in, as `Probe` packs it: `anchors(values)` and
    `keys(values)` give sorted packed entries holding at least every entry equal to one of
    `values` (the whole arrays, or only the pages of a stored segment where the values fall).
    `counts` is the number of anchors of each text; texts outside `mask` do not count."""

    anchors: Callable[[np.ndarray], np.ndarray]
    keys: Callable[[np.ndarray], np.ndarray]
    doc_bits: int
    counts: np.ndarray
    mask: np.ndarray | None = None

    @staticmethod
    def of(probe: Probe) -> HistoryPart:
        return HistoryPart(lambda _: probe.packed, lambda _: probe.keys_packed, probe.doc_bits, probe.counts)


def cross_pairs_parts(
    parts: Sequence[HistoryPart], new: Probe, new_fp: Fingerprints, params: MatchParams
) -> np.ndarray:
    """`cross_pairs` against a history in several parts, numbered one after the other: a key's
    frequency is counted over all of them, as in one probe of the whole history."""
    total = sum(int(p.counts.size) for p in parts)
    counts = np.concatenate([np.zeros(0, np.int64), *(p.counts for p in parts)])
    width = max(int(new.counts.size), 1)
    # New keys among the history's anchors.
    v, hist = _part_hits(parts, new.key_vals, params, keys=False)
    directed, hits = np.unique(new.key_docs[v] * max(total, 1) + hist, return_counts=True)
    good = directed[_enough(hits, new.counts[directed // max(total, 1)], params)]
    from_new = (good % max(total, 1)) * width + good // max(total, 1)
    # History keys among the new anchors.
    v, hist = _part_hits(parts, new_fp.anchors, params, keys=True)
    anchor_docs = np.repeat(np.arange(len(new_fp), dtype=np.int64), np.diff(new_fp.anchor_offsets))
    directed, hits = np.unique(hist * width + anchor_docs[v], return_counts=True)
    from_history = directed[_enough(hits, counts[directed // width], params)]
    code = np.unique(np.concatenate([from_new, from_history]))
    return np.stack([code // width, code % width], axis=1)


def _enough(hits: np.ndarray, holder_counts: np.ndarray, params: MatchParams) -> np.ndarray:
    """Whether a holder with `holder_counts` anchors has enough of its keys in the other text."""
    sample = np.minimum(holder_counts, params.index_keys)
    return (hits >= np.minimum(params.min_shared_anchors, sample)) & (
        hits >= params.min_candidate_containment * sample
    )


def _part_hits(
    parts: Sequence[HistoryPart], values: np.ndarray, params: MatchParams, *, keys: bool
) -> tuple[np.ndarray, np.ndarray]:
    """(index in `values`, history text) of every entry equal to a value held by 1 to
    `max_anchor_df` texts of the history, over all parts."""
    found_v: list[np.ndarray] = [np.zeros(0, np.int64)]
    found_d: list[np.ndarray] = [np.zeros(0, np.int64)]
    common = np.zeros(values.size, dtype=bool)
    base = 0
    for part in parts:
        table = part.keys(values) if keys else part.anchors(values)
        # A masked part may hold more entries than count: expand a little further before judging.
        cap = params.max_anchor_df * (1 if part.mask is None else 4)
        lo, hi = _range(table, part.doc_bits, values)
        df = hi - lo
        common[df > cap] = True
        sel = np.flatnonzero((df > 0) & (df <= cap))
        d = df[sel]
        within = np.arange(int(d.sum())) - np.repeat(np.cumsum(d) - d, d)
        docs = _docs_at(table, part.doc_bits, np.repeat(lo[sel], d) + within)
        idx = np.repeat(sel, d)
        if part.mask is not None:
            keep = part.mask[docs]
            idx, docs = idx[keep], docs[keep]
        found_v.append(idx)
        found_d.append(docs + base)
        base += int(part.counts.size)
    v, docs = np.concatenate(found_v), np.concatenate(found_d)
    df = np.bincount(v, minlength=values.size)
    ok = (df <= params.max_anchor_df) & ~common
    keep = ok[v]
    return v[keep], docs[keep]


def _docs_at(table: np.ndarray, doc_bits: int, positions: np.ndarray) -> np.ndarray:
    """The texts of the entries at `positions` of a packed table."""
    return (table[positions] & np.uint64((1 << doc_bits) - 1)).astype(np.int64)


def _range(table: np.ndarray, doc_bits: int, values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Positions [lo, hi) in a sorted packed `table` of the entries equal to each of `values`,
    compared on their top `64 - doc_bits` bits."""
    shift = np.uint64(doc_bits)
    top = values >> shift
    lo = np.searchsorted(table, top << shift, side="left")
    hi = np.searchsorted(table, (top + np.uint64(1)) << shift, side="left")
    # A value whose top bits are all ones wraps to 0 above: everything after lo is its range.
    hi = np.where(top == (np.uint64(0xFFFFFFFFFFFFFFFF) >> shift), table.size, hi)
    return lo, hi


def _hits(
    key_docs: np.ndarray,
    key_vals: np.ndarray,
    target: Probe,
    holder_counts: np.ndarray,
    params: MatchParams,
    *,
    same_set: bool,
    new_from: int = 0,
) -> tuple[np.ndarray, np.ndarray]:
    """(holder, other) text pairs where enough of the holder's keys are among the other's anchors."""
    width = int(target.counts.size)
    holders: list[np.ndarray] = []
    others: list[np.ndarray] = []
    counted = hit_counts(
        key_docs,
        key_vals,
        target.packed,
        target.doc_bits,
        width,
        params,
        same_set=same_set,
        new_from=new_from,
    )
    for directed, hits in counted:
        good = directed[_enough(hits, holder_counts[directed // width], params)]
        holders.append(good // width)
        others.append(good % width)
    if not holders:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    return np.concatenate(holders), np.concatenate(others)


def hit_counts(
    key_docs: np.ndarray,
    key_vals: np.ndarray,
    packed: np.ndarray,
    doc_bits: int,
    width: int,
    params: MatchParams,
    *,
    same_set: bool,
    new_from: int = 0,
) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """The hits of keys among the anchors of a sorted `packed` table (as `Probe` packs them):
    (directed pair code ``holder * width + other``, how many of the holder's keys the other holds),
    sorted, a slice of holders at a time; every hit of a holder is in one slice.

    Keys come text by text (`key_docs` sorted); they are looked up a slice of holders at a time,
    and the (key, texts holding it) expanded a bounded slice at a time, so the lookup arrays stay
    small however many texts there are. With `same_set`, keys and anchors are of the same texts:
    a text does not hit itself, a value held by one text only is skipped, and with `new_from`
    only pairs with a text at index >= new_from count.
    """
    begin = 0
    while begin < key_docs.size:
        end = min(begin + _KEY_SLICE, key_docs.size)
        end = int(np.searchsorted(key_docs, key_docs[end - 1], side="right"))
        docs, lo, df = _lookup(
            key_docs[begin:end], key_vals[begin:end], packed, doc_bits, params, same_set, new_from
        )
        begin = end
        ends = np.cumsum(df)
        start = 0
        while start < docs.size:
            stop = int(np.searchsorted(ends, ends[start] - df[start] + _EXPAND_CHUNK, side="right"))
            stop = int(np.searchsorted(docs, docs[max(stop, start + 1) - 1], side="right"))
            d = df[start:stop]
            within = np.arange(int(d.sum())) - np.repeat(np.cumsum(d) - d, d)
            holder = np.repeat(docs[start:stop], d)
            other = _docs_at(packed, doc_bits, np.repeat(lo[start:stop], d) + within)
            keep = (holder != other) & (np.maximum(holder, other) >= new_from) if same_set else slice(None)
            yield np.unique(holder[keep] * width + other[keep], return_counts=True)
            start = stop


def _lookup(
    key_docs: np.ndarray,
    key_vals: np.ndarray,
    packed: np.ndarray,
    doc_bits: int,
    params: MatchParams,
    same_set: bool,
    new_from: int,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The keys worth expanding, as (holder, first position in `packed`, texts holding it)."""
    lo, hi = _range(packed, doc_bits, key_vals)
    df = hi - lo
    ok = (df >= (2 if same_set else 1)) & (df <= params.max_anchor_df)
    if same_set and new_from:
        # Keys of history texts only matter where new texts hold them, and the other way round.
        ok &= (key_docs >= new_from) | (_docs_at(packed, doc_bits, np.maximum(hi - 1, 0)) >= new_from)
    return key_docs[ok], lo[ok], df[ok]


def exact_pairs(hashes: np.ndarray, *, new_from: int = 0) -> np.ndarray:
    """Pairs of texts with the same normalised text (each text paired with the first of its kind)."""
    real = np.flatnonzero(hashes.view(np.uint8).reshape(-1, 32).any(axis=1))  # no words: nobody's copy
    _, first, kind = np.unique(hashes[real], return_index=True, return_inverse=True)
    j = real[first[kind.reshape(-1)]]
    keep = (j != real) & (real >= new_from)
    return np.stack([j[keep], real[keep]], axis=1).astype(np.int64)


def candidate_pairs(
    fp: Fingerprints, params: MatchParams, *, new_from: int = 0, probe: Probe | None = None
) -> np.ndarray:
    """Every candidate pair (i < j), from anchors and from equal normalised texts, without repeats."""
    pairs = np.concatenate(
        [
            anchor_pairs(fp, params, new_from=new_from, probe=probe),
            exact_pairs(fp.content_hashes, new_from=new_from),
        ]
    )
    if pairs.size == 0:
        return pairs
    n = len(fp)
    code = np.unique(pairs[:, 0] * n + pairs[:, 1])
    return np.stack([code // n, code % n], axis=1)
