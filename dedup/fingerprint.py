"""Fingerprints of a batch of texts: normalise, shingle, MinHash and anchor sketch, vectorised.

A text is split into paragraphs (lines), lower-cased and cut into words. Each word is hashed
with a 64-bit polynomial hash computed for the whole batch at once (prefix sums over the bytes),
each run of `shingle_words` words within a paragraph into a 64-bit shingle hash (a text with
no paragraph that long gets one shingle of all its words). From the shingle hashes come

- the MinHash signature, datasketch's `affine32` scheme: it equals
  `datasketch.MinHash(num_perm, seed, hashfunc=shingle_hash32)` fed the same shingles;
- the anchor sketch: the shingles whose low hash bits fall under `anchor_rate`, each with the
  paragraph it starts in. Every text keeps the same shingles, so the shared anchors of two texts
  estimate how much of each is inside the other (containment), paragraph by paragraph.

No Python loop runs per word or per shingle; the loops are per paragraph and per document.

Only the first `MAX_TEXT_CHARS` characters of a text are fingerprinted: no news article comes
near it, and one hostile 46 MB text would otherwise take several GB. Two texts that agree on
that much are judged on it alone.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator, Sequence
from itertools import pairwise
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.fingerprint_arrays import NO_WORDS, Fingerprints
from dedup.hashing import _C, _combine, _mix64, _word_hashes
from dedup.minhash import _permutations, _signatures
from dedup.nontext import FIRST_WORDS, HINT_WORDS, nontext_lines
from dedup.params import MinHashParams
from dedup.radix import _among, _doc_major_order, _hashes_of
from dedup.text import Words, split_words

#: Characters of a text that are fingerprinted (see the module docstring).
MAX_TEXT_CHARS = 500_000
_CHUNK_CHARS = 1 << 20  # text per vectorised chunk: bounds memory, keeps arrays in cache

#: Texts to fingerprint: Python strings, or an Arrow string column (read a chunk at a time).
Texts: TypeAlias = Sequence[str] | pa.Array | pa.ChunkedArray


def fingerprint(texts: Texts, params: MinHashParams | None = None) -> Fingerprints:
    """Fingerprints of `texts` (raw article bodies), vectorised over chunks of about 1 MB of text.

    An Arrow string column is read a chunk at a time: only the texts of one chunk are ever Python
    strings, so a large batch does not leave the heap full of freed texts.
    """
    params = params or MinHashParams()
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        return _fingerprint_column(texts, params)
    chunks = [_fingerprint_chunk(texts[lo:hi], params) for lo, hi in _chunks(texts)]
    if not chunks:
        return _fingerprint_chunk([], params)
    return Fingerprints.concat(chunks)


def _chunks(texts: Sequence[str]) -> Iterator[tuple[int, int]]:
    """(start, end) of consecutive runs of `texts` of about `_CHUNK_CHARS` characters each."""
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= _CHUNK_CHARS or i == len(texts) - 1:
            yield start, i + 1
            start, size = i + 1, 0


def _fingerprint_column(texts: pa.Array | pa.ChunkedArray, params: MinHashParams) -> Fingerprints:
    arrays = texts.chunks if isinstance(texts, pa.ChunkedArray) else [texts]
    chunks: list[Fingerprints] = []
    for arr in arrays:
        # Cut where the running text length crosses a multiple of _CHUNK_CHARS (bytes here).
        ends = np.cumsum(pc.binary_length(arr).fill_null(0).to_numpy(zero_copy_only=False))
        cuts = np.flatnonzero(np.diff(ends // _CHUNK_CHARS, prepend=0)) + 1
        bounds = [0, *[c for c in cuts.tolist() if c < len(arr)], len(arr)]
        for lo, hi in pairwise(bounds):
            chunks.append(_fingerprint_chunk(arr.slice(lo, hi - lo).to_pylist(), params))
    if not chunks:
        return _fingerprint_chunk([], params)
    return Fingerprints.concat(chunks)


def _fingerprint_chunk(texts: Sequence[str], params: MinHashParams) -> Fingerprints:
    texts = [t if len(t) <= MAX_TEXT_CHARS else t[:MAX_TEXT_CHARS] for t in texts]
    k = params.shingle_words
    n_docs = len(texts)
    a, b = _permutations(params.num_perm, params.seed)
    sig = np.full((n_docs, params.num_perm), np.iinfo(np.uint32).max, dtype=np.uint32)
    w = split_words(texts)
    wh = _word_hashes(w.data, w.starts, w.ends)
    word_bounds = np.searchsorted(w.doc, np.arange(n_docs + 1))
    hashes = np.frombuffer(
        b"".join(
            hashlib.sha256(wh.data[lo:hi]).digest() if hi > lo else NO_WORDS
            for lo, hi in zip(word_bounds[:-1].tolist(), word_bounds[1:].tolist(), strict=True)
        ),
        dtype="S32",
    ).copy()
    n_words = wh.size
    if n_words >= k:
        # Shingles stay inside their paragraph: a line inserted between two (an ad, a "Related:"
        # headline) changes no shingle of the text around it.
        m = n_words - k + 1
        pos = np.flatnonzero(w.line[:m] == w.line[k - 1 :])  # one line of the batch: one text's paragraph
        sh = _combine([wh[i : i + m] for i in range(k)])[pos]  # every run hashed, then the inside ones kept
        sh_doc, sh_para, sh_line = w.doc[pos], w.para[pos], w.line[pos]
    else:
        sh, sh_doc, sh_para = (np.zeros(0, np.uint64), np.zeros(0, np.int64), np.zeros(0, np.int64))
        sh_line = np.zeros(0, np.int64)
    # Texts without a paragraph of k words: one shingle of all their words.
    words_per_doc = np.diff(word_bounds)
    short = np.flatnonzero((words_per_doc > 0) & (np.bincount(sh_doc, minlength=n_docs) == 0))
    if short.size:
        extra = np.array(
            [_combine([wh[j : j + 1] for j in range(word_bounds[d], word_bounds[d + 1])])[0] for d in short],
            dtype=np.uint64,
        )
        sh = np.concatenate([sh, extra])
        sh_doc = np.concatenate([sh_doc, short])
        sh_para = np.concatenate([sh_para, np.zeros(short.size, np.int64)])
        sh_line = np.concatenate([sh_line, w.line[word_bounds[short]]])
        order = np.argsort(sh_doc, kind="stable")
        sh, sh_doc, sh_para, sh_line = sh[order], sh_doc[order], sh_para[order], sh_line[order]

    n_sh = np.bincount(sh_doc, minlength=n_docs).astype(np.int32)
    _signatures(sig, (sh >> np.uint64(32)).astype(np.uint32), n_sh, a, b)

    keep = np.flatnonzero((sh & np.uint64(0xFFFFFFFF)) < np.uint64(int(params.anchor_rate * (1 << 32))))
    nontext = _nontext(w, wh)
    if keep.size:
        # Captions, credits, link lines and the like are not text: they give no anchors.
        keep = keep[~nontext[sh_line[keep]]]
    an, an_doc, an_para = sh[keep], sh_doc[keep], sh_para[keep]
    order = _doc_major_order(an, an_doc, n_docs)
    an, an_doc, an_para = an[order], an_doc[order], an_para[order]
    first = np.ones(an.size, dtype=bool)
    first[1:] = (an[1:] != an[:-1]) | (an_doc[1:] != an_doc[:-1])
    an, an_doc, an_para = an[first], an_doc[first], an_para[first]
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(an_doc, minlength=n_docs), out=offsets[1:])
    para_offsets, para_keys = _paragraph_keys(wh, w.doc, w.para, n_docs, nontext[w.line] if wh.size else None)
    return Fingerprints(
        sig, n_sh, offsets, an, np.minimum(an_para, 65535).astype(np.uint16), hashes, para_offsets, para_keys
    )


def nontext_masks(texts: Sequence[str]) -> list[np.ndarray]:
    """For each text, which of its paragraphs (`dedup.text.paragraphs`) are not text
    (`dedup.nontext`): found for the whole batch at once from the word hashes, as fingerprinting
    does, a chunk of texts at a time (what an expanded copy added is read without them)."""
    out: list[np.ndarray] = []
    for start, end in _chunks(texts):
        w = split_words(texts[start:end])
        lines = _nontext(w, _word_hashes(w.data, w.starts, w.ends))
        out.extend(lines[lo:hi] for lo, hi in pairwise(w.doc_lines.tolist()))
    return out


def _nontext(w: Words, wh: np.ndarray) -> np.ndarray:
    """Mask over the lines of `w.data`: which are not text (dedup.nontext)."""
    ends = np.flatnonzero(w.data == 10)
    n_lines = ends.size
    first = np.zeros(n_lines, dtype=bool)
    hinted = np.zeros(n_lines, dtype=bool)
    if wh.size:
        head = np.ones(wh.size, dtype=bool)
        head[1:] = w.line[1:] != w.line[:-1]
        first[w.line[head]] = _among(wh[head], _hashes_of(tuple(FIRST_WORDS)))
        hinted[w.line[_among(wh, _hashes_of(tuple(HINT_WORDS)))]] = True
    return nontext_lines(w.data, first, hinted, ends)


#: The low bits of a paragraph key hold the paragraph's words of text (`para_words`).
_WORD_BITS = 8


def _paragraph_keys(
    wh: np.ndarray, doc: np.ndarray, para: np.ndarray, n_docs: int, nontext: np.ndarray | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """A 32-bit key of each paragraph's words in order, CSR by text (0 for paragraphs without words).

    The high 24 bits hash the words; the low `_WORD_BITS` count them (capped at 255; 0 for a line
    that is not text, where `nontext` marks its words): verification weighs what two texts share
    and what each adds by words (`para_words`), not by the sampled anchors alone. The same
    paragraph always has the same key, so the key still finds a source's repeated lines.
    """
    n_paras = np.zeros(n_docs, dtype=np.int64)
    if wh.size == 0:
        return np.zeros(n_docs + 1, dtype=np.int64), np.zeros(0, np.uint32)
    first = np.ones(wh.size, dtype=bool)
    first[1:] = (doc[1:] != doc[:-1]) | (para[1:] != para[:-1])
    starts = np.flatnonzero(first)
    pos = np.arange(wh.size) - np.repeat(starts, np.diff(np.append(starts, wh.size)))
    mixed = _mix64(wh + pos.astype(np.uint64) * np.uint64(_C[1]))
    keys = (_mix64(np.add.reduceat(mixed, starts)) >> np.uint64(32)).astype(np.uint32)
    n_words = np.minimum(np.diff(np.append(starts, wh.size)), (1 << _WORD_BITS) - 1).astype(np.uint32)
    if nontext is not None:
        n_words[nontext[starts]] = 0
    keys = (keys & np.uint32(~((1 << _WORD_BITS) - 1) & 0xFFFFFFFF)) | n_words
    keys[keys == 0] = 1 << _WORD_BITS  # 0 is kept for paragraphs without words
    g_doc, g_para = doc[starts], para[starts]
    np.maximum.at(n_paras, g_doc, g_para + 1)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_paras, out=offsets[1:])
    out = np.zeros(int(offsets[-1]), dtype=np.uint32)
    out[offsets[g_doc] + g_para] = keys
    return offsets, out


def para_words(keys: np.ndarray) -> np.ndarray:
    """Words of text of each paragraph, read from its keys (`Fingerprints.para_keys`): 0 for a line
    that is not text (a caption, a credit) and for one without words."""
    return (keys & np.uint32((1 << _WORD_BITS) - 1)).astype(np.int64)
