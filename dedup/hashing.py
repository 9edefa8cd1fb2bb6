"""Word and shingle hashes: a 64-bit polynomial hash of each word, computed for a whole batch at
once from prefix sums over its bytes, and the 64-bit hash of a run of words. `shingle_hash64` and
`shingles` are the scalar twins of the batch path (tests, the datasketch comparison).
"""

from __future__ import annotations

import numpy as np

from dedup.text import words

_M64 = (1 << 64) - 1
_P = 0x100000001B3  # odd multiplier of the polynomial word hash
_C = (0x9E3779B97F4A7C15, 0xC2B2AE3D27D4EB4F, 0x165667B19E3779F9, 0x27D4EB2F165667C5, 0x85EBCA77C2B2AE63)


def _mix64(x: np.ndarray) -> np.ndarray:
    """splitmix64's finaliser: an avalanching bijection on uint64, element-wise."""
    x = x ^ (x >> np.uint64(30))  # a new array: the steps below work in place on it
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return x


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
