"""MinHash signatures from shingle hashes, datasketch's `affine32` scheme, many documents at once."""

from __future__ import annotations

from functools import lru_cache

import numpy as np

_MAX_CHUNK = 1 << 13  # shingles per MinHash chunk: the (num_perm, chunk) matrix stays in cache (4 MB)


def _fmix32(x: np.ndarray) -> np.ndarray:
    """MurmurHash3's 32-bit finaliser, datasketch's affine32 pre-mix."""
    x = x ^ (x >> np.uint32(16))
    x = x * np.uint32(0x85EBCA6B)
    x = x ^ (x >> np.uint32(13))
    x = x * np.uint32(0xC2B2AE35)
    return x ^ (x >> np.uint32(16))


@lru_cache(maxsize=8)
def _permutations(num_perm: int, seed: int) -> tuple[np.ndarray, np.ndarray]:
    """The affine maps h -> a*h + b (mod 2^32) of datasketch's `affine32` MinHash for `seed`: drawn
    from numpy's `RandomState(seed)` in the same order (`a` odd, so each map is a bijection), so the
    signatures equal datasketch's (tests/dedup/test_fingerprint.py) without importing it: datasketch
    pulls in scipy, some 0.7 s of a fresh process's first batch."""
    gen = np.random.RandomState(seed)
    a = gen.randint(0, 1 << 31, num_perm, dtype=np.uint32) * np.uint32(2) + np.uint32(1)
    b = gen.randint(0, 1 << 32, num_perm, dtype=np.uint32)
    return np.ascontiguousarray(a), np.ascontiguousarray(b)


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
