"""Two numpy tricks on 64-bit hashes built on 16-bit digits: a radix sort by text then value
(`_doc_major_order`), and membership in a small set of word hashes through a bitmap of their low
16 bits (`_hashes_of`, `_among`).
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np

from dedup.hashing import _word_hashes
from dedup.text import split_words


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
