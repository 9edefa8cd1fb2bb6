"""Boilerplate: the lines a source repeats across its articles, kept out of every comparison.

A newsletter plug, a copyright line, an "About us" block, a standing "Read more at ..." footer: a
source prints them under article after article. Two of its articles share them whatever their
stories, and a copy of its story in another outlet carries that outlet's lines instead, so left in
they make unrelated articles look alike and real copies look less alike.

A paragraph is boilerplate of its source when the same paragraph (the same words in the same
order, `Fingerprints.para_keys`) appears in at least `boilerplate_min_texts` different texts of
that source among the articles being compared (one pass: all of them; the index: the lookup
segments that hold the window's history, plus the batch). Texts are counted by content, so one
article under several URLs counts once. Articles without a source never have boilerplate; nor does
a source with fewer texts than that in what is compared, whose lines count as text.

Stripping drops the anchors of boilerplate paragraphs: candidates and verification see only what
each article says itself. A text whose every paragraph is boilerplate (a paywall stub, an empty
template) is left with nothing to match and joins no cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from dedup.fingerprint_arrays import NO_WORDS, Fingerprints
from dedup.hashing import _mix64
from dedup.records import Doc

_C_LINE = np.uint64(0x9FB21C651E98DF25)


def source_keys(docs: Sequence[Doc]) -> np.ndarray:
    """A stable 64-bit key of each doc's source (0: no source)."""
    cache: dict[str, int] = {}
    out = np.zeros(len(docs), dtype=np.uint64)
    for i, d in enumerate(docs):
        if d.source:
            key = cache.get(d.source)
            if key is None:
                digest = hashlib.blake2b(d.source.encode(), digest_size=8).digest()
                key = cache[d.source] = int.from_bytes(digest, "little") | 1
            out[i] = key
    return out


def _content_keys(fp: Fingerprints) -> np.ndarray:
    """The first 8 bytes of each text's content hash, as uint64."""
    raw = np.ascontiguousarray(fp.content_hashes).view(np.uint8).reshape(-1, 32)
    return np.ascontiguousarray(raw[:, :8]).view("<u8").ravel()


def line_keys(fp: Fingerprints, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key of each paragraph entry of `fp` within its source, usable mask): a paragraph is usable
    when it has words and its text has a source."""
    if fp.para_offsets is None or fp.para_keys is None:
        return np.zeros(0, np.uint64), np.zeros(0, bool)
    counts = np.diff(fp.para_offsets)
    src = np.repeat(sources, counts)
    keys = _mix64(src + fp.para_keys.astype(np.uint64) * _C_LINE)
    return keys, (fp.para_keys != 0) & (src != 0)


def distinct_lines(fp: Fingerprints, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(line key, key of the (line, text content) pair) of each usable paragraph of `fp`, each
    distinct pair once: texts are counted by content, so one article under several URLs counts once.
    The pair keys let parts of a table be put together and made distinct again."""
    keys, usable = line_keys(fp, sources)
    keys = keys[usable]
    if keys.size == 0 or fp.para_offsets is None:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    content = np.repeat(_content_keys(fp), np.diff(fp.para_offsets))[usable]
    pair = keys ^ _mix64(content + _C_LINE)
    _, first = np.unique(pair, return_index=True)
    return keys[first], pair[first]


@dataclass(slots=True)
class LineCounts:
    """How many different texts of their source hold each (source, paragraph), for some texts."""

    keys: np.ndarray  # uint64, sorted, unique
    counts: np.ndarray  # int32

    @staticmethod
    def of(fp: Fingerprints, sources: np.ndarray, min_texts: int = 2) -> LineCounts:
        """Counts of the lines of `fp` held by at least `min_texts` texts (fewer cannot add up to
        boilerplate with other parts unless those hold it too: give the smallest threshold that
        any use of these counts needs, 1 to keep every line)."""
        keys, _ = distinct_lines(fp, sources)
        return LineCounts.tally(keys, min_texts)

    @staticmethod
    def tally(keys: np.ndarray, min_texts: int) -> LineCounts:
        """The counts of line keys given once per distinct (line, text content) (`distinct_lines`,
        over every part of the texts), keeping those held by at least `min_texts` texts."""
        if keys.size == 0:
            return LineCounts.empty()
        uniq, counts = np.unique(keys, return_counts=True)
        common = counts >= min_texts
        return LineCounts(uniq[common], counts[common].astype(np.int32))

    @staticmethod
    def empty() -> LineCounts:
        return LineCounts(np.zeros(0, np.uint64), np.zeros(0, np.int32))

    @staticmethod
    def merge(parts: Sequence[LineCounts]) -> LineCounts:
        """The counts of several sets of texts added up (a text in two of them counts twice)."""
        keys = np.concatenate([p.keys for p in parts]) if parts else np.zeros(0, np.uint64)
        if keys.size == 0:
            return LineCounts.empty()
        uniq, inverse = np.unique(keys, return_inverse=True)
        counts = np.bincount(inverse.ravel(), weights=np.concatenate([p.counts for p in parts]))
        return LineCounts(uniq, counts.astype(np.int32))

    def lookup(self, keys: np.ndarray) -> np.ndarray:
        """Count of each of `keys` (0 where absent)."""
        if self.keys.size == 0:
            return np.zeros(keys.size, np.int32)
        pos = np.minimum(np.searchsorted(self.keys, keys), self.keys.size - 1)
        return np.where(self.keys[pos] == keys, self.counts[pos], 0).astype(np.int32)


class Counted(Protocol):
    """Anything that counts lines: `LineCounts`, or a stored segment of the index (`lookup.Segment`)."""

    def lookup(self, keys: np.ndarray) -> np.ndarray: ...


def boilerplate_paragraphs(
    fp: Fingerprints, sources: np.ndarray, counts: Sequence[Counted], min_texts: int
) -> np.ndarray:
    """Mask over `fp`'s paragraph entries: True where the paragraph is boilerplate of its source,
    its texts counted over all of `counts` (which must include `fp`'s own texts)."""
    keys, usable = line_keys(fp, sources)
    total = np.zeros(keys.size, np.int64)
    for c in counts:
        total += c.lookup(keys)
    return usable & (total >= min_texts)


def strip_boilerplate(
    docs: Sequence[Doc],
    fp: Fingerprints,
    min_texts: int,
    counts: Sequence[Counted] | None = None,
    *,
    in_place: bool = False,
) -> Fingerprints:
    """`fp` (row i is docs[i]) without its boilerplate, counted over `counts` (default: over `fp`'s
    own texts; else they must include them). Fingerprints already stripped come back as they are.
    `in_place` reuses `fp`'s anchor arrays (then `fp` itself must not be used again)."""
    if fp.boiler is not None or fp.para_offsets is None:
        return fp
    sources = source_keys(docs)
    counts = [LineCounts.of(fp, sources, min_texts)] if counts is None else counts
    return strip(fp, boilerplate_paragraphs(fp, sources, counts, min_texts), in_place=in_place)


def strip(fp: Fingerprints, boiler: np.ndarray, *, in_place: bool = False) -> Fingerprints:
    """`fp` without the anchors of boilerplate paragraphs (`boiler`, a mask over its paragraph
    entries); texts left with nothing lose their content hash too, so they are nobody's exact copy.
    `in_place` compacts `fp`'s own anchor arrays instead of copying them (a million texts' anchors
    are gigabytes)."""
    if not boiler.any():
        return replace(fp, boiler=boiler)
    assert fp.para_offsets is not None
    n = len(fp)
    counts = np.diff(fp.anchor_offsets)
    n_paras = np.diff(fp.para_offsets)
    anchors = fp.anchors if in_place else np.empty_like(fp.anchors)
    paras = fp.anchor_paras if in_place else np.empty_like(fp.anchor_paras)
    kept_counts = np.zeros(n, dtype=np.int64)
    written = 0
    step = 1 << 16
    for lo in range(0, n, step):  # a slice of texts at a time: no full-size index arrays
        hi = min(n, lo + step)
        a, b = int(fp.anchor_offsets[lo]), int(fp.anchor_offsets[hi])
        doc = np.repeat(np.arange(lo, hi), counts[lo:hi])
        has = n_paras[doc] > 0
        para = np.minimum(fp.anchor_paras[a:b].astype(np.int64), np.maximum(n_paras[doc] - 1, 0))
        flat = np.where(has, fp.para_offsets[doc] + para, 0)
        keep = ~(has & boiler[flat])
        m = int(keep.sum())
        # Never ahead of the slice being read: compacting in place is safe.
        anchors[written : written + m] = fp.anchors[a:b][keep]
        paras[written : written + m] = fp.anchor_paras[a:b][keep]
        written += m
        kept_counts[lo:hi] = np.bincount(doc[keep] - lo, minlength=hi - lo)
    offsets = np.zeros(n + 1, dtype=np.int64)
    np.cumsum(kept_counts, out=offsets[1:])
    hollow = _hollow(fp, boiler)
    hashes = None
    if hollow.any():
        hashes = fp.content_hashes.copy()
        hashes[hollow] = NO_WORDS
    return replace(
        fp,
        anchor_offsets=offsets,
        anchors=anchors[:written] if in_place else anchors[:written].copy(),
        anchor_paras=paras[:written] if in_place else paras[:written].copy(),
        content_hashes=hashes if hashes is not None else fp.content_hashes,
        boiler=boiler,
    )


def _hollow(fp: Fingerprints, boiler: np.ndarray) -> np.ndarray:
    """Texts whose every paragraph with words is boilerplate."""
    assert fp.para_offsets is not None and fp.para_keys is not None
    content = (fp.para_keys != 0) & ~boiler
    n_paras = np.diff(fp.para_offsets)
    has_content = np.zeros(len(fp), dtype=bool)
    nonempty = np.flatnonzero(n_paras > 0)
    if nonempty.size:
        has_content[nonempty] = np.add.reduceat(content, fp.para_offsets[nonempty]) > 0
    had_words = np.zeros(len(fp), dtype=bool)
    if nonempty.size:
        had_words[nonempty] = np.add.reduceat(fp.para_keys != 0, fp.para_offsets[nonempty]) > 0
    return had_words & ~has_content
