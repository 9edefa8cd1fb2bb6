"""Boilerplate: the lines a source repeats across its articles, kept out of every comparison; and
the lines many sources print under different stories.

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

A repeated paragraph of text is boilerplate only where it is printed in different surroundings. In
each text, the repeated paragraphs that follow one another (captions and other non-text lines
between them left aside) make blocks, cut where a paragraph follows `boilerplate_min_contexts`
different paragraphs over the texts or precedes as many; a block is boilerplate when its first paragraph
follows, or its last precedes, that many. A footer follows the last paragraph of every story, a
kicker precedes every lede, an in-house plug sits anywhere. The paragraphs that one source keeps
printing because it keeps printing one story (the snapshots of a live page, each holding the one
before; the write-throughs of a story) follow and precede the same paragraphs, or the edge of the
text where it was shorter, and stay text: otherwise the snapshots made only of them would be left
with nothing and the chain would fall apart.

A wire's own lines (a licence, a syndication or desk line) are printed by every outlet that runs
its stories, and a one-event sample holds too few texts of each outlet for them to count as its
boilerplate. They are learned across sources (`_wire_boilerplate`): the same paragraph, whatever
its source, among the last `WIRE_TAIL` paragraphs of text of `wire_min_texts` texts, with no
paragraph among the few before it in half of those texts (a licence line ends a different story
each time; a story's paragraph, however many outlets run it, has the same ones before it in most
of its copies, whatever one outlet edits or inserts), and opening no text (a story's lede opens its
own text, whatever other outlets print above it).

The paragraphs before and after a paragraph are counted by bucket (`_CONTEXT_BITS` of a hash of
their keys) next to its line, in the same counts, and so are the texts that open with a line: the
texts of a bucket add up over parts of the texts (the index's segments, the distributed shards) as
they do over one pass, so every way of running gives the same boilerplate.

Stripping drops the anchors of boilerplate paragraphs: candidates and verification see only what
each article says itself. A text whose every paragraph is boilerplate (a paywall stub, an empty
template) is left with nothing to match and joins no cluster.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np

from dedup.fingerprint import para_words
from dedup.fingerprint_arrays import NO_WORDS, Fingerprints
from dedup.hashing import _mix64
from dedup.params import MatchParams
from dedup.records import Doc

_C_LINE = np.uint64(0x9FB21C651E98DF25)
_C_PREV = np.uint64(0xD6E8FEB86659FD93)
_C_NEXT = np.uint64(0xA0761D6478BD642F)
_C_WIRE = np.uint64(0xE7037ED1A0B428DB)
#: A line key has its top bit clear; the key of a (line, side, neighbour bucket) has it set, the
#: side next (0: the paragraph before, 1: after), the line's top bits below, and the bucket in the
#: low `_CONTEXT_BITS`. So lines sort before the paragraphs before them, and those before the ones
#: after; and a line's buckets of one side sort together.
_CONTEXT = np.uint64(1 << 63)
_SIDE_BIT = np.uint64(1 << 62)
_CONTEXT_BITS = 6
_LINE_SHIFT = np.uint64(63 - (62 - _CONTEXT_BITS))
#: Lines printed by many sources are looked for among the last this many paragraphs of text of a
#: text (a wire's licence and copyright lines end its stories; an outlet's own footer may follow).
WIRE_TAIL = 4
#: ... and counted there only after this many paragraphs of text: an outlet puts lines of its own
#: (a headline, a summary) above the wire's story, and the first paragraphs of a short story
#: follow a different one in every outlet as a licence line follows a different story.
WIRE_AFTER = 3
#: ... and told apart from a story's paragraphs by the paragraphs among the this many before them:
#: a story's last paragraphs have the ones before them in most of its copies, whatever an outlet
#: edits, inserts or cuts; a licence line has a different story before it each time.
WIRE_WINDOW = 3
# (The index stores counts made with these and `_CONTEXT_BITS`: a change to them must come with a
# change of `MatchParams`, whose digest names the index, or the stored counts mean something else.)


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
    keys = _mix64(src + fp.para_keys.astype(np.uint64) * _C_LINE) & ~_CONTEXT
    return keys, (fp.para_keys != 0) & (src != 0)


def _texts(fp: Fingerprints, usable: np.ndarray) -> np.ndarray:
    """Mask over `fp`'s paragraph entries: usable paragraphs of text (with words that are text:
    not a caption or another non-text line, whose keys count no words)."""
    assert fp.para_keys is not None
    return usable & (para_words(fp.para_keys) > 0)


def _text_entries(fp: Fingerprints, text: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(entry, text) of each paragraph of text (`text` marks them), in order."""
    assert fp.para_offsets is not None
    idx = np.flatnonzero(text)
    return idx, np.repeat(np.arange(len(fp)), np.diff(fp.para_offsets))[idx]


def _neighbours(fp: Fingerprints, idx: np.ndarray, doc: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key of the paragraph of text before each, after each) for the paragraphs of text at
    entries `idx` of texts `doc` (`_text_entries`); 0 at the start and at the end of their text."""
    assert fp.para_keys is not None
    para = fp.para_keys[idx].astype(np.uint64)
    same = np.zeros(idx.size, bool)
    same[1:] = doc[1:] == doc[:-1]
    before = np.where(same, np.roll(para, 1), np.uint64(0))
    after_same = np.zeros(idx.size, bool)
    after_same[:-1] = same[1:]
    after = np.where(after_same, np.roll(para, -1), np.uint64(0))
    return before, after


def _context_base(keys: np.ndarray, side: int) -> np.ndarray:
    """The context key of each line of `keys` on one side, bucket 0."""
    out = _CONTEXT | ((keys >> _LINE_SHIFT) << np.uint64(_CONTEXT_BITS))
    return out | _SIDE_BIT if side else out


def _line_of(keys: np.ndarray) -> np.ndarray:
    """The line part of line keys and of context keys alike (equal for a line and its contexts)."""
    ctx = (keys & _CONTEXT) != 0
    return np.where(ctx, (keys & ~(_CONTEXT | _SIDE_BIT)) >> np.uint64(_CONTEXT_BITS), keys >> _LINE_SHIFT)


def _bucket(neighbours: np.ndarray, side: int) -> np.ndarray:
    """The bucket of each neighbour key (0: none) on one side."""
    return _mix64(neighbours * (_C_NEXT if side else _C_PREV) + _C_LINE) >> np.uint64(64 - _CONTEXT_BITS)


def _wire_entries(fp: Fingerprints) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(entry, text, keys of the `WIRE_WINDOW` paragraphs of text before it (0 where the text has
    fewer), its place among the text's paragraphs of text) of the last `WIRE_TAIL` paragraphs of
    text of each text, whatever its source, in order; and the entry of each text's first paragraph
    of text."""
    assert fp.para_keys is not None
    idx, doc = _text_entries(fp, _texts(fp, fp.para_keys != 0))
    pos = np.arange(idx.size) - np.searchsorted(doc, doc)
    ledes = idx[pos == 0]
    tail = np.flatnonzero(np.bincount(doc, minlength=len(fp))[doc] - pos <= WIRE_TAIL)
    before = np.zeros((WIRE_WINDOW, tail.size), np.uint64)
    for w in range(1, WIRE_WINDOW + 1):
        there = pos[tail] >= w
        before[w - 1, there] = fp.para_keys[idx[tail[there] - w]]
    return idx[tail], doc[tail], before, pos[tail], ledes


def _wire_keys(fp: Fingerprints, idx: np.ndarray) -> np.ndarray:
    """The key of the paragraphs at entries `idx` whatever their source (line keys' range)."""
    assert fp.para_keys is not None
    return _mix64(fp.para_keys[idx].astype(np.uint64) * _C_WIRE + _C_NEXT) & ~_CONTEXT


def _lede_keys(wire_keys: np.ndarray) -> np.ndarray:
    """The key that counts the texts that open with each line (of `_wire_keys`): its context on
    the side after, bucket 0, which the wire's lines use for nothing else."""
    return _context_base(wire_keys, 1)


def _groups(fp: Fingerprints, sources: np.ndarray) -> Iterator[tuple[np.ndarray, np.ndarray]]:
    """(keys, content key of their text) of the paragraphs of `fp` counted for boilerplate, in
    three groups, in the order their keys sort: the lines of usable paragraphs, and the lines
    whatever their source of the paragraphs at the ends of texts (`WIRE_TAIL`, `WIRE_AFTER`); for
    each paragraph of text of a source, its (line, bucket of the paragraph of text before it), and
    for each of those at the ends, its (line, bucket) of each of the `WIRE_WINDOW` before it; for
    each paragraph of text of a source, its (line, bucket of the one after it), and for each text,
    the line it opens with. One group at a time: a million texts' paragraphs are tens of millions."""
    if fp.para_offsets is None:
        return
    keys, usable = line_keys(fp, sources)
    content = np.repeat(_content_keys(fp), np.diff(fp.para_offsets))
    w_idx, _, w_before, w_pos, ledes = _wire_entries(fp)
    counted = w_pos >= WIRE_AFTER
    w_idx, w_before = w_idx[counted], w_before[:, counted]
    w_keys = _wire_keys(fp, w_idx)
    if not usable.any() and not w_idx.size and not ledes.size:
        return
    yield np.concatenate([keys[usable], w_keys]), np.concatenate([content[usable], content[w_idx]])
    idx, doc = _text_entries(fp, _texts(fp, usable))
    before, after = _neighbours(fp, idx, doc)
    yield (
        np.concatenate(
            [
                _context_base(keys[idx], 0) | _bucket(before, 0),
                *(_context_base(w_keys, 0) | _bucket(b, 0) for b in w_before),
            ]
        ),
        np.concatenate([content[idx], *[content[w_idx]] * WIRE_WINDOW]),
    )
    yield (
        np.concatenate([_context_base(keys[idx], 1) | _bucket(after, 1), _lede_keys(_wire_keys(fp, ledes))]),
        np.concatenate([content[idx], content[ledes]]),
    )


def _distinct(keys: np.ndarray, content: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key, key of the (key, text content) pair) of each distinct pair of one group."""
    pair = keys ^ _mix64(content + _C_LINE)
    _, first = np.unique(pair, return_index=True)
    return keys[first], pair[first]


def distinct_lines(fp: Fingerprints, sources: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(key, key of the (key, text content) pair) of each key that `LineCounts.of` counts (`_groups`),
    each distinct pair once: texts are counted by content, so one article under several URLs counts
    once. The pair keys let parts of a table be put together and made distinct again."""
    parts = [_distinct(k, c) for k, c in _groups(fp, sources)]
    if not parts:
        return np.zeros(0, np.uint64), np.zeros(0, np.uint64)
    return np.concatenate([k for k, _ in parts]), np.concatenate([p for _, p in parts])


def bucket_of_lines(keys: np.ndarray, buckets: int) -> np.ndarray:
    """The bucket (0..buckets-1) of line and context keys: a line's contexts go with it."""
    return (_mix64(_line_of(keys)) % np.uint64(buckets)).astype(np.int64)


@dataclass(slots=True)
class LineCounts:
    """How many different texts of their source hold each (source, paragraph), and each (source,
    paragraph, side, bucket of the paragraph on that side); how many texts of any source hold each
    paragraph at their end, and with the paragraph before it in each bucket, and open with it; for
    some texts (`_groups`)."""

    keys: np.ndarray  # uint64, sorted, unique
    counts: np.ndarray  # int32

    @staticmethod
    def of(fp: Fingerprints, sources: np.ndarray, min_texts: int = 2) -> LineCounts:
        """Counts of the lines of `fp` held by at least `min_texts` texts (fewer cannot add up to
        boilerplate with other parts unless those hold it too: give the smallest threshold that
        any use of these counts needs, 1 to keep every line)."""
        # Group by group (their keys do not overlap, and sort one group after the other).
        parts = []
        for keys, content in _groups(fp, sources):
            distinct, _ = _distinct(keys, content)
            del keys, content
            parts.append(LineCounts.tally(distinct, 1))
        if not parts:
            return LineCounts.empty()
        out = LineCounts(np.concatenate([p.keys for p in parts]), np.concatenate([p.counts for p in parts]))
        return out.common(min_texts)

    @staticmethod
    def tally(keys: np.ndarray, min_texts: int) -> LineCounts:
        """The counts of keys given once per distinct (key, text content) (`distinct_lines`, over
        every part of the texts), keeping the lines held by at least `min_texts` texts and their
        contexts (a line's and its contexts' keys must all be given together)."""
        if keys.size == 0:
            return LineCounts.empty()
        uniq, counts = np.unique(keys, return_counts=True)
        return LineCounts(uniq, counts.astype(np.int32)).common(min_texts)

    def common(self, min_texts: int) -> LineCounts:
        """These counts without the lines held by fewer than `min_texts` texts, nor their contexts."""
        if min_texts <= 1 or self.keys.size == 0:
            return self
        ctx = (self.keys & _CONTEXT) != 0
        keep = ~ctx & (self.counts >= min_texts)
        kept = np.unique(_line_of(self.keys[keep]))
        if kept.size:
            line = _line_of(self.keys)
            pos = np.minimum(np.searchsorted(kept, line), kept.size - 1)
            keep |= ctx & (kept[pos] == line)
        return LineCounts(self.keys[keep], self.counts[keep])

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
    fp: Fingerprints, sources: np.ndarray, counts: Sequence[Counted], match: MatchParams
) -> np.ndarray:
    """Mask over `fp`'s paragraph entries: True where the paragraph is boilerplate, its texts and
    their surroundings counted over all of `counts` (which must include `fp`'s own texts)."""
    of_source, under_stories = _kinds(fp, sources, counts, match)
    out: np.ndarray = of_source | under_stories
    return out


def boilerplate_kinds(
    docs: Sequence[Doc], fp: Fingerprints, match: MatchParams, counts: Sequence[Counted] | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """The boilerplate of `fp` (row i is docs[i]) by kind, two masks over its paragraph entries:
    (of its source, `_source_boilerplate`; a line that many sources print under different stories,
    `_wire_boilerplate`), counted over `counts` (default: over `fp`'s own texts; else they must
    include them)."""
    sources = source_keys(docs)
    counts = [LineCounts.of(fp, sources, match.counted_min_texts())] if counts is None else counts
    return _kinds(fp, sources, counts, match)


def _kinds(
    fp: Fingerprints, sources: np.ndarray, counts: Sequence[Counted], match: MatchParams
) -> tuple[np.ndarray, np.ndarray]:
    of_source = _source_boilerplate(
        fp, sources, counts, match.boilerplate_min_texts, match.boilerplate_min_contexts
    )
    return of_source, _wire_boilerplate(fp, counts, match.wire_min_texts, match.boilerplate_min_contexts)


def _source_boilerplate(
    fp: Fingerprints, sources: np.ndarray, counts: Sequence[Counted], min_texts: int, min_contexts: int
) -> np.ndarray:
    """A non-text line held by `min_texts` texts of its source; a paragraph of text held by as
    many, in a block of such paragraphs printed after, or before, `min_contexts` different
    paragraphs."""
    keys, usable = line_keys(fp, sources)
    total = np.zeros(keys.size, np.int64)
    for c in counts:
        total += c.lookup(keys)
    repeated = usable & (total >= min_texts)
    idx, doc = _text_entries(fp, _texts(fp, usable))
    rep = repeated[idx]
    if not rep.any():
        return repeated
    lines = np.unique(keys[idx[rep]])
    pos = np.searchsorted(lines, keys[idx])
    pos[~rep] = 0
    wide = [(_context_counts(lines, side, counts) > 0).sum(axis=1) >= min_contexts for side in (0, 1)]
    opens = rep & wide[0][pos]  # follows many different paragraphs: a block starts here
    closes = rep & wide[1][pos]  # precedes many: a block ends here
    # Blocks: runs of repeated paragraphs of text in one text, cut where one opens or closes.
    start = rep.copy()
    start[1:] &= ~rep[:-1] | (doc[1:] != doc[:-1]) | opens[1:] | closes[:-1]
    block = np.cumsum(start) - 1
    boiler_block = np.zeros(int(start.sum()), bool)
    np.logical_or.at(boiler_block, block[rep], (opens & start)[rep])
    end = np.zeros(rep.size, bool)
    end[:-1] = start[1:] | ~rep[1:]
    end[-1:] = True
    np.logical_or.at(boiler_block, block[rep], (closes & end & rep)[rep])
    out = repeated.copy()
    out[idx] = False
    out[idx[rep]] = boiler_block[block[rep]]
    return out


def _wire_boilerplate(
    fp: Fingerprints, counts: Sequence[Counted], min_texts: int, min_contexts: int
) -> np.ndarray:
    """The lines that many sources print under story after story: among the last `WIRE_TAIL`
    paragraphs of text of a text, a block of paragraphs that `min_texts` texts of any sources print
    there too (after `WIRE_AFTER` paragraphs of text), whose first has `min_contexts` different
    paragraphs before it in those texts and no paragraph among the `WIRE_WINDOW` before it in half
    of them or more. A story's own paragraphs, however many outlets run it, have the same ones
    before them in most copies (copy edits, insertions and cuts change one or two of them in
    some); a licence line has the end of a different story before it each time. A line that
    any text opens with is a story's lede, whatever other outlets print above it (their own
    story, when they run a short one as part of theirs), so no text loses its lede to this rule."""
    if fp.para_keys is None:
        return np.zeros(0, bool)
    out = np.zeros(fp.para_keys.size, bool)
    idx, doc, _, _, _ = _wire_entries(fp)
    keys = _wire_keys(fp, idx)
    total = np.zeros(keys.size, np.int64)
    for c in counts:
        total += c.lookup(keys)
    rep = total >= min_texts
    if not rep.any():
        return out
    lines, first, inverse = np.unique(keys[rep], return_index=True, return_inverse=True)
    before = _context_counts(lines, 0, counts)
    wide = ((before > 0).sum(axis=1) >= min_contexts) & (before.max(axis=1) * 2 < total[rep][first])
    opened = np.zeros(lines.size, np.int64)
    for c in counts:
        opened += c.lookup(_lede_keys(lines))
    wide &= opened == 0
    opens = np.zeros(keys.size, bool)
    opens[rep] = wide[inverse.ravel()]
    # Blocks: runs of such paragraphs at the end of one text; one is boilerplate when its first opens.
    cut = ~rep | opens
    cut[0] = True
    cut[1:] |= doc[1:] != doc[:-1]
    block = np.cumsum(cut) - 1
    out[idx[rep & opens[cut][block]]] = True
    return out


def _context_counts(lines: np.ndarray, side: int, counts: Sequence[Counted]) -> np.ndarray:
    """How many texts hold each of `lines` (line keys) with a paragraph of each neighbour bucket on
    one side, over all of `counts`: (lines, buckets)."""
    buckets = np.arange(1 << _CONTEXT_BITS, dtype=np.uint64)
    probe = (_context_base(lines, side)[:, None] | buckets[None, :]).ravel()
    seen = np.zeros(probe.size, np.int32)
    for c in counts:
        seen += c.lookup(probe)
    return seen.reshape(lines.size, buckets.size)


def strip_boilerplate(
    docs: Sequence[Doc],
    fp: Fingerprints,
    match: MatchParams,
    counts: Sequence[Counted] | None = None,
    *,
    in_place: bool = False,
) -> Fingerprints:
    """`fp` (row i is docs[i]) without its boilerplate (`match.boilerplate_min_texts` and
    `boilerplate_min_contexts`), counted over `counts` (default: over `fp`'s own texts; else they
    must include them). Fingerprints already stripped come back as they are. `in_place` reuses
    `fp`'s anchor arrays (then `fp` itself must not be used again)."""
    if fp.boiler is not None or fp.para_offsets is None:
        return fp
    of_source, under_stories = boilerplate_kinds(docs, fp, match, counts)
    return strip(fp, of_source | under_stories, in_place=in_place)


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
    """Texts that had words and whose every paragraph of text is boilerplate (a caption left above
    a footer does not make a page a story)."""
    assert fp.para_offsets is not None and fp.para_keys is not None
    content = (para_words(fp.para_keys) > 0) & ~boiler
    n_paras = np.diff(fp.para_offsets)
    has_content = np.zeros(len(fp), dtype=bool)
    nonempty = np.flatnonzero(n_paras > 0)
    if nonempty.size:
        has_content[nonempty] = np.add.reduceat(content, fp.para_offsets[nonempty]) > 0
    had_words = np.zeros(len(fp), dtype=bool)
    if nonempty.size:
        had_words[nonempty] = np.add.reduceat(fp.para_keys != 0, fp.para_offsets[nonempty]) > 0
    return had_words & ~has_content
