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
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from itertools import pairwise
from typing import TypeAlias

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from dedup.nontext import FIRST_WORDS, HINT_WORDS, nontext_lines
from dedup.params import MinHashParams
from dedup.text import Words, split_words, words

_M64 = (1 << 64) - 1
_P = 0x100000001B3  # odd multiplier of the polynomial word hash
_C = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63)
#: Characters of a text that are fingerprinted (see the module docstring).
MAX_TEXT_CHARS = 500_000
_CHUNK_CHARS = 1 << 20  # text per vectorised chunk: bounds memory, keeps arrays in cache
_MAX_CHUNK = 1 << 13  # shingles per MinHash chunk: the (num_perm, chunk) matrix stays in cache (4 MB)

NO_WORDS = bytes(32)  # the content hash of a text without words (or with nothing but boilerplate)

#: Texts to fingerprint: Python strings, or an Arrow string column (read a chunk at a time).
Texts: TypeAlias = Sequence[str] | pa.Array | pa.ChunkedArray


@dataclass(slots=True)
class Fingerprints:
    """Fingerprints of n texts, as flat arrays (CSR-style offsets for the anchor lists)."""

    signatures: np.ndarray  # (n, num_perm) uint32
    n_shingles: np.ndarray  # (n,) int32
    anchor_offsets: np.ndarray  # (n + 1,) int64
    anchors: np.ndarray  # (sum,) uint64, sorted within each text
    anchor_paras: np.ndarray  # (sum,) uint16: paragraph index of each anchor
    content_hashes: np.ndarray  # (n,) "S32": sha256 of the normalised text; all zero bytes without words
    #: Each text's paragraphs, as 32-bit hashes of their words (0: a paragraph without words),
    #: CSR-style: paragraph k of text i is `para_keys[para_offsets[i] + k]`. They find the lines a
    #: source repeats across its articles (dedup.boilerplate).
    para_offsets: np.ndarray | None = None  # (n + 1,) int64
    para_keys: np.ndarray | None = None  # (sum,) uint32
    #: Set once boilerplate is stripped (dedup.boilerplate.strip): which paragraph entries were.
    boiler: np.ndarray | None = None  # (sum,) bool, aligned with para_keys

    def __len__(self) -> int:
        return len(self.content_hashes)

    def anchors_of(self, i: int) -> tuple[np.ndarray, np.ndarray]:
        lo, hi = self.anchor_offsets[i], self.anchor_offsets[i + 1]
        return self.anchors[lo:hi], self.anchor_paras[lo:hi]

    def take(self, rows: Sequence[int]) -> Fingerprints:
        """The fingerprints of the given rows, in that order."""
        idx = np.asarray(rows, dtype=np.int64)
        lo, hi = self.anchor_offsets[idx], self.anchor_offsets[idx + 1]
        counts = hi - lo
        offsets = np.zeros(idx.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        flat = np.repeat(lo - offsets[:-1], counts) + np.arange(int(offsets[-1]))
        para_offsets, para_keys = None, None
        if self.para_offsets is not None and self.para_keys is not None:
            para_offsets, para_keys = _take_csr(self.para_offsets, self.para_keys, idx)
        return Fingerprints(
            signatures=self.signatures[idx],
            n_shingles=self.n_shingles[idx],
            anchor_offsets=offsets,
            anchors=self.anchors[flat],
            anchor_paras=self.anchor_paras[flat],
            content_hashes=self.content_hashes[idx],
            para_offsets=para_offsets,
            para_keys=para_keys,
        )

    @staticmethod
    def concat(parts: Sequence[Fingerprints], *, consume: bool = False) -> Fingerprints:
        """The parts one after the other. With `consume`, each part's arrays are released as soon
        as they are copied (the parts are left empty), so the whole table is never held twice."""
        if len(parts) == 1:
            return parts[0]
        sizes = [int(p.anchor_offsets[-1]) for p in parts]
        starts = np.concatenate([[0], np.cumsum(sizes)[:-1]]).astype(np.int64)
        offsets = [np.asarray(p.anchor_offsets[:-1]) + s for p, s in zip(parts, starts, strict=True)]
        offsets.append(np.array([sum(sizes)], dtype=np.int64))
        paras = _concat_paras(parts)  # before `consume` empties the parts
        return Fingerprints(
            signatures=_join(parts, "signatures", consume),
            n_shingles=_join(parts, "n_shingles", consume),
            anchor_offsets=np.concatenate(offsets),
            anchors=_join(parts, "anchors", consume),
            anchor_paras=_join(parts, "anchor_paras", consume),
            content_hashes=_join(parts, "content_hashes", consume),
            **paras,
        )

    def boilerplate_of(self, i: int) -> np.ndarray:
        """Indices of text i's paragraphs stripped as boilerplate."""
        if self.boiler is None or self.para_offsets is None:
            return np.zeros(0, np.int64)
        return np.flatnonzero(self.boiler[self.para_offsets[i] : self.para_offsets[i + 1]])


def _take_csr(offsets: np.ndarray, values: np.ndarray, idx: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    lo, hi = offsets[idx], offsets[idx + 1]
    counts = hi - lo
    out = np.zeros(idx.size + 1, dtype=np.int64)
    np.cumsum(counts, out=out[1:])
    flat = np.repeat(lo - out[:-1], counts) + np.arange(int(out[-1]))
    return out, values[flat]


def _concat_paras(parts: Sequence[Fingerprints]) -> dict[str, np.ndarray | None]:
    """Paragraph keys of `parts` joined; texts of a part without them get no paragraphs."""
    if all(p.para_offsets is None for p in parts):
        return {"para_offsets": None, "para_keys": None}
    offsets: list[np.ndarray] = []
    keys: list[np.ndarray] = []
    start = 0
    for p in parts:
        if p.para_offsets is None or p.para_keys is None:
            offsets.append(np.full(len(p), start, dtype=np.int64))
            continue
        offsets.append(np.asarray(p.para_offsets[:-1]) + start)
        keys.append(p.para_keys)
        start += int(p.para_offsets[-1])
    offsets.append(np.array([start], dtype=np.int64))
    return {
        "para_offsets": np.concatenate(offsets),
        "para_keys": np.concatenate(keys) if keys else np.zeros(0, np.uint32),
    }


def _join(parts: Sequence[Fingerprints], name: str, consume: bool) -> np.ndarray:
    """`np.concatenate` of one array field of the parts, copied part by part into one new array
    (with `consume`, each part's array is dropped once copied)."""
    arrays = [getattr(p, name) for p in parts]
    dtype = np.result_type(*{a.dtype for a in arrays})
    out = np.empty((sum(a.shape[0] for a in arrays), *arrays[0].shape[1:]), dtype=dtype)
    del arrays
    at = 0
    for p in parts:
        a = getattr(p, name)
        out[at : at + a.shape[0]] = a
        at += a.shape[0]
        if consume:
            setattr(p, name, np.empty((0, *a.shape[1:]), dtype=a.dtype))
        del a
    return out


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: an avalanching bijection on uint64, element-wise."""
    x = x ^ (x >> np.uint64(30))  # a new array: the steps below work in place on it
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


def _fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, datasketch's affine32 pre-mix."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    from datasketch import MinHash

    a, b = MinHash(num_perm=num_perm, seed=seed, scheme="affine32").permutations
    return np.ascontiguousarray(a, dtype=np.uint32), np.ascontiguousarray(b, dtype=np.uint32)


_POWERS: list[np.ndarray] = [np.ones(1, np.uint64), np.ones(1, np.uint64)]


def _powers(n: int) -> tuple[np.ndarray, np.ndarray]:
    """P^j and P^-j mod 2^64 for j < n, cached and grown by doubling."""
    if _POWERS[0].size < n:
        size = max(n, 2 * _POWERS[0].size, 1 << 16)
        for k, base in enumerate((_P, pow(_P, -1, 1 << 64))):
            arr = np.full(size, base, dtype=np.uint64)
            arr[0] = 1
            _POWERS[k] = np.cumprod(arr, dtype=np.uint64)
    return _POWERS[0][:n], _POWERS[1][:n]


def _word_hashes(data: np.ndarray, starts: np.ndarray, ends: np.ndarray) -> np.ndarray:
    """64-bit hash of each word `data[start:end]`, all at once: prefix sums of b_j * P^j."""
    n = data.size
    powers, inv = _powers(n)
    prefix = np.empty(n + 1, dtype=np.uint64)
    prefix[0] = 0
    terms = prefix[1:]  # b_j + 1, times P^j, summed: in place, no temporary the size of the text
    np.add(data, np.uint64(1), out=terms, dtype=np.uint64)
    terms *= powers
    np.cumsum(terms, out=terms)
    raw = (prefix[ends] - prefix[starts]) * inv[starts]
    return _mix64(raw + (ends - starts).astype(np.uint64) * np.uint64(_C[4]))


def _combine(words: list[np.ndarray]) -> np.ndarray:
    """Shingle hash of k aligned word-hash arrays."""
    acc: np.ndarray = words[0] * np.uint64(_C[0])
    for i, w in enumerate(words[1:], 1):
        acc += w * np.uint64(_C[i % 4])
    return _mix64(acc)


def shingle_hash64(shingle: str) -> int:
    """The 64-bit hash of one shingle ("w1 w2 w3", normalised words): the scalar twin of the batch path."""
    words = shingle.split(" ")
    acc = 0
    for i, word in enumerate(words):
        raw = 0
        for j, byte in enumerate(word.encode()):
            raw = (raw + (byte + 1) * pow(_P, j, 1 << 64)) & _M64
        h = int(_mix64(np.array([(raw + len(word.encode()) * _C[4]) & _M64], dtype=np.uint64))[0])
        acc = (acc + h * _C[i % 4]) & _M64
    return int(_mix64(np.array([acc], dtype=np.uint64))[0])


def shingle_hash32(shingle: bytes | str) -> int:
    """datasketch `hashfunc`: the 32-bit hash that Copydesk's MinHash uses for a shingle."""
    text = shingle.decode() if isinstance(shingle, bytes) else shingle
    return shingle_hash64(text) >> 32


def shingles(text: str, k: int) -> list[str]:
    """The shingles of `text` as strings, the scalar twin of the batch path (tests, datasketch)."""
    paras = words(text)
    out = [" ".join(p[i : i + k]) for p in paras for i in range(len(p) - k + 1)]
    flat = [w for p in paras for w in p]
    return out if out or not flat else [" ".join(flat)]


def fingerprint(texts: Texts, params: MinHashParams | None = None) -> Fingerprints:
    """Fingerprints of `texts` (raw article bodies), vectorised over chunks of about 1 MB of text.

    An Arrow string column is read a chunk at a time: only the texts of one chunk are ever Python
    strings, so a large batch does not leave the heap full of freed texts.
    """
    params = params or MinHashParams()
    if isinstance(texts, pa.Array | pa.ChunkedArray):
        return _fingerprint_column(texts, params)
    chunks: list[Fingerprints] = []
    start, size = 0, 0
    for i, text in enumerate(texts):
        size += len(text)
        if size >= _CHUNK_CHARS or i == len(texts) - 1:
            chunks.append(_fingerprint_chunk(texts[start : i + 1], params))
            start, size = i + 1, 0
    if not chunks:
        return _fingerprint_chunk([], params)
    return Fingerprints.concat(chunks)


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
    if keep.size:
        # Captions, credits, link lines and the like are not text: they give no anchors.
        keep = keep[~_nontext(w, wh)[sh_line[keep]]]
    an, an_doc, an_para = sh[keep], sh_doc[keep], sh_para[keep]
    order = _doc_major_order(an, an_doc, n_docs)
    an, an_doc, an_para = an[order], an_doc[order], an_para[order]
    first = np.ones(an.size, dtype=bool)
    first[1:] = (an[1:] != an[:-1]) | (an_doc[1:] != an_doc[:-1])
    an, an_doc, an_para = an[first], an_doc[first], an_para[first]
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(np.bincount(an_doc, minlength=n_docs), out=offsets[1:])
    para_offsets, para_keys = _paragraph_keys(wh, w.doc, w.para, n_docs)
    return Fingerprints(
        sig, n_sh, offsets, an, np.minimum(an_para, 65535).astype(np.uint16), hashes, para_offsets, para_keys
    )


def _doc_major_order(values: np.ndarray, docs: np.ndarray, n_docs: int) -> np.ndarray:
    """`np.lexsort((values, docs))` of uint64 `values`: by doc, then value, then position. A least
    significant digit first radix sort is quicker: stable sorts of 16-bit keys are radix sorts
    in numpy, the four digits of the value then the doc (lexsort past 65,536 texts)."""
    if n_docs > 1 << 16:
        return np.lexsort((values, docs))
    order = np.argsort(values.astype(np.uint16), kind="stable")  # astype keeps the low 16 bits
    for shift in (16, 32, 48):
        order = order[np.argsort((values[order] >> np.uint64(shift)).astype(np.uint16), kind="stable")]
    return order[np.argsort(docs[order].astype(np.uint16), kind="stable")]


@lru_cache(maxsize=2)
def _hashes_of(words: tuple[str, ...]) -> tuple[np.ndarray, np.ndarray]:
    """The sorted word hashes of `words`, and a bitmap of their low 16 bits."""
    w = split_words([" ".join(words)])
    table = np.unique(_word_hashes(w.data, w.starts, w.ends))
    bits = np.zeros(1 << 16, dtype=bool)
    bits[table.astype(np.uint16)] = True
    return table, bits


def _among(values: np.ndarray, words: tuple[np.ndarray, np.ndarray]) -> np.ndarray:
    """Which of `values` are in `words` (`_hashes_of`): the bitmap of low bits rules out almost all
    at once (the hashes are mixed), a binary search checks the few it lets through."""
    table, bits = words
    out = np.take(bits, values.astype(np.uint16))  # astype keeps the low 16 bits
    maybe = np.flatnonzero(out)
    if maybe.size:
        found = values[maybe]
        out[maybe] = table[np.minimum(np.searchsorted(table, found), table.size - 1)] == found
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


def _paragraph_keys(
    wh: np.ndarray, doc: np.ndarray, para: np.ndarray, n_docs: int
) -> tuple[np.ndarray, np.ndarray]:
    """A 32-bit hash of each paragraph's words in order, CSR by text (0 for paragraphs without words)."""
    n_paras = np.zeros(n_docs, dtype=np.int64)
    if wh.size == 0:
        return np.zeros(n_docs + 1, dtype=np.int64), np.zeros(0, np.uint32)
    first = np.ones(wh.size, dtype=bool)
    first[1:] = (doc[1:] != doc[:-1]) | (para[1:] != para[:-1])
    starts = np.flatnonzero(first)
    pos = np.arange(wh.size) - np.repeat(starts, np.diff(np.append(starts, wh.size)))
    mixed = _mix64(wh + pos.astype(np.uint64) * np.uint64(_C[1]))
    keys = (_mix64(np.add.reduceat(mixed, starts)) >> np.uint64(32)).astype(np.uint32)
    keys[keys == 0] = 1  # 0 is kept for paragraphs without words
    g_doc, g_para = doc[starts], para[starts]
    np.maximum.at(n_paras, g_doc, g_para + 1)
    offsets = np.zeros(n_docs + 1, dtype=np.int64)
    np.cumsum(n_paras, out=offsets[1:])
    out = np.zeros(int(offsets[-1]), dtype=np.uint32)
    out[offsets[g_doc] + g_para] = keys
    return offsets, out


def hashes_to_hex(hashes: np.ndarray) -> list[str]:
    """Content hashes as hex strings ("" for a text without words), as the index stores them."""
    raw = hashes.view(np.uint8).reshape(-1, 32)
    text = raw.tobytes().hex()
    has_words: list[bool] = np.any(raw, axis=1).tolist()
    return [text[64 * i : 64 * i + 64] if w else "" for i, w in enumerate(has_words)]


def hashes_from_hex(hexes: Sequence[str | None]) -> np.ndarray:
    """`hashes_to_hex` read back."""
    return np.frombuffer(bytes.fromhex("".join(h or NO_WORDS.hex() for h in hexes)), dtype="S32").copy()


def _signatures(out: np.ndarray, h32: np.ndarray, n_sh: np.ndarray, a: np.ndarray, b: np.ndarray) -> None:
    """Fill `out[d]` with the MinHash of document d's shingle hashes (consecutive runs of h32)."""
    mixed = _fmix32(h32)
    bounds = np.concatenate([[0], np.cumsum(n_sh)])
    docs = np.flatnonzero(n_sh > 0)
    buf = np.empty((a.size, _MAX_CHUNK), dtype=np.uint32)  # one buffer for every chunk
    i = 0
    while i < docs.size:
        # Take whole documents until the chunk holds about _MAX_CHUNK shingles.
        lo = bounds[docs[i]]
        j = int(np.searchsorted(bounds[docs + 1], lo + _MAX_CHUNK, side="right"))
        j = max(j, i + 1)
        chunk_docs = docs[i:j]
        hi = bounds[chunk_docs[-1] + 1]
        # (num_perm, shingles): each row's reduction runs over contiguous memory.
        if hi - lo <= _MAX_CHUNK:
            phv = buf[:, : hi - lo]
            np.multiply(a[:, None], mixed[None, lo:hi], out=phv)
        else:  # one text of more shingles than a chunk
            phv = a[:, None] * mixed[None, lo:hi]
        phv += b[:, None]
        out[chunk_docs] = np.minimum.reduceat(phv, bounds[chunk_docs] - lo, axis=1).T
        i = j
